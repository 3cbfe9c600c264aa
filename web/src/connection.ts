// One synced Y.Doc: a stock y-websocket WebsocketProvider on `/sync/<name>`
// with the token in `?token=`, plus what y-websocket leaves to the
// application: a permission-denied answer is surfaced (y-websocket only logs
// it) and, because the refused change still sits in the local document, the
// local state is dropped and the document reloaded from the server.

import * as Y from 'yjs';
import { WebsocketProvider, messageAuth } from 'y-websocket';
import * as decoding from 'lib0/decoding';
import type { Awareness } from 'y-protocols/awareness';

export type ConnState = 'connecting' | 'connected' | 'disconnected' | 'refused';

export interface ConnectionEvents {
  /** A fresh document (first load, or a reload after a refusal). */
  onDoc: (doc: Y.Doc, awareness: Awareness) => void;
  onSynced?: () => void;
  onDenied?: (reason: string) => void;
  onState?: (s: ConnState, detail?: string) => void;
}

export function syncUrl(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/sync`;
}

export class Connection {
  doc!: Y.Doc;
  provider!: WebsocketProvider;
  private reloadTimer: number | undefined;
  private awarenessState: Record<string, unknown> = {};
  private closed = false;
  failures = 0;

  constructor(
    readonly name: string,
    private readonly token: string,
    private readonly ev: ConnectionEvents,
  ) {
    this.open();
  }

  private open(): void {
    this.doc = new Y.Doc();
    const provider = new WebsocketProvider(syncUrl(), this.name, this.doc, {
      params: { token: this.token },
      // A second tab must not bypass the server's check through a BroadcastChannel.
      disableBc: true,
    });
    provider.messageHandlers[messageAuth] = (_enc, decoder) => {
      // y-protocols auth: varuint 0 = permission denied, then the reason.
      const kind = decoding.readVarUint(decoder);
      const reason = kind === 0 ? decoding.readVarString(decoder) : `unknown auth message ${kind}`;
      this.ev.onDenied?.(reason);
      this.scheduleReload();
    };
    provider.on('status', ({ status }: { status: string }) => {
      if (status === 'connected') this.failures = 0;
      this.ev.onState?.(status as ConnState);
    });
    provider.on('connection-close', () => {
      this.failures++;
      if (this.failures >= 3 && !provider.wsconnected) this.ev.onState?.('refused', 'the server closed the connection');
    });
    provider.on('sync', (synced: boolean) => {
      if (synced) this.ev.onSynced?.();
    });
    for (const [k, v] of Object.entries(this.awarenessState)) provider.awareness.setLocalStateField(k, v);
    this.provider = provider;
    this.ev.onDoc(this.doc, provider.awareness);
  }

  /** Presence fields survive a reload. */
  setPresence(field: string, value: unknown): void {
    this.awarenessState[field] = value;
    this.provider.awareness.setLocalStateField(field, value);
  }

  /** Drops local state (which holds the refused change) and loads the document again. */
  reload(): void {
    if (this.closed) return;
    this.provider.destroy();
    this.doc.destroy();
    this.open();
  }

  private scheduleReload(): void {
    // Every keystroke into a refused paragraph is refused: reload once.
    window.clearTimeout(this.reloadTimer);
    this.reloadTimer = window.setTimeout(() => this.reload(), 150);
  }

  destroy(): void {
    this.closed = true;
    window.clearTimeout(this.reloadTimer);
    this.provider.destroy();
    this.doc.destroy();
  }
}

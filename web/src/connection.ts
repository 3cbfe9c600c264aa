// One synced Y.Doc: a stock y-websocket WebsocketProvider on `/sync/<name>`
// with the token in `?token=`, plus what y-websocket leaves to the
// application: a permission-denied answer is surfaced (y-websocket only logs
// it). Nothing is reloaded on a refusal: the server reverts the refused part
// of a change with an update of its own, which this document integrates like
// any other, so the page converges with everyone and keeps all the rest of
// what the user typed (see refusal.ts).

import * as Y from 'yjs';
import { WebsocketProvider, messageAuth } from 'y-websocket';
import * as decoding from 'lib0/decoding';
import type { Awareness } from 'y-protocols/awareness';

export type ConnState = 'connecting' | 'connected' | 'disconnected' | 'refused';

export interface ConnectionEvents {
  /** The document, once, when the connection is made. */
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
    this.provider = provider;
    this.ev.onDoc(this.doc, provider.awareness);
  }

  setPresence(field: string, value: unknown): void {
    this.provider.awareness.setLocalStateField(field, value);
  }

  destroy(): void {
    this.provider.destroy();
    this.doc.destroy();
  }
}

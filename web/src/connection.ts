// One synced Y.Doc: a stock y-websocket WebsocketProvider on `/sync/<name>`,
// plus what y-websocket leaves to the application:
//
// * Sessions (issue 12). The token never goes into the WebSocket URL: before
//   every connection the page asks for a single-use ticket (auth.ts) and puts
//   it in the provider's `params`, which y-websocket reads when it opens a
//   socket (its `url` getter). A used ticket opens nothing, so this class
//   decides when to connect: y-websocket's own reconnect is switched off
//   (`shouldReconnect` and `shouldConnect` false on every close) and each
//   attempt goes ticket → `params` → `provider.connect()`. On close 4001 (the
//   token expired) the token is renewed first. The Y.Doc and the provider stay
//   the same throughout, so what the user types while disconnected stays in
//   the document and is sent with the sync exchange of the next connection.
// * A permission-denied answer is surfaced (y-websocket only logs it).
//   Nothing is reloaded on a refusal: the server reverts the refused part of a
//   change with an update of its own, which this document integrates like any
//   other, so the page converges with everyone and keeps all the rest of what
//   the user typed (see refusal.ts).

import * as Y from 'yjs';
import { WebsocketProvider, messageAuth } from 'y-websocket';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import type { Awareness } from 'y-protocols/awareness';
import { SessionError, type Auth } from './auth';

export type ConnState = 'connecting' | 'connected' | 'disconnected' | 'refused' | 'expired' | 'ended';

export interface ConnectionEvents {
  /** The document, once, when the connection is made. */
  onDoc: (doc: Y.Doc, awareness: Awareness) => void;
  onSynced?: () => void;
  onDenied?: (reason: string) => void;
  onState?: (s: ConnState, detail?: string) => void;
}

/** The close code of a connection whose token expired (server: connection.rs). */
export const TOKEN_EXPIRED = 4001;

/**
 * Liveness (issue 15): a socket whose network is gone stays "open" until TCP
 * gives up, and y-websocket waits 30 s of silence before closing it. The page
 * asks instead: after `PROBE_AFTER` ms with nothing received it sends a sync
 * step 1 (the server always answers with a step 2, empty when nothing is
 * missing), and after `DEAD_AFTER` ms of silence it calls the connection lost.
 * The browser's `offline` event ends it at once.
 */
export const PROBE_AFTER = 1500;
export const DEAD_AFTER = 3500;

export function syncUrl(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/sync`;
}

export class Connection {
  readonly doc: Y.Doc;
  readonly provider: WebsocketProvider;
  /** Attempts in a row that ended without a synced connection. */
  failures = 0;
  private destroyed = false;
  private attempt?: Promise<void>;
  private retryTimer: number | undefined;
  /** The token the current connection's ticket was issued for. */
  private token = '';
  /** Whether the current socket ever opened (a handshake refusal closes it before). */
  private opened = false;
  private liveness: number | undefined;
  private lastHeard = 0;
  private lastProbe = 0;
  private readonly onOffline = (): void => this.lost('the browser is offline');

  constructor(
    readonly name: string,
    private readonly auth: Auth,
    private readonly ev: ConnectionEvents,
  ) {
    this.doc = new Y.Doc();
    const provider = new WebsocketProvider(syncUrl(), this.name, this.doc, {
      connect: false,
      // Reconnecting is this class's job: each connection needs a new ticket.
      shouldReconnect: () => false,
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
      if (status === 'connected') {
        this.opened = true;
        this.lastHeard = Date.now();
      }
      // 'disconnected' is reported by `closed`, which knows why.
      if (status !== 'disconnected') this.ev.onState?.(status as ConnState);
    });
    provider.on('connection-close', (event: CloseEvent | null) => this.closed(event));
    provider.on('sync', (synced: boolean) => {
      if (!synced) return;
      this.failures = 0;
      this.ev.onSynced?.();
    });
    this.provider = provider;
    window.addEventListener('offline', this.onOffline);
    this.liveness = window.setInterval(() => this.checkLive(), 500);
    this.ev.onDoc(this.doc, provider.awareness);
    this.connect();
  }

  /** Ticket, then socket. Failures are retried with a growing delay; one attempt at a time. */
  private connect(): void {
    if (this.destroyed || this.attempt) return;
    window.clearTimeout(this.retryTimer);
    this.ev.onState?.('connecting');
    this.attempt = (async () => {
      try {
        const { ticket, token } = await this.auth.ticket();
        if (this.destroyed) return;
        this.token = token;
        this.opened = false;
        this.provider.params = { ticket };
        this.provider.connect();
      } catch (e) {
        if (this.destroyed) return;
        if (e instanceof SessionError && e.kind === 'ended') {
          this.ev.onState?.('ended', e.message);
          return;
        }
        this.failures++;
        this.ev.onState?.('disconnected', (e as Error).message);
        this.retry();
      }
    })().finally(() => {
      this.attempt = undefined;
    });
  }

  private retry(delay = Math.min(100 * 2 ** this.failures, 5000)): void {
    window.clearTimeout(this.retryTimer);
    this.retryTimer = window.setTimeout(() => this.connect(), delay);
  }

  /** The open socket, if any. */
  private socket(): WebSocket | null {
    const ws = this.provider.ws;
    return ws && ws.readyState === WebSocket.OPEN ? ws : null;
  }

  private checkLive(): void {
    const ws = this.socket();
    if (!ws || !this.provider.wsconnected) return;
    const heard = Math.max(this.lastHeard, this.provider.wsLastMessageReceived);
    const quiet = Date.now() - heard;
    if (quiet > DEAD_AFTER) {
      this.lost('no answer from the server');
      return;
    }
    if (quiet > PROBE_AFTER && Date.now() - this.lastProbe > PROBE_AFTER) {
      this.lastProbe = Date.now();
      const enc = encoding.createEncoder();
      encoding.writeVarUint(enc, 0); // messageSync
      syncProtocol.writeSyncStep1(enc, this.doc);
      try {
        ws.send(encoding.toUint8Array(enc));
      } catch {
        this.lost('the connection failed');
      }
    }
  }

  /**
   * The connection is gone, though the socket may not know yet: say so now,
   * and close it (its close event, whenever it comes, schedules the reconnect).
   */
  private lost(why: string): void {
    if (this.destroyed) return;
    const ws = this.provider.ws;
    if (!ws || ws.readyState >= WebSocket.CLOSING) return;
    this.ev.onState?.('disconnected', why);
    this.provider.shouldConnect = false;
    ws.close();
  }

  private closed(event: CloseEvent | null): void {
    // y-websocket would open the same URL again: its ticket is used.
    this.provider.shouldConnect = false;
    if (this.destroyed) return;
    if (event?.code === TOKEN_EXPIRED) {
      this.ev.onState?.('expired');
      this.auth.renew(this.token).then(
        () => this.connect(),
        (e: unknown) => {
          if (e instanceof SessionError && e.kind === 'ended') this.ev.onState?.('ended', e.message);
          else {
            this.failures++;
            this.retry();
          }
        },
      );
      return;
    }
    this.failures++;
    if (this.failures >= 3 && !this.opened) this.ev.onState?.('refused', 'the server closed the connection');
    else this.ev.onState?.('disconnected');
    this.retry();
  }

  setPresence(field: string, value: unknown): void {
    this.provider.awareness.setLocalStateField(field, value);
  }

  destroy(): void {
    this.destroyed = true;
    window.clearTimeout(this.retryTimer);
    window.clearInterval(this.liveness);
    window.removeEventListener('offline', this.onOffline);
    this.provider.destroy();
    this.doc.destroy();
  }
}

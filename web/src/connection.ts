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
// * Offline work (issue 15): the document is kept in the browser (offline.ts)
//   and loaded before the first connection, so edits made while the server
//   could not be reached survive a reload or a closed tab and are sent by the
//   next connection's sync exchange, through the server's refusal path.
// * A document the token does not open, or that does not exist: the server
//   answers the WebSocket upgrade with 403 or 404, which a browser does not
//   show the page (the socket just closes). A socket that closes before it
//   opened makes the page ask the same question over HTTP, where the answer
//   is readable, and say it in plain words instead of trying forever.

import * as Y from 'yjs';
import { WebsocketProvider, messageAuth, messageSync } from 'y-websocket';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import type { Awareness } from 'y-protocols/awareness';
import { SessionError, type Auth } from './auth';
import { OfflineStore, type Unsent } from './offline';

export type ConnState = 'connecting' | 'connected' | 'disconnected' | 'refused' | 'expired' | 'ended' | 'unavailable';

/** Why a document cannot be opened: the token does not cover it (403) or there is none by that name (404). */
export interface Unavailable {
  status: 403 | 404;
  /** The server's own words. */
  detail: string;
}

export interface ConnectionEvents {
  /** The document, once, when the connection is made. */
  onDoc: (doc: Y.Doc, awareness: Awareness) => void;
  onSynced?: () => void;
  onDenied?: (reason: string) => void;
  onState?: (s: ConnState, detail?: string) => void;
  /** The document cannot be opened (the page stops trying on 403, and retries slowly on 404). */
  onUnavailable?: (u: Unavailable) => void;
  /** Unsent edits kept in the browser, or none (offline.ts). */
  onUnsent?: (u: Unsent | null) => void;
}

/** How long the page waits before asking again for a document that does not exist (yet). */
export const MISSING_RETRY = 10000;

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
  readonly offline: OfflineStore;
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
  /** Sync step 1 messages sent on the current socket, and the step 2 answers heard (the server answers in order). */
  private step1Sent = 0;
  private step2Heard = 0;
  private confirmations: { at: number; done: (ok: boolean) => void }[] = [];
  /** The document cannot be opened (`explain`): the page says so, not "connecting", at every retry. */
  private unavailable = false;
  /** The stored copy did not match the server's document: nothing more is sent (see offline.ts). */
  private stale = false;

  constructor(
    readonly name: string,
    private readonly auth: Auth,
    private readonly ev: ConnectionEvents,
    /** Keep the document in the browser for offline work (the draft; not the comment scopes). */
    opts: { keepOffline?: boolean } = {},
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
    // Counts the server's sync step 2 answers, and hands its state vector (its sync step 1, sent
    // when a connection opens) to the offline store once y-websocket has answered it.
    const sync = provider.messageHandlers[messageSync];
    provider.messageHandlers[messageSync] = (enc, dec, prov, emitSynced, type) => {
      const kind = decoding.peekVarUint(dec);
      let sv: Map<number, number> | undefined;
      if (kind === syncProtocol.messageYjsSyncStep1) {
        const d = decoding.clone(dec);
        decoding.readVarUint(d);
        sv = Y.decodeStateVector(decoding.readVarUint8Array(d));
      }
      if (sv && this.offline.foreign(sv)) {
        // The stored copy holds others' edits the server lacks (offline.ts): answer nothing, stop.
        this.stale = true;
        this.provider.shouldConnect = false;
        this.provider.ws?.close();
        void this.offline.discard();
        this.ev.onState?.('refused', "this browser's copy of the document no longer matches the server's (it was replaced or restored), so it was set aside; reload the page");
        return;
      }
      sync(enc, dec, prov, emitSynced, type);
      if (kind === syncProtocol.messageYjsSyncStep2) this.heardStep2();
      // y-websocket sends this handler's answer after it returns.
      if (sv) {
        const serverSv = sv;
        window.setTimeout(() => this.offline.serverState(serverSv), 0);
      }
    };
    provider.on('status', ({ status }: { status: string }) => {
      if (status === 'connected') {
        this.opened = true;
        this.lastHeard = Date.now();
        // y-websocket sends a sync step 1 when the socket opens.
        this.step1Sent = 1;
        this.step2Heard = 0;
        this.unavailable = false;
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
    this.offline = new OfflineStore(this.doc, name, auth.session.claims.sub, !!opts.keepOffline, () => this.confirm(), (u) => this.ev.onUnsent?.(u));
    this.ev.onDoc(this.doc, provider.awareness);
    this.connect();
  }

  /**
   * Resolves true once the server has stored everything this page sent so far
   * (it answers a sync step 1 only then, in order), false if the connection
   * goes first or there is none.
   */
  confirm(): Promise<boolean> {
    const ws = this.socket();
    if (!ws || !this.provider.wsconnected) return Promise.resolve(false);
    if (!this.sendStep1(ws)) return Promise.resolve(false);
    const at = this.step1Sent;
    return new Promise((done) => this.confirmations.push({ at, done }));
  }

  private sendStep1(ws: WebSocket): boolean {
    const enc = encoding.createEncoder();
    encoding.writeVarUint(enc, messageSync);
    syncProtocol.writeSyncStep1(enc, this.doc);
    try {
      ws.send(encoding.toUint8Array(enc));
    } catch {
      this.lost('the connection failed');
      return false;
    }
    this.step1Sent++;
    return true;
  }

  private heardStep2(): void {
    this.step2Heard++;
    const due = this.confirmations.filter((c) => c.at <= this.step2Heard);
    this.confirmations = this.confirmations.filter((c) => c.at > this.step2Heard);
    for (const c of due) c.done(true);
  }

  private dropConfirmations(): void {
    const all = this.confirmations;
    this.confirmations = [];
    for (const c of all) c.done(false);
  }

  /** Ticket, then socket. Failures are retried with a growing delay; one attempt at a time. */
  private connect(): void {
    if (this.destroyed || this.attempt) return;
    window.clearTimeout(this.retryTimer);
    // After a failure the page goes on saying offline until it is live again (not "connecting" at every attempt).
    if (!this.unavailable && this.failures === 0) this.ev.onState?.('connecting');
    this.attempt = (async () => {
      try {
        // What this user typed here before (kept in the browser) is in the document before it
        // syncs: the store loads while the ticket is on its way.
        const [{ ticket, token }] = await Promise.all([this.auth.ticket(), this.offline.loaded]);
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
      this.sendStep1(ws);
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
    this.dropConfirmations();
    if (this.destroyed || this.stale) return;
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
    if (!this.unavailable) this.ev.onState?.('disconnected');
    // A comment scope's refusal is not explained: its document is the draft's, explained by the draft's connection.
    if (this.opened || this.name.includes('/')) this.retry();
    else void this.explain();
  }

  /**
   * The socket closed before it opened: the server refused the upgrade, or
   * could not be reached. Asked over HTTP with the same token, the server says
   * which (403: the token does not open the document; 404: no such document).
   */
  private async explain(): Promise<void> {
    let r: Response | undefined;
    try {
      r = await fetch(`/api/docs/${encodeURIComponent(this.name)}/versions`, { headers: { Authorization: `Bearer ${this.auth.token}` } });
    } catch {
      r = undefined; // not reachable: offline
    }
    if (this.destroyed) return;
    if (r && (r.status === 403 || r.status === 404)) {
      let detail = `HTTP ${r.status}`;
      try {
        const body = (await r.json()) as { detail?: unknown };
        if (typeof body.detail === 'string') detail = body.detail;
      } catch {
        /* not the JSON error shape */
      }
      this.unavailable = true;
      this.ev.onState?.('unavailable', detail);
      this.ev.onUnavailable?.({ status: r.status, detail });
      // A token does not change: stop. A document may yet be created: ask again now and then.
      if (r.status === 404) this.retry(MISSING_RETRY);
      return;
    }
    if (this.unavailable) {
      this.unavailable = false; // the server is not reachable now: that is what the page says
      this.ev.onState?.('disconnected');
    }
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
    this.dropConfirmations();
    this.offline.destroy();
    this.provider.destroy();
    this.doc.destroy();
  }
}

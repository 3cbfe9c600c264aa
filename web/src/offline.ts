// Offline work (issue 15, item 7): conference Wi-Fi fails and laptops close.
//
// The document is kept in the browser's IndexedDB with the stock
// `y-indexeddb` provider, so what the user typed while the server could not
// be reached survives a reload or a closed tab. Nothing is sent from here: on
// the next connection the stock y-websocket exchange (the server's sync step 1,
// the page's sync step 2 with everything the server lacks) sends the stored
// edits, and the server judges them like any other change — a refused part is
// reverted and reported with permission-denied, which the page shows at the
// paragraph (refusal.ts), as for a change typed online.
//
// SECURITY: the store is keyed by the document AND the signed-in user's
// subject (`sub` claim). A different user signing in on the same browser opens
// another store, so their page never loads, sends or is attributed another
// user's stored edits (the server would attribute them to whoever sends them).
// The store holds a copy of the text the user could read; signing out deletes
// it unless it holds unsent edits (they wait for that user's next sign-in on
// this browser).
//
// "Unsent" is kept truthfully: every edit of the user's is unsent until the
// server has confirmed it: either its state vector (sent when a connection
// opens) covers the page's, or it answered a sync step 1 sent after the edit
// (the server answers a step 1 only once what it received before is stored,
// room.rs `sync_step1`). The marker (which paragraphs, since when) is stored
// with the document, so a reloaded page says so too.
//
// A stored copy that holds other people's edits the server does not have (the
// document was deleted and created again under the same name, or the server
// restored an older state) is never sent: the server would attribute those
// edits to this user. The page discards the copy and asks for a reload
// (`foreign`, checked before the page answers the server's sync step 1).

import * as Y from 'yjs';
import { IndexeddbPersistence } from 'y-indexeddb';
import { PARAGRAPHS } from './model';

/** Unsent edits of this user's: the ids of the paragraphs they touch ('' for the rest of the document) and since when. */
export interface Unsent {
  since: number;
  paragraphs: string[];
}

/** The IndexedDB database of one document for one user (see SECURITY above). */
export function storeName(doc: string, sub: string): string {
  return `plenary:${encodeURIComponent(doc)}:${encodeURIComponent(sub)}`;
}

/** How long the page waits for the store before connecting anyway (IndexedDB unavailable or slow). */
const LOAD_WAIT = 1000;
/** The client ids this user's pages used for this document, newest last (for the refused words of a stored edit). */
const MAX_CLIENTS = 32;

export class OfflineStore {
  private readonly persistence: IndexeddbPersistence | null = null;
  /** Resolves once the stored document is in the Y.Doc (or after LOAD_WAIT). */
  readonly loaded: Promise<void>;
  unsent: Unsent | null = null;
  /** Bumped by every local edit: a confirmation counts only if no edit came after it was asked. */
  private generation = 0;
  /** The generation the last confirmation was asked for, and when the first edit after it came. */
  private askedGen = -1;
  private firstAfterAsk = 0;
  private touchedAfterAsk = new Set<string>();
  private clients = new Set<number>();
  /** The stored client ids have been read: `foreign` can tell this user's pages from others'. */
  private clientsRead = false;
  private confirmTimer: number | undefined;
  private readonly onUpdate: (u: Uint8Array, origin: unknown, doc: Y.Doc, tr: Y.Transaction) => void;

  constructor(
    private readonly doc: Y.Doc,
    docName: string,
    sub: string,
    persist: boolean,
    /** Asks the server to confirm what it has received so far; false when there is no live connection. */
    private readonly confirm: () => Promise<boolean>,
    private readonly onChange: (u: Unsent | null) => void,
  ) {
    this.clients.add(doc.clientID);
    try {
      if (persist) this.persistence = new IndexeddbPersistence(storeName(docName, sub), doc);
    } catch {
      this.persistence = null; // no IndexedDB (a locked-down profile): the page works online only
    }
    const p = this.persistence;
    this.loaded = p
      ? Promise.race([
          p.whenSynced.then(async () => {
            const [unsent, clients] = await Promise.all([p.get('unsent'), p.get('clients')]);
            if (typeof unsent === 'string') {
              try {
                this.unsent = JSON.parse(unsent) as Unsent;
              } catch {
                /* unreadable marker: ignored */
              }
            }
            if (typeof clients === 'string') for (const c of JSON.parse(clients) as number[]) this.clients.add(c);
            this.clientsRead = true;
            void p.set('clients', JSON.stringify([...this.clients].slice(-MAX_CLIENTS)));
            if (this.unsent) this.onChange(this.unsent);
          }),
          new Promise<void>((r) => window.setTimeout(r, LOAD_WAIT)),
        ]).catch(() => undefined)
      : Promise.resolve();
    this.onUpdate = (_u, _origin, _doc, tr) => {
      // The user's own edits only: the store's replay and the server's updates are not local.
      if (tr.local) this.edited(tr);
    };
    doc.on('update', this.onUpdate);
  }

  /** Whether `client` is one of this user's pages on this document (this one or an earlier one whose edits were stored). */
  isMine(client: number): boolean {
    return client === this.doc.clientID || this.clients.has(client);
  }

  private edited(tr: Y.Transaction): void {
    if (this.generation === this.askedGen) {
      this.firstAfterAsk = Date.now();
      this.touchedAfterAsk = new Set();
    }
    this.generation++;
    const touched = new Set(this.unsent?.paragraphs ?? []);
    const known = touched.size;
    for (const type of tr.changed.keys()) {
      touched.add(paragraphOf(type));
      this.touchedAfterAsk.add(paragraphOf(type));
    }
    // The marker is written when it changes (a first edit, another paragraph), not at every keystroke.
    if (!this.unsent || touched.size !== known) {
      this.unsent = { since: this.unsent?.since ?? Date.now(), paragraphs: [...touched] };
      this.save();
    }
    this.confirmSoon();
  }

  private save(): void {
    const p = this.persistence;
    const u = this.unsent;
    const done = p ? (u ? p.set('unsent', JSON.stringify(u)) : p.del('unsent')) : Promise.resolve();
    // Shown once it is stored: "kept in this browser" is then true.
    void done.catch(() => undefined).then(() => {
      if (this.unsent === u) this.onChange(u);
    });
  }

  /** Typing is confirmed at most every 400 ms (a steady typist's edits too, not only after a pause). */
  private confirmSoon(delay = 400): void {
    if (this.confirmTimer !== undefined && delay > 0) return;
    window.clearTimeout(this.confirmTimer);
    this.confirmTimer = window.setTimeout(() => {
      this.confirmTimer = undefined;
      void this.askConfirm();
    }, delay);
  }

  private async askConfirm(): Promise<void> {
    if (!this.unsent) return;
    const g = this.generation;
    this.askedGen = g;
    if (!(await this.confirm())) return; // not live: the next connection's `serverState` asks again
    if (g === this.generation) this.clear();
    else if (this.unsent) {
      // Confirmed up to `g`: what is still unsent began with the first edit after it.
      this.unsent = { since: this.firstAfterAsk || Date.now(), paragraphs: [...this.touchedAfterAsk] };
      this.save();
    }
  }

  /**
   * A connection opened and the server told its state vector; y-websocket has
   * just answered it with everything the server lacks. Nothing the server
   * lacks: nothing is unsent; else confirm once the answer is through.
   */
  serverState(sv: Map<number, number>): void {
    if (!this.unsent) return;
    const mine = Y.encodeStateVector(this.doc);
    const local = Y.decodeStateVector(mine);
    let covered = true;
    local.forEach((clock, client) => {
      if ((sv.get(client) ?? 0) < clock) covered = false;
    });
    if (covered) this.clear();
    else this.confirmSoon(0);
  }

  /**
   * Whether the page holds edits of someone else's that the server (state
   * vector `sv`) does not have: only possible from a stored copy of another
   * incarnation of the document.
   */
  foreign(sv: Map<number, number>): boolean {
    if (!this.persistence || !this.clientsRead) return false;
    let found = false;
    Y.decodeStateVector(Y.encodeStateVector(this.doc)).forEach((clock, client) => {
      if ((sv.get(client) ?? 0) < clock && !this.isMine(client)) found = true;
    });
    return found;
  }

  /** Deletes the stored copy (it no longer matches the server's document). */
  async discard(): Promise<void> {
    this.doc.off('update', this.onUpdate);
    this.unsent = null;
    await this.persistence?.clearData().catch(() => undefined);
  }

  private clear(): void {
    this.unsent = null;
    this.save();
  }

  /** Signing out: the stored copy goes unless it holds unsent edits (they wait for this user's next sign-in here). */
  async signOut(): Promise<void> {
    const p = this.persistence;
    if (!p || this.unsent) return;
    this.doc.off('update', this.onUpdate);
    await p.clearData().catch(() => undefined);
  }

  destroy(): void {
    window.clearTimeout(this.confirmTimer);
    this.doc.off('update', this.onUpdate);
    void this.persistence?.destroy();
  }
}

/** The id of the paragraph a changed type belongs to, or '' (heading, footnotes, proposals …). */
function paragraphOf(type: Y.AbstractType<any>): string {
  let t: Y.AbstractType<any> | null = type;
  while (t && t._item) {
    const parent = t._item.parent as Y.AbstractType<any>;
    if (parent instanceof Y.Array && parent.doc && parent === parent.doc.getArray(PARAGRAPHS) && t instanceof Y.Map) {
      const id = t.get('id');
      return typeof id === 'string' ? id : '';
    }
    t = parent;
  }
  return '';
}

// Comments (SPEC §2): one Yjs document per visibility scope,
// `<doc>/comments/public`, `…/group/<G>`, `…/delegation/<CODE>`. The page
// joins only the scopes its token belongs to, so a delegation's private notes
// never reach another delegation's browser: the server refuses the join.
// Root `comments`: Y.Map id → Y.Map {id, paragraphId, anchor?, quote?,
// paragraphText?, paragraphLabel?, text, author, authorName, delegation,
// createdAt, resolved, resolvedBy, replies}. `anchor` holds Yjs relative
// positions into the paragraph's text (anchors.ts), `quote` the words as they
// read when the comment was made, `paragraphText` and `paragraphLabel` the
// paragraph as its author's page last saw it (kept up to date by that page),
// so a comment whose paragraph is deleted still says what it was about.
// Root `policy`: Y.Map {observersMayComment: boolean}, set by the chair (the
// server refuses delegates and observers, and judges an observer's comment
// against this scope's policy).

import * as Y from 'yjs';
import type { Auth } from './auth';
import { Connection } from './connection';
import { newId, str } from './model';
import { plainWords, type Denial } from './refusal';
import { attribution, type Claims, type Scope } from './session';

export interface Reply {
  id: string;
  text: string;
  author: string;
  authorName: string;
  delegation: string;
  createdAt: number;
}

export interface Comment extends Reply {
  scope: Scope;
  paragraphId: string;
  anchor?: string;
  quote?: string;
  paragraphText?: string;
  paragraphLabel?: string;
  resolved: boolean;
  resolvedBy?: string;
  replies: Reply[];
  map: Y.Map<unknown>;
}

const num = (m: Y.Map<unknown>, k: string): number => (typeof m.get(k) === 'number' ? (m.get(k) as number) : 0);

function readReply(m: Y.Map<unknown>): Reply {
  return {
    id: str(m, 'id') ?? '',
    text: str(m, 'text') ?? '',
    author: str(m, 'author') ?? '',
    authorName: str(m, 'authorName') ?? '',
    delegation: str(m, 'delegation') ?? '',
    createdAt: num(m, 'createdAt'),
  };
}

/** Why an observer's comment is not taken, when the page knows it before the server does. */
export const COMMENT_CLOSED = 'the chair has not opened this document to comments from observers';

/** A comment as the user wrote it. */
export interface Post {
  scope: string;
  paragraphId: string;
  text: string;
  anchor?: string;
  quote?: string;
  paragraphText?: string;
  paragraphLabel?: string;
}

export class CommentsHub {
  private readonly conns = new Map<string, Connection>();
  private readonly scopeStatus = new Map<string, string>();

  constructor(
    doc: string,
    auth: Auth,
    readonly scopes: Scope[],
    private readonly claims: Claims,
    private readonly onChange: () => void,
    onDenied: (reason: string, scope: string) => void,
  ) {
    for (const s of scopes) {
      const conn = new Connection(`${doc}/comments/${s.key}`, auth, {
        onDoc: (d) => {
          d.getMap('comments').observeDeep(() => this.onChange());
          d.getMap('policy').observe(() => this.onChange());
          this.onChange();
        },
        onDenied: (reason) => onDenied(reason, s.key),
        onState: (st) => {
          this.scopeStatus.set(s.key, st);
          this.onChange();
        },
      });
      this.conns.set(s.key, conn);
    }
  }

  status(scope: string): string {
    return this.scopeStatus.get(scope) ?? 'connecting';
  }

  private root(scope: string): Y.Map<unknown> | undefined {
    return this.conns.get(scope)?.doc.getMap('comments');
  }

  /** Every comment the page may read, oldest first. */
  all(): Comment[] {
    const out: Comment[] = [];
    for (const s of this.scopes) {
      const root = this.root(s.key);
      if (!root) continue;
      root.forEach((v) => {
        if (!(v instanceof Y.Map)) return;
        const replies = v.get('replies');
        out.push({
          ...readReply(v),
          scope: s,
          paragraphId: str(v, 'paragraphId') ?? '',
          anchor: str(v, 'anchor'),
          quote: str(v, 'quote'),
          paragraphText: str(v, 'paragraphText'),
          paragraphLabel: str(v, 'paragraphLabel'),
          resolved: v.get('resolved') === true,
          resolvedBy: str(v, 'resolvedBy'),
          replies: replies instanceof Y.Array ? replies.toArray().filter((r) => r instanceof Y.Map).map((r) => readReply(r)) : [],
          map: v,
        });
      });
    }
    return out.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  /** Whether this scope's policy lets observers comment (SPEC §1). */
  observersMayComment(scope: string): boolean {
    return this.conns.get(scope)?.doc.getMap('policy').get('observersMayComment') === true;
  }

  /** The chair's switch; the server refuses it from anyone but the chair or the secretariat. */
  setObserversMayComment(scope: string, allowed: boolean): void {
    this.conns.get(scope)?.doc.getMap('policy').set('observersMayComment', allowed);
  }

  /** The scopes this user may write in: all of them, for an observer those whose policy allows it. */
  writable(): Scope[] {
    if (this.claims.role !== 'observer') return this.scopes;
    return this.scopes.filter((s) => this.observersMayComment(s.key));
  }

  /** What this page posted lately, by comment id: put back in the form if the server refuses it. */
  private readonly posted = new Map<string, { post: Post; at: number }>();
  private readonly replied = new Map<string, { text: string; at: number }>();

  add(post: Post): string | undefined {
    const { scope, paragraphId, text } = post;
    const conn = this.conns.get(scope);
    if (!conn) return undefined;
    const d = conn.doc;
    const id = newId(d, 'c');
    for (const [k, v] of this.posted) if (Date.now() - v.at > 60_000) this.posted.delete(k);
    this.posted.set(id, { post, at: Date.now() });
    d.transact(() => {
      const m = new Y.Map<unknown>();
      d.getMap('comments').set(id, m);
      m.set('id', id);
      m.set('paragraphId', paragraphId);
      if (post.anchor) m.set('anchor', post.anchor);
      if (post.quote) m.set('quote', post.quote);
      if (post.paragraphText !== undefined) m.set('paragraphText', post.paragraphText);
      if (post.paragraphLabel) m.set('paragraphLabel', post.paragraphLabel);
      m.set('text', text);
      m.set('author', this.claims.sub);
      m.set('authorName', this.claims.name);
      m.set('delegation', attribution(this.claims));
      m.set('createdAt', Date.now());
      m.set('resolved', false);
      m.set('replies', new Y.Array());
    });
    return id;
  }

  /**
   * The post or reply a refusal names (`comment <id>: …`), if this page sent
   * it in the last minute: what the user typed, to be put back.
   */
  refusedPost(commentId: string): Post | undefined {
    const p = this.posted.get(commentId);
    this.posted.delete(commentId);
    return p && Date.now() - p.at < 60_000 ? p.post : undefined;
  }

  refusedReply(commentId: string): string | undefined {
    const r = this.replied.get(commentId);
    this.replied.delete(commentId);
    return r && Date.now() - r.at < 60_000 ? r.text : undefined;
  }

  /** The author's page anchors its comment again, to the same words in a moved paragraph's new text. */
  reanchor(c: Comment, anchor: string): void {
    if (c.author !== this.claims.sub || c.map.get('anchor') === anchor) return;
    if (this.claims.role === 'observer' && !this.observersMayComment(c.scope.key)) return;
    c.map.set('anchor', anchor);
  }

  /** The author's page keeps its comment's copy of the paragraph current (for when it is deleted). */
  snapshot(c: Comment, paragraphText: string, paragraphLabel: string): void {
    if (c.author !== this.claims.sub) return;
    if (c.paragraphText === paragraphText && c.paragraphLabel === paragraphLabel) return;
    if (this.claims.role === 'observer' && !this.observersMayComment(c.scope.key)) return;
    this.conns.get(c.scope.key)?.doc.transact(() => {
      if (c.map.get('paragraphText') !== paragraphText) c.map.set('paragraphText', paragraphText);
      if (c.map.get('paragraphLabel') !== paragraphLabel) c.map.set('paragraphLabel', paragraphLabel);
    });
  }

  reply(c: Comment, text: string): void {
    const d = this.conns.get(c.scope.key)?.doc;
    if (!d) return;
    for (const [k, v] of this.replied) if (Date.now() - v.at > 60_000) this.replied.delete(k);
    this.replied.set(c.id, { text, at: Date.now() });
    d.transact(() => {
      let replies = c.map.get('replies');
      if (!(replies instanceof Y.Array)) {
        replies = new Y.Array();
        c.map.set('replies', replies);
      }
      const m = new Y.Map<unknown>();
      (replies as Y.Array<unknown>).push([m]);
      m.set('id', newId(d, 'r'));
      m.set('text', text);
      m.set('author', this.claims.sub);
      m.set('authorName', this.claims.name);
      m.set('delegation', attribution(this.claims));
      m.set('createdAt', Date.now());
    });
  }

  resolve(c: Comment, resolved: boolean): void {
    const d = this.conns.get(c.scope.key)?.doc;
    d?.transact(() => {
      c.map.set('resolved', resolved);
      c.map.set('resolvedBy', this.claims.name);
    });
  }

  destroy(): void {
    for (const c of this.conns.values()) c.destroy();
  }
}

/** Plain words for the server's refusals of comments (SPEC §1), for every role: no rule ids, no comment ids. */
const COMMENT_WORDS: Record<string, string> = {
  'comments.observers-disabled': COMMENT_CLOSED,
  'comments.scope': 'you are not a member of the group that reads these comments',
  'comments.own-only': 'you can change only your own comments',
  'comments.resolve-own-only': 'only its author, the chair or the secretariat can resolve a comment',
  'comments.author': 'the comment did not carry your own name; sign in again, then post it again',
  'comments.delegation': 'the comment did not carry your own delegation; sign in again, then post it again',
  'comments.identity': 'who wrote a comment, where and when cannot be changed',
  'meta.chair-or-secretariat': 'only the chair (or the secretariat) decides whether observers may comment',
  'observer.read-only': 'observers can read the draft but not change it',
  'schema.unknown': 'the page sent something comments have no place for; reload the page and try again',
  'schema.value': 'the page sent a value comments do not accept; reload the page and try again',
};

export function commentRefusalWords(d: Denial): string {
  if (d.rule && COMMENT_WORDS[d.rule]) return COMMENT_WORDS[d.rule];
  return plainWords(d)
    .replace(/\s*\[[A-Za-z0-9_.-]+\]/g, '')
    .replace(/\b(comment|reply) [a-z][a-z0-9]*-[a-z0-9-]+/gi, 'this $1')
    .trim();
}

/**
 * A deleted paragraph's last text and label, from the history (for a page
 * opened after the deletion, whose comments' copy may be older): the state
 * just before the last log entry that touched the paragraph (its deletion).
 */
export async function lastTextFromHistory(doc: string, paragraphId: string, get: (path: string) => Promise<Response>): Promise<{ text: string; label: string } | null> {
  const base = `/api/docs/${encodeURIComponent(doc)}`;
  const ask = async <T>(path: string): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return (await (await get(path)).json()) as T;
      } catch (e) {
        // The history is rate-limited and may be indexing: ask again a few times.
        if (attempt >= 5 || !/HTTP (429|503)/.test((e as Error).message)) throw e;
        await new Promise((res) => window.setTimeout(res, 400 * (attempt + 1)));
      }
    }
  };
  let last: number | undefined;
  let after = 0;
  for (let page = 0; page < 100; page++) {
    const entries = await ask<{ seq: number; paragraphs?: string[] }[]>(`${base}/timeline?after=${after}&limit=1000`);
    for (const e of entries) if (e.paragraphs?.includes(paragraphId)) last = e.seq;
    if (entries.length < 1000) break;
    after = entries[entries.length - 1].seq;
  }
  if (last === undefined || last < 1) return null;
  const state = await ask<{ resolution?: { paragraphs?: { id: string; label?: string; text?: { text: string }[] }[] } }>(`${base}/state?seq=${last - 1}`);
  const p = state.resolution?.paragraphs?.find((x) => x.id === paragraphId);
  return p ? { text: (p.text ?? []).map((r) => r.text).join(''), label: p.label ?? '' } : null;
}

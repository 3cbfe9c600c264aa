// Comments (SPEC §2): one Yjs document per visibility scope,
// `<doc>/comments/public`, `…/group/<G>`, `…/delegation/<CODE>`. The page
// joins only the scopes its token belongs to, so a delegation's private notes
// never reach another delegation's browser: the server refuses the join.
// Root `comments`: Y.Map id → Y.Map {id, paragraphId, text, author,
// authorName, delegation, createdAt, resolved, resolvedBy, replies}.

import * as Y from 'yjs';
import type { Auth } from './auth';
import { Connection } from './connection';
import { newId, str } from './model';
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

export class CommentsHub {
  private readonly conns = new Map<string, Connection>();
  private readonly scopeStatus = new Map<string, string>();

  constructor(
    doc: string,
    auth: Auth,
    readonly scopes: Scope[],
    private readonly claims: Claims,
    private readonly onChange: () => void,
    onDenied: (reason: string) => void,
  ) {
    for (const s of scopes) {
      const conn = new Connection(`${doc}/comments/${s.key}`, auth, {
        onDoc: (d) => {
          d.getMap('comments').observeDeep(() => this.onChange());
          this.onChange();
        },
        onDenied,
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
          resolved: v.get('resolved') === true,
          resolvedBy: str(v, 'resolvedBy'),
          replies: replies instanceof Y.Array ? replies.toArray().filter((r) => r instanceof Y.Map).map((r) => readReply(r)) : [],
          map: v,
        });
      });
    }
    return out.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  add(scope: string, paragraphId: string, text: string): void {
    const conn = this.conns.get(scope);
    if (!conn) return;
    const d = conn.doc;
    const id = newId(d, 'c');
    d.transact(() => {
      const m = new Y.Map<unknown>();
      d.getMap('comments').set(id, m);
      m.set('id', id);
      m.set('paragraphId', paragraphId);
      m.set('text', text);
      m.set('author', this.claims.sub);
      m.set('authorName', this.claims.name);
      m.set('delegation', attribution(this.claims));
      m.set('createdAt', Date.now());
      m.set('resolved', false);
      m.set('replies', new Y.Array());
    });
  }

  reply(c: Comment, text: string): void {
    const d = this.conns.get(c.scope.key)?.doc;
    if (!d) return;
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

// The SPEC §2 document layout as the page reads and writes it: root names,
// paragraph fields, derived numbering, and the edits the chair's and the
// delegations' buttons make (proposals, decisions, status).

import * as Y from 'yjs';
import type { Mode, Status } from './policy';
import type { Auth } from './auth';

export const META = 'meta';
export const PARAGRAPHS = 'paragraphs';
export const FOOTNOTES = 'footnotes';
export const PROPOSALS = 'proposals';
export const SPONSORS = 'sponsors';

export type Kind = 'preambular' | 'operative';

export interface Roots {
  meta: Y.Map<unknown>;
  paragraphs: Y.Array<Y.Map<unknown>>;
  footnotes: Y.Map<Y.Text>;
  proposals: Y.Array<Y.Map<unknown>>;
  sponsors: Y.Array<Y.Map<unknown>>;
}

export function roots(doc: Y.Doc): Roots {
  return {
    meta: doc.getMap(META),
    paragraphs: doc.getArray(PARAGRAPHS),
    footnotes: doc.getMap(FOOTNOTES),
    proposals: doc.getArray(PROPOSALS),
    sponsors: doc.getArray(SPONSORS),
  };
}

export const str = (m: Y.Map<unknown>, k: string): string | undefined => {
  const v = m.get(k);
  return typeof v === 'string' ? v : undefined;
};

export const pId = (m: Y.Map<unknown>): string => str(m, 'id') ?? '';
export const pKind = (m: Y.Map<unknown>): Kind => (str(m, 'kind') === 'preambular' ? 'preambular' : 'operative');
export const pLevel = (m: Y.Map<unknown>): number => (typeof m.get('level') === 'number' ? (m.get('level') as number) : 0);
export const pStatus = (m: Y.Map<unknown>): Status => {
  const s = str(m, 'status');
  return s === 'bracketed' || s === 'ad-ref' || s === 'agreed' ? s : 'open';
};
export const pText = (m: Y.Map<unknown>): Y.Text | undefined => {
  const t = m.get('text');
  return t instanceof Y.Text ? t : undefined;
};
export const docMode = (r: Roots): Mode => (str(r.meta, 'mode') === 'negotiation' ? 'negotiation' : 'open');

export interface Numbered {
  number: string; // "3." / "(b)" / "" (preambular)
  label: string; // "PP2", "OP3", "OP3(b)"
}

/** The label of the i-th sub-paragraph as UN texts letter them: a … z, aa, bb … (as plenary-doc). */
function letter(i: number): string {
  return String.fromCharCode(97 + (i % 26)).repeat(Math.floor(i / 26) + 1);
}

/** Lower-case Roman numerals for sub-sub-paragraphs: 0 → i, 3 → iv. */
function roman(i: number): string {
  const digits: [number, string][] = [
    [1000, 'm'], [900, 'cm'], [500, 'd'], [400, 'cd'], [100, 'c'], [90, 'xc'],
    [50, 'l'], [40, 'xl'], [10, 'x'], [9, 'ix'], [5, 'v'], [4, 'iv'], [1, 'i'],
  ];
  let n = i + 1;
  let s = '';
  for (const [v, d] of digits) {
    while (n >= v) {
      s += d;
      n -= v;
    }
  }
  return s;
}

/**
 * Derived numbering, recomputed on every change of order (never stored); the same as
 * plenary-doc's `numbering::plain`: OP 1, 2 …; sub-paragraphs (a), (b) … under a paragraph
 * of either kind; sub-sub-paragraphs (i), (ii) … under a sub-paragraph.
 */
export function numbering(items: { kind: Kind; level: number }[]): Numbered[] {
  let pp = 0;
  let op = 0;
  let sub = 0;
  let subsub = 0;
  return items.map(({ kind, level }) => {
    const parent = kind === 'preambular' ? `PP${Math.max(pp, 1)}` : `OP${Math.max(op, 1)}`;
    if (level <= 0) {
      sub = 0;
      subsub = 0;
      if (kind === 'preambular') {
        pp++;
        return { number: '', label: `PP${pp}` };
      }
      op++;
      return { number: `${op}.`, label: `OP${op}` };
    }
    if (level === 1) {
      subsub = 0;
      const l = `(${letter(sub++)})`;
      return { number: l, label: `${parent}${l}` };
    }
    const r = `(${roman(subsub++)})`;
    return { number: r, label: `${parent}(${letter(Math.max(sub, 1) - 1)})${r}` };
  });
}

export function newId(doc: Y.Doc, prefix: string): string {
  return `${prefix}${doc.clientID.toString(36)}-${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
}

export interface ProposalView {
  map: Y.Map<unknown>;
  id: string;
  paragraphId?: string;
  after?: string;
  action: 'replace' | 'insert' | 'delete' | 'move';
  text: string;
  /** The paragraph's plain text when proposed (absent on older proposals). */
  baseText?: string;
  delegation: string;
  onBehalfOf?: string;
  supporters: string[];
  author: string;
  createdAt: number;
  status: 'pending' | 'accepted' | 'rejected' | 'withdrawn';
  decidedBy?: string;
  decidedAt?: number;
}

export function readProposal(m: Y.Map<unknown>): ProposalView {
  const sup = m.get('supporters');
  const a = str(m, 'action');
  const s = str(m, 'status');
  return {
    map: m,
    id: str(m, 'id') ?? '',
    paragraphId: str(m, 'paragraphId'),
    after: str(m, 'after'),
    action: a === 'insert' || a === 'delete' || a === 'move' ? a : 'replace',
    text: str(m, 'text') ?? '',
    baseText: str(m, 'baseText'),
    delegation: str(m, 'delegation') ?? '',
    onBehalfOf: str(m, 'onBehalfOf'),
    supporters: sup instanceof Y.Array ? sup.toArray().filter((x): x is string => typeof x === 'string') : [],
    author: str(m, 'author') ?? '',
    createdAt: typeof m.get('createdAt') === 'number' ? (m.get('createdAt') as number) : 0,
    status: s === 'accepted' || s === 'rejected' || s === 'withdrawn' ? s : 'pending',
    decidedBy: str(m, 'decidedBy'),
    decidedAt: typeof m.get('decidedAt') === 'number' ? (m.get('decidedAt') as number) : undefined,
  };
}

/** Creates a proposal in the name of `delegation` (SPEC §2 `proposals`). */
export function propose(
  doc: Y.Doc,
  r: Roots,
  p: {
    paragraphId?: string;
    after?: string;
    action: ProposalView['action'];
    text: string;
    baseText?: string;
    baseSeq?: number;
    delegation: string;
    author: string;
    onBehalfOf?: string;
  },
): string {
  const id = newId(doc, 'pr');
  doc.transact(() => {
    const m = new Y.Map<unknown>();
    r.proposals.push([m]);
    m.set('id', id);
    m.set('paragraphId', p.paragraphId ?? null);
    m.set('after', p.after ?? null);
    m.set('action', p.action);
    m.set('text', p.text);
    if (p.baseText !== undefined) m.set('baseText', p.baseText);
    if (p.baseSeq !== undefined) m.set('baseSeq', p.baseSeq);
    m.set('delegation', p.delegation);
    m.set('onBehalfOf', p.onBehalfOf ?? null);
    m.set('supporters', new Y.Array<string>());
    m.set('author', p.author);
    m.set('createdAt', Date.now());
    m.set('status', 'pending');
    m.set('decidedBy', null);
  });
  return id;
}

/** What the server said to a stale proposal (409): the three texts and the token to decide anyway. */
export interface StaleAnswer {
  proposal: string;
  base?: string | null;
  current: string;
  proposed: string;
  seen: string;
}

export type DecideResult = { ok: true } | { ok: false; stale: StaleAnswer } | { ok: false; error: string };

function paragraphIndex(r: Roots, id: string | undefined): number {
  if (!id) return -1;
  return r.paragraphs.toArray().findIndex((m) => pId(m) === id);
}

export function copyParagraph(src: Y.Map<unknown>): Y.Map<unknown> {
  const m = new Y.Map<unknown>();
  for (const k of ['id', 'kind', 'level', 'status']) m.set(k, src.get(k));
  const t = new Y.Text();
  const old = pText(src);
  if (old) t.applyDelta(old.toDelta());
  m.set('text', t);
  return m;
}

/**
 * The chair's decision, taken by the server (`POST /api/docs/{doc}/proposals/{id}/decision`):
 * it merges the proposal onto the paragraph as it is now and everyone gets the result over the
 * WebSocket. A client never writes a decision itself (the server refuses it).
 */
export async function decide(
  auth: Auth,
  doc: string,
  id: string,
  body: { decision: 'accept' | 'reject'; seen?: string; text?: string },
): Promise<DecideResult> {
  const url = `/api/docs/${encodeURIComponent(doc)}/proposals/${encodeURIComponent(id)}/decision`;
  for (let attempt = 0; ; attempt++) {
    const token = auth.token;
    let r: Response;
    try {
      r = await fetch(url, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    } catch {
      return { ok: false, error: 'the server cannot be reached' };
    }
    if (r.ok) return { ok: true };
    if (r.status === 401 && attempt === 0) {
      await auth.renew(token);
      continue;
    }
    const j = (await r.json().catch(() => undefined)) as Record<string, unknown> | undefined;
    if (r.status === 409 && j && typeof j.seen === 'string' && typeof j.current === 'string') {
      return { ok: false, stale: j as unknown as StaleAnswer };
    }
    return { ok: false, error: j && typeof j.detail === 'string' ? j.detail : `HTTP ${r.status}` };
  }
}

export function toggleSupport(doc: Y.Doc, p: ProposalView, delegation: string): void {
  const sup = p.map.get('supporters');
  doc.transact(() => {
    let arr = sup instanceof Y.Array ? (sup as Y.Array<string>) : undefined;
    if (!arr) {
      arr = new Y.Array<string>();
      p.map.set('supporters', arr);
    }
    const i = arr.toArray().indexOf(delegation);
    if (i >= 0) arr.delete(i, 1);
    else arr.push([delegation]);
  });
}

/** A delegation withdraws its own proposal (the server refuses it for anyone else). */
export function withdraw(p: ProposalView): void {
  p.map.set('status', 'withdrawn');
}

/** Why a proposal's text may not be sent, or null: empty, or the paragraph's text unchanged. */
export function proposalProblem(action: ProposalView['action'], text: string, current: string): string | null {
  if (action === 'delete' || action === 'move') return null;
  if (!text.trim()) return 'The proposal is empty: write the words you propose.';
  if (action === 'replace' && text.trim() === current.trim()) return 'The proposal does not change the paragraph: edit its words first.';
  return null;
}

// ---- the chair restructures the draft ----

/** Openings of preambular paragraphs (participles), printed in italics. */
export const PREAMBULAR_OPENINGS = [
  'Recalling', 'Reaffirming', 'Noting', 'Noting with concern', 'Welcoming', 'Recognizing', 'Stressing',
  'Emphasizing', 'Bearing in mind', 'Deeply concerned', 'Acknowledging', 'Expressing concern', 'Mindful',
  'Taking note', 'Convinced', 'Determined', 'Guided by', 'Underlining',
];
/** Openings of operative paragraphs (verbs), printed in italics. */
export const OPERATIVE_OPENINGS = [
  'Decides', 'Requests', 'Encourages', 'Calls upon', 'Urges', 'Invites', 'Welcomes', 'Takes note',
  'Reaffirms', 'Recommends', 'Emphasizes', 'Stresses', 'Also requests', 'Further invites', 'Notes with appreciation',
];

/** Inserts a paragraph after `afterId` (at the start when absent): its opening in italics, then the rest. */
export function insertParagraph(
  doc: Y.Doc,
  r: Roots,
  afterId: string | undefined,
  p: { kind: Kind; level: number; opening: string; rest: string },
): string {
  const id = newId(doc, 'p');
  doc.transact(() => {
    const at = paragraphIndex(r, afterId) + 1;
    const m = new Y.Map<unknown>();
    m.set('id', id);
    m.set('kind', p.kind);
    m.set('level', p.level);
    m.set('status', 'open');
    const t = new Y.Text();
    const opening = p.opening.trim();
    const rest = p.rest.trim();
    const delta: { insert: string; attributes?: Record<string, unknown> }[] = [];
    if (opening) delta.push({ insert: opening, attributes: { italic: true } });
    if (rest) delta.push({ insert: (opening ? ' ' : '') + rest });
    if (delta.length) t.applyDelta(delta);
    m.set('text', t);
    r.paragraphs.insert(at, [m]);
  });
  return id;
}

/** Moves a paragraph one place up (-1) or down (+1): a delete and a re-insert of a copy with the same id. */
export function moveParagraph(doc: Y.Doc, r: Roots, id: string, by: -1 | 1): boolean {
  const at = paragraphIndex(r, id);
  const to = at + by;
  if (at < 0 || to < 0 || to >= r.paragraphs.length) return false;
  doc.transact(() => {
    const copy = copyParagraph(r.paragraphs.get(at));
    r.paragraphs.delete(at, 1);
    r.paragraphs.insert(to, [copy]);
  });
  return true;
}

export function deleteParagraph(r: Roots, id: string): void {
  const at = paragraphIndex(r, id);
  if (at >= 0) r.paragraphs.delete(at, 1);
}

// ---- sponsors ----

export interface SponsorView {
  delegation: string;
  signedBy: string;
  at: number;
}

export function readSponsors(r: Roots): SponsorView[] {
  return r.sponsors
    .toArray()
    .filter((m): m is Y.Map<unknown> => m instanceof Y.Map)
    .map((m) => ({ delegation: str(m, 'delegation') ?? '', signedBy: str(m, 'signedBy') ?? '', at: typeof m.get('at') === 'number' ? (m.get('at') as number) : 0 }))
    .filter((s) => s.delegation);
}

/** The delegation co-sponsors, signed with the signer's own id (the server checks both against the token). */
export function cosponsor(doc: Y.Doc, r: Roots, delegation: string, signedBy: string): void {
  doc.transact(() => {
    const m = new Y.Map<unknown>();
    m.set('delegation', delegation);
    m.set('signedBy', signedBy);
    m.set('at', Date.now());
    r.sponsors.push([m]);
  });
}

export function withdrawSponsorship(doc: Y.Doc, r: Roots, delegation: string): void {
  doc.transact(() => {
    const arr = r.sponsors.toArray();
    for (let i = arr.length - 1; i >= 0; i--) if (arr[i] instanceof Y.Map && str(arr[i], 'delegation') === delegation) r.sponsors.delete(i, 1);
  });
}

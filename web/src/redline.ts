// The compare answer (plenary-history's `Comparison`, from
// `GET /api/docs/{doc}/compare`) as a redline a delegate reads: each changed
// paragraph under its label with struck deleted words and underlined inserted
// words; added and deleted paragraphs; moves ("moved from OP3"); status
// changes; footnote and header changes in words. Never JSON: a shape this page
// does not know is said in a sentence.

import { h } from './dom';

type Json = Record<string, unknown>;
type Op = { op: string; text: string };

const str = (v: unknown): string => (typeof v === 'string' ? v : v == null ? '' : String(v));
const arr = (v: unknown): Json[] => (Array.isArray(v) ? (v.filter((x) => x && typeof x === 'object') as Json[]) : []);

const STATUS: Record<string, string> = { open: 'open', bracketed: 'bracketed', 'ad-ref': 'ad referendum', adref: 'ad referendum', ad_ref: 'ad referendum', agreed: 'agreed' };
const statusWord = (s: unknown): string => STATUS[str(s).toLowerCase()] ?? str(s).replace(/[-_]/g, ' ');

const META: Record<string, string> = { title: 'Title', symbol: 'Symbol', date: 'Date', mode: 'Mode', actingBody: 'Acting body', acting_body: 'Acting body', agendaItem: 'Agenda item', session: 'Session', committee: 'Committee', body: 'Body' };
const metaName = (k: string): string => {
  if (META[k]) return META[k];
  const words = k.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/[_-]/g, ' ').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
};

function readOps(v: unknown): Op[] {
  return arr(v).map((o) => ({ op: str(o.op ?? o.kind).toLowerCase(), text: str(o.text) }));
}

/** Word runs: deleted words struck (<del>), inserted underlined (<ins>), the rest as text. */
export function opsNode(ops: Op[]): HTMLElement {
  return h(
    'div.redline-text',
    ...ops.map((o) => (o.op.startsWith('ins') ? h('ins', o.text) : o.op.startsWith('del') ? h('del', o.text) : document.createTextNode(o.text))),
  );
}

interface Block {
  id: string;
  label: string;
  notes: (HTMLElement | string)[];
  body?: HTMLElement;
  kind: 'changed' | 'added' | 'deleted' | 'moved' | 'status';
}

/** Sort key of a label: preamble before operative part, then by number, then the rest. */
function labelKey(label: string): [number, number, string] {
  const m = /^(PP|OP)(\d+)(.*)$/.exec(label);
  if (!m) return [2, 0, label];
  return [m[1] === 'PP' ? 0 : 1, Number(m[2]), m[3]];
}
const byLabel = (a: Block, b: Block): number => {
  const [x, y] = [labelKey(a.label), labelKey(b.label)];
  return x[0] - y[0] || x[1] - y[1] || (x[2] < y[2] ? -1 : x[2] > y[2] ? 1 : 0);
};

/** The redline of a comparison answer; `res` is the parsed JSON. */
export function renderRedline(res: unknown): HTMLElement {
  const c = (res && typeof res === 'object' ? res : {}) as Json;
  const known = ['added', 'deleted', 'moved', 'changed', 'status_changed', 'footnotes', 'meta'].some((k) => Array.isArray(c[k]));
  if (!known) return h('div.redline.history-unavailable', 'The server answered the comparison in a form this page cannot read.');

  const blocks = new Map<string, Block>();
  const block = (id: string, label: string, kind: Block['kind']): Block => {
    let b = blocks.get(id);
    if (!b) {
      b = { id, label, notes: [], kind };
      blocks.set(id, b);
    }
    return b;
  };
  for (const p of arr(c.changed)) {
    const b = block(str(p.id), str(p.new_label ?? p.label), 'changed');
    b.body = opsNode(readOps(p.ops));
    if (p.old_label && p.new_label && p.old_label !== p.new_label && !arr(c.moved).some((m) => m.id === p.id)) b.notes.push(`was ${str(p.old_label)}`);
  }
  for (const p of arr(c.moved)) {
    const b = block(str(p.id), str(p.new_label), 'moved');
    b.notes.push(`moved from ${str(p.old_label)}${p.kind_changed ? ' (between preamble and operative part)' : ''}`);
  }
  for (const p of arr(c.status_changed)) {
    const b = block(str(p.id), str(p.label), 'status');
    b.notes.push(`status ${statusWord(p.from)} → ${statusWord(p.to)}`);
  }
  for (const p of arr(c.added)) {
    const b = block(str(p.id), str(p.label), 'added');
    b.kind = 'added';
    b.notes.unshift('new paragraph');
    b.body = h('div.redline-text', h('ins', str(p.text)));
  }
  const current = [...blocks.values()].sort(byLabel);
  const deleted: Block[] = arr(c.deleted).map((p) => ({
    id: str(p.id),
    label: str(p.label),
    kind: 'deleted',
    notes: ['paragraph deleted'],
    body: h('div.redline-text', h('del', str(p.text))),
  }));

  const para = (b: Block): HTMLElement =>
    h(
      `div.change.change-${b.kind}`,
      { 'data-id': b.id, 'data-label': b.label },
      h('div.change-head', h('span.label', b.label || 'Paragraph'), ...b.notes.map((n) => h('span.change-note', n))),
      b.body ?? null,
    );

  const sections: HTMLElement[] = [];
  const meta = arr(c.meta);
  if (meta.length) {
    sections.push(
      h(
        'section.redline-meta',
        h('h4', 'Header'),
        ...meta.map((m) => {
          const from = m.from == null ? '' : str(m.from);
          const to = m.to == null ? '' : str(m.to);
          const name = metaName(str(m.key));
          return h(
            'div.change.change-meta',
            h('span.label', name),
            !from ? h('span.change-note', 'set to') : !to ? h('span.change-note', 'removed') : h('span.change-note', 'changed'),
            h('div.redline-text', from ? h('del', from) : null, from && to ? ' ' : null, to ? h('ins', to) : null),
          );
        }),
      ),
    );
  }
  if (current.length || deleted.length) sections.push(h('section.redline-paragraphs', h('h4', 'Paragraphs'), ...current.map(para), ...deleted.map(para)));
  const notes = arr(c.footnotes);
  if (notes.length) {
    sections.push(
      h(
        'section.redline-footnotes',
        h('h4', 'Footnotes'),
        ...notes.map((f) => {
          const change = str(f.change);
          const oldM = Number(f.old_marker) || 0;
          const newM = Number(f.new_marker) || 0;
          const ops = readOps(f.ops);
          let what: string;
          if (change === 'added') what = `footnote ${newM} added`;
          else if (change === 'deleted') what = `footnote ${oldM} deleted`;
          else if (change === 'marker-moved' || change === 'marker_moved') what = `footnote ${newM || oldM}: its reference now stands elsewhere`;
          else what = `footnote ${newM || oldM} reworded${f.marker_moved ? ', and its reference moved' : ''}`;
          if (oldM && newM && oldM !== newM && change !== 'added' && change !== 'deleted') what += ` (was ${oldM})`;
          return h(`div.change.change-footnote.fn-${change || 'changed'}`, h('div.change-head', h('span.label', `Footnote ${newM || oldM}`), h('span.change-note', what)), ops.length ? opsNode(ops) : null);
        }),
      ),
    );
  }
  if (!sections.length) return h('div.redline', h('p.muted.redline-none', 'No changes between these two points.'));
  const counts = [
    current.filter((b) => b.kind !== 'added').length && `${current.filter((b) => b.kind !== 'added').length} paragraph(s) changed`,
    arr(c.added).length && `${arr(c.added).length} added`,
    deleted.length && `${deleted.length} deleted`,
    notes.length && `${notes.length} footnote change(s)`,
    meta.length && `${meta.length} header change(s)`,
  ].filter(Boolean);
  return h('div.redline', h('p.redline-summary', counts.join(' · ')), ...sections);
}

/** Who wrote an attributed run, in words, for a paragraph's own redline. */
export type Describe = (run: Json) => { who: string; when: string };

/**
 * Inserted words split along the attribution runs of the new text: each
 * `<ins>` carries who wrote it (tooltip, and a tag after the insertion).
 */
function attributedOps(ops: Op[], runs: Json[], describe: Describe): HTMLElement {
  const newText = ops.filter((o) => !o.op.startsWith('del')).map((o) => o.text).join('');
  const runText = runs.map((r) => str(r.text)).join('');
  if (!runs.length || runText !== newText) return opsNode(ops);
  // Run boundaries over the new text.
  const bounds: { from: number; to: number; run: Json }[] = [];
  let at = 0;
  for (const r of runs) {
    const len = str(r.text).length;
    bounds.push({ from: at, to: at + len, run: r });
    at += len;
  }
  // The pieces in order: kept and struck words, and inserted words split by writer.
  type Piece = { op: 'eq' | 'del' | 'ins'; text: string; who?: string; when?: string };
  const pieces: Piece[] = [];
  let pos = 0;
  for (const o of ops) {
    if (o.op.startsWith('del')) {
      pieces.push({ op: 'del', text: o.text });
    } else if (!o.op.startsWith('ins')) {
      pieces.push({ op: 'eq', text: o.text });
      pos += o.text.length;
    } else {
      const end = pos + o.text.length;
      for (const b of bounds) {
        const [x, z] = [Math.max(pos, b.from), Math.min(end, b.to)];
        if (z > x) pieces.push({ op: 'ins', text: o.text.slice(x - pos, z - pos), ...describe(b.run) });
      }
      pos = end;
    }
  }
  const out = h('div.redline-text');
  pieces.forEach((p, i) => {
    if (p.op === 'del') return void out.append(h('del', p.text));
    if (p.op === 'eq') return void out.append(p.text);
    out.append(h('ins.by', { title: `${p.who} · ${p.when}`, 'data-who': p.who ?? '' }, p.text));
    // The writer's name once, after a stretch of their insertions (struck words and spaces between do not break it).
    const next = pieces.slice(i + 1).find((q) => q.op === 'ins' || (q.op === 'eq' && q.text.trim()));
    if (!next || next.op === 'eq' || next.who !== p.who) out.append(h('span.ins-who', `${p.who} · ${p.when}`));
  });
  return out;
}

/**
 * One paragraph's own redline between two points (a `/compare` answer): its
 * text with struck and inserted words (who wrote each insertion, from `runs`,
 * the paragraph's attribution at the second point), its moves and status
 * changes, or that it is new, deleted or unchanged.
 */
export function paragraphRedline(res: unknown, id: string, runs: Json[], describe: Describe): HTMLElement {
  const c = (res && typeof res === 'object' ? res : {}) as Json;
  const notes: string[] = [];
  let body: HTMLElement | null = null;
  const changed = arr(c.changed).find((p) => str(p.id) === id);
  const added = arr(c.added).find((p) => str(p.id) === id);
  const deleted = arr(c.deleted).find((p) => str(p.id) === id);
  const moved = arr(c.moved).find((p) => str(p.id) === id);
  const status = arr(c.status_changed).find((p) => str(p.id) === id);
  if (added) {
    notes.push('new paragraph since then');
    body = attributedOps([{ op: 'ins', text: str(added.text) }], runs, describe);
  } else if (deleted) {
    notes.push('paragraph deleted');
    body = h('div.redline-text', h('del', str(deleted.text)));
  } else if (changed) {
    body = attributedOps(readOps(changed.ops), runs, describe);
    if (changed.old_label && changed.new_label && changed.old_label !== changed.new_label && !moved) notes.push(`was ${str(changed.old_label)}`);
  }
  if (moved) notes.push(`moved from ${str(moved.old_label)}${moved.kind_changed ? ' (between preamble and operative part)' : ''}`);
  if (status) notes.push(`status ${statusWord(status.from)} → ${statusWord(status.to)}`);
  if (!body && !notes.length) return h('div.redline.para-redline', h('p.muted.redline-none', 'Its text is the same as then.'));
  return h(
    'div.redline.para-redline',
    notes.length ? h('div.change-head', ...notes.map((n) => h('span.change-note', n))) : null,
    body ?? h('p.muted', 'Its words are the same as then.'),
  );
}

/** What one step did to paragraph `id` (a `/compare` answer from just before the step to just after it), in a line. */
export function stepRedline(res: unknown, id: string): HTMLElement {
  const c = (res && typeof res === 'object' ? res : {}) as Json;
  const parts: (HTMLElement | string)[] = [];
  const changed = arr(c.changed).find((p) => str(p.id) === id);
  const added = arr(c.added).find((p) => str(p.id) === id);
  const deleted = arr(c.deleted).find((p) => str(p.id) === id);
  const moved = arr(c.moved).find((p) => str(p.id) === id);
  const status = arr(c.status_changed).find((p) => str(p.id) === id);
  if (added) parts.push(h('span.change-note', 'added the paragraph'), h('div.redline-text', h('ins', str(added.text))));
  if (deleted) parts.push(h('span.change-note', 'deleted the paragraph'), h('div.redline-text', h('del', str(deleted.text))));
  if (moved) parts.push(h('span.change-note', `moved it from ${str(moved.old_label)} to ${str(moved.new_label)}`));
  if (status) parts.push(h('span.change-note', `status ${statusWord(status.from)} → ${statusWord(status.to)}`));
  if (changed) parts.push(contextOps(readOps(changed.ops)));
  if (!parts.length) parts.push(h('span.muted', 'no visible change to its text'));
  return h('div.redline.step-redline', ...parts);
}

/** The changed words with a few words of context either side, the rest elided. */
function contextOps(ops: Op[], words = 6): HTMLElement {
  const out = h('div.redline-text');
  ops.forEach((o, i) => {
    if (o.op.startsWith('ins')) out.append(h('ins', o.text));
    else if (o.op.startsWith('del')) out.append(h('del', o.text));
    else {
      const ws = o.text.split(/(?<=\s)/);
      const first = i === 0;
      const lastOp = i === ops.length - 1;
      if (ws.length <= words * 2) out.append(o.text);
      else if (first) out.append(`… ${ws.slice(-words).join('')}`);
      else if (lastOp) out.append(`${ws.slice(0, words).join('')} …`);
      else out.append(`${ws.slice(0, words).join('')} … ${ws.slice(-words).join('')}`);
    }
  });
  return out;
}

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

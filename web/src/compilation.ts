// The compilation text (SPEC §2) as a view of the page: each paragraph with
// its open proposals as bracketed alternatives naming the delegations that
// propose and support them, the way UN compilation texts are circulated.
// Computed from the Y.Doc on every change while shown, with the page's labels
// (provisional ones included).

import * as Y from 'yjs';
import { h } from './dom';
import { pId, pKind, pLevel, pText, readProposal, str, type Numbered, type ProposalView, type Roots } from './model';

/** "JPN on behalf of G77; supported by EU, MEX". */
export function attributionLine(p: ProposalView): string {
  let s = p.delegation;
  if (p.onBehalfOf) s += ` on behalf of ${p.onBehalfOf}`;
  if (p.supporters.length) s += `; supported by ${p.supporters.join(', ')}`;
  return s;
}

function runs(t: Y.Text | undefined): DocumentFragment {
  const f = document.createDocumentFragment();
  for (const op of (t?.toDelta() ?? []) as { insert?: unknown; attributes?: { italic?: boolean } }[]) {
    if (typeof op.insert !== 'string') continue;
    f.append(op.attributes?.italic ? h('em', op.insert) : document.createTextNode(op.insert));
  }
  return f;
}

export function renderCompilation(r: Roots, labelOf: (id: string) => Numbered | undefined): HTMLElement {
  const pending = r.proposals
    .toArray()
    .filter((m): m is Y.Map<unknown> => m instanceof Y.Map)
    .map(readProposal)
    .filter((p) => p.status === 'pending');
  const on = (id: string, ...actions: ProposalView['action'][]) =>
    pending.filter((p) => actions.includes(p.action) && (p.action === 'insert' ? p.after === id : p.paragraphId === id));
  const out = h(
    'div.compilation',
    h('h2.comp-title', `Compilation text${str(r.meta, 'symbol') ? ` — ${str(r.meta, 'symbol')}` : ''}`),
    h('p.comp-note', 'Each paragraph with its open proposals as bracketed alternatives, naming the delegations that propose and support them.'),
    h('div.comp-acting', str(r.meta, 'actingBody') ?? ''),
  );
  let open = 0;
  for (const m of r.paragraphs.toArray()) {
    if (!(m instanceof Y.Map)) continue;
    const id = pId(m);
    const l = labelOf(id);
    const label = l?.label ?? id;
    const alts = on(id, 'replace', 'delete', 'move');
    open += alts.length;
    out.append(
      h(
        `div.comp-para.${pKind(m)}.level-${pLevel(m)}`,
        { 'data-id': id, 'data-label': label },
        h('span.comp-label', label),
        h('span.comp-num', l?.number ?? ''),
        h('span.comp-text', runs(pText(m))),
        ...alts.map((p, i) =>
          h(
            'div.comp-alt',
            { 'data-proposal': p.id, 'data-delegation': p.delegation },
            h('span.comp-alt-name', `${label} Alt ${i + 1} (${attributionLine(p)}): `),
            p.action === 'replace'
              ? h('span.comp-bracket', `[${p.text}]`)
              : p.action === 'delete'
                ? h('span.comp-bracket', `[delete ${label}]`)
                : h('span.comp-bracket', `[move ${label} ${p.after ? `after ${labelOf(p.after)?.label ?? p.after}` : 'to the beginning'}]`),
          ),
        ),
      ),
    );
    for (const p of on(id, 'insert')) {
      open++;
      out.append(
        h(
          'div.comp-para.comp-new',
          { 'data-proposal': p.id, 'data-delegation': p.delegation },
          h('span.comp-label', `new after ${label}`),
          h('span.comp-alt-name', ` (${attributionLine(p)}): `),
          h('span.comp-bracket', `[${p.text}]`),
        ),
      );
    }
  }
  out.insertBefore(h('p.comp-count', open ? `${open} open alternative${open === 1 ? '' : 's'}.` : 'No open proposal.'), out.children[2]);
  return out;
}

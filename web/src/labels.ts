// Paragraph labels with the provisional numbering of UN practice (SPEC §2):
// between two named versions, a paragraph inserted since the last version is
// OP2bis, PP1bis, OP1(b)(i)bis, so that everyone's references stay valid.
//
// A port of crates/plenary-doc/src/numbering.rs `labels()`: keep the two in
// step (that file's doc comment says so too). The base order is the last named
// version's, from `GET /api/docs/{doc}/versions` (`base_order` on the last
// version); without one, labels are the plain numbering of model.ts.

import { numbering, type Kind, type Numbered } from './model';

export interface BaseParagraph {
  id: string;
  kind: Kind;
  level: number;
}

export interface LabelItem {
  id: string;
  kind: Kind;
  level: number;
}

const ORDINALS = ['bis', 'ter', 'quater', 'quinquies', 'sexies', 'septies', 'octies', 'novies', 'decies'];
const suffix = (n: number): string => ORDINALS[n] ?? `-${n + 2}`;

/**
 * Labels of `items` in order: plain numbering without a base; provisional labels
 * (`OP3bis`) for paragraphs absent from `base`. `number` is printed before the text:
 * "3." for an operative paragraph, "(b)", "(i)", "" for a preambular one; a
 * provisional one "3bis.", "(b)bis".
 */
export function labels(items: LabelItem[], base?: BaseParagraph[] | null): Numbered[] {
  const plain = numbering(items);
  if (!base || !base.length) return plain;
  const basePlain = numbering(base);
  const baseLabels = new Map<string, Numbered>();
  const baseLevel = new Map<string, number>();
  base.forEach((b, i) => {
    baseLabels.set(b.id, basePlain[i]);
    baseLevel.set(b.id, b.level);
  });
  // Rust keeps numbers without the trailing "." of OP n: strip and add back.
  const bare = (n: string): string => n.replace(/\.$/, '');
  let lastPp: Numbered | undefined;
  const lastOp: (Numbered | undefined)[] = [undefined, undefined, undefined];
  const used = new Map<string, number>();
  return items.map((p) => {
    const known = baseLabels.get(p.id);
    if (known) {
      const lv = baseLevel.get(p.id) ?? 0;
      if (p.kind === 'preambular') {
        if (lv === 0) lastPp = known;
      } else {
        const l = Math.min(lv, 2);
        lastOp[l] = known;
        for (let d = l + 1; d < 3; d++) lastOp[d] = undefined;
      }
      return known;
    }
    let anchorLabel: string;
    let anchorNumber: string;
    if (p.kind === 'preambular') {
      anchorLabel = lastPp?.label ?? 'PP0';
      anchorNumber = '';
    } else {
      const lv = Math.min(Math.max(p.level, 0), 2);
      const a = lastOp[lv];
      if (a) {
        anchorLabel = a.label;
        anchorNumber = bare(a.number);
      } else {
        let enclosing = -1;
        for (let e = lv - 1; e >= 0; e--) if (lastOp[e]) { enclosing = e; break; }
        let label = enclosing >= 0 ? lastOp[enclosing]!.label : 'OP0';
        const from = enclosing >= 0 ? enclosing + 1 : 1;
        for (let i = from; i <= lv; i++) label += '(0)';
        anchorLabel = label;
        anchorNumber = lv === 0 ? '0' : '(0)';
      }
    }
    const n = used.get(anchorLabel) ?? 0;
    used.set(anchorLabel, n + 1);
    const sfx = suffix(n);
    const level0Op = p.kind === 'operative' && p.level <= 0;
    return {
      number: anchorNumber ? `${anchorNumber}${sfx}${level0Op ? '.' : ''}` : '',
      label: `${anchorLabel}${sfx}`,
    };
  });
}

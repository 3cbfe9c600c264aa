// Word-level differences, for proposals shown as suggestions (struck and
// inserted words) and for laying a proposal's baseText → text change on the
// paragraph as it is now.

export type DiffOp = { op: 'eq' | 'del' | 'ins'; text: string };

/** Words and the spaces between them, as separate tokens. */
export const tokens = (s: string): string[] => s.match(/\s+|[^\s]+/g) ?? [];

type TokOp = { op: 'eq' | 'del' | 'ins'; a: number; b: number };

/** Token-level diff of `a` → `b` (longest common subsequence on what lies between the common prefix and suffix). */
function tokenOps(a: string[], b: string[]): TokOp[] {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const ops: TokOp[] = [];
  for (let i = 0; i < pre; i++) ops.push({ op: 'eq', a: i, b: i });
  const A = a.slice(pre, a.length - suf);
  const B = b.slice(pre, b.length - suf);
  if (A.length * B.length > 4_000_000) {
    // Too big to refine: all of the middle deleted, all of it inserted.
    A.forEach((_, i) => ops.push({ op: 'del', a: pre + i, b: -1 }));
    B.forEach((_, j) => ops.push({ op: 'ins', a: -1, b: pre + j }));
  } else {
    const n = A.length;
    const m = B.length;
    const L = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--)
      for (let j = m - 1; j >= 0; j--) L[i][j] = A[i] === B[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && A[i] === B[j]) {
        ops.push({ op: 'eq', a: pre + i++, b: pre + j++ });
      } else if (j < m && (i >= n || L[i][j + 1] >= L[i + 1][j])) {
        ops.push({ op: 'ins', a: -1, b: pre + j++ });
      } else {
        ops.push({ op: 'del', a: pre + i++, b: -1 });
      }
    }
  }
  for (let k = 0; k < suf; k++) ops.push({ op: 'eq', a: a.length - suf + k, b: b.length - suf + k });
  return ops;
}

/** Merges runs of one kind; a space between two changed words belongs to the change. */
function merge(ops: DiffOp[]): DiffOp[] {
  const out: DiffOp[] = [];
  for (const o of ops) {
    const last = out[out.length - 1];
    if (last && last.op === o.op) last.text += o.text;
    else out.push({ ...o });
  }
  return out;
}

/** The word diff of `from` → `to`. */
export function wordDiff(from: string, to: string): DiffOp[] {
  const a = tokens(from);
  const b = tokens(to);
  return delFirst(merge(tokenOps(a, b).map((o) => (o.op === 'ins' ? { op: 'ins', text: b[o.b] } : { op: o.op, text: a[o.a] }))));
}

/** A deletion before the insertion that replaces it, as Word shows it. */
function delFirst(ops: DiffOp[]): DiffOp[] {
  const out = [...ops];
  for (let k = 0; k + 1 < out.length; k++) {
    if (out[k].op === 'ins' && out[k + 1].op === 'del') [out[k], out[k + 1]] = [out[k + 1], out[k]];
  }
  return merge(out);
}

/**
 * A proposal's change (`base` → `text`) laid on the paragraph as it is now
 * (`current`): the current words, with the words the proposal deletes struck
 * and the words it inserts placed where they go. `stale` when words the
 * proposal changes were changed since (then the ops are the plain diff of
 * `current` → `text`).
 */
export function layOn(base: string, text: string, current: string): { ops: DiffOp[]; stale: boolean } {
  if (base === current) return { ops: wordDiff(current, text), stale: false };
  const bt = tokens(base);
  const ct = tokens(current);
  const tt = tokens(text);
  // base token index → current token index, for base tokens still there.
  const toCur = new Map<number, number>();
  for (const o of tokenOps(bt, ct)) if (o.op === 'eq') toCur.set(o.a, o.b);
  // The proposal's hunks: at base index `at`, delete base[at, at+del), insert `ins`.
  const hunks: { at: number; del: number; ins: string[] }[] = [];
  let cur: { at: number; del: number; ins: string[] } | undefined;
  let ai = 0;
  for (const o of tokenOps(bt, tt)) {
    if (o.op === 'eq') {
      if (cur) hunks.push(cur);
      cur = undefined;
      ai = o.a + 1;
      continue;
    }
    cur ??= { at: ai, del: 0, ins: [] };
    if (o.op === 'del') {
      cur.del++;
      ai = o.a + 1;
    } else cur.ins.push(tt[o.b]);
  }
  if (cur) hunks.push(cur);
  const struck = new Set<number>();
  const before = new Map<number, string[]>(); // inserted before current token index (ct.length: at the end)
  for (const h of hunks) {
    const span: number[] = [];
    for (let k = h.at; k < h.at + h.del; k++) {
      const c = toCur.get(k);
      if (c === undefined) return { ops: wordDiff(current, text), stale: true };
      span.push(c);
    }
    if (span.some((c, k) => k > 0 && c !== span[k - 1] + 1)) return { ops: wordDiff(current, text), stale: true };
    let pos: number | undefined;
    if (span.length) pos = span[0];
    else if (h.at < bt.length && toCur.has(h.at)) pos = toCur.get(h.at);
    else if (h.at > 0 && toCur.has(h.at - 1)) pos = toCur.get(h.at - 1)! + 1;
    else if (h.at === 0) pos = 0;
    else if (h.at >= bt.length) pos = ct.length;
    if (pos === undefined) return { ops: wordDiff(current, text), stale: true };
    span.forEach((c) => struck.add(c));
    if (h.ins.length) before.set(pos, [...(before.get(pos) ?? []), ...h.ins]);
  }
  const ops: DiffOp[] = [];
  for (let i = 0; i <= ct.length; i++) {
    const ins = before.get(i);
    if (ins) ops.push({ op: 'ins', text: ins.join('') });
    if (i < ct.length) ops.push({ op: struck.has(i) ? 'del' : 'eq', text: ct[i] });
  }
  return { ops: delFirst(merge(ops)), stale: false };
}

/** The result of applying ops: the text with deletions dropped and insertions kept. */
export const applied = (ops: DiffOp[]): string => ops.filter((o) => o.op !== 'del').map((o) => o.text).join('');

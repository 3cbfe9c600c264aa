// Comments anchored to words (SPEC §2: a comment's "optional anchor range
// (Yjs relative positions)").
//
// The anchor is a pair of Yjs relative positions into the paragraph's Y.Text
// in the main document, stored in the comment (which lives in a comment-scope
// document) as the string `{"start":"<base64>","end":"<base64>"}`, each the
// bytes of `Y.encodeRelativePosition`. A relative position names the item
// (client, clock) of a character, so it is resolved against the main document
// whatever document the comment is in, and it stays on its words when others
// type before, inside or after them: the start sticks to the first anchored
// character, the end to the last one (text typed right before or right after
// the words stays outside; text typed among them is inside).
//
// The highlight: after the text binding renders a paragraph (it rebuilds the
// element from the Y.Text on every change), the anchored words are wrapped in
// `mark.comment-anchor` elements. The binding reads the element's text, never
// its elements, so marks change nothing it sees; the caret is kept.

import * as Y from 'yjs';
import { pointIn } from './binding';

export interface AnchorRange {
  start: number;
  end: number;
}

/** One highlighted stretch: the comments (ids) anchored there. */
export interface MarkRange extends AnchorRange {
  id: string;
  title: string;
}

const toB64 = (u: Uint8Array): string => btoa(Array.from(u, (b) => String.fromCharCode(b)).join(''));
const fromB64 = (s: string): Uint8Array => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

/** The anchor of the words [start, end) of `text`, as stored in a comment's `anchor`. */
export function encodeAnchor(text: Y.Text, start: number, end: number): string {
  const a = Y.createRelativePositionFromTypeIndex(text, start, 0);
  const b = Y.createRelativePositionFromTypeIndex(text, end, -1);
  return JSON.stringify({ start: toB64(Y.encodeRelativePosition(a)), end: toB64(Y.encodeRelativePosition(b)) });
}

/**
 * Where the anchored words are now in `text` (the paragraph's Y.Text in the
 * main document), or null: the anchor names another text, the words were all
 * deleted, or the anchor is unreadable.
 */
export function resolveAnchor(anchor: string, text: Y.Text): AnchorRange | null {
  const doc = text.doc;
  if (!doc) return null;
  try {
    const o = JSON.parse(anchor) as { start?: unknown; end?: unknown };
    if (typeof o.start !== 'string' || typeof o.end !== 'string') return null;
    const a = Y.createAbsolutePositionFromRelativePosition(Y.decodeRelativePosition(fromB64(o.start)), doc);
    const b = Y.createAbsolutePositionFromRelativePosition(Y.decodeRelativePosition(fromB64(o.end)), doc);
    if (!a || !b || a.type !== text || b.type !== text) return null;
    if (b.index <= a.index) return null;
    return { start: a.index, end: Math.min(b.index, text.length) };
  } catch {
    return null;
  }
}

/**
 * Words found where they occur exactly once in the text: the fallback when an
 * anchor no longer resolves (moving a paragraph copies its text, so the
 * anchor's characters are gone while the same words are in the copy).
 */
export function findWords(text: Y.Text, ...candidates: (string | undefined)[]): AnchorRange | null {
  const s = text.toString();
  for (const w of candidates) {
    if (!w) continue;
    const at = s.indexOf(w);
    if (at >= 0 && s.indexOf(w, at + 1) < 0) return { start: at, end: at + w.length };
  }
  return null;
}

/** UTF-16 offset of a DOM point inside `el`'s text. */
function offsetIn(el: HTMLElement, node: Node, offset: number): number {
  const r = document.createRange();
  r.selectNodeContents(el);
  r.setEnd(node, offset);
  return r.toString().length;
}

/** The selection inside `el` as text offsets (both ends inside it), or null. */
export function selectionIn(el: HTMLElement): AnchorRange | null {
  const sel = document.getSelection();
  if (!sel || sel.rangeCount === 0) return null;
  const r = sel.getRangeAt(0);
  if (!el.contains(r.startContainer) || !el.contains(r.endContainer)) return null;
  return { start: offsetIn(el, r.startContainer, r.startOffset), end: offsetIn(el, r.endContainer, r.endOffset) };
}

/**
 * The last words a user selected in a paragraph's text, so that pressing
 * Comment anchors the comment to them even when the click moved the selection.
 */
let lastSelection: { el: HTMLElement; range: AnchorRange; at: number } | undefined;
document.addEventListener('selectionchange', () => {
  const sel = document.getSelection();
  if (!sel || sel.rangeCount === 0) return;
  const el = (sel.anchorNode instanceof Element ? sel.anchorNode : sel.anchorNode?.parentElement)?.closest<HTMLElement>('.ptext');
  if (!el) return;
  const r = selectionIn(el);
  lastSelection = r && r.end > r.start ? { el, range: r, at: Date.now() } : undefined;
});

/** The words selected in `el` now, or selected there last (within two minutes), or null. */
export function selectedWords(el: HTMLElement): AnchorRange | null {
  const last = lastSelection;
  lastSelection = undefined; // used once: a later Comment on the paragraph is not anchored to old words
  const now = selectionIn(el);
  if (now && now.end > now.start) return now;
  if (last && last.el === el && Date.now() - last.at < 120_000) return last.range;
  return null;
}

/**
 * Keeps the highlights of one paragraph's element: re-applied after each
 * render of the binding (a MutationObserver on the element's children) and
 * whenever `refresh` is called (comments added, resolved, removed).
 */
export class AnchorMarks {
  private readonly mo: MutationObserver;
  private composing = false;

  constructor(
    readonly el: HTMLElement,
    private readonly ranges: () => MarkRange[],
    onClick: (ids: string[]) => void,
    private readonly onRender?: () => void,
  ) {
    this.mo = new MutationObserver(() => this.refresh());
    this.mo.observe(el, { childList: true });
    // Never touch the element during an IME composition: it would end it.
    el.addEventListener('compositionstart', () => (this.composing = true));
    el.addEventListener('compositionend', () => {
      this.composing = false;
      queueMicrotask(() => this.refresh());
    });
    el.addEventListener('click', (e) => {
      const m = (e.target instanceof Element ? e.target : null)?.closest<HTMLElement>('mark.comment-anchor');
      if (m && el.contains(m)) onClick((m.dataset.comments ?? '').split(' ').filter(Boolean));
    });
  }

  refresh(): void {
    if (this.composing) return;
    this.onRender?.();
    const want = this.ranges().filter((r) => r.end > r.start);
    const old = this.el.querySelectorAll('mark.comment-anchor');
    if (!want.length && !old.length) return;
    const caret = selectionIn(this.el);
    const sel = document.getSelection();
    const backwards = !!caret && !!sel && sel.anchorNode !== null && sel.focusNode !== null && this.isBackwards(sel);
    for (const m of old) m.replaceWith(...m.childNodes);
    this.el.normalize();
    this.wrap(want);
    if (caret && sel) {
      const a = pointIn(this.el, caret.start);
      const b = pointIn(this.el, caret.end);
      if (backwards) sel.setBaseAndExtent(b[0], b[1], a[0], a[1]);
      else sel.setBaseAndExtent(a[0], a[1], b[0], b[1]);
    }
    this.mo.takeRecords();
  }

  private isBackwards(sel: Selection): boolean {
    const a = offsetIn(this.el, sel.anchorNode as Node, sel.anchorOffset);
    const f = offsetIn(this.el, sel.focusNode as Node, sel.focusOffset);
    return f < a;
  }

  /** Wraps each stretch of text covered by the same comments in one mark. */
  private wrap(ranges: MarkRange[]): void {
    if (!ranges.length) return;
    const cuts = [...new Set(ranges.flatMap((r) => [r.start, r.end]))].sort((a, b) => a - b);
    const nodes: [Text, number][] = [];
    const walker = document.createTreeWalker(this.el, NodeFilter.SHOW_TEXT);
    let pos = 0;
    for (let n = walker.nextNode() as Text | null; n; n = walker.nextNode() as Text | null) {
      nodes.push([n, pos]);
      pos += n.data.length;
    }
    for (const [node, at] of nodes) {
      const len = node.data.length;
      const pieces: [Text, number][] = [];
      let cur = node;
      let curAt = at;
      for (const c of cuts) {
        if (c <= curAt || c >= at + len) continue;
        const rest = cur.splitText(c - curAt);
        pieces.push([cur, curAt]);
        cur = rest;
        curAt = c;
      }
      pieces.push([cur, curAt]);
      for (const [piece, start] of pieces) {
        const over = ranges.filter((r) => r.start <= start && start < r.end);
        if (!over.length || !piece.data.length) continue;
        const m = document.createElement('mark');
        m.className = 'comment-anchor';
        m.dataset.comments = over.map((r) => r.id).join(' ');
        m.title = over.map((r) => r.title).join('\n');
        piece.replaceWith(m);
        m.appendChild(piece);
      }
    }
  }

  destroy(): void {
    this.mo.disconnect();
  }
}

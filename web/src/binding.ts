// A light two-way binding between one paragraph's Y.Text and a
// contenteditable element.
//
// Why not a rich-text editor: a paragraph is a single line of text with two
// formats (the italic opening, footnote markers). The DOM is always rendered
// from the Y.Text; a user's edit is read back from the DOM after the browser
// applied it (`input`), diffed against the Y.Text around the caret, applied
// to the Y.Text in one transaction, and the element re-rendered. Remote
// changes re-render the element and move the caret through the change.
//
// IME composition (Japanese, Chinese input; issue 15 item 11): the browser
// owns the element's DOM while a composition is open, and re-rendering it
// would end the composition and lose what was being composed. So remote
// changes to the paragraph wait: the Y.Text takes them at once, the element
// is left alone until `compositionend`. Then the composed text is read back
// against the text as it was when the composition began, placed in the Y.Text
// through relative positions taken then (so it lands where it was composed,
// whatever others inserted or deleted meanwhile), and the element rendered.
// Composed input obeys the same lock as typed input: the browser cannot
// cancel a composition (its `beforeinput` is not cancelable), so a paragraph
// that is locked when the composition ends takes none of it.

import * as Y from 'yjs';

type Attrs = { italic?: boolean | null; footnote?: string | null };
type DeltaOp = { insert?: string | object; retain?: number; delete?: number; attributes?: Attrs };

export interface BindingOptions {
  /** Why the user may not edit this text now, or null. */
  refusal: () => string | null;
  onRefused: (why: string) => void;
  onFocus?: () => void;
}

export class TextBinding {
  private composing = false;
  /** The composition's starting point: the text then, the selection it replaces, anchored in the Y.Text. */
  private composeBase?: { text: string; start: number; end: number; relStart: Y.RelativePosition; relEnd: Y.RelativePosition };
  /** A remote change arrived during the composition: rendered at its end. */
  private deferred = false;
  private readonly observer: (e: Y.YTextEvent, t: Y.Transaction) => void;

  constructor(
    readonly el: HTMLElement,
    readonly text: Y.Text,
    private readonly opts: BindingOptions,
  ) {
    el.spellcheck = false;
    this.render();
    this.observer = (e, t) => {
      if (t.origin === this) return; // our own edit: already rendered
      if (this.composing) {
        this.deferred = true; // the composition owns the element until it ends
        return;
      }
      const caret = this.hasFocus() ? this.caret() : null;
      this.render();
      if (caret) this.setCaret(transform(caret[0], e.delta as DeltaOp[]), transform(caret[1], e.delta as DeltaOp[]));
    };
    text.observe(this.observer);
    el.addEventListener('beforeinput', this.onBeforeInput);
    el.addEventListener('input', this.onInput);
    el.addEventListener('compositionstart', this.onCompositionStart);
    el.addEventListener('compositionend', this.onCompositionEnd);
    el.addEventListener('focus', () => this.opts.onFocus?.());
    el.addEventListener('paste', this.onPaste);
    el.addEventListener('drop', (e) => e.preventDefault());
  }

  destroy(): void {
    this.text.unobserve(this.observer);
    this.el.removeEventListener('beforeinput', this.onBeforeInput);
    this.el.removeEventListener('input', this.onInput);
    this.el.removeEventListener('paste', this.onPaste);
    this.el.removeEventListener('compositionstart', this.onCompositionStart);
    this.el.removeEventListener('compositionend', this.onCompositionEnd);
  }

  /** Whether an IME composition is open in this paragraph. */
  get isComposing(): boolean {
    return this.composing;
  }

  private readonly onCompositionStart = (): void => {
    this.composing = true;
    this.deferred = false;
    const text = this.text.toString();
    const caret = this.caret() ?? [text.length, text.length];
    // The element shows the Y.Text here (every change so far was rendered).
    this.composeBase = {
      text,
      start: caret[0],
      end: caret[1],
      relStart: Y.createRelativePositionFromTypeIndex(this.text, caret[0]),
      relEnd: Y.createRelativePositionFromTypeIndex(this.text, caret[1]),
    };
  };

  private readonly onCompositionEnd = (): void => {
    this.composing = false;
    const base = this.composeBase;
    this.composeBase = undefined;
    const deferred = this.deferred;
    this.deferred = false;
    if (!base) return this.onInput();
    const why = this.opts.refusal();
    if (why) {
      // Locked (an agreed paragraph, negotiation mode …): nothing composed lands.
      const caret = Math.min(base.start, this.text.length);
      this.render();
      if (this.hasFocus() || document.activeElement === this.el) this.setCaret(caret);
      this.opts.onRefused(why);
      return;
    }
    const now = this.domText();
    const caret = this.caret();
    const d = diff(now, base.text, caret ? caret[1] : now.length);
    const doc = this.text.doc;
    const abs = (r: Y.RelativePosition, fallback: number): number => {
      const a = doc ? Y.createAbsolutePositionFromRelativePosition(r, doc) : null;
      return a && a.type === this.text ? a.index : fallback;
    };
    // Where the change begins and ends in today's text: relative to the selection the composition replaced.
    const len = this.text.length;
    const from = Math.max(0, Math.min(len, abs(base.relStart, base.start) + (d.at - base.start)));
    const to = Math.max(from, Math.min(len, abs(base.relEnd, base.end) + (d.at + d.deleted - base.end)));
    if (d.deleted || d.inserted) this.apply(from, d.deleted ? to - from : 0, d.inserted);
    if (deferred || d.deleted || d.inserted || now !== this.text.toString()) {
      this.render();
      this.setCaret(from + d.inserted.length);
    }
  };

  /** Renders the Y.Text into the element: italic runs as <em>, footnote markers as <sup>. */
  render(): void {
    const frag = document.createDocumentFragment();
    for (const op of this.text.toDelta() as DeltaOp[]) {
      if (typeof op.insert !== 'string') continue;
      const a = op.attributes || {};
      let node: Node = document.createTextNode(op.insert);
      if (a.footnote) {
        const sup = document.createElement('sup');
        sup.className = 'fn-ref';
        sup.dataset.fn = String(a.footnote);
        sup.appendChild(node);
        node = sup;
      }
      if (a.italic) {
        const em = document.createElement('em');
        em.appendChild(node);
        node = em;
      }
      frag.appendChild(node);
    }
    this.el.replaceChildren(frag);
  }

  private hasFocus(): boolean {
    const sel = document.getSelection();
    return !!sel && sel.rangeCount > 0 && this.el.contains(sel.anchorNode);
  }

  /** The selection as [start, end] UTF-16 offsets into the text. */
  caret(): [number, number] | null {
    const sel = document.getSelection();
    if (!sel || sel.rangeCount === 0 || !this.el.contains(sel.anchorNode)) return null;
    const r = sel.getRangeAt(0);
    return [this.offsetOf(r.startContainer, r.startOffset), this.offsetOf(r.endContainer, r.endOffset)];
  }

  private offsetOf(node: Node, offset: number): number {
    const r = document.createRange();
    r.selectNodeContents(this.el);
    r.setEnd(node, offset);
    return r.toString().length;
  }

  setCaret(start: number, end = start): void {
    const a = this.pointAt(start);
    const b = this.pointAt(end);
    const sel = document.getSelection();
    if (!sel) return;
    const r = document.createRange();
    r.setStart(a[0], a[1]);
    r.setEnd(b[0], b[1]);
    sel.removeAllRanges();
    sel.addRange(r);
  }

  private pointAt(offset: number): [Node, number] {
    return pointIn(this.el, offset);
  }

  private domText(): string {
    return this.el.textContent ?? '';
  }

  private readonly onBeforeInput = (e: InputEvent): void => {
    const why = this.opts.refusal();
    if (why) {
      e.preventDefault();
      this.opts.onRefused(why);
      return;
    }
    // A paragraph is one block: no line breaks, no formatting commands.
    if (e.inputType === 'insertParagraph' || e.inputType === 'insertLineBreak' || e.inputType.startsWith('format')) {
      e.preventDefault();
    }
  };

  private readonly onPaste = (e: ClipboardEvent): void => {
    e.preventDefault();
    if (this.opts.refusal()) {
      this.opts.onRefused(this.opts.refusal() as string);
      return;
    }
    const plain = (e.clipboardData?.getData('text/plain') ?? '').replace(/\s*\n\s*/g, ' ');
    const caret = this.caret();
    if (!caret) return;
    this.apply(caret[0], caret[1] - caret[0], plain);
    this.render();
    this.setCaret(caret[0] + plain.length);
  };

  private readonly onInput = (): void => {
    if (this.composing) return;
    const now = this.domText();
    const before = this.text.toString();
    if (now === before) return;
    // Input the page could not cancel beforehand (a composition, the browser's own corrections) obeys the lock too.
    const why = this.opts.refusal();
    if (why) {
      this.render();
      this.opts.onRefused(why);
      return;
    }
    const caret = this.caret();
    const d = diff(now, before, caret ? caret[1] : now.length);
    this.apply(d.at, d.deleted, d.inserted);
    this.render();
    this.setCaret(d.at + d.inserted.length);
  };

  /** Replaces `len` characters at `at` with `insert`, inheriting the italic of its neighbour. */
  apply(at: number, len: number, insert: string): void {
    const italic = this.italicAt(at);
    this.text.doc?.transact(() => {
      if (len > 0) this.text.delete(at, len);
      if (insert) this.text.insert(at, insert, { italic: italic ? true : null, footnote: null });
    }, this);
  }

  private italicAt(at: number): boolean {
    let pos = 0;
    let left: Attrs | undefined;
    let right: Attrs | undefined;
    for (const op of this.text.toDelta() as DeltaOp[]) {
      const len = typeof op.insert === 'string' ? op.insert.length : 1;
      if (pos < at && at <= pos + len) left = op.attributes;
      if (at >= pos && at < pos + len && right === undefined) right = op.attributes;
      pos += len;
    }
    // Typing at the very start of an italic opening extends it.
    const a = at === 0 ? right : left;
    return !!a?.italic;
  }
}

/**
 * What an edit changed: `now` is the element's text, `before` the text it
 * showed, `caretEnd` the caret after the edit. Characters after the caret
 * were not touched by typing or deleting: the diff is anchored on the caret
 * so repeated letters land where typed.
 */
function diff(now: string, before: string, caretEnd: number): { at: number; deleted: number; inserted: string } {
  let suffix = 0;
  const maxSuffix = Math.min(now.length - caretEnd, before.length);
  while (suffix < maxSuffix && now[now.length - 1 - suffix] === before[before.length - 1 - suffix]) suffix++;
  let prefix = 0;
  const maxPrefix = Math.min(now.length, before.length) - suffix;
  while (prefix < maxPrefix && now[prefix] === before[prefix]) prefix++;
  return { at: prefix, deleted: before.length - suffix - prefix, inserted: now.slice(prefix, now.length - suffix) };
}

/** Moves an offset through a Y.Text delta. */
export function transform(offset: number, delta: DeltaOp[]): number {
  let pos = 0;
  let out = offset;
  for (const op of delta) {
    if (op.retain !== undefined) pos += op.retain;
    else if (typeof op.insert === 'string') {
      if (pos < out) out += op.insert.length;
      pos += op.insert.length;
    } else if (op.delete !== undefined) {
      if (pos < out) out -= Math.min(op.delete, out - pos);
    }
    if (pos > out && op.retain !== undefined) break;
  }
  return out;
}

/** The DOM point of character `offset` of `el`'s text. A run is ended rather than the next one
 *  started, except inside a footnote marker, so typing after a marker does not land in it. */
export function pointIn(el: HTMLElement, offset: number): [Node, number] {
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  let left = offset;
  let last: Text | null = null;
  for (let n = walker.nextNode() as Text | null; n; n = walker.nextNode() as Text | null) {
    const len = n.data.length;
    if (left < len || (left === len && !n.parentElement?.closest('sup'))) return [n, left];
    left -= len;
    last = n;
  }
  if (last) return [last, last.data.length];
  return [el, 0];
}

// The heading of the resolution (the SPEC §2 `meta` fields: symbol, organ,
// body, session, agenda item, date, the submitted-by line …), its title and
// its footnotes, edited in the page by the secretariat and the chair
// (issue 15, item 8).
//
// A metadata field is a string in the `meta` Y.Map (the server accepts text
// values only, `enforcement.rs` judge_meta), so each field is a plain-text
// contenteditable written back whole on every input: the last writer wins, as
// the document model has it. A footnote is a Y.Text in `footnotes`, bound with
// the paragraphs' `TextBinding` (italics kept, concurrent typing merged, undo
// through the same Y.UndoManager). The secretariat may also put a new footnote
// at the caret in a paragraph: a marker run carrying `footnote: <id>` and the
// footnote's Y.Text, in one change (undone by Ctrl+Z like typing: the editor's
// Y.UndoManager tracks this module's changes to the footnotes and paragraphs).
//
// Delegates and observers see the same text, read-only, with the reason on
// hover and on focus; the server refuses what a client writes anyway
// (plenary-auth `meta.chair-or-secretariat`, `footnote.chair-or-secretariat`),
// and such a refusal is shown at the field it names.

import * as Y from 'yjs';
import { TextBinding } from './binding';
import { h } from './dom';
import { docMode, newId, pStatus, pText, str, type Roots } from './model';
import { editRefusal } from './policy';
import { plainWords, type Denial } from './refusal';
import type { Claims } from './session';

/** Why this user may not change the heading, the title or the footnotes, or null (mirrors plenary-auth). */
export function headingRefusal(c: Claims): string | null {
  switch (c.role) {
    case 'chair':
    case 'secretariat':
      return null;
    case 'observer':
      return 'observers read the text; they do not change it';
    case 'delegate':
      return 'only the chair or the secretariat edits the heading, the title and the footnotes';
  }
}

/** What the page needs from the editor. */
export interface HeaderHost {
  claims: Claims;
  roots: () => Roots | undefined;
  doc: () => Y.Doc | undefined;
  notify: (kind: 'denied' | 'refused' | 'info', text: string) => void;
  /** For tests: the page lets edits through to the server as if it had not heard of a lock. */
  ignoreLocks: () => boolean;
  /** The paragraph the caret is in (for a new footnote mark), or null. */
  caretParagraph: () => { text: Y.Text; at: number; label: string; refusal: string | null } | null;
}

/** The field names as a secretariat officer would say them. */
const FIELD_NAMES: Record<string, string> = {
  symbol: 'document symbol',
  distribution: 'distribution',
  date: 'date',
  original: 'original language',
  organ: 'organ',
  body: 'body',
  session: 'session',
  venue: 'venue and dates',
  agendaItem: 'agenda item',
  agendaTitle: 'agenda item title',
  submittedBy: 'submitted-by line',
  report: 'report line',
  introduction: 'introduction',
  number: 'resolution number',
  title: 'title',
  actingBody: 'acting body',
  closing: 'closing lines',
};

const SUPERSCRIPT = '⁰¹²³⁴⁵⁶⁷⁸⁹';

/** One footnote mark in the text: the footnote it names, where it sits, and its paragraph. */
interface Mark {
  id: string;
  /** The paragraph's position in the document, and the paragraph. */
  index: number;
  paragraph: Y.Map<unknown>;
  text: Y.Text;
  at: number;
  len: number;
}

/** Every footnote mark of the paragraphs, in reading order. */
function* footnoteMarks(r: Roots): Generator<Mark> {
  for (const [index, m] of r.paragraphs.toArray().entries()) {
    const t = m instanceof Y.Map ? pText(m) : undefined;
    if (!t) continue;
    let pos = 0;
    for (const op of t.toDelta() as { insert?: unknown; attributes?: { footnote?: string } }[]) {
      const len = typeof op.insert === 'string' ? op.insert.length : 1;
      const id = op.attributes?.footnote;
      if (id) yield { id, index, paragraph: m as Y.Map<unknown>, text: t, at: pos, len };
      pos += len;
    }
  }
}
export const superscript = (n: number): string => String(n).replace(/\d/g, (d) => SUPERSCRIPT[Number(d)]);

/** One metadata field: a plain-text contenteditable bound to `meta[key]`. */
class MetaField {
  readonly el: HTMLElement;
  private composing = false;

  constructor(
    readonly key: string,
    tag: string,
    private readonly ed: HeaderEditor,
    private readonly multiline = false,
  ) {
    const name = FIELD_NAMES[key] ?? key;
    this.el = h(tag, { 'data-key': key, 'data-placeholder': name[0].toUpperCase() + name.slice(1), spellcheck: 'false' });
    this.el.classList.add('hf');
    if (multiline) this.el.classList.add('hf-multiline');
    this.el.addEventListener('beforeinput', (e) => this.onBeforeInput(e));
    this.el.addEventListener('input', () => this.onInput());
    this.el.addEventListener('compositionstart', () => (this.composing = true));
    this.el.addEventListener('compositionend', () => {
      this.composing = false;
      this.onInput();
    });
    this.el.addEventListener('paste', (e) => this.onPaste(e));
    this.el.addEventListener('drop', (e) => e.preventDefault());
    this.el.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !this.multiline) e.preventDefault();
      const why = this.refusal();
      if (why && e.key.length === 1 && !e.ctrlKey && !e.metaKey) this.ed.host.notify('refused', `You cannot edit the ${name}: ${why}.`);
    });
  }

  get name(): string {
    return FIELD_NAMES[this.key] ?? this.key;
  }

  refusal(): string | null {
    return this.ed.host.ignoreLocks() ? null : headingRefusal(this.ed.host.claims);
  }

  private read(): string {
    const raw = this.multiline ? this.el.innerText : this.el.textContent ?? '';
    return this.multiline ? raw.replace(/\n+$/, '') : raw.replace(/\s*\n\s*/g, ' ');
  }

  private onBeforeInput(e: InputEvent): void {
    const why = this.refusal();
    if (why) {
      e.preventDefault();
      this.ed.host.notify('refused', `You cannot edit the ${this.name}: ${why}.`);
      return;
    }
    if (e.inputType.startsWith('format')) e.preventDefault();
    if (!this.multiline && (e.inputType === 'insertParagraph' || e.inputType === 'insertLineBreak')) e.preventDefault();
  }

  private onPaste(e: ClipboardEvent): void {
    e.preventDefault();
    if (this.refusal()) return;
    let text = e.clipboardData?.getData('text/plain') ?? '';
    if (!this.multiline) text = text.replace(/\s*\n\s*/g, ' ');
    const sel = document.getSelection();
    if (!sel || !sel.rangeCount || !this.el.contains(sel.anchorNode)) return;
    const r = sel.getRangeAt(0);
    r.deleteContents();
    const node = document.createTextNode(text);
    r.insertNode(node);
    r.setStartAfter(node);
    r.collapse(true);
    sel.removeAllRanges();
    sel.addRange(r);
    this.onInput();
  }

  private onInput(): void {
    if (this.composing) return;
    const m = this.ed.host.roots()?.meta;
    if (!m) return;
    const now = this.read();
    if (now === (str(m, this.key) ?? '')) return;
    m.doc?.transact(() => m.set(this.key, now), this.ed);
  }

  /** Shows the field's value and whether this user may edit it; keeps the caret of a user typing in it. */
  update(m: Y.Map<unknown>): void {
    const v = str(m, this.key) ?? '';
    const why = this.refusal();
    const editable = !why;
    if (this.el.dataset.editable !== String(editable)) {
      this.el.dataset.editable = String(editable);
      if (editable) {
        try {
          this.el.contentEditable = 'plaintext-only';
        } catch {
          this.el.contentEditable = 'true';
        }
        this.el.tabIndex = 0;
        this.el.setAttribute('role', 'textbox');
        this.el.setAttribute('aria-label', `${this.name[0].toUpperCase()}${this.name.slice(1)}`);
        this.el.removeAttribute('aria-readonly');
        this.el.removeAttribute('data-why');
        this.el.title = `Edit the ${this.name}`;
        if (this.multiline) this.el.setAttribute('aria-multiline', 'true');
      } else {
        this.el.contentEditable = 'false';
        // Focusable by a click (the reason then shows under it), not a tab stop of its own.
        this.el.tabIndex = -1;
        this.el.setAttribute('role', 'textbox');
        this.el.setAttribute('aria-readonly', 'true');
        this.el.setAttribute('aria-label', `${this.name[0].toUpperCase()}${this.name.slice(1)} (read-only: ${why})`);
        this.el.dataset.why = `Read-only: ${why}`;
        this.el.title = `Read-only for you: ${why}`;
      }
    }
    // An IME composition in progress is not interrupted: the field is written when it ends.
    if (this.composing || this.read() === v) return;
    const sel = document.getSelection();
    const focused = !!sel && sel.rangeCount > 0 && this.el.contains(sel.anchorNode);
    let caret = 0;
    if (focused && sel) {
      const r = document.createRange();
      r.selectNodeContents(this.el);
      r.setEnd(sel.anchorNode as Node, sel.anchorOffset);
      caret = r.toString().length;
      // Text after the caret that did not change keeps the caret before it.
      const before = this.read();
      const tail = before.length - caret;
      caret = Math.max(0, Math.min(v.length, v.length - tail));
    }
    this.el.textContent = v;
    if (focused && sel) {
      const node = this.el.firstChild ?? this.el;
      const r = document.createRange();
      r.setStart(node, node === this.el ? 0 : Math.min(caret, v.length));
      r.collapse(true);
      sel.removeAllRanges();
      sel.addRange(r);
    }
  }
}

/** One footnote: its marker and its text, bound to the footnote's Y.Text. */
class FootnoteItem {
  readonly row: HTMLElement;
  readonly markerEl = h('span.fn-marker');
  readonly textEl = h('span.fn-text', { spellcheck: 'false' });
  readonly binding: TextBinding;
  number = 0;

  constructor(
    readonly id: string,
    readonly text: Y.Text,
    private readonly ed: HeaderEditor,
  ) {
    this.row = h('div.footnote', { id: `fn-${id}`, 'data-fn': id }, this.markerEl, ' ', this.textEl);
    if (headingRefusal(ed.host.claims) === null) {
      this.row.append(
        ' ',
        h('button.delete-footnote', { type: 'button', onclick: () => ed.deleteFootnote(this.id) }, 'Delete'),
      );
    }
    this.binding = new TextBinding(this.textEl, text, {
      refusal: () => this.refusal(),
      onRefused: (why) => ed.host.notify('refused', `You cannot edit footnote ${this.number}: ${why}.`),
    });
    this.textEl.addEventListener('keydown', (e) => {
      const why = this.refusal();
      if (why && e.key.length === 1 && !e.ctrlKey && !e.metaKey) ed.host.notify('refused', `You cannot edit footnote ${this.number}: ${why}.`);
    });
  }

  refusal(): string | null {
    return this.ed.host.ignoreLocks() ? null : headingRefusal(this.ed.host.claims);
  }

  update(n: number): void {
    this.number = n;
    this.markerEl.textContent = superscript(n);
    const why = this.refusal();
    const editable = why ? 'false' : 'true';
    if (this.textEl.contentEditable !== editable) this.textEl.contentEditable = editable;
    this.textEl.setAttribute('role', 'textbox');
    this.textEl.tabIndex = why ? -1 : 0;
    if (why) {
      this.textEl.setAttribute('aria-readonly', 'true');
      this.textEl.dataset.why = `Read-only: ${why}`;
      this.textEl.title = `Read-only for you: ${why}`;
      this.textEl.setAttribute('aria-label', `Footnote ${n} (read-only: ${why})`);
    } else {
      this.textEl.removeAttribute('aria-readonly');
      delete this.textEl.dataset.why;
      this.textEl.title = `Edit footnote ${n}`;
      this.textEl.setAttribute('aria-label', `Footnote ${n}`);
    }
    this.row.querySelector('.delete-footnote')?.setAttribute('aria-label', `Delete footnote ${n} and its mark in the text`);
  }

  destroy(): void {
    this.binding.destroy();
    this.row.remove();
  }
}

export class HeaderEditor {
  private readonly fields = new Map<string, MetaField>();
  private built = false;
  private readonly notes = new Map<string, FootnoteItem>();
  private notesOf?: Y.Map<Y.Text>;
  private readonly notesListEl = h('div.footnote-list');
  private readonly notesToolsEl = h('div.footnote-tools');
  private readonly titleNumberSep = h('span.un-res-number-sep', '. ');

  constructor(
    readonly host: HeaderHost,
    private readonly els: { header: HTMLElement; title: HTMLElement; closing: HTMLElement; footnotes: HTMLElement; sponsors: HTMLElement },
  ) {}

  private f(key: string, tag: string, multiline = false): HTMLElement {
    let field = this.fields.get(key);
    if (!field) {
      field = new MetaField(key, tag, this, multiline);
      this.fields.set(key, field);
    }
    return field.el;
  }

  /** Lays out the heading once, as the UN prints it (the classes of the read-only layout it replaces). */
  private build(): void {
    this.built = true;
    const { header, title, closing } = this.els;
    header.replaceChildren(
      h('div.un-top', h('span.un-un', 'United Nations'), this.f('symbol', 'span.un-symbol')),
      h(
        'div.un-organ-row',
        this.f('organ', 'span.un-organ'),
        h('div.un-distr', h('div', h('span.hf-prefix', 'Distr.: '), this.f('distribution', 'span')), this.f('date', 'div'), h('div', h('span.hf-prefix', 'Original: '), this.f('original', 'span'))),
      ),
      this.f('body', 'div.un-body'),
      this.f('session', 'div.un-session'),
      this.f('venue', 'div.un-session'),
      h('div.un-agenda', h('span.hf-prefix', 'Agenda item '), this.f('agendaItem', 'span')),
      this.f('agendaTitle', 'div.un-agenda-title'),
      this.f('submittedBy', 'div.un-submitted'),
      this.els.sponsors,
      this.f('report', 'div.un-report'),
      this.f('introduction', 'div.un-intro'),
    );
    title.replaceChildren(
      h('h1.un-res-title', this.f('number', 'span.un-res-number'), this.titleNumberSep, this.f('title', 'span.un-res-title-text')),
      this.f('actingBody', 'div.un-acting'),
    );
    closing.replaceChildren(this.f('closing', 'div.un-closing-text', true));
  }

  /** Called on every change of `meta` (and of who may edit): the fields show the shared values. */
  update(): void {
    const r = this.host.roots();
    if (!r) return;
    if (!this.built) this.build();
    const editable = headingRefusal(this.host.claims) === null || this.host.ignoreLocks();
    document.body.classList.toggle('heading-editable', editable);
    for (const f of this.fields.values()) f.update(r.meta);
    // A resolution has a number only once adopted: shown when it has one.
    const number = str(r.meta, 'number') ?? '';
    (this.fields.get('number') as MetaField).el.hidden = !number;
    this.titleNumberSep.hidden = !number;
    this.els.closing.hidden = !editable && !(str(r.meta, 'closing') ?? '');
  }

  /** The footnotes in the order of their first mark in the text (unreferenced ones last, by id), as plenary-doc numbers them. */
  private order(r: Roots): string[] {
    const order: string[] = [];
    for (const { id } of footnoteMarks(r)) if (!order.includes(id) && r.footnotes.get(id) instanceof Y.Text) order.push(id);
    for (const k of [...r.footnotes.keys()].sort()) if (!order.includes(k) && r.footnotes.get(k) instanceof Y.Text) order.push(k);
    return order;
  }

  /** Renders the footnotes, keeping each one's element (and the caret of a user typing in it). */
  renderFootnotes(): void {
    const r = this.host.roots();
    if (!r) return;
    if (this.notesOf !== r.footnotes) {
      for (const n of this.notes.values()) n.destroy();
      this.notes.clear();
      this.notesOf = r.footnotes;
      this.els.footnotes.replaceChildren(this.notesListEl, this.notesToolsEl);
    }
    const order = this.order(r);
    const keep = new Set(order);
    for (const [id, n] of this.notes) {
      if (!keep.has(id) || r.footnotes.get(id) !== n.text) {
        n.destroy();
        this.notes.delete(id);
      }
    }
    let prev: HTMLElement | null = null;
    order.forEach((id, i) => {
      let n = this.notes.get(id);
      if (!n) {
        n = new FootnoteItem(id, r.footnotes.get(id) as Y.Text, this);
        this.notes.set(id, n);
      }
      n.update(i + 1);
      const want = prev ? prev.nextSibling : this.notesListEl.firstChild;
      if (want !== n.row) this.notesListEl.insertBefore(n.row, want);
      prev = n.row;
    });
    const editable = headingRefusal(this.host.claims) === null;
    if (editable && !this.notesToolsEl.firstChild) {
      this.notesToolsEl.append(
        h(
          'button.add-footnote',
          {
            type: 'button',
            title: 'Puts a footnote mark where the caret is in a paragraph, and a new footnote here for its text',
            // Keep the caret where it is in the paragraph.
            onmousedown: (e: Event) => e.preventDefault(),
            onclick: () => this.addFootnote(),
          },
          'Add a footnote at the caret',
        ),
      );
    }
    this.els.footnotes.hidden = !order.length && !editable;
  }

  /** A footnote mark at the caret in a paragraph and a new, empty footnote, in one change; the caret goes to the footnote. */
  addFootnote(): void {
    const r = this.host.roots();
    const doc = this.host.doc();
    if (!r || !doc) return;
    const at = this.host.caretParagraph();
    if (!at) {
      this.host.notify('info', 'Put the caret in a paragraph where the footnote mark goes, then press “Add a footnote at the caret”.');
      return;
    }
    if (at.refusal) {
      this.host.notify('refused', `You cannot add a footnote in ${at.label}: ${at.refusal}.`);
      return;
    }
    // Its number: one more than the notes marked before the caret (marks come in reading order).
    const caret = r.paragraphs.toArray().findIndex((m) => m instanceof Y.Map && pText(m) === at.text);
    const before = new Set<string>();
    for (const mark of footnoteMarks(r)) {
      if (mark.index > caret || (mark.index === caret && mark.at >= at.at)) break;
      before.add(mark.id);
    }
    const id = newId(doc, 'fn');
    doc.transact(() => {
      r.footnotes.set(id, new Y.Text());
      at.text.insert(at.at, superscript(before.size + 1), { footnote: id, italic: null });
    }, this);
    this.renderFootnotes();
    const n = this.notes.get(id);
    if (n) {
      n.textEl.focus();
      n.binding.setCaret(0);
    }
  }

  /** Deletes a footnote and its marks in the text, in one change; refused in the page when a mark sits in a paragraph this user may not edit. */
  deleteFootnote(id: string): void {
    const r = this.host.roots();
    const doc = this.host.doc();
    if (!r || !doc) return;
    const n = this.notes.get(id)?.number ?? 0;
    const marks = [...footnoteMarks(r)].filter((m) => m.id === id);
    for (const m of marks) {
      const why = this.host.ignoreLocks() ? null : editRefusal(this.host.claims, docMode(r), pStatus(m.paragraph));
      if (why) {
        this.host.notify('refused', `Footnote ${n} is marked in a paragraph you may not edit (${why}); it stays.`);
        return;
      }
    }
    if (!window.confirm(`Delete footnote ${n} and its mark in the text?`)) return;
    doc.transact(() => {
      for (const k of marks.reverse()) k.text.delete(k.at, k.len);
      r.footnotes.delete(id);
    }, this);
    this.renderFootnotes();
  }

  /**
   * A refusal the server sent for a metadata field or a footnote: shown at the
   * field (and in the notice). False when the refusal names something else.
   */
  serverRefused(d: Denial): boolean {
    const meta = /^meta\.([A-Za-z]+)/.exec(d.target);
    const fn = /^footnote (\S+)/.exec(d.target);
    let el: HTMLElement | undefined;
    let what = '';
    if (meta) {
      const f = this.fields.get(meta[1]);
      if (!f) return false;
      el = f.el;
      what = `the ${f.name}`;
    } else if (fn) {
      const n = this.notes.get(fn[1]);
      el = n?.textEl;
      what = n ? `footnote ${n.number}` : 'a footnote';
    } else {
      return false;
    }
    if (el) {
      el.classList.add('hf-refused');
      el.dataset.refused = `Not kept: ${plainWords(d)}`;
      window.setTimeout(() => el?.classList.remove('hf-refused'), 8000);
    }
    this.host.notify('denied', `Your change to ${what} was not kept: ${plainWords(d)}.`);
    return true;
  }
}

// The editor page: the resolution laid out as the UN prints it, each
// paragraph bound to its Y.Text, with status badges and locks, proposals and
// the chair's decisions, presence, and comments in the margin.

import * as Y from 'yjs';
import type { Awareness } from 'y-protocols/awareness';
import { paragraphName, presenceBox, skipLink } from './a11y';
import { TextBinding } from './binding';
import { AnchorMarks, encodeAnchor, findWords, resolveAnchor, selectedWords, type MarkRange } from './anchors';
import { COMMENT_CLOSED, CommentsHub, commentRefusalWords, lastTextFromHistory, type Comment, type Post } from './comments';
import { Auth } from './auth';
import { Connection, type ConnState } from './connection';
import { unavailableEl, unsentWords } from './connection-words';
import type { Unsent } from './offline';
import { colourOf, h, timeOf } from './dom';
import { apiGet, exportMenu } from './exports';
import { Authors } from './attribution';
import { HistoryView } from './history';
import { HeaderEditor } from './header';
import { attributionLine, renderCompilation } from './compilation';
import { labels, type BaseParagraph } from './labels';
import { layOn } from './worddiff';
import {
  cosponsor,
  decide,
  deleteParagraph,
  docMode,
  insertParagraph,
  moveParagraph,
  OPERATIVE_OPENINGS,
  PREAMBULAR_OPENINGS,
  proposalProblem,
  readSponsors,
  withdraw,
  withdrawSponsorship,
  type Kind,
  type Numbered,
  pId,
  pKind,
  pLevel,
  propose,
  pStatus,
  pText,
  readProposal,
  roots,
  str,
  toggleSupport,
  type ProposalView,
  type Roots,
} from './model';
import {
  editRefusal,
  mayDecide,
  mayPropose,
  mayCosponsor,
  mayResolveAny,
  mayRestructure,
  maySetMode,
  maySetStatus,
  STATUS_LABEL,
  STATUSES,
  type Status,
} from './policy';
import { parseDenial, plainWords, RefusedWords, type Denial } from './refusal';
import { Undo, undoKey } from './undo';
import { attribution, scopesOf, signOut, type Session } from './session';

interface Peer {
  clientId: number;
  name: string;
  delegation: string;
  role: string;
  colour: string;
  paragraph?: string;
}

class ParagraphView {
  readonly row: HTMLElement;
  readonly textEl: HTMLElement;
  readonly numEl = h('span.num');
  readonly labelEl = h('span.label');
  readonly badgeEl = h('span.badge');
  readonly peersEl = h('span.peers');
  readonly toolsEl = h('span.tools');
  readonly proposalsEl = h('div.proposals');
  readonly formEl = h('div.propose-slot');
  readonly marginEl = h('aside.margin');
  /** The server's last refusal of a change to this paragraph, and the words it took out (refusal.ts). */
  readonly refusalEl = h('div.refusal-slot', { 'aria-live': 'polite' });
  private denial?: Denial;
  private msgKey = '';
  private msgEl?: HTMLElement;
  private wordsEl?: HTMLElement;
  refused?: RefusedWords;
  binding?: TextBinding;
  label = '';

  constructor(
    readonly map: Y.Map<unknown>,
    private readonly ed: Editor,
  ) {
    this.textEl = h('div.ptext', { role: 'textbox', 'aria-multiline': 'false' });
    this.row = h(
      'div.row',
      h(
        'div.para',
        h('div.para-head', this.labelEl, this.badgeEl, this.peersEl, this.toolsEl),
        h('div.para-body', this.numEl, this.textEl),
        this.refusalEl,
        this.proposalsEl,
        this.formEl,
      ),
      this.marginEl,
    );
    const t = pText(map);
    if (t) {
      this.binding = new TextBinding(this.textEl, t, {
        refusal: () => this.refusal(),
        onRefused: (why) => ed.notify('refused', `You cannot edit ${this.label}: ${why}.`),
        onFocus: () => ed.conn.setPresence('paragraph', this.id),
      });
      // A refused edit kept offline was typed by an earlier page of this user's (offline.ts).
      this.refused = new RefusedWords(t, () => this.renderRefusal(), (client) => ed.conn.offline.isMine(client));
    }
    map.observe(() => this.update());
    this.update();
  }

  get id(): string {
    return pId(this.map);
  }

  refusal(): string | null {
    if (this.ed.ignoreLocalLocks) return null;
    return editRefusal(this.ed.session.claims, docMode(this.ed.roots), pStatus(this.map));
  }

  update(): void {
    const status = pStatus(this.map);
    const kind = pKind(this.map);
    const level = pLevel(this.map);
    const locked = this.refusal() !== null;
    this.row.dataset.id = this.id;
    this.row.dataset.status = status;
    // Flags set by the proposal and comment renderers survive a change of the paragraph's fields.
    const flags = ['proposed-delete', 'has-proposals', 'has-comments'].filter((f) => this.row.classList.contains(f));
    this.row.className = `row ${kind} level-${level} status-${status}${locked ? ' locked' : ''}`;
    this.row.classList.add(...flags);
    this.textEl.contentEditable = locked ? 'false' : 'true';
    this.textEl.title = locked ? `Locked for you: ${this.refusal()}` : '';
    this.badgeEl.textContent = STATUS_LABEL[status] + (locked ? ' · locked' : '');
    this.badgeEl.className = `badge badge-${status}`;
    const c = this.ed.session.claims;
    const tools: HTMLElement[] = [];
    if (maySetStatus(c)) {
      const sel = h(
        'select.status-select',
        { 'aria-label': 'Paragraph status', onchange: (e: Event) => this.ed.setStatus(this, (e.target as HTMLSelectElement).value as Status) },
        ...STATUSES.map((s) => h('option', { value: s, selected: s === status }, STATUS_LABEL[s])),
      );
      tools.push(sel);
    }
    if (mayRestructure(c)) {
      // The chair may restructure in open and in negotiation mode (enforcement.rs: structure.chair-only).
      tools.push(
        h('select.kind-select', { 'aria-label': 'Preambular or operative', onchange: (e: Event) => this.map.set('kind', (e.target as HTMLSelectElement).value) },
          h('option', { value: 'preambular', selected: kind === 'preambular' }, 'PP'),
          h('option', { value: 'operative', selected: kind === 'operative' }, 'OP')),
        h('select.level-select', { 'aria-label': 'Level', onchange: (e: Event) => this.map.set('level', Number((e.target as HTMLSelectElement).value)) },
          ...[0, 1, 2].map((l) => h('option', { value: l, selected: l === level }, ['paragraph', 'sub (a)', 'sub-sub (i)'][l]))),
        h('button.move-up', { type: 'button', title: 'Move up', 'aria-label': `Move ${this.label} up`, onclick: () => moveParagraph(this.ed.doc, this.ed.roots, this.id, -1) }, '↑'),
        h('button.move-down', { type: 'button', title: 'Move down', 'aria-label': `Move ${this.label} down`, onclick: () => moveParagraph(this.ed.doc, this.ed.roots, this.id, 1) }, '↓'),
        h('button.insert-after', { type: 'button', onclick: () => this.openInsertForm() }, 'Insert after'),
        h('button.delete-para', { type: 'button', onclick: () => { if (window.confirm(`Delete ${this.label}?`)) deleteParagraph(this.ed.roots, this.id); } }, 'Delete'),
      );
    }
    if (mayPropose(c)) tools.push(h('button.propose-btn', { type: 'button', onclick: () => this.openProposeForm() }, 'Propose'));
    if (this.ed.mayComment()) tools.push(h('button.comment-btn', { type: 'button', onclick: () => this.ed.openCommentForm(this) }, 'Comment'));
    tools.push(h('button.history-btn', { type: 'button', 'aria-label': `History of ${this.label || 'this paragraph'}`, onclick: () => this.ed.openParagraphHistory(this.id) }, 'History'));
    this.toolsEl.replaceChildren(...tools);
    this.name();
  }

  /** The names a screen reader speaks: the text box ("OP4, operative paragraph 4, open"), its tools, its comments. */
  name(): void {
    const locked = this.refusal() !== null;
    this.textEl.setAttribute('aria-label', paragraphName({ label: this.label, kind: pKind(this.map), level: pLevel(this.map), number: this.numEl.textContent ?? '', status: STATUS_LABEL[pStatus(this.map)], locked }));
    this.toolsEl.setAttribute('role', 'group');
    this.toolsEl.setAttribute('aria-label', `${this.label} tools`);
    this.marginEl.setAttribute('aria-label', `Comments on ${this.label}`);
  }

  /** A locked paragraph still tells the user why, when they click into it. */
  attachLockHint(): void {
    this.textEl.addEventListener('mousedown', () => {
      const why = this.refusal();
      if (why) this.ed.notify('refused', `You cannot edit ${this.label}: ${why}.`);
      else this.ed.conn.setPresence('paragraph', this.id);
    });
    this.textEl.addEventListener('keydown', (e) => {
      const why = this.refusal();
      if (why && e.key.length === 1) this.ed.notify('refused', `You cannot edit ${this.label}: ${why}.`);
    });
  }

  /** The server refused (part of) a change of this user's to this paragraph. */
  serverRefused(d: Denial): void {
    this.denial = d;
    this.refused?.arm();
    this.renderRefusal();
  }

  /**
   * The refusal, in plain words, under the paragraph; the refused words aside,
   * with what to do with them. The slot is a polite live region that is always
   * in the page; the message is rebuilt only when the refusal changes, and the
   * words box is not announced as it grows, so a cascade of refusals (the user
   * keeps typing) neither floods the page nor a screen reader.
   */
  renderRefusal(): void {
    const d = this.denial;
    const words = this.refused && !this.refused.empty ? this.refused.words().map((w) => w.trim()).filter(Boolean) : [];
    const msgKey = d ? `${d.raw}\u0000${this.label}` : '';
    if (msgKey !== this.msgKey) {
      this.msgKey = msgKey;
      this.msgEl?.remove();
      this.msgEl = undefined;
      if (d) {
        this.msgEl = h(
          'div.refusal-message',
          { id: `refusal-${this.id}` },
          h('strong', 'Not kept. '),
          `Your change to ${this.label || d.label || 'this paragraph'} was undone by the server: ${plainWords(d)}.`,
          h('button.refusal-dismiss', { type: 'button', 'aria-label': 'Dismiss this message', onclick: () => { this.denial = undefined; this.renderRefusal(); } }, 'Dismiss'),
        );
      }
    }
    if (!words.length) {
      this.wordsEl?.remove();
      this.wordsEl = undefined;
    } else if (!this.wordsEl) {
      const c = this.ed.session.claims;
      this.wordsEl = h(
        'div.refused-words',
        { role: 'group', 'aria-label': 'Your refused words', 'aria-live': 'off' },
        h('div.refused-words-title', 'Your refused words, kept aside (only you see them):'),
        h('blockquote.refused-words-text'),
        h(
          'div.form-actions',
          mayPropose(c) ? h('button.propose-refused', { type: 'button', onclick: () => this.proposeRefused() }, 'Propose these words') : null,
          h('button.discard-refused', { type: 'button', onclick: () => { this.refused?.clear(); this.denial = undefined; this.renderRefusal(); } }, 'Discard'),
        ),
      );
    }
    if (this.wordsEl) {
      const q = this.wordsEl.querySelector('.refused-words-text') as HTMLElement;
      const text = words.join(' … ');
      if (q.textContent !== text) q.textContent = text;
    }
    const parts = [this.msgEl, this.wordsEl].filter((x): x is HTMLElement => !!x);
    if (!parts.length) {
      this.refusalEl.replaceChildren();
    } else {
      let box = this.refusalEl.firstElementChild as HTMLElement | null;
      if (!box) {
        box = h('div.refusal');
        this.refusalEl.append(box);
      }
      parts.forEach((p, i) => {
        if (box!.children[i] !== p) box!.insertBefore(p, box!.children[i] ?? null);
      });
    }
    if (this.msgEl) this.textEl.setAttribute('aria-describedby', this.msgEl.id);
    else this.textEl.removeAttribute('aria-describedby');
  }

  /** Opens the proposal form with the paragraph as the user meant it: today's text with the refused words back in. */
  private proposeRefused(): void {
    if (!this.refused) return;
    this.openProposeForm({
      text: this.refused.intendedText(),
      title: `Proposal of ${attribution(this.ed.session.claims)}: your refused words in ${this.label}, as a replacement of its text`,
      onSubmitted: () => {
        this.refused?.clear();
        this.denial = undefined;
        this.renderRefusal();
      },
    });
  }

  openProposeForm(prefill?: { text: string; title: string; onSubmitted: () => void }): void {
    const current = pText(this.map)?.toString() ?? '';
    const action = h(
      'select.propose-action',
      { 'aria-label': 'Proposal' },
      h('option', { value: 'replace' }, 'Replace the text with'),
      h('option', { value: 'insert' }, 'Insert a new paragraph after it'),
      h('option', { value: 'delete' }, 'Delete the paragraph'),
      h('option', { value: 'move' }, 'Move the paragraph'),
    ) as HTMLSelectElement;
    const text = h('textarea.propose-text', { rows: 4 }) as HTMLTextAreaElement;
    // Where a move may take the paragraph: to the top, or after any other paragraph, except where it already is
    // (the server refuses such a move as a no-op: enforcement.rs `proposal_content`).
    const order = this.ed.roots.paragraphs.toArray().filter((m): m is Y.Map<unknown> => m instanceof Y.Map).map(pId);
    const at = order.indexOf(this.id);
    const before = at > 0 ? order[at - 1] : '';
    const after = h(
      'select.propose-after',
      { 'aria-label': 'Move it', hidden: true },
      at > 0 ? h('option', { value: '' }, 'to the top') : null,
      ...order.filter((id) => id !== this.id && id !== before).map((id) => h('option', { value: id }, `after ${this.ed.labelOf(id)}`)),
    ) as HTMLSelectElement;
    const groups = this.ed.session.claims.groups;
    const behalf = h(
      'select.propose-behalf',
      { 'aria-label': 'On behalf of' },
      h('option', { value: '' }, `${attribution(this.ed.session.claims)} alone`),
      ...groups.map((g) => h('option', { value: g }, `on behalf of ${g}`)),
    ) as HTMLSelectElement;
    const problem = h('div.form-problem', { role: 'alert' });
    const replaceWith = prefill?.text ?? current;
    text.value = replaceWith;
    const draft = prefill ? undefined : this.drafts.get('propose');
    if (draft) {
      action.value = draft.action;
      text.value = draft.text;
      text.disabled = draft.action === 'delete' || draft.action === 'move';
      text.hidden = draft.action === 'move';
      after.hidden = draft.action !== 'move';
    }
    action.addEventListener('change', () => {
      text.value = action.value === 'replace' ? replaceWith : '';
      text.disabled = action.value === 'delete' || action.value === 'move';
      text.hidden = action.value === 'move';
      after.hidden = action.value !== 'move';
      problem.textContent = '';
    });
    const form = h(
      'form.propose-form',
      {
        onsubmit: (e: Event) => {
          e.preventDefault();
          const a = action.value as ProposalView['action'];
          const c = this.ed.session.claims;
          const now = pText(this.map)?.toString() ?? '';
          const why = proposalProblem(a, text.value, now);
          if (why) {
            problem.textContent = why;
            return;
          }
          if (a === 'move' && !after.options.length) {
            problem.textContent = 'There is nowhere else to move this paragraph.';
            return;
          }
          propose(this.ed.doc, this.ed.roots, {
            action: a,
            paragraphId: a === 'insert' ? undefined : this.id,
            after: a === 'insert' ? this.id : a === 'move' ? after.value || undefined : undefined,
            text: a === 'delete' || a === 'move' ? '' : text.value.trim(),
            delegation: attribution(c),
            author: c.sub,
            onBehalfOf: behalf.value || undefined,
            baseText: a === 'replace' || a === 'delete' ? now : undefined,
          });
          this.drafts.delete('propose');
          this.formEl.replaceChildren();
          prefill?.onSubmitted();
        },
      },
      h('div.form-title', prefill?.title ?? `Proposal of ${attribution(this.ed.session.claims)} on ${this.label}`),
      action,
      after,
      groups.length ? behalf : null,
      text,
      problem,
      h('div.form-actions', h('button.submit-proposal', { type: 'submit' }, 'Submit proposal'), h('button.cancel-form', { type: 'button', onclick: () => { this.drafts.delete('propose'); this.formEl.replaceChildren(); } }, 'Cancel')),
    );
    this.formEl.replaceChildren(form);
    text.focus();
  }

  /** The chair's form for a new paragraph after this one: kind, level, the italic opening (from the list or typed) and the text. */
  openInsertForm(): void {
    const kind = h('select.insert-kind', { 'aria-label': 'Kind' }, h('option', { value: 'operative' }, 'Operative'), h('option', { value: 'preambular' }, 'Preambular')) as HTMLSelectElement;
    kind.value = pKind(this.map);
    const level = h('select.insert-level', { 'aria-label': 'Level' }, ...[0, 1, 2].map((l) => h('option', { value: l }, ['Paragraph', 'Sub-paragraph (a)', 'Sub-sub-paragraph (i)'][l]))) as HTMLSelectElement;
    level.value = String(pLevel(this.map));
    const pick = h('select.insert-opening-pick', { 'aria-label': 'Opening from the list' }) as HTMLSelectElement;
    const opening = h('input.insert-opening', { 'aria-label': 'Opening (italic)', placeholder: 'Opening, e.g. Decides' }) as HTMLInputElement;
    const fill = () => {
      const list = (kind.value as Kind) === 'preambular' ? PREAMBULAR_OPENINGS : OPERATIVE_OPENINGS;
      pick.replaceChildren(h('option', { value: '' }, 'Choose an opening…'), ...list.map((o) => h('option', { value: o }, o)));
    };
    fill();
    kind.addEventListener('change', fill);
    pick.addEventListener('change', () => {
      if (pick.value) opening.value = pick.value;
    });
    const rest = h('textarea.insert-text', { rows: 3, 'aria-label': 'Text after the opening', placeholder: 'the rest of the paragraph' }) as HTMLTextAreaElement;
    const draft = this.drafts.get('insert');
    if (draft) {
      opening.value = draft.action;
      rest.value = draft.text;
    }
    const problem = h('div.form-problem', { role: 'alert' });
    const form = h(
      'form.insert-form',
      {
        onsubmit: (e: Event) => {
          e.preventDefault();
          if (!opening.value.trim() && !rest.value.trim()) {
            problem.textContent = 'A new paragraph needs an opening or some text.';
            return;
          }
          insertParagraph(this.ed.doc, this.ed.roots, this.id, { kind: kind.value as Kind, level: Number(level.value), opening: opening.value, rest: rest.value });
          this.drafts.delete('insert');
          this.formEl.replaceChildren();
        },
      },
      h('div.form-title', `New paragraph after ${this.label}`),
      h('div.insert-row', kind, level, pick, opening),
      rest,
      problem,
      h('div.form-actions', h('button.submit-insert', { type: 'submit' }, 'Insert paragraph'), h('button.cancel-form', { type: 'button', onclick: () => { this.drafts.delete('insert'); this.formEl.replaceChildren(); } }, 'Cancel')),
    );
    this.formEl.replaceChildren(form);
    opening.focus();
  }

  /** What was typed in a form closed with Esc (propose: the action and text; insert: the opening and text). */
  private readonly drafts = new Map<'propose' | 'insert', { action: string; text: string }>();

  keepDraft(form: Element): void {
    if (form.classList.contains('propose-form')) {
      const action = form.querySelector<HTMLSelectElement>('select.propose-action')?.value ?? 'replace';
      const text = form.querySelector<HTMLTextAreaElement>('textarea.propose-text')?.value ?? '';
      this.drafts.set('propose', { action, text });
    } else if (form.classList.contains('insert-form')) {
      const opening = form.querySelector<HTMLInputElement>('input.insert-opening')?.value ?? '';
      const text = form.querySelector<HTMLTextAreaElement>('textarea.insert-text')?.value ?? '';
      this.drafts.set('insert', { action: opening, text });
    }
  }

  destroy(): void {
    this.binding?.destroy();
    this.refused?.destroy();
    this.row.remove();
  }
}

export class Editor {
  conn!: Connection;
  readonly auth: Auth;
  /** A stale proposal's comparison, by proposal id. */
  private readonly staleEls = new Map<string, HTMLElement>();
  doc!: Y.Doc;
  roots!: Roots;
  awareness!: Awareness;
  comments: CommentsHub;
  private views = new Map<Y.Map<unknown>, ParagraphView>();
  private readonly headerEl = h('header.un-header');
  private readonly titleEl = h('div.un-title');
  private readonly paragraphsEl = h('div.paragraphs');
  /** Pending moves of a paragraph to the top, shown where it would go. */
  private readonly moveTopEl = h('div.move-top');
  /** The closing lines after the last operative paragraph (the meeting, its date). */
  private readonly closingEl = h('div.un-closing');
  private readonly footnotesEl = h('footer.footnotes');
  private readonly presenceEl = h('div.presence');
  /** The presence list and its count, "6 here", which opens it on a narrow screen (a11y.ts). */
  private readonly presence = presenceBox(this.presenceEl);
  private readonly modeEl = h('span.mode');
  private readonly connEl = h('span.conn');
  /** Unsent edits kept in this browser (offline.ts). */
  private readonly unsentEl = h('span.unsent', { role: 'status', hidden: true });
  /** Why the document cannot be opened, in plain words (connection.ts `explain`). */
  private readonly problemEl = h('div.open-problem', { role: 'alert', hidden: true });
  private unsent: Unsent | null = null;
  private live = false;
  private unsentTimer: number | undefined;
  private readonly noticeEl = h('div.notice', { role: 'alert', hidden: true });
  private readonly docEl = h('article.un-doc');
  private readonly editorEl = h('main.workspace');
  private readonly historyEl = h('main.history-view', { hidden: true });
  private readonly compilationEl = h('article.un-doc.compilation-view', { hidden: true });
  private readonly sponsorsEl = h('div.un-sponsors');
  private readonly revisionEl = h('span.revision');
  /** The heading, title and footnotes, editable by the secretariat and the chair (header.ts). */
  readonly header: HeaderEditor;
  /** The paragraph order at the last named version (provisional labels are computed against it). */
  private base: BaseParagraph[] | null = null;
  private baseFor: string | undefined;
  private labelById = new Map<string, Numbered>();
  private rerender = 0;
  private history?: HistoryView;
  /** "Show authors": the text tinted by who wrote it (attribution.ts). */
  private authors?: Authors;
  private commentForm?: { paragraphId: string; el: HTMLElement };
  /** Undo and redo of the user's own typing (undo.ts). */
  undo?: Undo;
  private noticeTimer: number | undefined;
  /**
   * For tests: the page behaves as one that has not yet heard of a lock (a
   * status or mode change still on its way), so what the user types reaches
   * the server, which refuses and reverts it. See `setIgnoreLocalLocks`.
   */
  ignoreLocalLocks = false;

  constructor(
    private readonly root: HTMLElement,
    readonly session: Session,
  ) {
    const c = session.claims;
    const me = h('span.me', h('span.dot', { style: `background:${colourOf(c.sub)}` }), `${c.name} · ${attribution(c)} · ${c.role}`);
    const commentsToggle = h('button#toggle-comments', { type: 'button', 'aria-pressed': 'true', onclick: () => this.toggleComments() }, 'Comments');
    const historyBtn = h('button#toggle-history', { type: 'button', onclick: () => this.toggleHistory() }, 'History');
    const compilationBtn = h('button#toggle-compilation', { type: 'button', 'aria-pressed': 'false', onclick: () => this.toggleCompilation() }, 'Compilation text');
    const exports = exportMenu(session.doc, () => this.auth, (m) => this.notify('refused', m));
    const authorsBtn = h('button#toggle-authors', { type: 'button', 'aria-pressed': 'false', onclick: () => this.toggleAuthors() }, 'Show authors');
    const out = h('button', { type: 'button', onclick: async () => { await this.conn?.offline.signOut(); signOut(); location.href = location.pathname + `?doc=${encodeURIComponent(session.doc)}`; } }, 'Sign out');
    root.replaceChildren(
      h('header.topbar', skipLink(), h('span.brand', 'Plenary'), h('span.docname', session.doc), this.modeEl, this.connEl, this.unsentEl, this.presence.el, this.revisionEl, h('span.spacer'), commentsToggle, authorsBtn, compilationBtn, historyBtn, exports, me, out),
      this.noticeEl,
      this.problemEl,
      this.editorEl,
      this.historyEl,
    );
    this.docEl.append(this.headerEl, this.titleEl, this.moveTopEl, this.paragraphsEl, this.closingEl, this.footnotesEl);
    this.header = new HeaderEditor(
      {
        claims: c,
        roots: () => this.roots,
        doc: () => this.doc,
        notify: (k, t) => this.notify(k, t),
        ignoreLocks: () => this.ignoreLocalLocks,
        caretParagraph: () => this.caretParagraph(),
      },
      { header: this.headerEl, title: this.titleEl, closing: this.closingEl, footnotes: this.footnotesEl, sponsors: this.sponsorsEl },
    );
    this.editorEl.append(this.docEl, this.compilationEl);
    document.body.classList.add('comments-open');

    // One session for the document and every comment scope: an expired token is renewed once.
    this.auth = new Auth(session);
    this.auth.on((e) => {
      if (e.kind === 'renewed') this.notify('info', 'Session renewed. Everything you typed meanwhile is kept and sent.');
      else if (e.kind === 'ended') this.notify('refused', `${e.message[0].toUpperCase()}${e.message.slice(1)}. What you typed since is still on this page.`);
    });
    this.comments = new CommentsHub(session.doc, this.auth, scopesOf(c), c, () => this.renderComments(), (reason) => this.commentRefused(reason));
    this.conn = new Connection(session.doc, this.auth, {
      onDoc: (doc, awareness) => this.bind(doc, awareness),
      onDenied: (reason) => this.serverRefused(reason),
      onState: (s, d) => this.connState(s, d),
      onUnavailable: (u) => {
        this.problemEl.replaceChildren(unavailableEl(session.doc, u));
        this.problemEl.hidden = false;
        this.editorEl.hidden = true;
      },
      onUnsent: (u) => {
        this.unsent = u;
        this.renderUnsent();
      },
      onSynced: () => {
        document.body.dataset.synced = 'true';
        this.renderAll();
        void this.loadBase();
      },
    }, { keepOffline: true });
    document.addEventListener('keydown', this.onKey, true);
    document.addEventListener('beforeinput', this.onHistoryInput, true);
    this.conn.setPresence('user', { name: c.name, delegation: attribution(c), role: c.role, colour: colourOf(c.sub), sub: c.sub });
    (window as unknown as Record<string, unknown>).__plenary = this;
  }

  /** Binds the page to the document (once: a refusal is reverted in place, never by reloading). */
  private bind(doc: Y.Doc, awareness: Awareness): void {
    document.body.dataset.synced = 'false';
    for (const v of this.views.values()) v.destroy();
    this.views.clear();
    this.doc = doc;
    this.roots = roots(doc);
    this.awareness = awareness;
    this.undo?.destroy();
    this.undo = new Undo([this.roots.paragraphs, this.roots.footnotes]);
    // A footnote added or deleted in the page is undone like typing (header.ts).
    this.undo.manager.trackedOrigins.add(this.header);
    this.roots.meta.observe((e) => {
      this.renderMeta();
      // The server writes `revision` when a version is named: learn its base order, renumber.
      if (e.keysChanged.has('revision')) void this.loadBase();
    });
    this.roots.paragraphs.observe(() => this.renderParagraphs());
    // Text edits move a suggestion's marked-up words and the compilation text.
    this.roots.paragraphs.observeDeep(() => this.scheduleRerender());
    this.roots.paragraphs.observeDeep(() => this.authors?.changed());
    this.roots.footnotes.observeDeep(() => this.renderFootnotes());
    this.roots.proposals.observeDeep(() => {
      this.renderProposals();
      this.renderCompilation();
    });
    this.roots.sponsors.observeDeep(() => this.renderSponsors());
    awareness.on('change', () => this.renderPresence());
    this.renderAll();
  }

  renderAll(): void {
    this.renderMeta();
    this.renderParagraphs();
    this.renderFootnotes();
  }

  private connState(s: ConnState, detail?: string): void {
    const words: Record<ConnState, string> = {
      connected: '● live',
      connecting: '○ connecting…',
      disconnected: '○ offline — your edits are kept and will be sent',
      refused: `○ ${detail ?? 'refused'}`,
      expired: '○ your session expired; reconnecting…',
      ended: '○ your session ended; sign in again',
      unavailable: '○ this document cannot be opened',
    };
    if (s === 'connected' && !this.problemEl.hidden) {
      this.problemEl.hidden = true;
      this.editorEl.hidden = false;
    }
    this.connEl.textContent = words[s];
    this.live = s === 'connected';
    this.renderUnsent();
    this.connEl.title = detail ?? '';
    this.connEl.className = `conn conn-${s}`;
  }

  /**
   * The server refused part of a change: shown at the paragraph it names (and
   * the words it took out kept aside there), or, for anything else, here at the
   * top. Everything else the user typed stays: the server reverts only the
   * refused part, with an update the page integrates like any other.
   */
  private serverRefused(reason: string): void {
    const d = parseDenial(reason);
    this.undo?.refused();
    const v = d.paragraphId ? [...this.views.values()].find((x) => x.id === d.paragraphId) : undefined;
    if (v) {
      v.serverRefused(d);
      const label = v.label || d.label || 'a paragraph';
      this.notify('denied', `Your change to ${label} was not kept: ${plainWords(d)}. See ${label}.`);
      return;
    }
    if (this.header.serverRefused(d)) return;
    this.notify('denied', `Part of your change was not kept: ${plainWords(d)}.`);
  }

  /** The paragraph the caret is in and where (a new footnote's mark goes there). */
  caretParagraph(): { text: Y.Text; at: number; label: string; refusal: string | null } | null {
    for (const v of this.views.values()) {
      const caret = v.binding?.caret();
      if (v.binding && caret) return { text: v.binding.text, at: caret[1], label: v.label, refusal: v.refusal() };
    }
    return null;
  }

  /** Whether a key press or edit command belongs to the paragraphs (not a form field, where the browser's own undo works). */
  private inText(target: EventTarget | null): boolean {
    const el = target instanceof Element ? target : null;
    if (el?.closest('input, textarea, select')) return false;
    return !el || el === document.body || !!el.closest('.ptext, .fn-text');
  }

  private historyCommand(cmd: 'undo' | 'redo'): void {
    if (!this.undo) return;
    if (cmd === 'undo') this.undo.undo();
    else this.undo.redo();
  }

  private readonly onKey = (e: KeyboardEvent): void => {
    if (e.key === 'Escape' && !e.defaultPrevented) {
      if (this.closeForm(e.target)) e.preventDefault();
      return;
    }
    const cmd = undoKey(e);
    if (!cmd || !this.inText(e.target)) return;
    // The browser's own contenteditable history knows nothing of the shared text.
    e.preventDefault();
    this.historyCommand(cmd);
  };

  /** Undo and redo from the browser's Edit menu or a context menu arrive as these input types. */
  private readonly onHistoryInput = (e: InputEvent): void => {
    if (e.inputType !== 'historyUndo' && e.inputType !== 'historyRedo') return;
    if (!this.inText(e.target)) return;
    e.preventDefault();
    this.historyCommand(e.inputType === 'historyUndo' ? 'undo' : 'redo');
  };

  /** Esc: closes the propose, insert or comment form the focus is in (or the only one open); what was typed is kept for its next opening (Cancel discards it). */
  private closeForm(target: EventTarget | null): boolean {
    const el = target instanceof Element ? target : null;
    let form = el?.closest('form.propose-form, form.insert-form, form.comment-form') as HTMLElement | null;
    if (!form) {
      const open = document.querySelectorAll<HTMLElement>('form.propose-form, form.insert-form, form.comment-form');
      if (open.length !== 1) return false;
      form = open[0];
    }
    if (form.classList.contains('comment-form')) {
      if (!this.commentForm) return false;
      const text = form.querySelector<HTMLTextAreaElement>('textarea.comment-text');
      const id = this.commentForm.paragraphId;
      if (text) this.commentDrafts.set(id, text.value);
      this.commentForm = undefined;
      this.renderComments();
      // The keyboard user is back where they were: in the paragraph's text.
      [...this.views.values()].find((x) => x.id === id)?.textEl.focus();
      return true;
    }
    const v = [...this.views.values()].find((x) => x.formEl.contains(form));
    if (!v) return false;
    v.keepDraft(form);
    v.formEl.replaceChildren();
    v.textEl.focus();
    return true;
  }

  /** What was typed in a comment form closed with Esc, by paragraph id. */
  readonly commentDrafts = new Map<string, string>();

  /** For tests: see `ignoreLocalLocks`. */
  setIgnoreLocalLocks(on: boolean): void {
    this.ignoreLocalLocks = on;
    for (const v of this.views.values()) v.update();
    this.header.update();
    this.header.renderFootnotes();
  }

  notify(kind: 'denied' | 'refused' | 'info', text: string): void {
    window.clearTimeout(this.noticeTimer);
    this.noticeTimer = window.setTimeout(() => (this.noticeEl.hidden = true), 15000);
    // The same notice again (every keystroke into a locked paragraph): keep it, announce it once.
    if (!this.noticeEl.hidden && this.noticeEl.dataset.text === text) return;
    this.noticeEl.dataset.text = text;
    this.noticeEl.hidden = false;
    this.noticeEl.className = `notice notice-${kind}`;
    this.noticeEl.replaceChildren(h('span.notice-text', text), h('button.notice-close', { type: 'button', 'aria-label': 'Dismiss', onclick: () => (this.noticeEl.hidden = true) }, '×'));
  }

  private renderMeta(): void {
    const c = this.session.claims;
    const mode = docMode(this.roots);
    if (maySetMode(c)) {
      const sel = h(
        'select#mode-select',
        { 'aria-label': 'Document mode', onchange: (e: Event) => this.roots.meta.set('mode', (e.target as HTMLSelectElement).value) },
        h('option', { value: 'open', selected: mode === 'open' }, 'Open mode'),
        h('option', { value: 'negotiation', selected: mode === 'negotiation' }, 'Negotiation mode'),
      );
      this.modeEl.replaceChildren(sel);
    } else {
      this.modeEl.replaceChildren(h(`span.mode-badge.mode-${mode}`, mode === 'open' ? 'Open mode' : 'Negotiation mode'));
    }
    document.body.dataset.mode = mode;
    this.header.update();
    this.renderSponsors();
    for (const v of this.views.values()) v.update();
  }

  /** The co-sponsors under the submitted-by line, and the delegate's own sign-on. */
  private renderSponsors(): void {
    if (!this.roots) return;
    const c = this.session.claims;
    const list = readSponsors(this.roots);
    const mine = c.delegation ? list.some((s) => s.delegation === c.delegation) : false;
    this.sponsorsEl.replaceChildren(
      h('span.sponsors-title', 'Co-sponsors: '),
      list.length ? h('span.sponsors-list', list.map((s) => s.delegation).join(', ')) : h('span.sponsors-none', 'none yet'),
      mayCosponsor(c)
        ? mine
          ? h('button.withdraw-sponsor', { type: 'button', onclick: () => withdrawSponsorship(this.doc, this.roots, c.delegation!) }, `Withdraw ${c.delegation}'s co-sponsorship`)
          : h('button.cosponsor', { type: 'button', onclick: () => cosponsor(this.doc, this.roots, c.delegation!, c.sub) }, `Co-sponsor for ${c.delegation}`)
        : '',
    );
  }

  /** The label of a paragraph as the page shows it (provisional between versions). */
  labelOf(id: string): string {
    return this.labelById.get(id)?.label ?? id;
  }

  /** Fetches the last named version's base order (and retries a busy server a few times). */
  private async loadBase(): Promise<void> {
    const want = str(this.roots.meta, 'revision') ?? '';
    for (let attempt = 0; attempt < 6; attempt++) {
      try {
        const r = await apiGet(`/api/docs/${encodeURIComponent(this.session.doc)}/versions`, this.auth);
        const vs = (await r.json()) as { name?: string; base_order?: { paragraphs?: BaseParagraph[] } }[];
        const last = vs[vs.length - 1];
        // A page that heard of a version before the list shows it asks again.
        if (want && last?.name !== want && attempt < 5) throw new Error('HTTP 503 version not listed yet');
        this.base = last?.base_order?.paragraphs ?? null;
        this.baseFor = last?.name;
        this.revisionEl.textContent = this.baseFor ? `Labels since ${this.baseFor}` : '';
        this.renderParagraphs();
        return;
      } catch (e) {
        if (!/HTTP (429|503)/.test((e as Error).message)) return;
        await new Promise((res) => window.setTimeout(res, 250 * (attempt + 1)));
      }
    }
  }

  private scheduleRerender(): void {
    if (this.rerender) return;
    this.rerender = window.requestAnimationFrame(() => {
      this.rerender = 0;
      this.renderFootnotes();
      this.renderProposals();
      this.renderCompilation();
    });
  }

  /** Unsent edits are shown while the page is not live, or when the server has not confirmed them within 3 s (not during every typing burst). */
  private renderUnsent(): void {
    const u = this.unsent;
    const wait = u && this.live ? u.since + 3000 - Date.now() : 0;
    window.clearTimeout(this.unsentTimer);
    if (wait > 0) this.unsentTimer = window.setTimeout(() => this.renderUnsent(), wait + 50);
    const text = u && wait <= 0 ? unsentWords(u, (id) => this.labelById.get(id)?.label) : '';
    this.unsentEl.hidden = !text;
    if (this.unsentEl.textContent !== text) this.unsentEl.textContent = text;
  }

  private renderParagraphs(): void {
    const maps = this.roots.paragraphs.toArray().filter((m): m is Y.Map<unknown> => m instanceof Y.Map);
    const keep = new Set(maps);
    for (const [m, v] of this.views) {
      if (!keep.has(m)) {
        v.destroy();
        this.views.delete(m);
      }
    }
    const nums = labels(maps.map((m) => ({ id: pId(m), kind: pKind(m), level: pLevel(m) })), this.base);
    this.labelById = new Map(maps.map((m, i) => [pId(m), nums[i]]));
    let prev: HTMLElement | null = null;
    maps.forEach((m, i) => {
      let v = this.views.get(m);
      if (!v) {
        v = new ParagraphView(m, this);
        v.attachLockHint();
        this.views.set(m, v);
      }
      v.label = nums[i].label;
      v.labelEl.textContent = nums[i].label;
      v.numEl.textContent = nums[i].number;
      v.row.dataset.label = nums[i].label;
      v.name();
      if (v.refusalEl.firstChild) v.renderRefusal();
      // Keep DOM order = document order without touching rows already in place.
      const want = prev ? prev.nextSibling : this.paragraphsEl.firstChild;
      if (want !== v.row) this.paragraphsEl.insertBefore(v.row, want);
      prev = v.row;
    });
    this.renderProposals();
    this.renderPresence();
    this.renderComments();
    this.renderCompilation();
    this.renderUnsent();
  }

  private renderFootnotes(): void {
    this.header.renderFootnotes();
  }

  /** A pending proposal as a suggestion: the change marked up in the proposer's colour, who, supporters, when, the buttons. */
  private proposalEl(p: ProposalView, v: ParagraphView | undefined): HTMLElement {
    const c = this.session.claims;
    const mine = attribution(c) === p.delegation;
    const buttons: HTMLElement[] = [];
    // Kept across re-renders (any change re-renders the list), so the chair's comparison stays.
    const staleEl = this.staleEls.get(p.id) ?? h('div.proposal-stale');
    this.staleEls.set(p.id, staleEl);
    if (mayDecide(c)) {
      buttons.push(h('button.accept', { type: 'button', onclick: () => void this.decideOn(p, { decision: 'accept' }, staleEl) }, 'Accept'));
      buttons.push(h('button.reject', { type: 'button', onclick: () => void this.decideOn(p, { decision: 'reject' }, staleEl) }, 'Reject'));
    }
    if (c.role === 'delegate' && !mine) {
      const on = p.supporters.includes(attribution(c));
      buttons.push(h('button.support', { type: 'button', onclick: () => toggleSupport(this.doc, p, attribution(c)) }, on ? 'Withdraw support' : 'Support'));
    }
    if (mine && c.role !== 'observer') {
      buttons.push(h('button.withdraw', { type: 'button', onclick: () => withdraw(p) }, 'Withdraw'));
    }
    const label = v?.label ?? '';
    const target = p.after ? `after ${this.labelOf(p.after)}` : 'to the top';
    const what =
      p.action === 'replace'
        ? `proposes to change ${label}`
        : p.action === 'insert'
          ? `proposes a new paragraph after ${label}`
          : p.action === 'delete'
            ? `proposes to delete ${label}`
            : `proposes to move ${label} ${target}`;
    let body: HTMLElement | null = null;
    if (p.action === 'replace') {
      const current = v ? pText(v.map)?.toString() ?? '' : '';
      const { ops, stale } = layOn(p.baseText ?? current, p.text, current);
      body = h(
        'div.suggestion',
        ...ops.map((o) => (o.op === 'del' ? h('del.sugg-del', o.text) : o.op === 'ins' ? h('ins.sugg-ins', o.text) : document.createTextNode(o.text))),
        stale ? h('div.sugg-stale', 'Proposed against an earlier text: words it changes were changed since.') : null,
      );
    } else if (p.action === 'insert') {
      body = h('div.ghost-para', h('span.ghost-label', 'new paragraph'), h('ins.sugg-ins', p.text));
    } else if (p.action === 'move') {
      body = h('div.move-summary', `Move ${label} ${target}`);
    }
    return h(
      'div.proposal',
      { 'data-id': p.id, 'data-delegation': p.delegation, 'data-action': p.action, style: `--who:${colourOf(p.delegation)}` },
      h(
        'div.proposal-head',
        h('span.dot', { style: `background:${colourOf(p.delegation)}` }),
        h('strong.proposal-who', p.delegation),
        p.onBehalfOf ? h('span.behalf', ` on behalf of ${p.onBehalfOf}`) : null,
        ` ${what}`,
        h('span.supporters', p.supporters.length ? ` · supported by ${p.supporters.join(', ')}` : ''),
        h('span.when', ` ${timeOf(p.createdAt)}`),
      ),
      body,
      buttons.length ? h('div.proposal-actions', ...buttons) : null,
      staleEl,
    );
  }

  /** Sends the chair's decision to the server; a stale proposal shows the three texts to decide on. */
  private async decideOn(p: ProposalView, body: { decision: 'accept' | 'reject'; seen?: string; text?: string }, staleEl: HTMLElement): Promise<void> {
    const r = await decide(this.auth, this.session.doc, p.id, body);
    if (r.ok) return void staleEl.replaceChildren();
    if ('error' in r) return this.notify('refused', `The decision was not taken: ${r.error}.`);
    const s = r.stale;
    const edit = h('textarea.stale-edit', { rows: 4 }) as HTMLTextAreaElement;
    edit.value = s.proposed;
    const editRow = h('div.stale-edit-row', edit, h('button.stale-edit-accept', { type: 'button', onclick: () => void this.decideOn(p, { decision: 'accept', seen: s.seen, text: edit.value }, staleEl) }, 'Accept this text'));
    editRow.hidden = true;
    staleEl.replaceChildren(
      h('div.stale-note', 'The words this proposal changes were changed since it was made. Compare, then decide.'),
      h(
        'div.stale-texts',
        h('div.stale-col', h('div.stale-head', 'When proposed'), h('div.stale-base', s.base ?? '(not recorded)')),
        h('div.stale-col', h('div.stale-head', 'Now'), h('div.stale-current', s.current)),
        h('div.stale-col', h('div.stale-head', 'Proposal'), h('div.stale-proposed', s.proposed)),
      ),
      h(
        'div.proposal-actions',
        h('button.accept-anyway', { type: 'button', onclick: () => void this.decideOn(p, { decision: 'accept', seen: s.seen }, staleEl) }, 'Accept anyway'),
        h('button.stale-edit-open', { type: 'button', onclick: () => { editRow.hidden = false; edit.focus(); } }, 'Edit'),
        h('button.reject', { type: 'button', onclick: () => void this.decideOn(p, { decision: 'reject' }, staleEl) }, 'Reject'),
      ),
      editRow,
    );
  }

  /** Where a pending move would put its paragraph: a dashed outline of it at the destination. */
  private moveGhostEl(p: ProposalView): HTMLElement {
    const moved = [...this.views.values()].find((x) => x.id === p.paragraphId);
    const label = p.paragraphId ? this.labelOf(p.paragraphId) : '';
    return h(
      'div.ghost-para.move-ghost',
      { 'data-id': p.id, 'data-delegation': p.delegation, style: `--who:${colourOf(p.delegation)}` },
      h('span.ghost-label', `${label} would move here · proposed by ${p.delegation}`),
      h('span.ghost-text', moved ? pText(moved.map)?.toString() ?? '' : ''),
    );
  }

  /** A decided (or withdrawn) proposal, for the record under its paragraph. */
  private decidedEl(p: ProposalView): HTMLElement {
    const verb = p.status === 'withdrawn' ? 'withdrawn' : p.status;
    const by = p.status === 'withdrawn' ? p.delegation : p.decidedBy || '?';
    return h(
      'li.decided-item',
      { 'data-id': p.id, 'data-status': p.status },
      h('span.dot', { style: `background:${colourOf(p.delegation)}` }),
      `${attributionLine(p)} · ${p.action === 'move' ? `move ${p.after ? `after ${this.labelOf(p.after)}` : 'to the top'}` : p.action}${p.text ? `: “${p.text}”` : ''} — `,
      h(`strong.decided-status.status-${p.status}`, verb),
      ` by ${by}${p.decidedAt ? `, ${timeOf(p.decidedAt)}` : ''}`,
    );
  }

  private renderProposals(): void {
    if (!this.roots) return;
    const byPara = new Map<string, ProposalView[]>();
    const decided = new Map<string, ProposalView[]>();
    /** Pending moves by destination: the id of the paragraph they go after, '' for the top. */
    const arriving = new Map<string, ProposalView[]>();
    for (const m of this.roots.proposals.toArray()) {
      if (!(m instanceof Y.Map)) continue;
      const p = readProposal(m);
      const key = p.action === 'insert' ? p.after : p.paragraphId;
      if (!key) continue;
      const into = p.status === 'pending' ? byPara : decided;
      into.set(key, [...(into.get(key) ?? []), p]);
      if (p.action === 'move' && p.status === 'pending') arriving.set(p.after ?? '', [...(arriving.get(p.after ?? '') ?? []), p]);
    }
    this.moveTopEl.replaceChildren(...(arriving.get('') ?? []).map((p) => this.moveGhostEl(p)));
    for (const v of this.views.values()) {
      const list = byPara.get(v.id) ?? [];
      const done = decided.get(v.id) ?? [];
      v.row.classList.toggle('proposed-delete', list.some((p) => p.action === 'delete'));
      v.row.classList.toggle('has-proposals', list.length > 0);
      // Keep a record the user opened open across re-renders.
      const wasOpen = (v.proposalsEl.querySelector('details.decided') as HTMLDetailsElement | null)?.open ?? false;
      v.proposalsEl.replaceChildren(
        ...list.map((p) => this.proposalEl(p, v)),
        ...(arriving.get(v.id) ?? []).map((p) => this.moveGhostEl(p)),
        done.length
          ? h(
              'details.decided',
              { open: wasOpen },
              h('summary', `${done.length} decided proposal${done.length === 1 ? '' : 's'}`),
              h('ul.decided-list', ...done.map((p) => this.decidedEl(p))),
            )
          : '',
      );
    }
  }

  private peers(): Peer[] {
    const out: Peer[] = [];
    this.awareness.getStates().forEach((s, clientId) => {
      const u = s.user as { name?: string; delegation?: string; role?: string; colour?: string } | undefined;
      if (!u?.name) return;
      out.push({
        clientId,
        name: u.name,
        delegation: u.delegation ?? '',
        role: u.role ?? '',
        colour: u.colour ?? '#666',
        paragraph: typeof s.paragraph === 'string' ? s.paragraph : undefined,
      });
    });
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  private renderPresence(): void {
    if (!this.awareness) return;
    const peers = this.peers();
    this.presence.count(peers.length);
    const labelOf = new Map([...this.views.values()].map((v) => [v.id, v.label]));
    this.presenceEl.replaceChildren(
      ...peers.map((p) =>
        h(
          'span.peer',
          { 'data-delegation': p.delegation, title: `${p.name} (${p.role})`, style: `border-color:${p.colour}` },
          h('span.dot', { style: `background:${p.colour}` }),
          `${p.name} · ${p.delegation}`,
          p.paragraph && labelOf.get(p.paragraph) ? h('span.where', ` in ${labelOf.get(p.paragraph)}`) : null,
        ),
      ),
    );
    for (const v of this.views.values()) {
      const here = peers.filter((p) => p.paragraph === v.id && p.clientId !== this.doc.clientID);
      v.peersEl.replaceChildren(...here.map((p) => h('span.peer-chip', { style: `background:${p.colour}`, title: p.name }, p.delegation)));
      v.row.style.setProperty('--peer', here[0]?.colour ?? 'transparent');
    }
  }

  setStatus(v: ParagraphView, to: Status): void {
    const from = pStatus(v.map);
    if (from === to) return;
    if (from === 'agreed' && !window.confirm(`Reopen ${v.label}, which is agreed? The reopening is logged.`)) {
      v.update();
      return;
    }
    v.map.set('status', to);
  }

  // ---- comments ----

  /** The highlights of anchored comments, by paragraph text element (anchors.ts). */
  private readonly anchorMarks = new WeakMap<HTMLElement, AnchorMarks>();
  private commentsByPara = new Map<string, Comment[]>();
  /** The chair's switch for observers' comments; the observer's note on it. */
  private readonly commentPolicyEl = h('div.comment-policy');
  private commentPolicyShown?: string;
  /** Comments whose paragraph was deleted. */
  private readonly orphansEl = h('section.orphan-comments', { 'aria-labelledby': 'orphan-comments-title', hidden: true });
  /** Each commented paragraph's text and label as this page last saw it (or the history, once deleted). */
  private readonly paragraphSeen = new Map<string, { text: string; label: string }>();
  private readonly historyAsked = new Set<string>();
  private readonly snapshotTimers = new Map<string, number>();
  private commentOffered?: boolean;
  /** The words a comment form is anchored to, by paragraph id. */
  private readonly commentAnchors = new Map<string, { anchor: string; quote: string }>();
  /** A reply the server refused, put back in its field with why. */
  private readonly replyRefused = new Map<string, { text: string; why: string }>();

  private toggleComments(): void {
    const on = document.body.classList.toggle('comments-open');
    document.getElementById('toggle-comments')?.setAttribute('aria-pressed', String(on));
  }

  /** Whether the page offers a Comment button: always, but to an observer only where the chair allows it. */
  mayComment(): boolean {
    return this.ignoreLocalLocks || (!!this.comments && this.comments.writable().length > 0);
  }

  openCommentForm(v: ParagraphView, restore?: { post: Post; why: string }): void {
    document.body.classList.add('comments-open');
    const t = pText(v.map);
    if (restore) {
      this.commentDrafts.set(v.id, restore.post.text);
      if (restore.post.anchor && restore.post.quote) this.commentAnchors.set(v.id, { anchor: restore.post.anchor, quote: restore.post.quote });
      else this.commentAnchors.delete(v.id);
    } else {
      // Words selected in the paragraph: the comment is anchored to them.
      const sel = selectedWords(v.textEl);
      const quote = t && sel ? t.toString().slice(sel.start, sel.end) : '';
      if (t && sel && quote.trim()) this.commentAnchors.set(v.id, { anchor: encodeAnchor(t, sel.start, sel.end), quote });
    }
    const writable = this.comments.writable();
    const scopes = writable.length || !this.ignoreLocalLocks ? writable : this.comments.scopes;
    const scope = h('select.comment-scope', { 'aria-label': 'Who may read it' }, ...scopes.map((s) => h('option', { value: s.key, selected: s.key === restore?.post.scope }, s.label))) as HTMLSelectElement;
    const text = h('textarea.comment-text', { rows: 3, placeholder: `Comment on ${v.label}`, 'aria-label': `Comment on ${v.label}` }) as HTMLTextAreaElement;
    text.value = this.commentDrafts.get(v.id) ?? '';
    const refusal = h('p.comment-refusal', { role: 'alert', hidden: !restore }, restore ? `Not posted: ${restore.why}. Your text is kept below.` : '');
    const anchored = this.commentAnchors.get(v.id);
    const quoteEl = anchored
      ? h(
          'div.comment-quote-line',
          'On the words ',
          h('q.comment-quote', anchored.quote),
          ' ',
          h('button.whole-paragraph', { type: 'button', onclick: () => { this.commentAnchors.delete(v.id); quoteEl?.remove(); } }, 'Comment on the whole paragraph'),
        )
      : null;
    const close = (): void => {
      this.commentDrafts.delete(v.id);
      this.commentAnchors.delete(v.id);
      this.commentForm = undefined;
      this.renderComments();
    };
    const el = h(
      'form.comment-form',
      {
        onsubmit: (e: Event) => {
          e.preventDefault();
          const body = text.value.trim();
          if (!body) return;
          if (!this.ignoreLocalLocks && !this.comments.writable().some((s) => s.key === scope.value)) {
            // The chair closed comments to observers while the form was open: say so, keep the text.
            refusal.textContent = `Not posted: ${COMMENT_CLOSED}. Your text is kept below.`;
            refusal.hidden = false;
            return;
          }
          const a = this.commentAnchors.get(v.id);
          this.comments.add({ scope: scope.value, paragraphId: v.id, text: body, anchor: a?.anchor, quote: a?.quote, paragraphText: t?.toString() ?? '', paragraphLabel: v.label });
          close();
        },
      },
      refusal,
      quoteEl,
      scopes.length ? h('label', 'Visible to ', scope) : null,
      text,
      h('div.form-actions', h('button.post-comment', { type: 'submit' }, 'Post'), h('button.cancel-form', { type: 'button', onclick: close }, 'Cancel')),
    );
    this.commentForm = { paragraphId: v.id, el };
    this.renderComments();
    text.focus();
  }

  /** The server refused a comment, reply or setting of this page's: why, in plain words, and what was typed put back. */
  private commentRefused(reason: string): void {
    const d = parseDenial(reason);
    const why = commentRefusalWords(d);
    const id = /^(?:reply to )?comment (\S+)$/.exec(d.target)?.[1];
    const post = id && !d.target.startsWith('reply') ? this.comments.refusedPost(id) : undefined;
    if (post) {
      const v = [...this.views.values()].find((x) => x.id === post.paragraphId);
      if (v) {
        this.openCommentForm(v, { post, why });
        this.notify('denied', `Your comment on ${v.label} was not posted: ${why}. Your text is back in the form.`);
      } else this.notify('denied', `Your comment was not posted: ${why}. What you wrote: “${post.text}”`);
      return;
    }
    const reply = id ? this.comments.refusedReply(id) : undefined;
    if (reply !== undefined && id) {
      this.replyRefused.set(id, { text: reply, why });
      this.renderComments();
      this.notify('denied', `Your reply was not posted: ${why}. Your text is back in the reply field.`);
      return;
    }
    this.notify('denied', `The server did not keep your change to the comments: ${why}.`);
  }

  /** Opens the comments and points at the comment (from a click on its highlighted words). */
  private showComment(ids: string[]): void {
    document.body.classList.add('comments-open');
    document.getElementById('toggle-comments')?.setAttribute('aria-pressed', 'true');
    for (const old of this.root.querySelectorAll('.comment.shown')) old.classList.remove('shown');
    const els = ids.map((id) => this.root.querySelector<HTMLElement>(`.comment[data-id="${CSS.escape(id)}"]`)).filter((e): e is HTMLElement => !!e);
    for (const e of els) e.classList.add('shown');
    els[0]?.scrollIntoView({ block: 'nearest' });
  }

  /** The highlighted stretches of a paragraph: its open comments' anchored words where they are now. */
  private markRanges(v: ParagraphView): MarkRange[] {
    const t = pText(v.map);
    if (!t) return [];
    return (this.commentsByPara.get(v.id) ?? []).flatMap((c) => {
      if (c.resolved || !c.anchor) return [];
      let r = resolveAnchor(c.anchor, t);
      if (r) this.anchoredWords.set(c.id, t.toString().slice(r.start, r.end));
      else {
        // The paragraph was moved (its text copied): the same words, found once, in the copy.
        r = findWords(t, this.anchoredWords.get(c.id), c.quote);
        const found = r;
        if (found && c.author === this.session.claims.sub) window.setTimeout(() => this.comments.reanchor(c, encodeAnchor(t, found.start, found.end)));
      }
      return r ? [{ ...r, id: c.id, title: `Comment by ${c.authorName || c.author} (${c.delegation}): ${c.text}` }] : [];
    });
  }

  /** The words each anchored comment was last seen on, to find them again in a moved paragraph. */
  private readonly anchoredWords = new Map<string, string>();

  /** A commented paragraph changed: remember its text; the author's page updates its comments' copy of it. */
  private commentedParagraphChanged(v: ParagraphView): void {
    const t = pText(v.map);
    if (!t || !this.commentsByPara.get(v.id)?.length) return;
    this.paragraphSeen.set(v.id, { text: t.toString(), label: v.label });
    const mine = (this.commentsByPara.get(v.id) ?? []).some((c) => c.author === this.session.claims.sub);
    if (!mine) return;
    // Once the paragraph rests for a moment.
    window.clearTimeout(this.snapshotTimers.get(v.id));
    this.snapshotTimers.set(v.id, window.setTimeout(() => {
      this.snapshotTimers.delete(v.id);
      const seen = this.paragraphSeen.get(v.id);
      if (!seen || ![...this.views.values()].some((x) => x.id === v.id)) return;
      for (const c of this.commentsByPara.get(v.id) ?? []) this.comments.snapshot(c, seen.text, seen.label);
    }, 1500));
  }

  private commentEl(cm: Comment, orphan = false): HTMLElement {
    const c = this.session.claims;
    const writable = this.ignoreLocalLocks || this.comments.writable().some((s) => s.key === cm.scope.key);
    const mayResolve = writable && (mayResolveAny(c) || cm.author === c.sub);
    const refused = this.replyRefused.get(cm.id);
    const reply = h('input.reply-text', { placeholder: 'Reply…', 'aria-label': 'Reply' }) as HTMLInputElement;
    if (refused) reply.value = refused.text;
    const scopeClass = cm.scope.key === 'public' ? 'public' : cm.scope.key.startsWith('group/') ? 'group' : 'private';
    const label = this.labelById.get(cm.paragraphId)?.label ?? (cm.paragraphLabel ? `${cm.paragraphLabel} (deleted)` : 'deleted paragraph');
    return h(
      `div.comment.scope-${scopeClass}${cm.resolved ? '.resolved' : ''}`,
      { 'data-id': cm.id, 'data-scope': cm.scope.key },
      h('div.comment-head', h('span.comment-label', label), ' ', h('span.scope-tag', cm.scope.label), h('strong', cm.authorName || cm.author), ` · ${cm.delegation}`, h('span.when', ` ${timeOf(cm.createdAt)}`)),
      cm.quote ? h('div.comment-quote-line', orphan ? 'On the words ' : '', h('q.comment-quote', { title: 'The words commented on, as they read then' }, cm.quote)) : null,
      h('div.comment-body', cm.text),
      ...cm.replies.map((r) => h('div.reply', h('strong', r.authorName || r.author), ` · ${r.delegation}: `, r.text)),
      refused ? h('p.comment-refusal', { role: 'alert' }, `Reply not posted: ${refused.why}.`) : null,
      cm.resolved
        ? h('div.resolved-note', `Resolved${cm.resolvedBy ? ` by ${cm.resolvedBy}` : ''} `, mayResolve ? h('button.reopen', { type: 'button', onclick: () => this.comments.resolve(cm, false) }, 'Reopen') : null)
        : writable
          ? h(
              'form.reply-form',
              { onsubmit: (e: Event) => { e.preventDefault(); if (reply.value.trim()) { this.replyRefused.delete(cm.id); this.comments.reply(cm, reply.value.trim()); } } },
              reply,
              h('button.reply-btn', { type: 'submit' }, 'Reply'),
              mayResolve ? h('button.resolve', { type: 'button', onclick: () => this.comments.resolve(cm, true) }, 'Resolve') : null,
            )
          : null,
    );
  }

  /** The chair's switch "Observers may comment" (public comments); an observer reads whether it is on. */
  private renderCommentPolicy(): void {
    const c = this.session.claims;
    const on = this.comments.observersMayComment('public');
    const key = `${c.role}:${on}`;
    if (this.commentPolicyShown === key) return;
    this.commentPolicyShown = key;
    if (c.role === 'chair') {
      this.commentPolicyEl.replaceChildren(
        h(
          'label.observer-policy',
          'Observers may comment: ',
          h(
            'select#observer-comments',
            { onchange: (e: Event) => this.comments.setObserversMayComment('public', (e.target as HTMLSelectElement).value === 'yes') },
            h('option', { value: 'no', selected: !on }, 'no'),
            h('option', { value: 'yes', selected: on }, 'yes'),
          ),
        ),
      );
    } else if (c.role === 'observer') {
      this.commentPolicyEl.replaceChildren(
        h('span.observer-policy-note', on ? 'The chair lets observers comment (public comments).' : 'The chair has not opened this document to comments from observers: you can read the public comments.'),
      );
    } else this.commentPolicyEl.replaceChildren();
    this.commentPolicyEl.hidden = !this.commentPolicyEl.firstChild;
  }

  renderComments(): void {
    // The comment hub reports its first (empty) documents while it is being built.
    if (!this.comments) return;
    if (!this.commentPolicyEl.isConnected) this.paragraphsEl.before(this.commentPolicyEl);
    if (!this.orphansEl.isConnected) this.footnotesEl.after(this.orphansEl);
    this.renderCommentPolicy();
    // An observer's Comment buttons come and go with the chair's policy.
    const offered = this.mayComment();
    if (offered !== this.commentOffered) {
      this.commentOffered = offered;
      for (const v of this.views.values()) v.update();
    }
    // Keep a half-typed reply across re-renders.
    const active = document.activeElement as HTMLInputElement | null;
    const keep = active?.classList.contains('reply-text') ? { id: active.closest('.comment')?.getAttribute('data-id'), value: active.value } : null;
    const byPara = new Map<string, Comment[]>();
    for (const cm of this.comments.all()) byPara.set(cm.paragraphId, [...(byPara.get(cm.paragraphId) ?? []), cm]);
    this.commentsByPara = byPara;
    const present = new Set<string>();
    for (const v of this.views.values()) {
      present.add(v.id);
      const list = byPara.get(v.id) ?? [];
      const form = this.commentForm?.paragraphId === v.id ? this.commentForm.el : null;
      v.marginEl.replaceChildren(...list.map((cm) => this.commentEl(cm)), ...(form ? [form] : []));
      v.row.classList.toggle('has-comments', list.length > 0 || !!form);
      if (list.length) {
        let marks = this.anchorMarks.get(v.textEl);
        if (!marks) {
          marks = new AnchorMarks(v.textEl, () => this.markRanges(v), (ids) => this.showComment(ids), () => this.commentedParagraphChanged(v));
          this.anchorMarks.set(v.textEl, marks);
        }
      }
      this.anchorMarks.get(v.textEl)?.refresh();
    }
    // Comments whose paragraph is gone (only once the document is here: before, every paragraph is missing).
    const orphans = document.body.dataset.synced === 'true' ? [...byPara].filter(([id]) => !present.has(id)) : [];
    this.orphansEl.hidden = orphans.length === 0;
    for (const [id] of orphans) {
      // A page that never saw the paragraph asks the history for its last text (once).
      if (this.paragraphSeen.has(id) || this.historyAsked.has(id)) continue;
      this.historyAsked.add(id);
      lastTextFromHistory(this.session.doc, id, (path) => apiGet(path, this.auth))
        .then((last) => {
          if (!last || this.paragraphSeen.has(id)) return;
          this.paragraphSeen.set(id, last);
          this.renderComments();
        })
        .catch(() => undefined); // the comments' own copy stays shown
    }
    this.orphansEl.replaceChildren(
      ...(orphans.length ? [h('h2#orphan-comments-title', 'On deleted paragraphs')] : []),
      ...orphans.map(([id, list]) => {
        const seen = this.paragraphSeen.get(id);
        const last = list.find((c) => c.paragraphText !== undefined);
        const label = seen?.label ?? last?.paragraphLabel ?? list.find((c) => c.paragraphLabel)?.paragraphLabel;
        const text = seen?.text ?? last?.paragraphText;
        return h(
          'div.orphan',
          { 'data-paragraph': id },
          h('div.orphan-para', h('span.orphan-label', label ? `${label}, deleted. ` : 'A deleted paragraph. '), text ? h('span.orphan-last', 'Its last text: ', h('span.orphan-text', text)) : 'Its text was not kept.'),
          ...list.map((cm) => this.commentEl(cm, true)),
        );
      }),
    );
    if (keep?.id) {
      const input = this.root.querySelector(`.comment[data-id="${keep.id}"] .reply-text`) as HTMLInputElement | null;
      if (input) {
        input.value = keep.value;
        input.focus();
      }
    }
  }

  // ---- compilation text ----

  private toggleCompilation(): void {
    const showing = !this.compilationEl.hidden;
    this.compilationEl.hidden = showing;
    this.docEl.hidden = !showing;
    document.getElementById('toggle-compilation')?.setAttribute('aria-pressed', String(!showing));
    this.renderCompilation();
  }

  private renderCompilation(): void {
    if (this.compilationEl.hidden || !this.roots) return;
    this.compilationEl.replaceChildren(renderCompilation(this.roots, (id) => this.labelById.get(id)));
  }

  // ---- history ----

  private toggleHistory(paragraph?: string): void {
    const showing = !this.historyEl.hidden;
    this.historyEl.hidden = showing;
    this.editorEl.hidden = !showing;
    document.body.classList.toggle('history-open', !showing);
    if (!showing) {
      this.history ??= new HistoryView(this.historyEl, this.session, (id) => this.labelById.get(id)?.label);
      void (paragraph ? this.history.openParagraph(paragraph) : this.history.open());
    }
  }

  /** A paragraph's own history since a version, from its History button. */
  openParagraphHistory(id: string): void {
    if (this.historyEl.hidden) this.toggleHistory(id);
    else void this.history?.openParagraph(id);
    window.scrollTo(0, 0);
  }

  // ---- who wrote what ----

  private toggleAuthors(): void {
    this.authors ??= new Authors({
      doc: this.session.doc,
      auth: () => this.auth,
      container: this.paragraphsEl,
      nameOf: (sub) => (sub === this.session.claims.sub ? this.session.claims.name : this.peerName(sub)),
    });
    if (!this.authors.legendEl.isConnected) this.editorEl.prepend(this.authors.legendEl);
    this.authors.set(!this.authors.on);
    document.getElementById('toggle-authors')?.setAttribute('aria-pressed', String(this.authors.on));
  }

  /** The display name of a user present on the page (their presence carries their id). */
  private peerName(sub: string): string | undefined {
    for (const s of this.awareness?.getStates().values() ?? []) {
      const u = s.user as { sub?: string; name?: string } | undefined;
      if (u?.sub === sub && u.name) return u.name;
    }
    return undefined;
  }
}

/** Read-only rendering of a Y.Text's runs. */
export function renderRuns(t: Y.Text): DocumentFragment {
  const f = document.createDocumentFragment();
  for (const op of t.toDelta() as { insert?: unknown; attributes?: { italic?: boolean; footnote?: string } }[]) {
    if (typeof op.insert !== 'string') continue;
    let n: Node = document.createTextNode(op.insert);
    if (op.attributes?.footnote) n = h('sup.fn-ref', n);
    if (op.attributes?.italic) n = h('em', n);
    f.append(n);
  }
  return f;
}

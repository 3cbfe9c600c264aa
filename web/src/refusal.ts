// What the server says when it refuses part of a change, and what the page
// makes of it.
//
// The server integrates every update, reverts the parts the sender may not
// make with an ordinary Yjs update of its own, and tells the sender why with
// the y-protocols permission-denied message, sent before that reverting
// update. The reason reads `<target>: <message> [<rule-id>]`, where the target
// of a paragraph is `<label> (<paragraphId>)` or `paragraph <paragraphId>`
// (other targets: `proposal <id>`, `meta.<key>`, `footnote <id>`,
// `comment <id>`, optionally followed by ` (<field>)`).
//
// The page never reloads: the reverting update brings its copy back in line
// with everyone's. It shows the refusal at the paragraph, in plain words, and
// keeps the words the server took out of the paragraph aside (`RefusedWords`)
// so the user can propose them instead.

import * as Y from 'yjs';

export interface Denial {
  raw: string;
  /** The part before the first `: `, or '' when the reason names no target. */
  target: string;
  /** The server's own wording, without the rule id. */
  message: string;
  rule?: string;
  paragraphId?: string;
  /** The paragraph's label as the server numbered it (may differ from the page's provisional one). */
  label?: string;
}

const NOT_PARAGRAPH = /^(proposal|comment|reply|footnote|meta\.|comment policy|commentPolicy\.|sponsor)/;

export function parseDenial(reason: string): Denial {
  const raw = reason.trim();
  let body = raw;
  let rule: string | undefined;
  const r = /\s*\[([A-Za-z0-9_.-]+)\]\s*$/.exec(body);
  if (r) {
    rule = r[1];
    body = body.slice(0, r.index);
  }
  let target = '';
  let message = body;
  const colon = body.indexOf(': ');
  if (colon > 0) {
    target = body.slice(0, colon);
    message = body.slice(colon + 2);
  }
  const d: Denial = { raw, target, message, rule };
  if (target && !NOT_PARAGRAPH.test(target)) {
    const bare = /^paragraph (\S+)/.exec(target);
    const labelled = /^(\S+) \(([^()\s]+)\)/.exec(target);
    if (bare) d.paragraphId = bare[1];
    else if (labelled) {
      d.label = labelled[1];
      d.paragraphId = labelled[2];
    }
  }
  return d;
}

/** Plain wording for the rules the server names (plenary-auth's stable rule ids). */
const RULE_WORDS: Record<string, string> = {
  'delegate.agreed-paragraph': 'this paragraph is agreed and locked, so delegations can no longer change its text',
  'delegate.ad-ref-paragraph': 'this paragraph is agreed ad referendum (pending confirmation from capitals), so delegations can no longer change its text',
  'delegate.negotiation-mode': 'the draft is in negotiation mode: only the chair changes the text, and delegations make proposals',
  'secretariat.agreed-paragraph': 'this paragraph is agreed; the secretariat cannot change it unless the chair reopens it',
  'observer.read-only': 'observers can read the draft but not change it',
  'status.chair-only': "only the chair changes a paragraph's status",
  'structure.chair-only': 'only the chair adds, moves or deletes paragraphs; you can propose it instead',
  'structure.duplicate': 'someone else moved this paragraph at the same moment; move it again',
  'proposal.own-delegation': "you can act only on your own delegation's proposals",
  'support.own-delegation': 'you can add or withdraw support only for your own delegation',
  'proposal.chair-decides': 'only the chair accepts or rejects proposals',
  'proposals.decided-on-server': "proposals are accepted or rejected by the server when the chair presses Accept or Reject; a page cannot write a decision or the text that comes with it",
  'proposals.decided-record': 'a decided or withdrawn proposal stays as it is, as the record of the negotiation',
  'proposals.empty': 'a proposal needs some text',
  'proposals.no-op': 'this proposal would change nothing',
  'proposals.paragraph': 'the paragraph this proposal names is no longer in the draft',
  'secretariat.no-proposals': 'the secretariat does not make proposals of its own',
  'cosponsor.own-delegation': 'you can co-sponsor only for your own delegation',
  'mode.chair-only': 'only the chair switches between open and negotiation mode',
  'meta.chair-or-secretariat': "only the chair or the secretariat changes the document's heading",
  'footnote.chair-or-secretariat': 'only the chair or the secretariat changes footnotes',
  'version.chair-or-secretariat': 'only the chair or the secretariat names versions',
  'comments.own-only': 'you can change only your own comments',
  'comments.resolve-own-only': 'only its author, the chair or the secretariat can resolve a comment',
  'comments.scope': 'you are not a member of that comment group',
  'comments.observers-disabled': 'this document does not take comments from observers',
  'comments.author': 'a comment must be signed with your own name',
  'comments.delegation': 'a comment must carry your own delegation',
  'schema.unknown': 'the page sent something the draft has no place for',
  'schema.value': 'the page sent a value the draft does not accept',
};

/** The refusal in plain words: the known rule's wording, else the server's message. */
export function plainWords(d: Denial): string {
  return (d.rule && RULE_WORDS[d.rule]) || d.message || d.raw;
}

/** One stretch of refused text, anchored where it stood in the paragraph. */
interface Run {
  text: string;
  at: Y.RelativePosition;
  seq: number;
}

/**
 * Keeps aside the words of this user's that the server took out of one
 * paragraph. Armed by a permission-denied naming the paragraph; while armed,
 * a remote change to the paragraph's Y.Text that deletes text inserted by this
 * page's own client id (or, with `isMine`, by an earlier page of the same user
 * whose edits were kept offline and sent by this one) is the server's revert, and what it deleted is kept
 * (the deleted items' content, read before Yjs collects it). A cascade of
 * refusals (the user keeps typing) accumulates into the same runs.
 */
export class RefusedWords {
  private runs: Run[] = [];
  private armedUntil = 0;
  private seq = 0;
  private readonly observer: (e: Y.YTextEvent, t: Y.Transaction) => void;

  /** How long after a refusal (or a captured revert) a remote deletion counts as the revert. */
  static ARM_MS = 4000;

  constructor(
    readonly text: Y.Text,
    private readonly onChange: () => void,
    private readonly isMine: (client: number) => boolean = (client) => client === text.doc?.clientID,
  ) {
    this.observer = (e, t) => this.observe(e, t);
    text.observe(this.observer);
  }

  arm(): void {
    this.armedUntil = Date.now() + RefusedWords.ARM_MS;
  }

  get empty(): boolean {
    return this.runs.length === 0;
  }

  private observe(e: Y.YTextEvent, t: Y.Transaction): void {
    if (t.local || Date.now() > this.armedUntil) return;
    const doc = this.text.doc;
    if (!doc) return;
    const found: { text: string; index: number }[] = [];
    let index = 0; // offset in the text as it is after this change
    let run: { text: string; index: number } | null = null;
    for (let item = this.text._start; item; item = item.right) {
      const mineDeleted = e.deletes(item) && this.isMine(item.id.client) && item.content instanceof Y.ContentString;
      if (mineDeleted) {
        const s = (item.content as Y.ContentString).str;
        if (run) run.text += s;
        else run = { text: s, index };
        continue;
      }
      if (!item.deleted && item.countable) {
        if (run) found.push(run);
        run = null;
        index += item.length;
      }
    }
    if (run) found.push(run);
    if (!found.length) return;
    for (const f of found) {
      this.runs.push({ text: f.text, at: Y.createRelativePositionFromTypeIndex(this.text, f.index), seq: this.seq++ });
    }
    this.arm(); // the cascade goes on while the user keeps typing
    this.onChange();
  }

  /** Where each run sits in the paragraph now, in document order; runs at one place keep arrival order. */
  private placed(): { index: number; text: string }[] {
    const doc = this.text.doc;
    const out: { index: number; text: string; seq: number }[] = [];
    for (const r of this.runs) {
      const abs = doc ? Y.createAbsolutePositionFromRelativePosition(r.at, doc) : null;
      out.push({ index: abs && abs.type === this.text ? abs.index : this.text.length, text: r.text, seq: r.seq });
    }
    out.sort((a, b) => a.index - b.index || a.seq - b.seq);
    const merged: { index: number; text: string }[] = [];
    for (const o of out) {
      const last = merged[merged.length - 1];
      if (last && last.index === o.index) last.text += o.text;
      else merged.push({ index: o.index, text: o.text });
    }
    return merged;
  }

  /** The refused words, stretch by stretch. */
  words(): string[] {
    return this.placed().map((p) => p.text);
  }

  /** The paragraph as the user meant it: today's text with the refused words put back where they were typed. */
  intendedText(): string {
    let s = this.text.toString();
    const placed = this.placed();
    for (let i = placed.length - 1; i >= 0; i--) {
      const at = Math.min(placed[i].index, s.length);
      s = s.slice(0, at) + placed[i].text + s.slice(at);
    }
    return s;
  }

  clear(): void {
    this.runs = [];
    this.onChange();
  }

  destroy(): void {
    this.text.unobserve(this.observer);
  }
}

// "Show authors": the text of every paragraph tinted by the delegation that
// wrote each run, from the server's attribution (`GET /api/docs/{doc}/attribution`:
// per paragraph, runs of text with `user`, `delegation`, `at_ms`, `proposal`),
// with a legend, and who wrote a run and when ("Delegate of Japan · 14:32")
// when the pointer rests on it or the caret is in it.
//
// The page's text is never touched: the runs are painted with the CSS Custom
// Highlight API (`CSS.highlights`, `::highlight(...)`), a light background
// tint and an underline in the delegation's colour over the unchanged dark
// text (contrast stays that of the page). The binding re-renders a paragraph
// on every keystroke, so the ranges are rebuilt whenever a paragraph's DOM
// changes, by aligning the server's runs with the text now shown (common
// start and end: what was typed since is left untinted), and the attribution
// is fetched again a moment after the text stops changing.

import type { Auth } from './auth';
import { delegationName } from './delegations';
import { h } from './dom';
import { apiGet } from './exports';

/** One run of `GET /attribution`. */
export interface AttributedRun {
  text: string;
  user: string;
  delegation?: string | null;
  seq?: number;
  at_ms?: number;
  proposal?: string | null;
}

interface ParagraphRuns {
  id: string;
  label?: string;
  runs: AttributedRun[];
}

/** Tints and underline colours: the text stays #1a1a1a on each tint (contrast above 12:1). */
export const PALETTE: { bg: string; line: string }[] = [
  { bg: '#dbe8ff', line: '#1f5fbf' },
  { bg: '#ffe2c6', line: '#a35200' },
  { bg: '#d6f0da', line: '#1e7b34' },
  { bg: '#ecdcff', line: '#6a3bb5' },
  { bg: '#ffdbe4', line: '#b3244d' },
  { bg: '#cff0ee', line: '#0f6f6b' },
  { bg: '#fff1b0', line: '#7f6500' },
  { bg: '#efe0d2', line: '#7a4b23' },
  { bg: '#e0e6ee', line: '#44566c' },
  { bg: '#e6f5c4', line: '#4a7309' },
];

const ROLE_NAMES: Record<string, string> = { chair: 'Chair', secretariat: 'Secretariat', observer: 'Observer', delegate: 'Delegate', system: 'System' };

/** The colour key of a writer: the delegation, else the role. */
export const keyOf = (r: { user: string; delegation?: string | null }): string => r.delegation || ROLE_NAMES[r.user.split(':')[0]] || r.user || '?';

/** Text as the document was created (log entry 1, its import) stays untinted: the colours show what was written since. */
const isOriginal = (r: AttributedRun): boolean => r.seq === 1;

/** What the legend calls a colour key. */
export const keyName = (k: string): string => (/^[A-Z]{2,3}$/.test(k) ? delegationName(k) : k);

/** "14:32", with the day when not today. */
export function clockOf(ms: number | undefined): string {
  if (!ms) return '';
  const d = new Date(ms);
  const time = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  return d.toDateString() === new Date().toDateString() ? time : `${d.toLocaleDateString(undefined, { day: 'numeric', month: 'short' })} ${time}`;
}

/**
 * Colour slots by key: each key hashed to a slot of the palette, the next free
 * one on a collision (keys taken in order, so the same set gives the same colours).
 */
export function slotsFor(keys: Iterable<string>): Map<string, number> {
  const out = new Map<string, number>();
  const used = new Set<number>();
  for (const k of [...new Set(keys)].sort()) {
    let x = 0;
    for (const ch of k) x = (x * 31 + ch.charCodeAt(0)) >>> 0;
    let slot = x % PALETTE.length;
    for (let i = 0; i < PALETTE.length && used.has(slot); i++) slot = (slot + 1) % PALETTE.length;
    used.add(slot);
    out.set(k, slot);
  }
  return out;
}

const HIGHLIGHT = (slot: number) => `plenary-by-${slot}`;

/** The `::highlight` rules, once per page. */
function installStyles(): void {
  if (document.getElementById('attribution-styles')) return;
  const css = PALETTE.map(
    (p, i) => `::highlight(${HIGHLIGHT(i)}) { background-color: ${p.bg}; color: #1a1a1a; text-decoration: underline 2px ${p.line}; text-underline-offset: 3px; }`,
  ).join('\n');
  document.head.append(h('style#attribution-styles', css));
}

type Registry = { set(name: string, h: unknown): void; delete(name: string): void };
const registry = (): Registry | undefined => (globalThis as unknown as { CSS?: { highlights?: Registry } }).CSS?.highlights;
const HighlightCtor = (): (new (...r: Range[]) => unknown) | undefined => (globalThis as unknown as { Highlight?: new (...r: Range[]) => unknown }).Highlight;

/** The text nodes of `el` with their start offsets. */
function textNodes(el: HTMLElement): { node: Text; start: number }[] {
  const out: { node: Text; start: number }[] = [];
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  let at = 0;
  for (let n = walker.nextNode() as Text | null; n; n = walker.nextNode() as Text | null) {
    out.push({ node: n, start: at });
    at += n.data.length;
  }
  return out;
}

/** A DOM range over characters [from, to) of `el`'s text. */
function rangeOf(nodes: { node: Text; start: number }[], from: number, to: number): Range | null {
  const r = document.createRange();
  let started = false;
  for (const { node, start } of nodes) {
    const end = start + node.data.length;
    if (!started && from < end) {
      r.setStart(node, from - start);
      started = true;
    }
    if (started && to <= end) {
      r.setEnd(node, to - start);
      return r;
    }
  }
  return null;
}

/** A run placed on the text as shown: characters [from, to). */
interface Placed {
  from: number;
  to: number;
  run: AttributedRun;
}

/**
 * The server's runs laid on `shown`: runs in the common start keep their
 * place, runs in the common end keep theirs counted from the end; what lies
 * between (typed since the attribution was read) is left out.
 */
export function placeRuns(runs: AttributedRun[], shown: string): Placed[] {
  const server = runs.map((r) => r.text).join('');
  let pre = 0;
  const max = Math.min(server.length, shown.length);
  while (pre < max && server[pre] === shown[pre]) pre++;
  let suf = 0;
  while (suf < max - pre && server[server.length - 1 - suf] === shown[shown.length - 1 - suf]) suf++;
  const shift = shown.length - server.length;
  const out: Placed[] = [];
  let at = 0;
  for (const run of runs) {
    const [a, b] = [at, at + run.text.length];
    at = b;
    // The part in the common start.
    if (a < pre) out.push({ from: a, to: Math.min(b, pre), run });
    // The part in the common end.
    const endStart = server.length - suf;
    if (b > endStart) out.push({ from: Math.max(a, endStart) + shift, to: b + shift, run });
  }
  return out.filter((p) => p.to > p.from);
}

export interface AuthorsOptions {
  doc: string;
  auth: () => Auth;
  /** Where the paragraphs are (their `.row[data-id] .ptext` elements). */
  container: HTMLElement;
  /** The display name of a user id (`sub`), when the page knows it (presence, the user's own token). */
  nameOf: (sub: string) => string | undefined;
}

/** The "Show authors" layer of the editor. */
export class Authors {
  on = false;
  readonly legendEl = h('section#authors-legend.authors-legend', { hidden: true, 'aria-label': 'Authors' });
  private readonly tipEl = h('div#author-tip.author-tip', { role: 'tooltip', hidden: true });
  private readonly caretEl = h('span.authors-caret', { 'aria-live': 'polite' });
  private readonly statusEl = h('span.authors-status');
  private byPara = new Map<string, AttributedRun[]>();
  private placed = new Map<HTMLElement, Placed[]>();
  private slots = new Map<string, number>();
  private fetchTimer: number | undefined;
  private retries = 0;
  private pendingSince: number | undefined;
  private req = 0;
  private mo?: MutationObserver;
  private dirty = new Set<HTMLElement>();
  private readonly names = new Map<string, string>();

  constructor(private readonly o: AuthorsOptions) {
    document.body.append(this.tipEl);
  }

  /** Turns the tint on or off; off leaves the page exactly as without it. */
  set(on: boolean): void {
    if (on === this.on) return;
    this.on = on;
    this.legendEl.hidden = !on;
    document.body.classList.toggle('authors-on', on);
    if (on) {
      installStyles();
      this.legendEl.replaceChildren(h('strong', 'Authors'), ' ', this.statusEl);
      this.statusEl.textContent = 'reading who wrote what…';
      this.mo = new MutationObserver((ms) => {
        for (const m of ms) {
          const el = (m.target instanceof Element ? m.target : m.target.parentElement)?.closest('.ptext');
          if (el instanceof HTMLElement) this.dirty.add(el);
        }
        // Before the browser paints: the new DOM never shows stale ranges.
        this.paintDirty();
      });
      this.mo.observe(this.o.container, { childList: true, subtree: true, characterData: true });
      this.o.container.addEventListener('mousemove', this.onMove);
      this.o.container.addEventListener('mouseleave', this.hideTip);
      document.addEventListener('selectionchange', this.onCaret);
      void this.fetch();
    } else {
      window.clearTimeout(this.fetchTimer);
      this.req++;
      this.mo?.disconnect();
      this.mo = undefined;
      this.o.container.removeEventListener('mousemove', this.onMove);
      this.o.container.removeEventListener('mouseleave', this.hideTip);
      document.removeEventListener('selectionchange', this.onCaret);
      this.hideTip();
      this.placed.clear();
      this.clearHighlights();
    }
  }

  /** Someone changed the text: read the attribution again once the typing pauses. */
  changed(): void {
    if (!this.on) return;
    this.retries = 0;
    // A pause of 0.9 s, but at most 4 s after the first change not yet read (typing that never pauses).
    this.pendingSince ??= Date.now();
    this.schedule(Math.max(0, Math.min(900, 4000 - (Date.now() - this.pendingSince))));
  }

  private schedule(ms: number): void {
    window.clearTimeout(this.fetchTimer);
    this.fetchTimer = window.setTimeout(() => void this.fetch(), ms);
  }

  private async fetch(): Promise<void> {
    const req = ++this.req;
    this.pendingSince = undefined;
    let res: { paragraphs?: ParagraphRuns[] };
    try {
      const r = await apiGet(`/api/docs/${encodeURIComponent(this.o.doc)}/attribution`, this.o.auth());
      res = (await r.json()) as { paragraphs?: ParagraphRuns[] };
    } catch (e) {
      if (req !== this.req || !this.on) return;
      const m = (e as Error).message;
      // Busy or still indexing: try again shortly.
      if (/HTTP (429|503)/.test(m) && this.retries++ < 8) {
        this.statusEl.textContent = 'reading who wrote what…';
        this.schedule(700 * this.retries);
      } else {
        this.statusEl.textContent = `who wrote what is not available now (${m})`;
      }
      return;
    }
    if (req !== this.req || !this.on) return;
    this.byPara = new Map((res.paragraphs ?? []).map((p) => [p.id, p.runs ?? []]));
    this.paintAll();
    // The server has not logged the latest typing yet: ask again in a moment.
    const behind = [...this.rows()].some(([id, el]) => {
      const runs = this.byPara.get(id);
      return runs && runs.map((r) => r.text).join('') !== (el.textContent ?? '');
    });
    if (behind && this.retries++ < 3) this.schedule(1500);
  }

  private *rows(): Generator<[string, HTMLElement]> {
    for (const row of this.o.container.querySelectorAll<HTMLElement>('.row[data-id]')) {
      const el = row.querySelector<HTMLElement>('.ptext');
      if (el && row.dataset.id) yield [row.dataset.id, el];
    }
  }

  private paintAll(): void {
    this.dirty.clear();
    this.placed.clear();
    for (const [id, el] of this.rows()) this.place(id, el);
    this.slots = slotsFor([...this.byPara.values()].flat().filter((r) => !isOriginal(r)).map(keyOf));
    this.renderHighlights();
    this.renderLegend();
  }

  private paintDirty(): void {
    if (!this.on || !this.dirty.size) return;
    for (const el of this.dirty) {
      const id = el.closest<HTMLElement>('.row[data-id]')?.dataset.id;
      if (id) this.place(id, el);
    }
    this.dirty.clear();
    // Paragraphs gone from the page drop out.
    for (const el of [...this.placed.keys()]) if (!el.isConnected) this.placed.delete(el);
    this.renderHighlights();
  }

  private place(id: string, el: HTMLElement): void {
    const runs = this.byPara.get(id);
    if (!runs) {
      this.placed.delete(el);
      return;
    }
    this.placed.set(el, placeRuns(runs, el.textContent ?? ''));
  }

  private clearHighlights(): void {
    const reg = registry();
    if (!reg) return;
    PALETTE.forEach((_, i) => reg.delete(HIGHLIGHT(i)));
  }

  private renderHighlights(): void {
    const reg = registry();
    const Ctor = HighlightCtor();
    if (!reg || !Ctor) {
      this.statusEl.textContent = 'this browser cannot tint the text; the legend and the names on hover still work';
      return;
    }
    const bySlot = PALETTE.map(() => [] as Range[]);
    for (const [el, placed] of this.placed) {
      const nodes = textNodes(el);
      for (const p of placed) {
        if (isOriginal(p.run)) continue;
        const r = rangeOf(nodes, p.from, p.to);
        const slot = this.slots.get(keyOf(p.run));
        if (r && slot !== undefined) bySlot[slot].push(r);
      }
    }
    bySlot.forEach((ranges, i) => {
      if (ranges.length) reg.set(HIGHLIGHT(i), new Ctor(...ranges));
      else reg.delete(HIGHLIGHT(i));
    });
  }

  private renderLegend(): void {
    const counts = new Map<string, number>();
    let original = false;
    for (const runs of this.byPara.values()) {
      for (const r of runs) {
        if (isOriginal(r)) original = true;
        else counts.set(keyOf(r), (counts.get(keyOf(r)) ?? 0) + r.text.length);
      }
    }
    const keys = [...counts.keys()].sort((a, b) => keyName(a).localeCompare(keyName(b)));
    this.legendEl.replaceChildren(
      h('strong', 'Authors'),
      h(
        'ul.authors-list',
        ...keys.map((k) => {
          const p = PALETTE[this.slots.get(k) ?? 0];
          return h('li.author-key', { 'data-key': k }, h('span.author-swatch', { style: `background:${p.bg};border-bottom:3px solid ${p.line}`, 'aria-hidden': 'true' }), keyName(k));
        }),
      ),
      original ? h('span.author-key.author-original', 'Plain: the text as the document was created') : '',
      h('span.authors-hint', 'Point at the text, or put the cursor in it, to see who wrote it and when. '),
      this.caretEl,
    );
  }

  /** Who wrote a run, in words: "Delegate of Japan · 14:32". */
  describe(run: AttributedRun): string {
    const known = this.o.nameOf(run.user);
    if (known) this.names.set(run.user, known);
    const name = known ?? this.names.get(run.user);
    const who = name ?? (run.delegation ? delegationName(run.delegation) : ROLE_NAMES[run.user.split(':')[0]] ?? run.user);
    const of = name && run.delegation && !name.includes(delegationName(run.delegation).replace(/^Delegation of /, '')) ? ` (${delegationName(run.delegation)})` : '';
    const via = run.proposal ? ' · by an accepted proposal' : isOriginal(run) ? ' · as the document was created' : '';
    return `${who}${of} · ${clockOf(run.at_ms)}${via}`;
  }

  /** The run under text offset `at` of `el`. */
  private runAt(el: HTMLElement, at: number, after = true): AttributedRun | undefined {
    const placed = this.placed.get(el) ?? [];
    return (placed.find((p) => (after ? p.from <= at && at < p.to : p.from < at && at <= p.to)) ?? placed.find((p) => p.from <= at && at <= p.to))?.run;
  }

  private readonly onMove = (e: MouseEvent): void => {
    const doc = document as Document & { caretPositionFromPoint?: (x: number, y: number) => { offsetNode: Node; offset: number } | null };
    let node: Node | undefined;
    let offset = 0;
    const pos = doc.caretPositionFromPoint?.(e.clientX, e.clientY);
    if (pos) [node, offset] = [pos.offsetNode, pos.offset];
    else {
      const r = document.caretRangeFromPoint?.(e.clientX, e.clientY);
      if (r) [node, offset] = [r.startContainer, r.startOffset];
    }
    const el = (node instanceof Element ? node : node?.parentElement)?.closest<HTMLElement>('.ptext');
    if (!node || !el || node.nodeType !== Node.TEXT_NODE) return this.hideTip();
    // The character under the pointer (not just the nearest caret position).
    const t = node as Text;
    const at = [offset, offset - 1].find((o) => {
      if (o < 0 || o >= t.data.length) return false;
      const r = document.createRange();
      r.setStart(t, o);
      r.setEnd(t, o + 1);
      const b = r.getBoundingClientRect();
      return e.clientX >= b.left - 1 && e.clientX <= b.right + 1 && e.clientY >= b.top - 1 && e.clientY <= b.bottom + 1;
    });
    if (at === undefined) return this.hideTip();
    const base = textNodes(el).find((n) => n.node === t)?.start ?? 0;
    const run = this.runAt(el, base + at);
    if (!run) return this.hideTip();
    this.showTip(this.describe(run), e.clientX + 12, e.clientY + 16);
  };

  private readonly onCaret = (): void => {
    const sel = document.getSelection();
    const el = sel?.anchorNode ? (sel.anchorNode instanceof Element ? sel.anchorNode : sel.anchorNode.parentElement)?.closest<HTMLElement>('.ptext') : null;
    if (!sel || !el || !this.o.container.contains(el)) {
      if (this.caretEl.textContent) this.caretEl.textContent = '';
      return;
    }
    const r = document.createRange();
    r.selectNodeContents(el);
    r.setEnd(sel.anchorNode!, sel.anchorOffset);
    const run = this.runAt(el, r.toString().length, false);
    const line = run ? `At the cursor: ${this.describe(run)}` : '';
    // Announced once per run, not on every caret move.
    if (this.caretEl.textContent !== line) this.caretEl.textContent = line;
  };

  private showTip(text: string, x: number, y: number): void {
    this.tipEl.textContent = text;
    this.tipEl.hidden = false;
    const w = this.tipEl.offsetWidth;
    this.tipEl.style.left = `${Math.max(4, Math.min(x, window.innerWidth - w - 8))}px`;
    this.tipEl.style.top = `${y}px`;
  }

  private readonly hideTip = (): void => {
    this.tipEl.hidden = true;
  };
}

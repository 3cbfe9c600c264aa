// History (SPEC §6) through the server's HTTP API, in the words of a
// negotiation: a timeline of steps ("Delegation of Japan · OP4 · 14:32") where
// a typing burst of one person in one paragraph is one step (expandable to its
// entries, steps.ts), filters by paragraph and delegation, a slider that
// replays the document as it stood after each step; named versions; and a
// compare view between two points as a redline (redline.ts), never JSON.
//
// The response shapes are read defensively (several field spellings) so the
// page degrades to a visible message, not a blank view, if the API differs.

import { colourOf, h, timeOf } from './dom';
import { delegationName } from './delegations';
import { mayNameVersion } from './policy';
import { paragraphRedline, renderRedline, stepRedline } from './redline';
import { clockOf as clock } from './attribution';
import { saveResponse } from './exports';
import type { Session } from './session';
import { groupSteps, type Entry, type Group } from './steps';

type Json = Record<string, unknown>;

interface Version {
  name: string;
  seq: number;
  at: number;
  by: string;
}

const asNum = (v: unknown): number | undefined => (typeof v === 'number' ? v : typeof v === 'string' && v !== '' && !isNaN(Number(v)) ? Number(v) : undefined);
const asStr = (v: unknown): string => (typeof v === 'string' ? v : v == null ? '' : String(v));
const pick = (o: Json, ...keys: string[]): unknown => keys.map((k) => o[k]).find((v) => v !== undefined && v !== null);

function listOf(res: unknown, ...keys: string[]): Json[] {
  if (Array.isArray(res)) return res as Json[];
  if (res && typeof res === 'object') {
    for (const k of keys) {
      const v = (res as Json)[k];
      if (Array.isArray(v)) return v as Json[];
    }
  }
  return [];
}

function readEntry(o: Json): Entry {
  const paragraphs = pick(o, 'paragraphs', 'touched');
  return {
    seq: asNum(pick(o, 'seq', 'position', 'id')) ?? 0,
    user: asStr(pick(o, 'user', 'author')),
    name: asStr(pick(o, 'name')),
    delegation: asStr(pick(o, 'delegation')),
    at: asNum(pick(o, 'at_ms', 'atMs', 'at', 'time')) ?? 0,
    paragraphs: Array.isArray(paragraphs) ? paragraphs.map((p) => (typeof p === 'string' ? p : asStr((p as Json).id ?? (p as Json).label))) : [],
  };
}

function readVersion(o: Json): Version {
  return {
    name: asStr(pick(o, 'name', 'label')),
    seq: asNum(pick(o, 'seq', 'position', 'at_seq')) ?? 0,
    at: asNum(pick(o, 'atMs', 'at_ms', 'createdAt', 'at')) ?? 0,
    by: asStr(pick(o, 'byName', 'by', 'user', 'author')),
  };
}

/** "14:32" (with the day when not today). */
function clockOf(ms: number): string {
  if (!ms) return '';
  const d = new Date(ms);
  const time = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  return d.toDateString() === new Date().toDateString() ? time : `${d.toLocaleDateString(undefined, { day: 'numeric', month: 'short' })} ${time}`;
}

const ROLE_NAMES: Record<string, string> = { chair: 'Chair', secretariat: 'Secretariat', observer: 'Observer', delegate: 'Delegate', system: 'System' };

export class HistoryView {
  private groups: Group[] = [];
  /** The groups the filters let through, in order: what the slider walks. */
  private shown: Group[] = [];
  private versions: Version[] = [];
  /** Paragraph id → label, from the current state (and earlier states for deleted paragraphs). */
  private readonly labels = new Map<string, string>();
  /** User id → the display name the log kept for them (for runs and steps that carry only the id). */
  private readonly names = new Map<string, string>();
  private readonly statusEl = h('div.history-status');
  private readonly sliderEl = h('input#history-slider', { type: 'range', min: 0, max: 0, value: 0, 'aria-label': 'Timeline' }) as HTMLInputElement;
  private readonly paraFilter = h('select#history-filter-paragraph', { 'aria-label': 'Filter by paragraph' }) as HTMLSelectElement;
  private readonly whoFilter = h('select#history-filter-delegation', { 'aria-label': 'Filter by delegation' }) as HTMLSelectElement;
  private readonly sinceFilter = h('select#history-filter-since', { 'aria-label': 'Since' }) as HTMLSelectElement;
  /** A paragraph's own history (its filter set): the redline of its text since the chosen point, and who changed it. */
  private readonly paraEl = h('section.para-history', { hidden: true, 'aria-live': 'polite' });
  private paraReq = 0;
  private paraTimer: number | undefined;
  /** Paragraph label (as the filter lists it) → id. */
  private paraIds = new Map<string, string>();
  private opening?: Promise<void>;
  private readonly stepEl = h('div.history-step');
  private readonly stepsEl = h('ol.history-steps');
  private readonly stateEl = h('article.un-doc.history-doc');
  private readonly versionsEl = h('div.versions');
  private readonly compareEl = h('div.compare');
  private stateTimer: number | undefined;
  private stateReq = 0;

  constructor(
    private readonly root: HTMLElement,
    private readonly session: Session,
    /** The label the editor shows for a paragraph id (provisional labels included). */
    private readonly labelOf: (id: string) => string | undefined = () => undefined,
  ) {
    this.sliderEl.addEventListener('input', () => this.show(Number(this.sliderEl.value)));
    this.paraFilter.addEventListener('change', () => this.applyFilters());
    this.whoFilter.addEventListener('change', () => this.applyFilters());
    this.sinceFilter.addEventListener('change', () => this.applyFilters());
    root.replaceChildren(
      h(
        'div.history-side',
        h('h2', 'History'),
        this.statusEl,
        h('div.slider-row', this.sliderEl),
        this.stepEl,
        h('h3', 'Versions'),
        this.versionsEl,
        h('h3', 'Compare'),
        this.compareEl,
        h('h3', 'Steps'),
        h('div.history-filters', this.paraFilter, this.whoFilter, this.sinceFilter),
        this.stepsEl,
      ),
      h('div.history-main', this.paraEl, this.stateEl),
    );
  }

  private api(path: string, init?: RequestInit): Promise<Response> {
    const base = `/api/docs/${encodeURIComponent(this.session.doc)}`;
    return fetch(base + path, { ...init, headers: { Authorization: `Bearer ${this.session.token}`, 'Content-Type': 'application/json', ...(init?.headers ?? {}) } });
  }

  private async getJson(path: string): Promise<unknown> {
    let r = await this.api(path);
    // A busy document (429: other history requests, e.g. every page fetching the new base order) frees quickly.
    for (let i = 1; r.status === 429 && i <= 4; i++) {
      await new Promise((res) => window.setTimeout(res, 250 * i));
      r = await this.api(path);
    }
    if (!r.ok) throw new Error(`${path.split('?')[0]}: HTTP ${r.status} ${(await r.text()).slice(0, 200)}`);
    return r.json();
  }

  /** Who made a step, in words: the name the log kept for them (or the signed-in user's own),
   *  else the delegation, else the role. */
  private whoOf(g: { user: string; delegation: string; name?: string }): string {
    const name = g.name || this.names.get(g.user);
    if (name) return name;
    if (g.user && g.user === this.session.claims.sub) return this.session.claims.name;
    if (g.delegation) return delegationName(g.delegation);
    return ROLE_NAMES[g.user.split(':')[0]] ?? (g.user || 'Unknown');
  }

  /** The filter key of who made a step: the delegation, else the role. */
  private whoKey(g: { user: string; delegation: string }): string {
    return g.delegation || ROLE_NAMES[g.user.split(':')[0]] || g.user;
  }

  private label(id: string): string {
    return this.labels.get(id) ?? this.labelOf(id) ?? 'a paragraph since deleted';
  }

  private whereOf(g: Group): string {
    if (!g.paragraphs.length) return 'the header or footnotes';
    const ls = g.paragraphs.map((p) => this.label(p));
    return ls.length > 3 ? `${ls.slice(0, 3).join(', ')} and ${ls.length - 3} more` : ls.join(', ');
  }

  private learnLabels(res: unknown): void {
    const r = ((res as Json)?.resolution && typeof (res as Json).resolution === 'object' ? (res as Json).resolution : res) as Json;
    for (const p of listOf(r?.paragraphs)) {
      const id = asStr(p.id);
      if (id && !this.labels.has(id)) this.labels.set(id, asStr(p.label));
    }
  }

  /** Opens the history of the whole document (filters by paragraph and time cleared). */
  async open(): Promise<void> {
    this.paraFilter.value = '';
    this.sinceFilter.value = '';
    this.opening = this.load();
    await this.opening;
  }

  /** Opens the history of one paragraph: its steps since the last named version (or the start), and the redline of its text. */
  async openParagraph(id: string): Promise<void> {
    this.opening = this.load();
    await this.opening;
    const label = this.label(id);
    if (![...this.paraFilter.options].some((o) => o.value === label)) {
      this.paraIds.set(label, id);
      this.paraFilter.append(h('option', { value: label }, label));
    }
    this.paraFilter.value = label;
    this.whoFilter.value = '';
    const last = this.versions[this.versions.length - 1];
    this.sinceFilter.value = last ? String(last.seq) : '';
    this.applyFilters();
    this.paraEl.scrollIntoView?.({ block: 'start' });
  }

  private async load(): Promise<void> {
    this.statusEl.textContent = 'Loading the timeline…';
    this.statusEl.className = 'history-status';
    let entries: Entry[];
    try {
      const tl = await this.getJson('/timeline');
      entries = listOf(tl, 'entries', 'steps', 'timeline').map(readEntry).sort((a, b) => a.seq - b.seq);
      for (const e of entries) if (e.name) this.names.set(e.user, e.name);
      this.labels.clear();
      this.learnLabels(await this.getJson('/state'));
    } catch (e) {
      this.statusEl.textContent = `History is not available from this server: ${(e as Error).message}`;
      this.statusEl.className = 'history-status history-unavailable';
      return;
    }
    this.groups = groupSteps(entries);
    // Paragraphs deleted since: their label where they last stood (a few look-ups at most).
    let lookups = 0;
    for (const g of this.groups) {
      if (lookups >= 4) break;
      if (g.paragraphs.some((p) => !this.labels.has(p) && !this.labelOf(p)) && g.entries[0].seq > 0) {
        lookups++;
        try {
          this.learnLabels(await this.getJson(`/state?seq=${g.entries[0].seq}`));
        } catch {
          /* the label stays "a paragraph since deleted" */
        }
      }
    }
    await this.loadVersions();
    this.fillFilters();
    this.applyFilters();
  }

  private fillFilters(): void {
    const paras = new Map<string, string>();
    const who = new Map<string, string>();
    for (const g of this.groups) {
      for (const p of g.paragraphs) paras.set(this.label(p), p);
      who.set(this.whoKey(g), g.delegation ? delegationName(g.delegation) : this.whoKey(g));
    }
    this.paraIds = new Map([...paras].map(([l, id]) => [l, id]));
    const keep = (sel: HTMLSelectElement) => sel.value;
    const [pv, wv, sv] = [keep(this.paraFilter), keep(this.whoFilter), keep(this.sinceFilter)];
    const order = (l: string): string => l.replace(/^PP/, '0').replace(/^OP/, '1').replace(/\d+/, (n) => n.padStart(4, '0'));
    this.paraFilter.replaceChildren(
      h('option', { value: '' }, 'All paragraphs'),
      ...[...paras.keys()].sort((a, b) => (order(a) < order(b) ? -1 : 1)).map((l) => h('option', { value: l, selected: l === pv }, l)),
    );
    this.whoFilter.replaceChildren(
      h('option', { value: '' }, 'All delegations'),
      ...[...who.entries()].sort((a, b) => (a[1] < b[1] ? -1 : 1)).map(([k, name]) => h('option', { value: k, selected: k === wv }, name)),
    );
    this.sinceFilter.replaceChildren(
      h('option', { value: '' }, 'Since the start'),
      ...this.versions.map((v) => h('option', { value: String(v.seq), selected: String(v.seq) === sv }, `Since ${v.name}`)),
    );
  }

  /** The point the since filter names: a version's position, or 0 (the start). */
  private sinceSeq(): number {
    return Number(this.sinceFilter.value) || 0;
  }

  private sinceName(): string {
    return this.sinceFilter.value ? this.versions.find((v) => String(v.seq) === this.sinceFilter.value)?.name ?? `position ${this.sinceFilter.value}` : 'the start';
  }

  private applyFilters(): void {
    const para = this.paraFilter.value;
    const who = this.whoFilter.value;
    const since = this.sinceSeq();
    this.shown = this.groups.filter((g) => (!para || g.paragraphs.some((p) => this.label(p) === para)) && (!who || this.whoKey(g) === who) && g.seq > since);
    const edits = this.shown.reduce((n, g) => n + g.entries.length, 0);
    this.statusEl.textContent = `${this.shown.length} steps (${edits} edits). Drag the slider to replay the document.`;
    this.sliderEl.max = String(Math.max(0, this.shown.length - 1));
    this.sliderEl.value = this.sliderEl.max;
    this.stepsEl.replaceChildren(...this.shown.map((g, i) => this.stepItem(g, i)));
    if (this.shown.length) this.show(this.shown.length - 1);
    else this.stepEl.replaceChildren(h('div.muted', 'No step matches these filters.'));
    const id = para ? this.paraIds.get(para) : undefined;
    this.paraEl.hidden = !id;
    window.clearTimeout(this.paraTimer);
    this.paraReq++;
    if (id) this.paraTimer = window.setTimeout(() => void this.renderParagraph(id), 60);
  }

  /**
   * The paragraph's own history: its text from the chosen point to now as a
   * redline (inserted words marked with who wrote them), its moves and status
   * changes, then each step since with who made it and what it changed.
   */
  private async renderParagraph(id: string): Promise<void> {
    const req = ++this.paraReq;
    const label = this.label(id);
    const since = this.sinceSeq();
    const sinceName = this.sinceName();
    const steps = this.shown.filter((g) => g.paragraphs.includes(id));
    const body = h('div.para-history-body', h('p.muted', 'Reading its history…'));
    const stepsEl = h('ol.para-steps');
    this.paraEl.replaceChildren(
      h('h2.para-history-title', `${label}: changes since ${sinceName}`),
      h('p.para-history-sub', `${steps.length} step${steps.length === 1 ? '' : 's'} since ${sinceName}. Choose another point with “Since” under Steps.`),
      body,
      h('h3', 'Who changed it'),
      stepsEl,
    );
    try {
      const cmp = (await this.getJson(`/compare?from=${since}&to=current`)) as Json;
      if (req !== this.paraReq) return;
      let runs: Json[] = [];
      try {
        const at = (await this.getJson(`/attribution?at=${asNum(cmp.to_seq) ?? 'current'}`)) as Json;
        runs = listOf(at.paragraphs).find((p) => asStr(p.id) === id)?.runs as Json[] ?? [];
      } catch {
        /* the redline without who wrote each insertion */
      }
      if (req !== this.paraReq) return;
      body.replaceChildren(paragraphRedline(cmp, id, runs, (r) => ({ who: this.whoOf({ user: asStr(r.user), delegation: asStr(r.delegation) }), when: clock(asNum(r.at_ms)) })));
    } catch (e) {
      if (req === this.paraReq) body.replaceChildren(h('div.history-unavailable', `Its history is not available: ${(e as Error).message}`));
      return;
    }
    if (!steps.length) stepsEl.replaceChildren(h('li.muted', `No one changed ${label} since ${sinceName}.`));
    // The latest steps first, each with its own redline (one comparison each: at most a dozen).
    const recent = steps.slice(-12).reverse();
    const items = recent.map((g) =>
      h(
        'li.para-step',
        { 'data-seq': g.seq },
        h('div.para-step-head', h('span.dot', { style: `background:${colourOf(g.delegation || g.user)}` }), h('strong', this.whoOf(g)), ` · ${label} · ${clockOf(g.to)}`, g.entries.length > 1 ? h('span.muted', ` · ${g.entries.length} edits`) : ''),
        h('div.para-step-change', h('span.muted', '…')),
      ),
    );
    stepsEl.replaceChildren(...items);
    if (steps.length > recent.length) stepsEl.append(h('li.muted', `and ${steps.length - recent.length} earlier step(s), listed under Steps.`));
    for (const [i, g] of recent.entries()) {
      if (req !== this.paraReq) return;
      const slot = items[i].querySelector('.para-step-change') as HTMLElement;
      try {
        const c = await this.getJson(`/compare?from=${Math.max(0, g.entries[0].seq - 1)}&to=${g.seq}`);
        if (req !== this.paraReq) return;
        slot.replaceChildren(stepRedline(c, id));
      } catch (e) {
        slot.replaceChildren(h('span.muted', `(not available: ${(e as Error).message})`));
      }
    }
  }

  private stepLine(g: Group): string {
    return `${this.whoOf(g)} · ${this.whereOf(g)} · ${clockOf(g.to)}`;
  }

  private stepItem(g: Group, i: number): HTMLElement {
    const li = h(
      'li.step',
      { 'data-seq': g.seq, 'data-edits': g.entries.length },
      h('span.dot', { style: `background:${colourOf(g.delegation || g.user)}` }),
      h('button.step-line', { type: 'button', title: `${timeOf(g.from)} – ${timeOf(g.to)}`, onclick: () => { this.sliderEl.value = String(i); this.show(i); } }, this.stepLine(g)),
    );
    if (g.entries.length > 1) {
      const list = h('ol.step-entries', { hidden: true });
      const toggle = h('button.step-expand', { type: 'button', 'aria-expanded': 'false' }, `${g.entries.length} edits`);
      toggle.addEventListener('click', () => {
        if (!list.childElementCount) {
          list.append(
            ...g.entries.map((e) =>
              h('li.step-entry', h('button', { type: 'button', onclick: () => this.showEntry(e) }, `${timeOf(e.at)} · ${e.paragraphs.map((p) => this.label(p)).join(', ') || 'header or footnotes'} · position ${e.seq}`)),
            ),
          );
        }
        list.hidden = !list.hidden;
        toggle.setAttribute('aria-expanded', String(!list.hidden));
      });
      li.append(' ', toggle, list);
    }
    return li;
  }

  private show(i: number): void {
    const g = this.shown[i];
    if (!g) return;
    this.stepEl.replaceChildren(
      h('div.step-seq', `Step ${i + 1} of ${this.shown.length}${g.entries.length > 1 ? ` · ${g.entries.length} edits` : ''}`),
      h('div.step-author', h('span.dot', { style: `background:${colourOf(g.delegation || g.user)}` }), this.whoOf(g)),
      h('div.step-paras', `In ${this.whereOf(g)}`),
      h('div.step-time', g.from !== g.to ? `${timeOf(g.from)} – ${clockOf(g.to)}` : timeOf(g.to)),
    );
    this.stepsEl.querySelectorAll(':scope > .step').forEach((el, j) => el.classList.toggle('current', j === i));
    window.clearTimeout(this.stateTimer);
    this.stateTimer = window.setTimeout(() => void this.loadState(g.seq), 120);
  }

  private showEntry(e: Entry): void {
    this.stepEl.replaceChildren(
      h('div.step-seq', `One edit · position ${e.seq}`),
      h('div.step-author', h('span.dot', { style: `background:${colourOf(e.delegation || e.user)}` }), this.whoOf(e)),
      h('div.step-paras', `In ${e.paragraphs.map((p) => this.label(p)).join(', ') || 'the header or footnotes'}`),
      h('div.step-time', timeOf(e.at)),
    );
    window.clearTimeout(this.stateTimer);
    this.stateTimer = window.setTimeout(() => void this.loadState(e.seq), 120);
  }

  private async loadState(seq: number): Promise<void> {
    const req = ++this.stateReq;
    try {
      const res = (await this.getJson(`/state?seq=${seq}`)) as Json;
      if (req !== this.stateReq) return;
      const r = (res.resolution && typeof res.resolution === 'object' ? res.resolution : res) as Json;
      this.stateEl.replaceChildren(renderResolution(r));
      this.stateEl.dataset.seq = String(seq);
    } catch (e) {
      if (req === this.stateReq) this.stateEl.replaceChildren(h('div.history-unavailable', `Could not load the state at ${seq}: ${(e as Error).message}`));
    }
  }

  private async loadVersions(): Promise<void> {
    try {
      this.versions = listOf(await this.getJson('/versions'), 'versions').map(readVersion);
    } catch (e) {
      this.versionsEl.replaceChildren(h('div.history-unavailable', `Versions are not available: ${(e as Error).message}`));
      this.renderCompare();
      return;
    }
    const nameInput = h('input.version-name', { placeholder: 'Rev.1, as orally revised…', 'aria-label': 'Version name' }) as HTMLInputElement;
    this.versionsEl.replaceChildren(
      h('ul.version-list', ...this.versions.map((v) => h('li.version', { 'data-seq': v.seq }, h('strong', v.name), ` · position ${v.seq}`, v.by ? ` · ${this.whoOf({ user: v.by, delegation: /^delegate:/.test(v.by) ? v.by.split(':')[1] ?? '' : '' })}` : '', v.at ? ` · ${timeOf(v.at)}` : ''))),
      this.versions.length ? '' : h('div.muted', 'No named version yet.'),
      mayNameVersion(this.session.claims)
        ? h(
            'form.version-form',
            {
              onsubmit: async (e: Event) => {
                e.preventDefault();
                if (!nameInput.value.trim()) return;
                const r = await this.api('/versions', { method: 'POST', body: JSON.stringify({ name: nameInput.value.trim() }) });
                if (!r.ok) this.statusEl.textContent = `Could not name the version: HTTP ${r.status} ${await r.text()}`;
                await this.open();
              },
            },
            nameInput,
            h('button', { type: 'submit' }, 'Name this version'),
          )
        : '',
    );
    this.renderCompare();
  }

  private renderCompare(): void {
    const last = this.groups[this.groups.length - 1];
    // `name`: how /tracked is asked for the point (a version by its name, the current text as `current`).
    const points = [
      ...this.versions.map((v) => ({ value: String(v.seq), label: v.name, name: v.name })),
      ...this.groups.map((g, i) => ({ value: String(g.seq), label: `Step ${i + 1}: ${this.stepLine(g)}`, name: String(g.seq) })),
    ];
    if (last) points.push({ value: String(last.seq), label: 'current text', name: 'current' });
    const sel = (cls: string, dflt: number) =>
      h(
        `select.${cls}`,
        { 'aria-label': cls === 'compare-from' ? 'Compare from' : 'Compare to' },
        ...points.map((p, i) => h('option', { value: p.value, 'data-name': p.name, selected: i === dflt }, p.label)),
      ) as HTMLSelectElement;
    const from = sel('compare-from', 0);
    const to = sel('compare-to', points.length - 1);
    const out = h('div.compare-result');
    const nameOf = (s: HTMLSelectElement) => s.selectedOptions[0]?.dataset.name ?? s.value;
    const docx = h(
      'button.compare-docx',
      {
        type: 'button',
        title: 'The second point with the changes since the first tracked, as Word shows them',
        onclick: async () => {
          docx.setAttribute('aria-busy', 'true');
          try {
            const [base, until] = [nameOf(from), nameOf(to)];
            const q = `base=${encodeURIComponent(base)}${until === 'current' ? '' : `&to=${encodeURIComponent(until)}`}`;
            const r = await this.api(`/tracked?${q}`);
            if (!r.ok) throw new Error(`HTTP ${r.status} ${(await r.text()).slice(0, 200)}`);
            await saveResponse(r, `${this.session.doc}-tracked.docx`);
          } catch (e) {
            out.prepend(h('div.history-unavailable', `The Word file could not be made: ${(e as Error).message}`));
          } finally {
            docx.removeAttribute('aria-busy');
          }
        },
      },
      'Download as Word, changes tracked',
    );
    this.compareEl.replaceChildren(
      h('div.compare-row', from, ' → ', to, h('button.compare-btn', { type: 'button', onclick: async () => {
        out.replaceChildren('Comparing…');
        // A state still loading (the slider, a filter) must not replace the comparison when it lands.
        window.clearTimeout(this.stateTimer);
        this.stateReq++;
        try {
          out.replaceChildren(renderRedline(await this.getJson(`/compare?from=${from.value}&to=${to.value}`)));
          // The wide view shows a copy; only the sidebar's result keeps the class.
          const wide = out.cloneNode(true) as HTMLElement;
          wide.className = 'compare-view';
          this.stateEl.replaceChildren(h('h2.compare-title', `Changes from ${from.selectedOptions[0]?.text} to ${to.selectedOptions[0]?.text}`), wide);
        } catch (e) {
          out.replaceChildren(h('div.history-unavailable', `Compare is not available: ${(e as Error).message}`));
        }
      } }, 'Compare')),
      h('div.compare-row', docx),
      out,
    );
  }
}

type RunJson = { text?: string; italic?: boolean; footnote?: string };

function runs(rs: unknown): DocumentFragment {
  const f = document.createDocumentFragment();
  if (typeof rs === 'string') {
    f.append(rs);
    return f;
  }
  for (const r of (Array.isArray(rs) ? rs : []) as RunJson[]) {
    let n: Node = document.createTextNode(r.text ?? '');
    if (r.footnote) n = h('sup.fn-ref', n);
    if (r.italic) n = h('em', n);
    f.append(n);
  }
  return f;
}

/** A read-only resolution (the typed JSON view of plenary-doc). */
export function renderResolution(r: Json): HTMLElement {
  const meta = (r.meta ?? {}) as Json;
  const out = h('div.resolution-view');
  out.append(h('div.un-top', h('span.un-un', 'United Nations'), h('span.un-symbol', asStr(meta.symbol))));
  out.append(h('h1.un-res-title', asStr(meta.title)), h('div.un-acting', asStr(meta.actingBody)));
  for (const p of listOf(r.paragraphs)) {
    const kind = asStr(p.kind);
    const level = asNum(p.level) ?? 0;
    out.append(
      h(
        `div.row.${kind}.level-${level}.status-${asStr(p.status) || 'open'}`,
        { 'data-id': asStr(p.id), 'data-label': asStr(p.label) },
        h('div.para', h('div.para-head', h('span.label', asStr(p.label)), h('span.badge', asStr(p.status))), h('div.para-body', h('span.num', asStr(p.number) + (kind === 'operative' && level === 0 && p.number ? '.' : '')), h('div.ptext', runs(p.text)))),
      ),
    );
  }
  const notes = listOf(r.footnotes);
  if (notes.length) out.append(h('footer.footnotes', ...notes.map((n) => h('div.footnote', h('span.fn-marker', asStr(n.marker)), ' ', runs(n.text)))));
  return out;
}


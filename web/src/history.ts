// History (SPEC §6) through the server's HTTP API: a timeline slider that
// replays the document as it stood after each log entry, with the author of
// each step; named versions; a compare view between two points.
//
// The response shapes are read defensively (several field spellings) so the
// page degrades to a visible message, not a blank view, if the API differs.

import { colourOf, h, timeOf } from './dom';
import { mayNameVersion } from './policy';
import type { Session } from './session';

type Json = Record<string, unknown>;

interface Step {
  seq: number;
  user: string;
  delegation: string;
  at: number;
  paragraphs: string[];
}

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

function readStep(o: Json): Step {
  const paragraphs = pick(o, 'paragraphs', 'touched');
  return {
    seq: asNum(pick(o, 'seq', 'position', 'id')) ?? 0,
    user: asStr(pick(o, 'userName', 'name', 'user', 'author')),
    delegation: asStr(pick(o, 'delegation')),
    at: asNum(pick(o, 'atMs', 'at_ms', 'at', 'time')) ?? 0,
    paragraphs: Array.isArray(paragraphs) ? paragraphs.map((p) => (typeof p === 'string' ? p : asStr((p as Json).label ?? (p as Json).id))) : [],
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

export class HistoryView {
  private steps: Step[] = [];
  private versions: Version[] = [];
  private readonly statusEl = h('div.history-status');
  private readonly sliderEl = h('input#history-slider', { type: 'range', min: 0, max: 0, value: 0, 'aria-label': 'Timeline' }) as HTMLInputElement;
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
    root.replaceChildren(
      h('div.history-side', h('h2', 'History'), this.statusEl, h('div.slider-row', this.sliderEl), this.stepEl, h('h3', 'Versions'), this.versionsEl, h('h3', 'Compare'), this.compareEl, h('h3', 'Steps'), this.stepsEl),
      h('div.history-main', this.stateEl),
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

  async open(): Promise<void> {
    this.statusEl.textContent = 'Loading the timeline…';
    this.statusEl.className = 'history-status';
    try {
      const tl = await this.getJson('/timeline');
      this.steps = listOf(tl, 'entries', 'steps', 'timeline').map(readStep).sort((a, b) => a.seq - b.seq);
    } catch (e) {
      this.statusEl.textContent = `History is not available from this server: ${(e as Error).message}`;
      this.statusEl.className = 'history-status history-unavailable';
      return;
    }
    this.statusEl.textContent = `${this.steps.length} steps. Drag the slider to replay the document.`;
    this.sliderEl.max = String(Math.max(0, this.steps.length - 1));
    this.sliderEl.value = this.sliderEl.max;
    this.stepsEl.replaceChildren(
      ...this.steps.map((s, i) =>
        h(
          'li.step',
          { 'data-seq': s.seq, onclick: () => { this.sliderEl.value = String(i); this.show(i); } },
          h('span.dot', { style: `background:${colourOf(s.user)}` }),
          `#${s.seq} ${s.user}${s.delegation ? ` (${s.delegation})` : ''}`,
          s.paragraphs.length ? h('span.touched', ` · ${s.paragraphs.slice(0, 4).map((p) => this.labelOf(p) ?? p).join(', ')}${s.paragraphs.length > 4 ? '…' : ''}`) : null,
        ),
      ),
    );
    this.show(this.steps.length - 1);
    await this.loadVersions();
  }

  private show(i: number): void {
    const s = this.steps[i];
    if (!s) return;
    this.stepEl.replaceChildren(
      h('div.step-seq', `Step ${i + 1} of ${this.steps.length} · log position ${s.seq}`),
      h('div.step-author', h('span.dot', { style: `background:${colourOf(s.user)}` }), `${s.user}${s.delegation ? ` · ${s.delegation}` : ''}`),
      h('div.step-time', timeOf(s.at)),
      s.paragraphs.length ? h('div.step-paras', `Touched: ${s.paragraphs.map((p) => this.labelOf(p) ?? p).join(', ')}`) : '',
    );
    this.stepsEl.querySelectorAll('.step').forEach((el, j) => el.classList.toggle('current', j === i));
    window.clearTimeout(this.stateTimer);
    this.stateTimer = window.setTimeout(() => void this.loadState(s.seq), 120);
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
      h('ul.version-list', ...this.versions.map((v) => h('li.version', { 'data-seq': v.seq }, h('strong', v.name), ` · position ${v.seq}`, v.by ? ` · ${v.by}` : '', v.at ? ` · ${timeOf(v.at)}` : ''))),
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
    const points = [
      ...this.versions.map((v) => ({ value: String(v.seq), label: v.name })),
      ...(this.steps.length ? [{ value: String(this.steps[this.steps.length - 1].seq), label: 'current text' }] : []),
    ];
    if (points.length < 2 && this.steps.length) points.unshift({ value: String(this.steps[0].seq), label: 'first step' });
    const sel = (cls: string, dflt: number) =>
      h(`select.${cls}`, { 'aria-label': cls }, ...points.map((p, i) => h('option', { value: p.value, selected: i === dflt }, p.label))) as HTMLSelectElement;
    const from = sel('compare-from', 0);
    const to = sel('compare-to', points.length - 1);
    const out = h('div.compare-result');
    this.compareEl.replaceChildren(
      h('div.compare-row', from, ' → ', to, h('button.compare-btn', { type: 'button', onclick: async () => {
        out.replaceChildren('Comparing…');
        try {
          out.replaceChildren(renderComparison(await this.getJson(`/compare?from=${from.value}&to=${to.value}`)));
          // The wide view shows a copy; only the sidebar's result keeps the class.
          const wide = out.cloneNode(true) as HTMLElement;
          wide.className = 'compare-view';
          this.stateEl.replaceChildren(h('h2', `Compare ${from.selectedOptions[0]?.text} → ${to.selectedOptions[0]?.text}`), wide);
        } catch (e) {
          out.replaceChildren(h('div.history-unavailable', `Compare is not available: ${(e as Error).message}`));
        }
      } }, 'Compare')),
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

/** The compare answer: paragraphs matched by id, each added / deleted / moved / changed with a word diff. */
export function renderComparison(res: unknown): HTMLElement {
  const items = listOf(res, 'paragraphs', 'changes', 'diff');
  if (!items.length) return h('pre.compare-raw', JSON.stringify(res, null, 2).slice(0, 4000));
  return h(
    'div.comparison',
    ...items.map((it) => {
      const label = asStr(pick(it, 'label', 'toLabel', 'fromLabel', 'id'));
      const change = asStr(pick(it, 'change', 'kind', 'type', 'status'));
      const words = pick(it, 'words', 'wordDiff', 'diff', 'ops');
      const body = Array.isArray(words)
        ? h(
            'div.word-diff',
            ...(words as Json[]).map((w) => {
              const op = asStr(pick(w, 'op', 'kind', 'type', 'tag'));
              const text = asStr(pick(w, 'text', 'value', 'words'));
              return op.startsWith('ins') || op === 'added' ? h('ins', text) : op.startsWith('del') || op === 'removed' ? h('del', text) : document.createTextNode(text);
            }),
          )
        : h('div.word-diff', asStr(pick(it, 'text', 'to', 'after')));
      const statusChange = pick(it, 'statusChange', 'statusFrom');
      return h(`div.change.change-${change || 'unchanged'}`, h('span.label', label), h('span.change-kind', change), statusChange ? h('span.status-change', ` status: ${JSON.stringify(statusChange)}`) : null, body);
    }),
  );
}

// The Export menu: the current document in every format the server exports
// (`GET /api/docs/{doc}?format=…`), its compilation text
// (`/compilation?format=text|html`), its drafting checks shown in the page
// (`/checks`) and Word with tracked changes against a named version
// (`/tracked?base=…`). Requests carry the token as a Bearer header, never in
// a URL, and files are saved through a blob URL, named after the document and
// the last named version (`reducing-reoffending-Rev.2.docx`, or
// `…-after-Rev.2.docx` once the text changed since).

/** A name as it may stand in a file name: letters, digits, `.`, `_`, `-`. */
const fileSafe = (s: string): string => s.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 80);

import type { Auth } from './auth';
import { h } from './dom';

/** The formats of `GET /api/docs/{doc}`, as the menu offers them. */
export const EXPORT_FORMATS: { format: string; label: string; ext: string }[] = [
  { format: 'docx', label: 'Word (.docx), UN layout', ext: 'docx' },
  { format: 'html', label: 'HTML page', ext: 'html' },
  { format: 'markdown', label: 'Markdown', ext: 'md' },
  { format: 'text', label: 'Plain text', ext: 'txt' },
  { format: 'akn', label: 'Akoma Ntoso (XML)', ext: 'xml' },
  { format: 'json', label: 'JSON', ext: 'json' },
];


/** GETs an API path with the Bearer token, renewing an expired token once; throws on an error status with the server's `detail`. */
export async function apiGet(path: string, auth: Auth): Promise<Response> {
  const get = (token: string) => fetch(path, { headers: { Authorization: `Bearer ${token}` } });
  let token = auth.token;
  let r = await get(token);
  if (r.status === 401) {
    await auth.renew(token);
    token = auth.token;
    r = await get(token);
  }
  if (!r.ok) {
    let detail = '';
    try {
      detail = String(((await r.json()) as { detail?: unknown }).detail ?? '');
    } catch {
      // not the JSON error shape
    }
    throw new Error(`HTTP ${r.status}${detail ? `: ${detail}` : ''}`);
  }
  return r;
}

/** Saves an answer as a file: the name the server gives (`Content-Disposition`), else `name`. */
export async function saveResponse(r: Response, name: string, prefer: 'server' | 'ours' = 'server'): Promise<void> {
  const given = /filename="([^"]+)"/.exec(r.headers.get('Content-Disposition') ?? '')?.[1];
  const blob = await r.blob();
  const href = URL.createObjectURL(blob);
  const a = h('a', { href, download: prefer === 'server' ? given ?? name : name, hidden: true }) as HTMLAnchorElement;
  document.body.append(a);
  a.click();
  a.remove();
  // Give the browser time to start the download before the URL goes.
  window.setTimeout(() => URL.revokeObjectURL(href), 60_000);
}

const docPath = (doc: string) => `/api/docs/${encodeURIComponent(doc)}`;

/**
 * What the current text is, for a file name: `Rev.2` when it is the last named
 * version, `after-Rev.2` when it changed since (`/compare` says what changed),
 * '' before any version.
 */
async function revisionTag(doc: string, auth: Auth): Promise<string> {
  try {
    const vs = (await (await apiGet(`${docPath(doc)}/versions`, auth)).json()) as Version[];
    const last = vs[vs.length - 1];
    if (!last) return '';
    // The server's own note of the version's name (meta `revision`) follows it in the log: not a change of the text.
    const c = (await (await apiGet(`${docPath(doc)}/compare?from=${last.seq}&to=current`, auth)).json()) as Record<string, unknown>;
    const changed = Object.entries(c).some(([k, v]) => Array.isArray(v) && v.some((x) => k !== 'meta' || (x as { key?: string }).key !== 'revision'));
    return `${changed ? 'after-' : ''}${fileSafe(last.name)}`;
  } catch {
    return '';
  }
}

/** `<doc>-Rev.2.<ext>` (see `revisionTag`). */
async function nameFor(doc: string, auth: Auth, ext: string, what = ''): Promise<string> {
  const tag = await revisionTag(doc, auth);
  return [fileSafe(doc), tag, what].filter(Boolean).join('-') + `.${ext}`;
}

/** Fetches one export (renewing an expired token once) and saves it. */
export async function downloadExport(doc: string, auth: Auth, format: string, ext: string): Promise<void> {
  const [r, name] = await Promise.all([apiGet(`${docPath(doc)}?format=${encodeURIComponent(format)}`, auth), nameFor(doc, auth, ext)]);
  await saveResponse(r, name, 'ours');
}

/** The compilation text as an HTML page: each paragraph with its pending proposals bracketed, attributed to their delegations. */
export async function downloadCompilation(doc: string, auth: Auth): Promise<void> {
  await saveResponse(await apiGet(`${docPath(doc)}/compilation?format=html`, auth), `${fileSafe(doc)}-compilation.html`);
}

/** The compilation text as plain text, as it is read out in the room. */
export async function downloadCompilationText(doc: string, auth: Auth): Promise<void> {
  const [r, name] = await Promise.all([apiGet(`${docPath(doc)}/compilation?format=text`, auth), nameFor(doc, auth, 'txt', 'compilation')]);
  await saveResponse(r, name, 'ours');
}

/** Word with tracked changes turning the version `base` into the document as it stands. */
export async function downloadTracked(doc: string, auth: Auth, base: string): Promise<void> {
  await saveResponse(await apiGet(`${docPath(doc)}/tracked?base=${encodeURIComponent(base)}`, auth), `${fileSafe(doc)}-tracked-against-${fileSafe(base)}.docx`);
}

/** A drafting finding as `GET /api/docs/{doc}/checks` sends it. */
interface Finding {
  paragraphId: string;
  label: string;
  rule: string;
  sentence: string;
}

/** A named version as `GET /api/docs/{doc}/versions` lists it. */
interface Version {
  name: string;
  seq: number;
}

/** Shows the drafting checks in `panel`, one sentence per finding. */
export async function showChecks(doc: string, auth: Auth, panel: HTMLElement): Promise<void> {
  const { findings } = (await (await apiGet(`${docPath(doc)}/checks`, auth)).json()) as { findings: Finding[] };
  const body = findings.length
    ? h(
        'ul.findings',
        ...findings.map((f) => h('li.finding', { 'data-paragraph': f.paragraphId, 'data-rule': f.rule }, f.sentence)),
      )
    : h('p.no-findings', 'No findings: every paragraph opens and ends as the drafting rules ask.');
  const count = findings.length === 1 ? '1 finding' : `${findings.length} findings`;
  openPanel(panel, 'Drafting checks', h('p.panel-sub', `${count} in the document as it stands on the server.`), body);
}

/** Asks in `panel` which named version to track changes against, then downloads the .docx. */
export async function chooseTrackedBase(doc: string, auth: Auth, panel: HTMLElement, onError: (message: string) => void): Promise<void> {
  const versions = (await (await apiGet(`${docPath(doc)}/versions`, auth)).json()) as Version[];
  if (!versions.length) {
    openPanel(panel, 'Word with tracked changes', h('p.no-versions', 'There is no named version yet to compare against: the chair or the secretariat names one (Rev.1 …) in History.'));
    return;
  }
  const select = h(
    'select#tracked-base',
    { 'aria-label': 'Version' },
    ...versions
      .slice()
      .reverse()
      .map((v) => h('option', { value: v.name }, `${v.name} (after change ${v.seq})`)),
  ) as HTMLSelectElement;
  const go = h(
    'button#tracked-download',
    {
      type: 'button',
      onclick: () => {
        panel.hidden = true;
        downloadTracked(doc, auth, select.value).catch((e: unknown) => onError(`The Word export with tracked changes failed (${(e as Error).message}).`));
      },
    },
    'Download .docx',
  );
  openPanel(panel, 'Word with tracked changes', h('p.panel-sub', 'The document as it stands, with the changes since this version tracked:'), h('div.panel-row', select, go));
}

/** Fills and shows the menu's panel, with a close button. */
function openPanel(panel: HTMLElement, title: string, ...content: HTMLElement[]): void {
  const close = h('button.panel-close', { type: 'button', 'aria-label': 'Close', onclick: () => (panel.hidden = true) }, '×');
  panel.replaceChildren(h('div.panel-head', h('strong', title), close), ...content);
  panel.setAttribute('aria-label', title);
  panel.hidden = false;
}

/**
 * The menu for the top bar: a button that opens the list of formats; each
 * item downloads the document as it stands on the server, with the token
 * `auth()` holds when it is clicked.
 */
export function exportMenu(doc: string, auth: () => Auth, onError: (message: string) => void): HTMLElement {
  const list = h('div#export-list.export-list', { role: 'menu', hidden: true });
  const toggle = h('button#toggle-export', { type: 'button', 'aria-haspopup': 'menu', 'aria-expanded': 'false', 'aria-controls': 'export-list' }, 'Export');
  const close = () => {
    list.hidden = true;
    toggle.setAttribute('aria-expanded', 'false');
  };
  // Views of the draft rather than files of it: shown in a panel under the menu, which the
  // open menu replaces (both hang from the same corner).
  const panel = h('section#review-panel.review-panel', { role: 'region', hidden: true });
  toggle.addEventListener('click', () => {
    list.hidden = !list.hidden;
    if (!list.hidden) panel.hidden = true;
    toggle.setAttribute('aria-expanded', String(!list.hidden));
  });
  for (const f of EXPORT_FORMATS) {
    list.append(
      h(
        'button.export-item',
        {
          type: 'button',
          role: 'menuitem',
          'data-format': f.format,
          onclick: () => {
            close();
            downloadExport(doc, auth(), f.format, f.ext).catch((e: unknown) => onError(`The ${f.label} export failed (${(e as Error).message}).`));
          },
        },
        f.label,
      ),
    );
  }
  const extra: { id: string; label: string; run: () => Promise<void> }[] = [
    { id: 'compilation', label: 'Compilation text (HTML page)', run: () => downloadCompilation(doc, auth()) },
    { id: 'compilation-text', label: 'Compilation text (plain text)', run: () => downloadCompilationText(doc, auth()) },
    { id: 'checks', label: 'Drafting checks', run: () => showChecks(doc, auth(), panel) },
    { id: 'tracked', label: 'Word with tracked changes against…', run: () => chooseTrackedBase(doc, auth(), panel, onError) },
  ];
  list.append(h('hr.export-sep'));
  for (const x of extra) {
    list.append(
      h(
        'button.export-item',
        {
          type: 'button',
          role: 'menuitem',
          'data-view': x.id,
          onclick: () => {
            close();
            x.run().catch((e: unknown) => onError(`${x.label.replace(/…$/, '')} failed (${(e as Error).message}).`));
          },
        },
        x.label,
      ),
    );
  }
  const menu = h('div.export-menu', toggle, list, panel);
  document.addEventListener('click', (e) => {
    if (!menu.contains(e.target as Node)) close();
  });
  menu.addEventListener('keydown', (e) => {
    if ((e as KeyboardEvent).key === 'Escape') {
      close();
      panel.hidden = true;
      toggle.focus();
    }
  });
  return menu;
}

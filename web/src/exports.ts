// The Export menu: the current document in every format the server exports
// (`GET /api/docs/{doc}?format=…`). The request carries the token as a
// Bearer header, never in a URL, and the answer is saved through a blob URL.

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

/** The file name the server gives (`Content-Disposition`), or `<doc>.<ext>`. */
function fileName(r: Response, doc: string, ext: string): string {
  const given = /filename="([^"]+)"/.exec(r.headers.get('Content-Disposition') ?? '')?.[1];
  return given ?? `${doc.replace(/\//g, '-')}.${ext}`;
}

/** Fetches one export (renewing an expired token once) and saves it. */
export async function downloadExport(doc: string, auth: Auth, format: string, ext: string): Promise<void> {
  const url = `/api/docs/${encodeURIComponent(doc)}?format=${encodeURIComponent(format)}`;
  const get = (token: string) => fetch(url, { headers: { Authorization: `Bearer ${token}` } });
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
  const blob = await r.blob();
  const href = URL.createObjectURL(blob);
  const a = h('a', { href, download: fileName(r, doc, ext), hidden: true }) as HTMLAnchorElement;
  document.body.append(a);
  a.click();
  a.remove();
  // Give the browser time to start the download before the URL goes.
  window.setTimeout(() => URL.revokeObjectURL(href), 60_000);
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
  toggle.addEventListener('click', () => {
    list.hidden = !list.hidden;
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
  const menu = h('div.export-menu', toggle, list);
  document.addEventListener('click', (e) => {
    if (!menu.contains(e.target as Node)) close();
  });
  menu.addEventListener('keydown', (e) => {
    if ((e as KeyboardEvent).key === 'Escape') {
      close();
      toggle.focus();
    }
  });
  return menu;
}

// What a screen reader, a keyboard and a phone need of the editor page: the
// spoken name of each paragraph ("OP4, operative paragraph 4, open"), a link
// that skips the top bar to the text, and the presence list that a narrow
// screen shows as a count ("6 here") which opens the list on click.

import { h } from './dom';

/** The accessible name of a paragraph's text box: its label, what it is, its status. */
export function paragraphName(p: { label: string; kind: string; level: number; number: string; status: string; locked: boolean }): string {
  const what = p.level > 0 ? (p.level === 1 ? 'sub-paragraph' : 'sub-sub-paragraph') : 'paragraph';
  // Preambular paragraphs print no number: say the one in the label (PP2 → 2).
  const n = p.number.replace(/\.$/, '').trim() || (p.level === 0 ? (/\d+\w*$/.exec(p.label)?.[0] ?? '') : '');
  return [p.label, `${p.kind} ${what}${n ? ` ${n}` : ''}`, p.status, p.locked ? 'locked for you' : ''].filter(Boolean).join(', ');
}

/** "Skip to the text": the first thing Tab reaches; moves the focus to the first paragraph the user may edit. */
export function skipLink(): HTMLElement {
  return h(
    'a.skip-link',
    {
      href: '#',
      onclick: (e: Event) => {
        e.preventDefault();
        const first = document.querySelector<HTMLElement>('.paragraphs .ptext[contenteditable="true"]') ?? document.querySelector<HTMLElement>('.paragraphs .ptext');
        first?.focus();
      },
    },
    'Skip to the text',
  );
}

/**
 * The presence list with its count: a button "6 here" (shown on narrow
 * screens by styles.css) that opens and closes the list; Esc closes it.
 */
export function presenceBox(list: HTMLElement): { el: HTMLElement; count: (n: number) => void } {
  list.id ||= 'presence-list';
  list.setAttribute('role', 'group');
  list.setAttribute('aria-label', 'Who is here');
  const button = h('button.presence-count', { type: 'button', 'aria-expanded': 'false', 'aria-controls': list.id }, '');
  const box = h('div.presence-box', button, list);
  const set = (open: boolean) => {
    box.classList.toggle('open', open);
    button.setAttribute('aria-expanded', String(open));
  };
  button.addEventListener('click', () => set(!box.classList.contains('open')));
  box.addEventListener('keydown', (e) => {
    if ((e as KeyboardEvent).key === 'Escape' && box.classList.contains('open')) {
      set(false);
      button.focus();
    }
  });
  document.addEventListener('click', (e) => {
    if (!box.contains(e.target as Node)) set(false);
  });
  return {
    el: box,
    count: (n) => {
      button.textContent = `${n} here`;
      button.setAttribute('aria-label', `${n} here: show who`);
    },
  };
}

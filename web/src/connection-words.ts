// What the page says about its connection beyond "live": a document it
// cannot open (connection.ts `explain`) and edits not yet sent (offline.ts).

import { h } from './dom';
import type { Unavailable } from './connection';
import type { Unsent } from './offline';
import { signOut } from './session';

/** The plain message for a document the token does not open (403) or that does not exist (404), with what to do. */
export function unavailableEl(doc: string, u: Unavailable): HTMLElement {
  const again = h('a.open-problem-signin', { href: `${location.pathname}?doc=${encodeURIComponent(doc)}`, onclick: () => signOut() }, 'Sign in with another token');
  if (u.status === 403) {
    return h(
      'div.open-problem-box',
      h('h2', 'You cannot open this document'),
      h('p', `Your sign-in does not give access to the document “${doc}”. Check that the link is the one you were sent, or ask the secretariat for a token that includes this document.`),
      h('p', again),
      h('p.open-problem-detail', `The server said: ${u.detail}.`),
    );
  }
  return h(
    'div.open-problem-box',
    h('h2', 'There is no such document'),
    h('p', `There is no document named “${doc}” on this server. Check the link for a typo, or ask the chair or the secretariat to create the document; this page keeps checking and opens it once it exists.`),
    h('p', again),
    h('p.open-problem-detail', `The server said: ${u.detail}.`),
  );
}

/** "Unsent edits in OP2, OP5 — kept in this browser". */
export function unsentWords(u: Unsent, labelOf: (id: string) => string | undefined): string {
  const labels = [...new Set(u.paragraphs.map((id) => (id ? labelOf(id) : undefined)).filter((l): l is string => !!l))];
  const where = labels.length ? ` in ${labels.join(', ')}` : '';
  return `✎ unsent edits${where} — kept in this browser`;
}

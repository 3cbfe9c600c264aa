// Entry point: sign in (a token pasted, or `?token=&doc=` in the link that
// `plenary serve --dev` prints), then the editor.

import { h } from './dom';
import { Editor } from './editor';
import { loadSession, readClaims, saveSession } from './session';

function signIn(root: HTMLElement, doc: string, error?: string): void {
  const token = h('textarea#token-input', { rows: 5, placeholder: 'eyJhbGciOi…', 'aria-label': 'Token', spellcheck: 'false' }) as HTMLTextAreaElement;
  const docInput = h('input#doc-input', { value: doc, 'aria-label': 'Document' }) as HTMLInputElement;
  const err = h('div.signin-error', { role: 'alert' }, error ?? '');
  root.replaceChildren(
    h(
      'div.signin',
      h('h1', 'Plenary'),
      h('p', 'Co-drafting a resolution. Sign in with the token your secretariat gave you (in development: one of the links that ', h('code', 'plenary serve --dev'), ' prints, or ', h('code', 'plenary token'), ').'),
      h(
        'form#signin-form',
        {
          onsubmit: (e: Event) => {
            e.preventDefault();
            try {
              const claims = readClaims(token.value);
              const session = { token: token.value.trim(), doc: docInput.value.trim() || doc, claims };
              saveSession(session);
              history.replaceState(null, '', `${location.pathname}?doc=${encodeURIComponent(session.doc)}`);
              new Editor(root, session);
            } catch (e2) {
              err.textContent = (e2 as Error).message;
            }
          },
        },
        h('label', 'Document ', docInput),
        h('label', 'Token', token),
        h('button#signin-btn', { type: 'submit' }, 'Open the draft'),
      ),
      err,
    ),
  );
}

const root = document.getElementById('app') as HTMLElement;
const { session, error, doc } = loadSession();
if (session) new Editor(root, session);
else signIn(root, doc, error);

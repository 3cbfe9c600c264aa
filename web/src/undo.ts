// Undo and redo of the user's own edits (issue 15, item 4).
//
// One Y.UndoManager over the paragraphs (their text, and anything the page
// writes into them) and the footnotes. It tracks only the page's own typing:
// every TextBinding applies the user's edit in a transaction whose origin is
// the binding itself, and Y.UndoManager accepts an origin whose constructor is
// in `trackedOrigins`, so the class stands for every paragraph's binding.
// Remote updates arrive with the provider as origin and are never captured;
// undoing one's own insertion removes only one's own items, so the words
// others typed meanwhile stay.
//
// A refused change: the server reverts it with an update of its own (a remote
// change, not captured). Undoing an insertion the server already removed does
// nothing and Y.UndoManager skips to the next step, but a refused deletion is
// put back by the server as new text, and undoing it would put the original
// back a second time. So a refusal clears both stacks: the history restarts
// at what everyone agrees on rather than holding steps that no longer match.

import * as Y from 'yjs';
import { TextBinding } from './binding';

export class Undo {
  readonly manager: Y.UndoManager;

  constructor(scope: Y.AbstractType<any>[]) {
    this.manager = new Y.UndoManager(scope, {
      trackedOrigins: new Set<any>([TextBinding]),
      // A typing burst of half a second is one step.
      captureTimeout: 500,
    });
  }

  undo(): boolean {
    return this.manager.undo() !== null;
  }

  redo(): boolean {
    return this.manager.redo() !== null;
  }

  /** After the server refused (and reverts) part of a change: see above. */
  refused(): void {
    this.manager.clear();
  }

  destroy(): void {
    this.manager.destroy();
  }
}

/** Which history command a key press is, if any: Ctrl/Cmd+Z, Ctrl/Cmd+Shift+Z, Ctrl+Y. */
export function undoKey(e: KeyboardEvent): 'undo' | 'redo' | null {
  if (!(e.ctrlKey || e.metaKey) || e.altKey) return null;
  const k = e.key.toLowerCase();
  if (k === 'z') return e.shiftKey ? 'redo' : 'undo';
  if (k === 'y' && !e.shiftKey) return 'redo';
  return null;
}

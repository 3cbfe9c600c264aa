// Timeline entries into the steps a delegate reads: every keystroke is a log
// entry, so consecutive entries by the same user in the same paragraph(s),
// each within BURST_MS of the one before, make one step (expandable to its
// entries in the history view).

/** One log entry of `GET /api/docs/{doc}/timeline`. */
export interface Entry {
  seq: number;
  at: number;
  /** The token's subject (`delegate:JPN:aiko-tanaka`). */
  user: string;
  /** The display name the author's token carried ("Delegate of Japan"), '' when not kept. */
  name: string;
  /** The delegation code (`JPN`), '' when none. */
  delegation: string;
  /** Paragraph ids the entry touched. */
  paragraphs: string[];
}

/** Consecutive entries of one user in one paragraph set: one step. */
export interface Group {
  entries: Entry[];
  user: string;
  name: string;
  delegation: string;
  paragraphs: string[];
  /** Time of the first and the last entry. */
  from: number;
  to: number;
  /** The log position after the step (its last entry). */
  seq: number;
}

/** A pause longer than this starts a new step. */
export const BURST_MS = 2 * 60 * 1000;

const keyOf = (ps: string[]): string => [...new Set(ps)].sort().join('\u0000');

export function groupSteps(entries: Entry[], burstMs = BURST_MS): Group[] {
  const out: Group[] = [];
  let key = '';
  for (const e of entries) {
    const k = keyOf(e.paragraphs);
    const last = out[out.length - 1];
    if (last && last.user === e.user && key === k && e.at - last.to <= burstMs && e.at >= last.to - burstMs) {
      last.entries.push(e);
      last.to = Math.max(last.to, e.at);
      last.seq = e.seq;
      continue;
    }
    key = k;
    out.push({ entries: [e], user: e.user, name: e.name, delegation: e.delegation, paragraphs: [...new Set(e.paragraphs)], from: e.at, to: e.at, seq: e.seq });
  }
  return out;
}

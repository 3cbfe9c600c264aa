// A mirror of the server's policy (plenary-auth `authorize`, SPEC §1), used
// only to decide what the page offers. The server stays the authority: what
// the page lets through and the server refuses comes back as a
// permission-denied message, shown to the user.

import type { Claims } from './session';

export type Status = 'open' | 'bracketed' | 'ad-ref' | 'agreed';
export type Mode = 'open' | 'negotiation';

/** Why the user may not edit a paragraph's text, or null when they may. */
export function editRefusal(c: Claims, mode: Mode, status: Status): string | null {
  switch (c.role) {
    case 'chair':
      return null;
    case 'secretariat':
      return status === 'agreed' ? 'the secretariat may not edit an agreed paragraph; ask the chair to reopen it' : null;
    case 'observer':
      return 'observers read the text; they do not change it';
    case 'delegate':
      if (mode === 'negotiation') return 'in negotiation mode delegations make proposals; the text is edited by the chair';
      if (status === 'agreed') return 'this paragraph is agreed and locked; make a proposal instead';
      if (status === 'ad-ref') return 'this paragraph is agreed ad referendum; make a proposal instead';
      return null;
  }
}

export const mayPropose = (c: Claims): boolean => c.role === 'delegate' || c.role === 'chair';
export const mayDecide = (c: Claims): boolean => c.role === 'chair';
/** Insert, move, delete paragraphs, change kind and level: the chair, in either mode (enforcement.rs). */
export const mayRestructure = (c: Claims): boolean => c.role === 'chair';
/** Co-sponsor (and withdraw) for one's own delegation (plenary-auth `Cosponsor`). */
export const mayCosponsor = (c: Claims): boolean => (c.role === 'delegate' || c.role === 'chair') && !!c.delegation;
export const maySetStatus = (c: Claims): boolean => c.role === 'chair';
export const maySetMode = (c: Claims): boolean => c.role === 'chair';
export const mayNameVersion = (c: Claims): boolean => c.role === 'chair' || c.role === 'secretariat';
export const mayResolveAny = (c: Claims): boolean => c.role === 'chair' || c.role === 'secretariat';

export const STATUSES: Status[] = ['open', 'bracketed', 'ad-ref', 'agreed'];
export const STATUS_LABEL: Record<Status, string> = {
  open: 'open',
  bracketed: 'bracketed',
  'ad-ref': 'agreed ad ref.',
  agreed: 'agreed',
};

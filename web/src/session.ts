// Who is signed in: the token (from `?token=`, the sign-in form or the
// browser's session storage; it is taken from the address bar once and kept
// in session storage, and renewed there by auth.ts) and the claims the page
// reads from it. The page never verifies the token — the server does, on
// every connection; the claims only decide what the page offers, so a forged
// claim buys nothing.

import { configuredTokenUrl } from './auth';

export type Role = 'chair' | 'secretariat' | 'delegate' | 'observer';

export interface Claims {
  sub: string;
  name: string;
  role: Role;
  delegation?: string;
  groups: string[];
  exp?: number;
}

export interface Session {
  token: string;
  doc: string;
  claims: Claims;
}

const STORE_KEY = 'plenary.session';

/** Decodes a JWT's payload (base64url JSON) without verifying it. */
export function readClaims(token: string): Claims {
  const parts = token.trim().split('.');
  if (parts.length !== 3) throw new Error('this is not a token: a JWT has three parts separated by dots');
  let json: unknown;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const padded = b64 + '='.repeat((4 - (b64.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new Error('the token payload is not readable JSON');
  }
  const c = json as Record<string, unknown>;
  const role = c.role;
  if (role !== 'chair' && role !== 'secretariat' && role !== 'delegate' && role !== 'observer') {
    throw new Error(`the token has no known role (got ${JSON.stringify(role)})`);
  }
  return {
    sub: typeof c.sub === 'string' ? c.sub : 'unknown',
    name: typeof c.name === 'string' ? c.name : String(c.sub ?? 'unknown'),
    role,
    delegation: typeof c.delegation === 'string' ? c.delegation : undefined,
    groups: Array.isArray(c.groups) ? c.groups.filter((g): g is string => typeof g === 'string') : [],
    exp: typeof c.exp === 'number' ? c.exp : undefined,
  };
}

/** The session from the URL (`?token=&doc=`), else from session storage. */
export function loadSession(): { session?: Session; error?: string; doc: string } {
  configuredTokenUrl(); // remembers a `?token_url=` before the address bar is tidied
  const params = new URLSearchParams(location.search);
  const doc = params.get('doc') || 'reducing-reoffending';
  let token = params.get('token');
  if (token) {
    // Keep the token out of the address bar (and of screenshots and history).
    params.delete('token');
    const rest = params.toString();
    history.replaceState(null, '', location.pathname + (rest ? `?${rest}` : '') + location.hash);
  } else {
    try {
      const saved = JSON.parse(sessionStorage.getItem(STORE_KEY) || 'null');
      if (saved && saved.doc === doc) token = saved.token;
    } catch {
      /* nothing saved */
    }
  }
  if (!token) return { doc };
  try {
    const claims = readClaims(token);
    // An expired token still opens the page: the first ticket request is refused, and the page
    // renews the token (auth.ts) or, when it cannot, says so.
    const session = { token, doc, claims };
    saveSession(session);
    return { session, doc };
  } catch (e) {
    return { doc, error: (e as Error).message };
  }
}

export function saveSession(s: Session): void {
  sessionStorage.setItem(STORE_KEY, JSON.stringify({ token: s.token, doc: s.doc }));
}

export function signOut(): void {
  sessionStorage.removeItem(STORE_KEY);
}

/** The delegation a change or comment is attributed to (SPEC §1: every change is attributed). */
export function attribution(c: Claims): string {
  if (c.delegation) return c.delegation;
  return c.role === 'chair' ? 'Chair' : c.role === 'secretariat' ? 'Secretariat' : c.role === 'observer' ? 'Observer' : 'Delegate';
}

/** The comment scopes this token may join (SPEC §2 "Comments"). */
export interface Scope {
  key: string; // "public", "group/EU", "delegation/JPN"
  label: string;
}

export function scopesOf(c: Claims): Scope[] {
  const out: Scope[] = [{ key: 'public', label: 'Public' }];
  for (const g of c.groups) out.push({ key: `group/${g}`, label: `Group ${g}` });
  if (c.delegation) out.push({ key: `delegation/${c.delegation}`, label: `My delegation (${c.delegation})` });
  return out;
}

// The page's side of a session (issue 12): the token stays in session
// storage, never in a WebSocket URL. Each connection asks the server for a
// single-use ticket (`POST /api/tickets`, token as Bearer) and connects with
// `?ticket=`. When the token expires — the server closes the connection with
// 4001, or refuses a ticket with 401 — the page obtains a fresh token once for
// all its connections and carries on:
//
// * in development (`plenary serve --dev`), from `POST /api/dev/token`, which
//   renews the token it is given;
// * otherwise from the operator's endpoint, configured for the page with
//   `<meta name="plenary-token-url" content="…">` or, same origin only,
//   `?token_url=`: `POST` with the current token as Bearer (and the browser's
//   cookies), answering `{"token": "<jwt>"}` (see README, "Sessions and
//   tickets").

import { readClaims, saveSession, type Session } from './session';

/** Why the page could not get what it asked for. `offline`: try again later; `ended`: sign in again. */
export class SessionError extends Error {
  constructor(
    readonly kind: 'offline' | 'ended',
    message: string,
  ) {
    super(message);
  }
}

export type AuthEvent = { kind: 'expired' } | { kind: 'renewed' } | { kind: 'ended'; message: string };

const TOKEN_URL_KEY = 'plenary.tokenUrl';

/**
 * Where the page gets a fresh token outside development: the `<meta>` tag the
 * operator put in the page, else a same-origin `?token_url=` (remembered for
 * the tab). A URL on another origin is ignored: the page would hand it the
 * token.
 */
export function configuredTokenUrl(): string | undefined {
  const meta = document.querySelector('meta[name="plenary-token-url"]')?.getAttribute('content')?.trim();
  if (meta) return new URL(meta, location.href).href;
  const given = new URLSearchParams(location.search).get('token_url');
  if (given) {
    try {
      const u = new URL(given, location.href);
      if (u.origin === location.origin) sessionStorage.setItem(TOKEN_URL_KEY, u.href);
    } catch {
      /* not a URL: ignored */
    }
  }
  return sessionStorage.getItem(TOKEN_URL_KEY) ?? undefined;
}

async function detail(r: Response): Promise<string> {
  try {
    const body = (await r.json()) as { detail?: unknown };
    if (typeof body.detail === 'string') return body.detail;
  } catch {
    /* not the JSON error shape */
  }
  return `HTTP ${r.status}`;
}

export class Auth {
  private renewing?: Promise<void>;
  private readonly listeners: ((e: AuthEvent) => void)[] = [];

  constructor(readonly session: Session) {}

  get token(): string {
    return this.session.token;
  }

  on(listener: (e: AuthEvent) => void): void {
    this.listeners.push(listener);
  }

  private emit(e: AuthEvent): void {
    for (const l of this.listeners) l(e);
  }

  /**
   * A ticket for one connection, and the token it speaks for. A 401 means the
   * token expired: it is renewed once, then the ticket asked for again.
   */
  async ticket(): Promise<{ ticket: string; token: string }> {
    for (let attempt = 0; ; attempt++) {
      await this.renewing;
      const token = this.session.token;
      let r: Response;
      try {
        r = await fetch('/api/tickets', { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
      } catch {
        throw new SessionError('offline', 'the server cannot be reached');
      }
      if (r.status === 201) {
        const body = (await r.json()) as { ticket?: unknown };
        if (typeof body.ticket === 'string') return { ticket: body.ticket, token };
        throw new SessionError('offline', 'the server answered without a ticket');
      }
      if (r.status === 401 && attempt === 0) {
        await this.renew(token);
        continue;
      }
      const why = await detail(r);
      throw new SessionError(r.status === 401 || r.status === 403 ? 'ended' : 'offline', why);
    }
  }

  /**
   * Replaces `expired` with a fresh token, once for every connection that
   * noticed: if the session already holds another token, nothing is asked.
   */
  renew(expired: string): Promise<void> {
    if (this.renewing) return this.renewing;
    if (this.session.token !== expired) return Promise.resolve();
    this.renewing = this.fetchFresh(expired).finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  private async fetchFresh(expired: string): Promise<void> {
    this.emit({ kind: 'expired' });
    const url = configuredTokenUrl();
    let r: Response;
    try {
      r = url
        ? await fetch(url, { method: 'POST', credentials: 'include', headers: { Authorization: `Bearer ${expired}` } })
        : await fetch('/api/dev/token', { method: 'POST', headers: { Authorization: `Bearer ${expired}` } });
    } catch {
      throw new SessionError('offline', 'your session expired and the server cannot be reached to renew it');
    }
    if (!r.ok) {
      const message =
        !url && r.status === 404
          ? 'your session expired; sign in again with a fresh token'
          : `your session expired and could not be renewed (${await detail(r)}); sign in again`;
      if (r.status >= 500) throw new SessionError('offline', message);
      this.emit({ kind: 'ended', message });
      throw new SessionError('ended', message);
    }
    let token: string;
    try {
      const body = (await r.json()) as { token?: unknown };
      if (typeof body.token !== 'string') throw new Error('no token');
      token = body.token.trim();
      readClaims(token);
    } catch {
      const message = 'your session expired and the renewal answered no usable token; sign in again';
      this.emit({ kind: 'ended', message });
      throw new SessionError('ended', message);
    }
    this.session.token = token;
    this.session.claims = { ...this.session.claims, exp: readClaims(token).exp };
    saveSession(this.session);
    this.emit({ kind: 'renewed' });
  }
}

// The connection token of a page served by the hub. It arrives in the URL fragment
// (`#token=...`: a fragment never reaches the server, so it stays out of access logs and
// Referer headers), is kept in sessionStorage (this tab only, gone when it closes) and is
// removed from the address bar at once. The user may also paste one when the hub refuses.
import type { KeyValueStorage } from './snooze-store';

export const TOKEN_KEY = 'telltale.token';

/** Where the web backend reads its token and keeps one the user pastes. */
export interface TokenSource {
  get(): string | null;
  set(token: string | null): void;
}

/** A token kept in `storage` (sessionStorage in a page); none when there is no storage. */
export class StoredToken implements TokenSource {
  private fallback: string | null = null;

  constructor(private readonly storage: KeyValueStorage | null) {}

  get(): string | null {
    try {
      const t = this.storage ? this.storage.getItem(TOKEN_KEY) : this.fallback;
      return t && t.trim() ? t.trim() : null;
    } catch {
      return this.fallback;
    }
  }

  set(token: string | null): void {
    const t = token?.trim() || null;
    this.fallback = t;
    try {
      if (!this.storage) return;
      if (t) this.storage.setItem(TOKEN_KEY, t);
      else this.storage.removeItem(TOKEN_KEY);
    } catch {
      // Storage refused (private mode): the token lives in memory for this page only.
    }
  }
}

/** What takeTokenFromFragment needs of `location` and `history`. */
export interface AddressBar {
  hash: string;
  pathname: string;
  search: string;
  replaceState(url: string): void;
}

/**
 * Moves `#token=...` from the address bar into `tokens` and rewrites the address without
 * it (other fragment parameters stay). Returns whether a token was found.
 */
export function takeTokenFromFragment(bar: AddressBar, tokens: TokenSource): boolean {
  const fragment = bar.hash.replace(/^#/, '');
  if (!fragment) return false;
  const params = new URLSearchParams(fragment);
  const token = params.get('token');
  if (token === null) return false;
  params.delete('token');
  if (token.trim()) tokens.set(token);
  const rest = params.toString();
  bar.replaceState(`${bar.pathname}${bar.search}${rest ? `#${rest}` : ''}`);
  return !!token.trim();
}

/** The `exp` of a JWT as unix ms, or null when it has none or is not a JWT. */
export function tokenExpiry(token: string): number | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '='));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === 'number' && exp > 0 ? exp * 1000 : null;
  } catch {
    return null;
  }
}

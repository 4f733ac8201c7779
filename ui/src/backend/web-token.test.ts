// The page's token: out of the address bar into sessionStorage, and its expiry.
import { describe, expect, it } from 'vitest';
import { StoredToken, TOKEN_KEY, takeTokenFromFragment, tokenExpiry } from './web-token';

function memoryStorage() {
  const m = new Map<string, string>();
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: (k: string) => void m.delete(k), m };
}

describe('takeTokenFromFragment', () => {
  it('moves #token= into the storage and rewrites the address without it', () => {
    const storage = memoryStorage();
    const tokens = new StoredToken(storage);
    const urls: string[] = [];
    const bar = { hash: '#token=a.b.c&view=alarms', pathname: '/', search: '?x=1', replaceState: (u: string) => void urls.push(u) };
    expect(takeTokenFromFragment(bar, tokens)).toBe(true);
    expect(storage.m.get(TOKEN_KEY)).toBe('a.b.c');
    expect(tokens.get()).toBe('a.b.c');
    expect(urls).toEqual(['/?x=1#view=alarms']);
  });

  it('leaves an address without a token alone, and drops an empty one from it', () => {
    const tokens = new StoredToken(memoryStorage());
    const urls: string[] = [];
    expect(takeTokenFromFragment({ hash: '#view=alarms', pathname: '/p', search: '', replaceState: (u) => void urls.push(u) }, tokens)).toBe(false);
    expect(takeTokenFromFragment({ hash: '#token=', pathname: '/p', search: '', replaceState: (u) => void urls.push(u) }, tokens)).toBe(false);
    expect(urls).toEqual(['/p']);
    expect(tokens.get()).toBeNull();
  });
});

describe('tokenExpiry', () => {
  const jwt = (claims: object) => `h.${btoa(JSON.stringify(claims)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')}.s`;

  it('reads exp as unix ms, or null', () => {
    expect(tokenExpiry(jwt({ sub: 'ann', exp: 1700000000 }))).toBe(1_700_000_000_000);
    expect(tokenExpiry(jwt({ sub: 'ann' }))).toBeNull();
    expect(tokenExpiry('not-a-jwt')).toBeNull();
    expect(tokenExpiry('a.%%%.c')).toBeNull();
  });
});

// Which backend a page gets: the shell's, the hub's (a page it served), or the mock.
import { describe, expect, it } from 'vitest';
import { chooseBackend } from './select';

const tauri = { __TAURI_INTERNALS__: {} };

describe('backend choice at startup', () => {
  it('uses Tauri inside the shell unless ?mock is given', () => {
    expect(chooseBackend({ win: tauri, search: '', protocol: 'tauri:' })).toEqual({ kind: 'tauri' });
    // The shell may serve the page over http(s) (custom protocol on Windows): still Tauri.
    expect(chooseBackend({ win: tauri, search: '', protocol: 'http:' })).toEqual({ kind: 'tauri' });
    expect(chooseBackend({ win: tauri, search: '?mock' })).toEqual({ kind: 'mock', scenario: 'normal' });
    expect(chooseBackend({ win: tauri, search: '?scenario=failed' })).toEqual({ kind: 'tauri' });
  });

  it('uses the hub that served the page over http(s)', () => {
    expect(chooseBackend({ win: {}, search: '', protocol: 'http:' })).toEqual({ kind: 'web' });
    expect(chooseBackend({ win: {}, search: '?x=1', protocol: 'https:' })).toEqual({ kind: 'web' });
  });

  it('keeps every mock scenario behind ?mock or ?scenario=, wherever the page comes from', () => {
    for (const scenario of ['normal', 'empty', 'loading', 'reconnecting', 'failed-auth', 'failed', 'invalid', 'quiet']) {
      expect(chooseBackend({ win: {}, search: `?mock&scenario=${scenario}`, protocol: 'http:' })).toEqual({ kind: 'mock', scenario });
      expect(chooseBackend({ win: {}, search: `?scenario=${scenario}`, protocol: 'https:' })).toEqual({ kind: 'mock', scenario });
    }
    expect(chooseBackend({ win: {}, search: '?mock', protocol: 'http:' })).toEqual({ kind: 'mock', scenario: 'normal' });
    expect(chooseBackend({ win: {}, search: '?scenario=bogus', protocol: 'http:' })).toEqual({ kind: 'mock', scenario: 'normal' });
  });

  it('gives the Vite dev server the mock, or the hub behind its proxy with ?hub', () => {
    expect(chooseBackend({ win: {}, search: '', protocol: 'http:', dev: true })).toEqual({ kind: 'mock', scenario: 'normal' });
    expect(chooseBackend({ win: {}, search: '?hub', protocol: 'http:', dev: true })).toEqual({ kind: 'web' });
  });

  it('falls back to the mock where there is no hub to ask (file://, no protocol)', () => {
    expect(chooseBackend({ win: {}, search: '', protocol: 'file:' })).toEqual({ kind: 'mock', scenario: 'normal' });
    expect(chooseBackend({ win: {}, search: '' })).toEqual({ kind: 'mock', scenario: 'normal' });
  });
});

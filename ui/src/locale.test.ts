import { describe, expect, it } from 'vitest';
import { usableLanguage } from './locale';

describe('usableLanguage', () => {
  it('keeps valid tags and replaces what Intl rejects', () => {
    expect(usableLanguage('de-DE')).toBe('de-DE');
    expect(usableLanguage('C')).toBe('en-US');
    expect(usableLanguage('')).toBe('en-US');
    expect(usableLanguage(undefined)).toBe('en-US');
  });
});

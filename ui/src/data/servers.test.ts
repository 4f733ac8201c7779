import { describe, expect, it } from 'vitest';
import { ServerNames, nameOf, qualify, serverOf, splitKey } from './servers';

describe('server keys', () => {
  it('round-trips a hub id and a name, even with separators people use in names', () => {
    const key = qualify('staging', 'web1:eth0/rx @ rack 2');
    expect(splitKey(key)).toEqual({ server: 'staging', name: 'web1:eth0/rx @ rack 2' });
    expect(nameOf(key)).toBe('web1:eth0/rx @ rack 2');
    expect(serverOf(key)).toBe('staging');
    expect(qualify('a', 'web1')).not.toBe(qualify('b', 'web1'));
  });

  it('a key without a hub is all name', () => {
    expect(splitKey('web1')).toEqual({ server: '', name: 'web1' });
  });

  it('labels say the hub only when there are several', () => {
    const names = new ServerNames();
    names.set('local', 'This computer');
    expect(names.label(qualify('local', 'laptop'))).toBe('laptop');
    expect(names.serverLabel(qualify('local', 'laptop'))).toBe('');
    names.set('prod', 'Production');
    expect(names.label(qualify('prod', 'web1'))).toBe('web1 · Production');
    expect(names.several).toBe(true);
    names.delete('prod');
    expect(names.label(qualify('local', 'laptop'))).toBe('laptop');
  });
});

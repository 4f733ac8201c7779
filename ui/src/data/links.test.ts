import { describe, expect, it } from 'vitest';
import { MAX_LINKS, alarmLinks, isWebUrl, linkLabel, linksKey } from './links';

describe('isWebUrl', () => {
  it('accepts absolute http and https URLs', () => {
    expect(isWebUrl('http://127.0.0.1:9093/#/alerts')).toBe(true);
    expect(isWebUrl('https://wiki.example/runbooks/disk')).toBe(true);
    expect(isWebUrl('HTTPS://grafana.example/d/abc?orgId=1')).toBe(true);
  });

  it('refuses every other scheme, relative URLs and padded ones', () => {
    for (const url of [
      'javascript:alert(1)',
      'JavaScript:alert(1)',
      ' javascript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'file:///etc/passwd',
      'mailto:ops@example.com',
      'ftp://example.com/x',
      '/runbooks/disk',
      'wiki.example/runbook',
      'http:foo',
      ' http://example.com',
      '',
    ])
      expect(isWebUrl(url), url).toBe(false);
  });
});

describe('linkLabel', () => {
  it('names the known links', () => {
    expect(linkLabel('runbook')).toBe('Runbook');
    expect(linkLabel('generator')).toBe('Graph');
    expect(linkLabel('silence')).toBe('Silence in Alertmanager');
    expect(linkLabel('dashboard')).toBe('Dashboard');
    expect(linkLabel('panel')).toBe('Panel');
    expect(linkLabel('alertmanager')).toBe('Alertmanager');
  });

  it('capitalises an unknown name, separators as spaces', () => {
    expect(linkLabel('logs')).toBe('Logs');
    expect(linkLabel('ticket_url')).toBe('Ticket url');
    expect(linkLabel('on-call')).toBe('On call');
    expect(linkLabel('Runbook')).toBe('Runbook');
  });
});

describe('alarmLinks', () => {
  it('is empty without links', () => {
    expect(alarmLinks(undefined)).toEqual([]);
    expect(alarmLinks({})).toEqual([]);
  });

  it('puts the runbook first, known names in their order, unknown ones after by name', () => {
    const links = alarmLinks({
      zeta: 'https://z.example/',
      alertmanager: 'http://am:9093',
      generator: 'http://prom:9090/graph?g0.expr=up',
      silence: 'http://am:9093/#/silences/new',
      logs: 'https://logs.example/',
      runbook: 'https://wiki.example/disk',
      panel: 'https://grafana.example/d/x?viewPanel=2',
      dashboard: 'https://grafana.example/d/x',
    });
    expect(links.map((l) => l.label)).toEqual([
      'Runbook',
      'Dashboard',
      'Panel',
      'Graph',
      'Silence in Alertmanager',
      'Alertmanager',
      'Logs',
      'Zeta',
    ]);
    expect(links[0]).toEqual({ name: 'runbook', label: 'Runbook', url: 'https://wiki.example/disk' });
  });

  it('drops links that are not http(s), whatever their name', () => {
    const links = alarmLinks({
      runbook: 'javascript:alert(document.cookie)',
      generator: 'http://prom:9090/graph',
      dashboard: 'file:///etc/shadow',
      '': 'https://nameless.example/',
    });
    expect(links).toEqual([{ name: 'generator', label: 'Graph', url: 'http://prom:9090/graph' }]);
  });

  it('shows at most MAX_LINKS buttons, the known ones kept', () => {
    const many: Record<string, string> = { runbook: 'https://wiki.example/' };
    for (let i = 0; i < 30; i++) many[`extra${String(i).padStart(2, '0')}`] = `https://x.example/${i}`;
    const links = alarmLinks(many);
    expect(links).toHaveLength(MAX_LINKS);
    expect(links[0]!.name).toBe('runbook');
    expect(links[1]!.name).toBe('extra00');
  });
});

describe('linksKey', () => {
  it('changes when a URL or the set changes, not otherwise', () => {
    const a = alarmLinks({ runbook: 'https://wiki.example/a', generator: 'http://p/g' });
    expect(linksKey(a)).toBe(linksKey(alarmLinks({ generator: 'http://p/g', runbook: 'https://wiki.example/a' })));
    expect(linksKey(a)).not.toBe(linksKey(alarmLinks({ runbook: 'https://wiki.example/b', generator: 'http://p/g' })));
    expect(linksKey(a)).not.toBe(linksKey(alarmLinks({ runbook: 'https://wiki.example/a' })));
  });
});

// Which of an alarm's links become buttons, with what label, in what order.
// A link comes from whoever published the alarm (an Alertmanager, a Grafana, a script): only
// http(s) URLs are offered, so a `javascript:` or `file:` link never becomes something to click.

/** A link as the row shows it. */
export interface AlarmLink {
  /** The name in `Alarm.links` (also the button's `data-link` hook). */
  name: string;
  label: string;
  url: string;
}

/** Known names, in the order they are shown: what to do first (the runbook) comes first. */
const KNOWN: readonly [string, string][] = [
  ['runbook', 'Runbook'],
  ['dashboard', 'Dashboard'],
  ['panel', 'Panel'],
  ['generator', 'Graph'],
  ['silence', 'Silence in Alertmanager'],
  ['alertmanager', 'Alertmanager'],
];

const RANK = new Map(KNOWN.map(([name], i) => [name, i]));
const LABELS = new Map(KNOWN);

/** Most buttons a row shows: a payload with hundreds of links must not bury the row. */
export const MAX_LINKS = 8;

/** Whether `url` is an absolute http or https URL (nothing else is opened). */
export function isWebUrl(url: string): boolean {
  // Both spelled out and parsed: the parser reads "http:foo" as http://foo/, and a prefix
  // alone would let through what the browser then reads differently.
  if (!/^https?:\/\//i.test(url)) return false;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  return (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.host !== '' && url === url.trim();
}

/** The label of a link named `name`: the known one, else the name with a capital. */
export function linkLabel(name: string): string {
  const known = LABELS.get(name.toLowerCase());
  if (known) return known;
  const words = name.replace(/[_-]+/g, ' ').trim();
  return words ? words[0]!.toUpperCase() + words.slice(1) : name;
}

/** The buttons for `links`: http(s) only, known names first in their order, then the rest by name. */
export function alarmLinks(links: Record<string, string> | undefined): AlarmLink[] {
  if (!links) return [];
  const out: AlarmLink[] = [];
  for (const [name, url] of Object.entries(links)) {
    if (typeof url !== 'string' || !name.trim() || !isWebUrl(url)) continue;
    out.push({ name, label: linkLabel(name), url });
  }
  const rank = (l: AlarmLink) => RANK.get(l.name.toLowerCase()) ?? KNOWN.length;
  out.sort((a, b) => rank(a) - rank(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out.slice(0, MAX_LINKS);
}

/** A key that changes exactly when the buttons would: the row rebuilds them only then. */
export function linksKey(links: readonly AlarmLink[]): string {
  return JSON.stringify(links.map((l) => [l.name, l.url]));
}

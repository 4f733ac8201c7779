// Small text helpers shared by the views.

/** "just now", "12 s ago", "4 min ago", "2 h ago", "3 d ago". Future times (clock skew) read "just now". */
export function relativeTime(ts: number, now: number): string {
  const span = spanText(now - ts);
  return span === null ? 'just now' : `${span} ago`;
}

/** "12 s", "4 min", "2 h", "3 d"; null under a second (or for clock skew). */
export function spanText(ms: number): string | null {
  const s = Math.floor(ms / 1000);
  if (!Number.isFinite(s) || s < 1) return null;
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h`;
  return `${Math.floor(h / 24)} d`;
}

/** "14:03:27" (or "14:03" without seconds) in local time. */
export function clockTime(ts: number, seconds = true): string {
  const d = new Date(ts);
  const p = (n: number) => String(n).padStart(2, '0');
  const hm = `${p(d.getHours())}:${p(d.getMinutes())}`;
  return seconds ? `${hm}:${p(d.getSeconds())}` : hm;
}

// Relative times ("3 minutes ago") through Intl, so every language gets them for free.

const UNITS = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1],
];

/** Parse an ISO 8601 timestamp; one without a zone is taken as UTC (the API speaks UTC). */
export function parseTime(iso) {
  if (iso instanceof Date) return iso;
  if (typeof iso !== 'string' || !iso) return null;
  const hasZone = /(Z|[+-]\d\d:?\d\d)$/i.test(iso);
  const d = new Date(hasZone ? iso : iso + 'Z');
  return Number.isNaN(d.getTime()) ? null : d;
}

/** The largest whole unit between then and now: {value, unit}, value negative for the past. */
export function relativeParts(then, now) {
  const seconds = Math.round((then.getTime() - now.getTime()) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 45) return { value: 0, unit: 'second' };
  for (const [unit, size] of UNITS) {
    if (abs >= size) {
      const value = Math.floor(abs / size);
      return { value: seconds < 0 ? -value : value, unit };
    }
  }
  return { value: 0, unit: 'second' };
}

/** "5 minutes ago", "gestern", "לפני שעה"; "just now" (from the strings) under 45 seconds. */
export function formatRelative(iso, now, lang, justNow) {
  const then = parseTime(iso);
  if (!then) return '';
  const { value, unit } = relativeParts(then, now || new Date());
  if (value === 0 && unit === 'second') return justNow || 'now';
  try {
    return new Intl.RelativeTimeFormat(lang, { numeric: 'auto' }).format(value, unit);
  } catch {
    return then.toISOString().slice(0, 10);
  }
}

/** The full date and time, for the title and the datetime attribute. */
export function formatAbsolute(iso, lang) {
  const then = parseTime(iso);
  if (!then) return '';
  try {
    return new Intl.DateTimeFormat(lang, { dateStyle: 'long', timeStyle: 'short' }).format(then);
  } catch {
    return then.toISOString();
  }
}

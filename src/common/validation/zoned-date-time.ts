const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|([+-])(\d{2}):(\d{2}))$/;

/** Earliest and latest instants both databases can store in a DATETIME column. */
const MIN_INSTANT = Date.UTC(1000, 0, 1);
const MAX_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59);

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Parses an RFC 3339 date-time that carries a zone (`Z` or `±hh:mm`) and
 * names a day that exists, truncated to the second (or to the millisecond,
 * for comparing with `created_at` and `updated_at`). Naive times, impossible
 * dates (`2031-02-30`) and out-of-range years give `undefined`.
 */
export function parseZonedDateTime(value: unknown, precision: 'second' | 'millisecond' = 'second'): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const match = RFC3339.exec(value);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  if (year < 1000 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  if (match[9]) {
    const offsetHours = Number(match[10]);
    const offsetMins = Number(match[11]);
    if (offsetHours > 23 || offsetMins > 59) return undefined;
    offsetMinutes = (match[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  const instant = Date.UTC(year, month - 1, day, hour, minute, second) - offsetMinutes * 60_000;
  if (instant < MIN_INSTANT || instant > MAX_INSTANT) return undefined;
  const milliseconds = precision === 'millisecond' ? Number((match[7] ?? '.').slice(1, 4).padEnd(3, '0')) : 0;
  return new Date(instant + milliseconds);
}

/** `2025-02-15T10:00:00Z`: how the API writes `date_time`. */
export function formatToSecond(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** The longest zone name accepted; IANA's longest is 32 characters (`America/Argentina/ComodRivadavia`). */
export const MAX_TIME_ZONE_LENGTH = 64;

/**
 * The zones the runtime's ICU database lists, keyed by lower-case name, for
 * their exact spelling. `UTC` is not listed (ICU canonicalises it away) but
 * is the default zone.
 */
const LISTED = new Map(['UTC', ...Intl.supportedValuesOf('timeZone')].map((name) => [name.toLowerCase(), name]));

/**
 * The shape of an IANA zone name (`Area/Location`, `EST5EDT`, `Etc/GMT+5`):
 * it leaves out the offsets (`+05:00`) some runtimes also take as a zone.
 */
const IANA_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/;

const UTC_NAMES = new Set(['UTC', 'Etc/UTC']);

/** One formatter per zone that has been used; valid names only, so it stays small. */
const formatters = new Map<string, Intl.DateTimeFormat>();
const MAX_FORMATTERS = 1_000;

function formatterFor(zone: string): Intl.DateTimeFormat | undefined {
  let formatter = formatters.get(zone);
  if (formatter) return formatter;
  if (zone.length > MAX_TIME_ZONE_LENGTH || !IANA_NAME.test(zone)) return undefined;
  try {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch {
    return undefined;
  }
  if (formatters.size >= MAX_FORMATTERS) formatters.clear();
  formatters.set(zone, formatter);
  return formatter;
}

/**
 * Whether the runtime's zone database knows this IANA name: a zone it lists
 * (`America/New_York`) or an alias it accepts (`US/Eastern`, `Asia/Kolkata`),
 * in any letter case.
 */
export function isTimeZone(value: unknown): value is string {
  return typeof value === 'string' && formatterFor(value) !== undefined;
}

/**
 * The zone database's spelling of a name it lists (`america/new_york` →
 * `America/New_York`, `utc` → `UTC`); any other name as given. Aliases are
 * kept, not replaced by the zone they point to.
 */
export function spellTimeZone(name: string): string {
  return LISTED.get(name.toLowerCase()) ?? name;
}

/**
 * The offset of `zone` from UTC at `instant`, in whole minutes: historical
 * offsets with seconds (local mean time, such as New York's -04:56:02 before
 * 1883) are rounded to the nearest minute, half a minute away from zero. A
 * stored zone that this runtime does not know (one a newer ICU accepted)
 * reads as UTC rather than failing every read of the event.
 */
function offsetMinutes(instant: number, zone: string): number {
  if (UTC_NAMES.has(zone)) return 0;
  const formatter = formatterFor(zone);
  if (!formatter) return 0;
  const part: Record<string, number> = {};
  for (const { type, value } of formatter.formatToParts(instant)) part[type] = Number(value);
  const wallClock = Date.UTC(part.year, part.month - 1, part.day, part.hour, part.minute, part.second);
  const minutes = (wallClock - Math.floor(instant / 1000) * 1000) / 60_000;
  return Math.sign(minutes) * Math.round(Math.abs(minutes));
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `instant` on the wall clock of `zone`, as a UTC date, with the offset used. */
function wallClock(instant: Date, zone: string): { local: Date; offset: number } {
  const offset = offsetMinutes(instant.getTime(), zone);
  return { local: new Date(Math.floor(instant.getTime() / 1000) * 1000 + offset * 60_000), offset };
}

/**
 * Whether `instant` falls in a year RFC 3339 can write (up to 9999) on the
 * wall clock of `zone`: 9999-12-31T20:00:00Z is already 10000 in Tokyo.
 */
export function fitsInZone(instant: Date, zone: string): boolean {
  return wallClock(instant, zone).local.getUTCFullYear() <= 9999;
}

/**
 * `instant` as the wall-clock time in `zone` with its offset, to the second:
 * `2025-02-15T05:00:00-05:00` (UTC is written `+00:00`). The offset is in
 * whole minutes, as RFC 3339 wants, and the clock time follows it, so the
 * text always denotes the same instant.
 */
export function formatInZone(instant: Date, zone: string): string {
  // Most events are in UTC: no wall clock to work out (a list writes 50 of these).
  if (UTC_NAMES.has(zone)) return `${instant.toISOString().slice(0, 19)}+00:00`;
  const { local, offset } = wallClock(instant, zone);
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return (
    `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}` +
    `T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}

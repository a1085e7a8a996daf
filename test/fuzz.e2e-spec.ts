import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type { Response, Test } from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createEvent, createUser, eventBody, LEAKS, login, type TestUser, unique } from './support/fixtures.js';
import { startApp, type TestApp } from './support/test-app.js';

/**
 * Property-based fuzzing of every input a client controls: the bodies, query
 * strings, path parameters and the X-Registration-Token header of every
 * endpoint. The generators mix valid values with wrong types, null, empty and
 * huge strings (at and past every length bound), lone surrogates, NUL and
 * other control characters, emoji, RTL text, deep nesting, `__proto__` and
 * `constructor` keys (written as raw JSON text), numbers at and past every
 * bound (1e309 and -0 as raw JSON), impossible and naive dates and odd offsets.
 * A write also gets random Idempotency-Key values.
 *
 * What must hold for every case (API.md):
 * - the answer is never a 5xx;
 * - every 4xx is an `application/problem+json` body with a `detail` (and nothing leaked);
 * - a rejected write changes nothing (the state it could touch is read before and after);
 * - input that is invalid by construction is refused, input that is valid by
 *   construction is accepted, and an accepted write reads back as it was sent
 *   (trimmed, normalised). Inputs the contract leaves open (control characters,
 *   lone surrogates, variation selectors, leap seconds…) may go either way, but
 *   if accepted they must read back consistently too.
 *
 * Each property has a fixed numRuns; one `FUZZ` line per endpoint reports how
 * many requests were sent and what they got. Every test builds its own users
 * and events (the suites share one database on MariaDB and run in parallel), and
 * no generated path can reach another suite's data with a write.
 */

// ---------------------------------------------------------------- tallies

const tallies = new Map<string, Map<number, number>>();

function tally(label: string, status: number): void {
  const counts = tallies.get(label) ?? new Map<number, number>();
  counts.set(status, (counts.get(status) ?? 0) + 1);
  tallies.set(label, counts);
}

function report(labels: readonly string[]): void {
  for (const label of labels) {
    const counts = tallies.get(label) ?? new Map<number, number>();
    const cases = [...counts.values()].reduce((sum, n) => sum + n, 0);
    const statuses = Object.fromEntries([...counts.entries()].sort(([a], [b]) => a - b));
    console.log(`FUZZ ${label} cases=${cases} statuses=${JSON.stringify(statuses)}`);
  }
}

/** FUZZ_RUNS_SCALE (CI: 0.5 on its second database) scales every property's number of runs. */
const RUNS_SCALE = Number(process.env.FUZZ_RUNS_SCALE ?? '1') || 1;

async function runProperty<T>(
  labels: readonly string[],
  arbitrary: fc.Arbitrary<T>,
  numRuns: number,
  predicate: (value: T) => Promise<void>,
): Promise<void> {
  try {
    await fc.assert(fc.asyncProperty(arbitrary, predicate), {
      numRuns: Math.max(10, Math.round(numRuns * RUNS_SCALE)),
    });
  } finally {
    report(labels);
  }
}

// ---------------------------------------------------------------- verdicts

/** true: valid by construction (must be accepted); false: invalid (must be refused); null: the contract leaves it open. */
type Verdict = boolean | null;

function combine(...verdicts: Verdict[]): Verdict {
  if (verdicts.includes(false)) return false;
  if (verdicts.includes(null)) return null;
  return true;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Characters the contract says nothing about: control characters, lone surrogates, variation selectors. */
function hasUncertainChars(text: string): boolean {
  if (LONE_SURROGATE.test(text)) return true;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code < 0x20 || code === 0x7f || code === 0xfe0e || code === 0xfe0f) return true;
  }
  return false;
}

/** A string field of min–max characters (code points), trimmed first if the API trims it. */
function textVerdict(value: string, min: number, max: number, trim: boolean): Verdict {
  const text = trim ? value.trim() : value;
  const codePoints = [...text].length;
  const selectors = (text.match(/[\uFE0E\uFE0F]/g) ?? []).length;
  if (codePoints < min || codePoints - selectors > max) return false;
  if (hasUncertainChars(text) || codePoints > max) return null;
  return true;
}

const daysInMonth = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();

/**
 * An independent reading of RFC 3339 as API.md wants it: a zone is required,
 * the date must exist. Leap seconds, a space for `T`, more than 9 fraction
 * digits and years at the edges of what a DATETIME holds are left open.
 */
function judgeDate(text: string): { ok: Verdict; utc?: string } {
  const match = /^(\d{4,5})-(\d{2})-(\d{2})([Tt ])(\d{2}):(\d{2}):(\d{2})(\.\d*)?([Zz]|[+-]\d{2}:\d{2})?$/.exec(text);
  if (!match) return { ok: false };
  const [, y, mo, d, separator, h, mi, s, fraction, zone] = match;
  if (y.length !== 4 || !zone || fraction === '.') return { ok: false };
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return { ok: false };
  if (hour > 23 || minute > 59 || second > 60) return { ok: false };
  let offset = 0;
  if (zone !== 'Z' && zone !== 'z') {
    const [oh, om] = [Number(zone.slice(1, 3)), Number(zone.slice(4, 6))];
    if (oh > 23 || om > 59) return { ok: false };
    offset = (zone.startsWith('-') ? -1 : 1) * (oh * 60 + om);
  }
  const instant = Date.UTC(year, month - 1, day, hour, minute, second) - offset * 60_000;
  const utc = second < 60 ? new Date(instant).toISOString().replace(/\.\d{3}Z$/, 'Z') : undefined;
  const open = second === 60 || separator === ' ' || (fraction ?? '').length > 10 || year < 1001 || year > 9998;
  return { ok: open ? null : true, utc };
}

/** The instant of a date-time `judgeDate` accepts, to the millisecond (as `updated_since` is read). */
function instantToTheMillisecond(text: string): number | undefined {
  const { utc } = judgeDate(text);
  if (utc === undefined) return undefined;
  const fraction = /\.(\d+)/.exec(text)?.[1] ?? '';
  return Date.parse(utc) + Number(fraction.slice(0, 3).padEnd(3, '0'));
}

const USERNAME_CHARS = /^[\p{L}\p{N}@.+\-_]+$/u;

function usernameVerdict(value: string): Verdict {
  const length = [...value].length;
  return length >= 3 && length <= 150 && USERNAME_CHARS.test(value);
}

/** How the API stores an email: trimmed and case-folded. */
const normalizeEmail = (email: string) => email.trim().toUpperCase().toLowerCase();
const foldCase = (value: string) => value.toUpperCase().toLowerCase();

// ---------------------------------------------------------------- raw JSON building blocks

/** A field's value as raw JSON text, and whether it is valid for that field. */
interface Field {
  text: string;
  ok: Verdict;
  /** Resolved when sent, from the state of the run (an email or username already taken). */
  special?: 'dup';
  mask?: number;
}

interface Entry {
  key: string;
  field: Field;
}

const JSON_TYPE = 'application/json';

type BodyCase =
  | { kind: 'object'; entries: Entry[]; ok: Verdict }
  | { kind: 'raw'; payload: string | Buffer; contentType: string; ok: Verdict }
  | { kind: 'none'; ok: Verdict };

/** Replaced, when a body is sent, by a fresh hex string of the same length: unique names on a shared database. */
const MARKER = '\uE000'.repeat(10);
const resolveMarkers = (text: string) => text.replaceAll(MARKER, () => randomBytes(5).toString('hex'));
const withMarkerAsLetters = (text: string) => text.replaceAll(MARKER, 'a'.repeat(10));

const stringField = (value: string, ok: Verdict): Field => ({ text: JSON.stringify(value), ok });

const deepArrayText = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const deepObjectText = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

/** Strings that have broken parsers, databases and validators before. */
const SPECIAL_STRINGS = [
  '',
  ' ',
  '   ',
  '\t',
  '\n',
  '\r\n',
  '\u00A0',
  '\u3000',
  '\u0000',
  'a\u0000b',
  '\u0007\u001B[31mred',
  '\u007F',
  '\uD800',
  'a\uDFFFb',
  '\uDBFF\uDBFF',
  '\uDC00\uD800',
  '\u202Eevil\u202C',
  '\u200F\u05E9\u05DC\u05D5\u05DD',
  'مرحبا بالعالم',
  'שלום עולם',
  '😀',
  '👨‍👩‍👧‍👦',
  '🏳️‍🌈',
  'e\u0301',
  'Ǆ',
  'ß',
  'İstanbul',
  'ΐ',
  '\u200B',
  '\uFEFF',
  'a\uFE0F',
  '%',
  '%00',
  '_',
  '\\',
  '"',
  "'; DROP TABLE events; --",
  '<script>alert(1)</script>',
  '${jndi:ldap://x}',
  'null',
  'undefined',
  '__proto__',
  'constructor',
  '0',
  '-1',
  '1e309',
  'true',
  '{}',
  '[]',
];

/** Repeated to a length at or past a bound: one or several UTF-16 units, code points, graphemes. */
const REPEAT_UNITS = ['a', 'é', 'ש', 'ع', '😀', ' ', '\u0000', '\uD800', 'e\u0301', '\u200B'];

const boundedString = (max: number): fc.Arbitrary<string> =>
  fc
    .record({
      unit: fc.constantFrom(...REPEAT_UNITS),
      length: fc.constantFrom(max - 1, max, max + 1, 2 * max),
      pad: fc.constantFrom('', ' ', ' \t '),
    })
    .map(({ unit, length, pad }) => pad + unit.repeat(Math.max(length, 0)) + pad);

const anyString = (max: number): fc.Arbitrary<string> =>
  fc
    .oneof(
      { weight: 4, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 24 }) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
      { weight: 2, arbitrary: fc.constantFrom(...SPECIAL_STRINGS) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(
            fc.constantFrom(...SPECIAL_STRINGS),
            fc.string({ unit: 'grapheme', maxLength: 8 }),
            fc.constantFrom(...SPECIAL_STRINGS),
          )
          .map((parts) => parts.join('')),
      },
      { weight: 2, arbitrary: boundedString(max) },
    )
    .filter((v) => !LONE_SURROGATE.test(v));

/** JSON numbers, written as text so that 1e309 and -0 reach the server as such. */
const NUMBER_TEXTS = [
  '0',
  '-1',
  '1',
  '-0',
  '1.5',
  '1000000',
  '1000001',
  '1e309',
  '-1e309',
  '9007199254740992',
  '9007199254740993',
  '2147483648',
  '-2147483649',
  '1e-7',
  '1E2',
  '100.0',
];

const NON_NUMBER_JUNK = [
  'null',
  'true',
  'false',
  '[]',
  '{}',
  '[1]',
  '["a"]',
  '{"a":1}',
  '[null]',
  '{"":""}',
  '[[[[[]]]]]',
  '{"__proto__":{"admin":true}}',
  '{"constructor":{"prototype":{"admin":true}}}',
  '{"constructor":1}',
];

/** Anything that is not a JSON string: numbers, null, booleans, arrays, objects, nesting past 32 levels. */
const notAString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NUMBER_TEXTS, ...NON_NUMBER_JUNK) },
  { weight: 1, arbitrary: fc.integer({ min: 20, max: 40 }).map(deepArrayText) },
  { weight: 1, arbitrary: fc.integer({ min: 20, max: 40 }).map(deepObjectText) },
  { weight: 1, arbitrary: fc.constantFrom(deepArrayText(5000), deepObjectText(3000)) },
  {
    weight: 2,
    arbitrary: fc
      .jsonValue({ maxDepth: 2 })
      .filter((value) => typeof value !== 'string')
      .map((value) => JSON.stringify(value)),
  },
);

/** Anything that is not a JSON number. */
const notANumber: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...NON_NUMBER_JUNK, '"10"', '"1000000"', '" 5"', '"1e3"', '"\\u0031\\u0030"'),
  fc.integer({ min: 30, max: 40 }).map(deepArrayText),
  anyString(10).map((value) => JSON.stringify(value)),
);

const textField = (min: number, max: number, trim: boolean): fc.Arbitrary<Field> =>
  fc.oneof(
    { weight: 6, arbitrary: anyString(max).map((value) => stringField(value, textVerdict(value, min, max, trim))) },
    { weight: 1, arbitrary: notAString.map((text): Field => ({ text, ok: false })) },
  );

/** Values that are valid, or that the contract leaves open (so that they reach the database inside otherwise valid bodies). */
const notInvalid = (arbitrary: fc.Arbitrary<Field>) => arbitrary.filter((field) => field.ok !== false);

const EVENT_STATUSES = ['draft', 'active', 'cancelled', 'completed'] as const;
const EVENT_ORDERINGS = [
  'date_time',
  '-date_time',
  'created_at',
  '-created_at',
  'title',
  '-title',
  'updated_at',
  '-updated_at',
] as const;

const statusField: fc.Arbitrary<Field> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...EVENT_STATUSES).map((value) => stringField(value, true)) },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom('ACTIVE', 'Active', ' active', 'active ', 'deleted', '', 'draft\u0000', 'аctive', 'active\uD800')
      .map((value) => stringField(value, false)),
  },
  { weight: 1, arbitrary: notAString.map((text): Field => ({ text, ok: false })) },
);

const capacityField: fc.Arbitrary<Field> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 1_000_000 }).map((n): Field => ({ text: String(n), ok: true })) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 12 }).map((n): Field => ({ text: String(n), ok: true })) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(...NUMBER_TEXTS).map((text): Field => {
      const value = JSON.parse(text) as number;
      return { text, ok: Number.isInteger(value) && value >= 1 && value <= 1_000_000 };
    }),
  },
  { weight: 1, arbitrary: fc.constantFrom('5e0', '1e3', '1000000.0').map((text): Field => ({ text, ok: true })) },
  { weight: 1, arbitrary: notANumber.map((text): Field => ({ text, ok: false })) },
);

const pad2 = (n: number) => String(n).padStart(2, '0');

/** Random date-times that look like RFC 3339, with every component sometimes out of range. */
const rfc3339ish: fc.Arbitrary<string> = fc
  .record({
    year: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1970, max: 2999 }) }, fc.constantFrom(0, 999, 1000, 9999)),
    month: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 12 }) }, fc.constantFrom(0, 13)),
    day: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 28 }) }, fc.constantFrom(0, 29, 30, 31, 32)),
    hour: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 23 }) }, fc.constantFrom(24, 25)),
    minute: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 59 }) }, fc.constant(60)),
    second: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 59 }) }, fc.constantFrom(60, 61)),
    fraction: fc.oneof(
      { weight: 4, arbitrary: fc.constant('') },
      { weight: 2, arbitrary: fc.integer({ min: 1, max: 9 }).map((n) => '.' + '7'.repeat(n)) },
      fc.constantFrom('.', '.1234567890'),
    ),
    separator: fc.constantFrom('T', 'T', 'T', 't', ' ', '_'),
    zone: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom('Z', 'z', '+00:00', '-00:00') },
      fc.constantFrom('', 'UTC', '+0100', '+01', '+24:00', '-24:00', '+23:60'),
      {
        weight: 3,
        arbitrary: fc
          .record({
            sign: fc.constantFrom('+', '-'),
            h: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 0, max: 23 }) }, fc.constant(24)),
            m: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(0, 30, 45, 59) }, fc.constant(60)),
          })
          .map(({ sign, h, m }) => `${sign}${pad2(h)}:${pad2(m)}`),
      },
    ),
  })
  .map(
    (p) =>
      `${String(p.year).padStart(4, '0')}-${pad2(p.month)}-${pad2(p.day)}${p.separator}` +
      `${pad2(p.hour)}:${pad2(p.minute)}:${pad2(p.second)}${p.fraction}${p.zone}`,
  );

const DATE_CONSTANTS = [
  '2031-02-30T10:00:00Z',
  '2031-02-29T10:00:00Z',
  '2100-02-29T00:00:00Z',
  '2028-02-29T23:59:59-23:59',
  '2031-04-31T10:00:00Z',
  '2031-02-15T10:00:00',
  '2031-02-15',
  '2031-02-15T10:00Z',
  '2031-02-15T10:00:00+24:00',
  '2031-02-15T10:00:00-24:00',
  '2031-02-15T24:00:00Z',
  '2031-02-15T23:59:60Z',
  '2031-02-15T10:00:00.Z',
  '2031-02-15t10:00:00z',
  '2031-02-15T10:00:00.123456789Z',
  ' 2031-02-15T10:00:00Z',
  '2031-02-15T10:00:00Z ',
  '2031-02-15T10:00:00ZZ',
  '2031-02-15T10:00:00Z[Europe/Paris]',
  '２０３１-02-15T10:00:00Z',
  '2031-02-15T10:00:00\u0000Z',
  '2031-02-15T10:00:00\uD800Z',
  '+002031-02-15T10:00:00Z',
  '10000-01-01T00:00:00Z',
  '0000-01-01T00:00:00Z',
  '1000-01-01T00:00:00+01:00',
  '9999-12-31T23:59:59-01:00',
  'now',
  '',
  'Sat, 15 Feb 2031 10:00:00 GMT',
  '2031-W07-6T10:00:00Z',
];

const dateField: fc.Arbitrary<Field> = fc.oneof(
  { weight: 4, arbitrary: rfc3339ish.map((value) => stringField(value, judgeDate(value).ok)) },
  { weight: 2, arbitrary: fc.constantFrom(...DATE_CONSTANTS).map((value) => stringField(value, judgeDate(value).ok)) },
  { weight: 1, arbitrary: notAString.map((text): Field => ({ text, ok: false })) },
);

/** IANA zones with every kind of offset: half and quarter hours, ±14 h, an alias, summer time north and south. */
const ZONES = [
  'UTC',
  'America/New_York',
  'Europe/Lisbon',
  'Asia/Kolkata',
  'Asia/Kathmandu',
  'Australia/Lord_Howe',
  'Pacific/Kiritimati',
  'Pacific/Pago_Pago',
  'US/Eastern',
  'Etc/GMT+12',
];
/** Zones as the API spells them: a name the runtime's zone database lists, in its spelling; any other as sent. */
const LISTED_ZONES = new Map(['UTC', ...Intl.supportedValuesOf('timeZone')].map((name) => [name.toLowerCase(), name]));
const spellZone = (name: string) => LISTED_ZONES.get(name.toLowerCase()) ?? name;
const IANA_SHAPE = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/;

const timezoneField: fc.Arbitrary<Field> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...ZONES).map((value) => stringField(value, true)) },
  { weight: 1, arbitrary: fc.constantFrom('utc', 'america/new_york', 'ASIA/KOLKATA').map((v) => stringField(v, true)) },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom(
        '',
        ' UTC',
        'UTC ',
        'Mars/Olympus_Mons',
        '+05:00',
        '-05:00',
        'Z',
        'GMT+5',
        'CEST',
        'America/New York',
        'America/',
        'Europe/Lisbon/',
        '../../etc/passwd',
        'UTC\u0000',
        `America/${'X'.repeat(60)}`,
      )
      .map((value) => stringField(value, false)),
  },
  // Random text: refused unless it is shaped like a zone name, which the runtime then judges.
  { weight: 1, arbitrary: anyString(64).map((value) => stringField(value, IANA_SHAPE.test(value) ? null : false)) },
  { weight: 1, arbitrary: notAString.map((text): Field => ({ text, ok: false })) },
);

/**
 * `local_date_time` worked out apart from the API: the zone's offset from
 * Intl's long offset name, rounded to the minute (half away from zero), and
 * the wall clock that follows from it.
 */
function localDateTime(utc: string, zone: string): string {
  const instant = Date.parse(utc);
  const name = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })
    .formatToParts(instant)
    .find((part) => part.type === 'timeZoneName')!.value;
  const [, sign, h, m, sec] = /^GMT(?:([+-])(\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(name)!;
  const offset = sign ? (sign === '-' ? -1 : 1) * Math.round(Number(h) * 60 + Number(m) + Number(sec ?? 0) / 60) : 0;
  const abs = Math.abs(offset);
  const clock = new Date(instant + offset * 60_000).toISOString().slice(0, 19);
  return `${clock}${offset < 0 ? '-' : '+'}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
}

/** Whether the wall clock of a zone may have passed the year 9999 (the API then refuses the write). */
const nearYear10000 = (utc: string, zone: string) => utc >= '9999-12-31T09:00:00Z' && spellZone(zone) !== 'UTC';

/** A date-time that is certainly valid and ahead of now (registration needs a future event). */
const FUTURE = new Date(Date.now() + 365 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');

interface Extra {
  key: string;
  text: string;
  ok: Verdict;
}

/** Fields an event body may carry and the API ignores: what it returns itself. */
const READ_ONLY_EVENT_EXTRAS: Extra[] = [
  { key: 'id', text: '999999', ok: true },
  { key: 'organizer', text: '"mallory"', ok: true },
  { key: 'organizer_id', text: '1', ok: true },
  { key: 'attendees_count', text: '1e309', ok: true },
  { key: 'available_slots', text: 'null', ok: true },
  { key: 'created_at', text: '"2000-01-01T00:00:00Z"', ok: true },
  { key: 'updated_at', text: '{}', ok: true },
  { key: 'waitlist_count', text: '[]', ok: true },
  { key: 'local_date_time', text: '"x"', ok: true },
];

/** Unknown fields, prototype-polluting keys and keys that shadow Object.prototype: all a 400. */
const UNKNOWN_EXTRAS: Extra[] = [
  { key: 'unknown_field', text: '1', ok: false },
  { key: 'Title', text: '"x"', ok: false },
  { key: 'is_admin', text: 'true', ok: false },
  { key: '', text: '1', ok: false },
  { key: 'constructor', text: '{"prototype":{"is_admin":true}}', ok: false },
  { key: '__proto__', text: '{"is_admin":true}', ok: false },
  { key: '__proto__', text: 'null', ok: false },
  { key: 'title\u0000', text: '"x"', ok: false },
  { key: '\uD800', text: '1', ok: false },
];

const extrasArbitrary = (pool: Extra[]): fc.Arbitrary<Extra[]> =>
  fc.oneof(
    { weight: 5, arbitrary: fc.constant<Extra[]>([]) },
    { weight: 2, arbitrary: fc.array(fc.constantFrom(...pool), { minLength: 1, maxLength: 2 }) },
  );

/** Bodies that are not a JSON object, not JSON, too deep, too big, or not sent as JSON. */
const RAW_BODIES: { payload: string | Buffer; contentType: string; ok: Verdict }[] = [
  ...['', ' ', '\n', '\uFEFF{}', '{}'].map((payload) => ({ payload, contentType: JSON_TYPE, ok: null })),
  ...[
    'null',
    'true',
    '0',
    '-0',
    '1e309',
    '"text"',
    '[]',
    '[{}]',
    '[1,2,3]',
    '{',
    '}',
    '{"a":1,}',
    "{'a':1}",
    '{"a":1}{"b":2}',
    'NaN',
    '{"a":NaN}',
    '{a:1}',
    '{"a":01}',
    '{"a":"\\x41"}',
    '{"a":"\u0000"}',
    '{"a":1e999999}',
    '{"__proto__":{"admin":true}}',
    '{"a":{"__proto__":{}}}',
    '{"constructor":{"prototype":{"admin":true}}}',
    deepArrayText(33),
    deepArrayText(20_000),
    deepObjectText(33),
    deepObjectText(5_000),
    '['.repeat(60_000),
    `{"a":"${'x'.repeat(110_000)}"}`,
  ].map((payload) => ({ payload, contentType: JSON_TYPE, ok: false as Verdict })),
  {
    payload: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d]),
    contentType: JSON_TYPE,
    ok: false,
  },
  { payload: '{}', contentType: 'text/plain', ok: false },
  { payload: '{}', contentType: 'application/x-www-form-urlencoded', ok: false },
  { payload: 'a=1&b=2', contentType: 'application/x-www-form-urlencoded', ok: false },
  { payload: '--x\r\n\r\n--x--', contentType: 'multipart/form-data; boundary=x', ok: false },
  { payload: '<a/>', contentType: 'application/xml', ok: false },
  { payload: '{}', contentType: 'application/json; charset=utf-8', ok: null },
  { payload: '{}', contentType: 'application/JSON', ok: null },
  { payload: '{}', contentType: 'application/json-patch+json', ok: null },
  { payload: '{}', contentType: 'application/json; charset=latin1', ok: null },
];

const rawBody: fc.Arbitrary<BodyCase> = fc
  .constantFrom(...RAW_BODIES)
  .map((raw): BodyCase => ({ kind: 'raw', ...raw }));

/** An object body from optional fields and extra keys; `required` fields must be present to be valid. */
function objectBody(fields: Record<string, Field | undefined>, extras: Extra[], required: readonly string[]): BodyCase {
  const entries: Entry[] = Object.entries(fields)
    .filter((entry): entry is [string, Field] => entry[1] !== undefined)
    .map(([key, field]) => ({ key, field }));
  for (const extra of extras) entries.push({ key: extra.key, field: { text: extra.text, ok: extra.ok } });
  const missing = required.some((key) => fields[key] === undefined);
  return { kind: 'object', entries, ok: combine(missing ? false : true, ...entries.map((entry) => entry.field.ok)) };
}

const maybe = <T>(arbitrary: fc.Arbitrary<T>, freq = 8) => fc.option(arbitrary, { nil: undefined, freq });

interface Rendered {
  payload?: string | Buffer;
  contentType?: string;
  /** The parsed object the server sees, for an object body. */
  values?: Record<string, unknown>;
}

/** The text of a body, with markers and run-dependent values filled in. */
function render(body: BodyCase, special: (entry: Entry) => string = (entry) => entry.field.text): Rendered {
  if (body.kind === 'none') return {};
  if (body.kind === 'raw') return { payload: body.payload, contentType: body.contentType };
  const parts = body.entries.map(
    (entry) => `${JSON.stringify(entry.key)}:${entry.field.special ? special(entry) : entry.field.text}`,
  );
  const payload = resolveMarkers(`{${parts.join(',')}}`);
  return { payload, contentType: JSON_TYPE, values: JSON.parse(payload) as Record<string, unknown> };
}

function send(request: Test, rendered: Rendered): Test {
  if (rendered.payload === undefined) return request;
  return request.set('Content-Type', rendered.contentType ?? JSON_TYPE).send(rendered.payload);
}

const clip = (text: string, max = 600) => (text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text);
const show = (payload: unknown) =>
  payload === undefined
    ? '(no body)'
    : Buffer.isBuffer(payload)
      ? `<bytes ${payload.toString('hex')}>`
      : clip(JSON.stringify(payload));

/**
 * The contract every answer keeps: never a 5xx; a 4xx is problem details
 * with a status, a title and a non-empty detail, leaking nothing.
 */
function expectWellFormed(res: Response, what: string): void {
  const where = `${what}\n  -> ${res.status} ${res.headers['content-type'] ?? ''} ${clip(res.text ?? '', 400)}`;
  expect(res.status, `a 5xx for ${where}`).toBeLessThan(500);
  if (res.status < 400) return;
  expect(res.headers['content-type'], `a 4xx that is not problem+json: ${where}`).toMatch(
    /^application\/problem\+json/,
  );
  let problem: Record<string, unknown>;
  try {
    problem = JSON.parse(res.text) as Record<string, unknown>;
  } catch {
    throw new Error(`a 4xx whose body is not JSON: ${where}`);
  }
  expect(problem.status, `problem.status: ${where}`).toBe(res.status);
  expect(typeof problem.title, `problem.title: ${where}`).toBe('string');
  expect(typeof problem.detail === 'string' && problem.detail.length > 0, `problem.detail: ${where}`).toBe(true);
  for (const word of LEAKS) expect(res.text, `problem mentions "${word}": ${where}`).not.toContain(word);
}

function expectVerdict(res: Response, ok: Verdict, what: string, success = [200, 201]): void {
  const where = `${what}\n  -> ${res.status} ${clip(res.text ?? '', 300)}`;
  if (ok === false) expect(res.status, `invalid input accepted: ${where}`).toBeGreaterThanOrEqual(400);
  if (ok === true) expect(success, `valid input refused: ${where}`).toContain(res.status);
}

// ---------------------------------------------------------------- query strings and paths

const UTF8 = (code: number): number[] =>
  code < 0x80
    ? [code]
    : code < 0x800
      ? [0xc0 | (code >> 6), 0x80 | (code & 0x3f)]
      : code < 0x10000
        ? [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)]
        : [0xf0 | (code >> 18), 0x80 | ((code >> 12) & 0x3f), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)];

/** Percent-encodes every byte outside the unreserved set; a lone surrogate goes out as its (invalid) WTF-8 bytes. */
function percentEncode(text: string, keepPlus = false): string {
  let out = '';
  for (const char of text) {
    if (/^[A-Za-z0-9\-._~]$/.test(char) || (keepPlus && char === '+')) out += char;
    else
      out += UTF8(char.codePointAt(0)!)
        .map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)
        .join('');
  }
  return out;
}

/** What the server reads from an encoded query value (an undecodable one stays as sent). */
function decodeQueryValue(encoded: string): string {
  const spaced = encoded.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

const RAW_QUERY_VALUES = ['%', '%zz', '%FF', '%C3%28', '%ED%A0%80', '%00', '%E2%80%AE', '+', '%2B', '%26', '%3D'];

/** An encoded query value: a string (encoded one way or another) or a raw, maybe broken, escape. */
const queryValue = (strings: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.tuple(strings, fc.boolean()).map(([text, keepPlus]) => percentEncode(text, keepPlus)) },
    { weight: 1, arbitrary: fc.constantFrom(...RAW_QUERY_VALUES) },
  );

const PAGE_STRINGS = [
  '1',
  '2',
  '0',
  '-1',
  '01',
  '200',
  '201',
  '10000000',
  '10000001',
  '1.5',
  '1e2',
  '+1',
  ' 1',
  '',
  'abc',
  '9'.repeat(16),
  '9'.repeat(400),
  '１',
  '٣',
  'null',
  'true',
  '[]',
  '0x10',
  '\uD800',
];

/** Whether a page/page_size value is valid (leading zeros are left open). */
function integerVerdict(value: string, max: number): Verdict {
  if (!/^\d{1,15}$/.test(value)) return false;
  const n = Number(value);
  if (n < 1 || n > max) return false;
  return /^0/.test(value) ? null : true;
}

const pageQuery = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 5 }).map(String) },
  { weight: 3, arbitrary: fc.constantFrom(...PAGE_STRINGS) },
  { weight: 1, arbitrary: anyString(20) },
);

interface QueryCase {
  pairs: [string, string][];
  /** Encoded query string. */
  text: string;
}

function queryText(pairs: [string, string][]): string {
  return pairs.map(([key, value]) => `${percentEncode(key)}=${value}`).join('&');
}

/** Path segments that are not positive integers, or decorate one; `{id}` stands for a real id. */
const ID_TEMPLATES: { template: string; kind: 'target' | 'maybe' | 'unknown' | 'invalid' }[] = [
  { template: '{id}', kind: 'target' },
  { template: '{encoded}', kind: 'target' },
  { template: '0{id}', kind: 'maybe' },
  { template: '000{id}', kind: 'maybe' },
  ...['0', '-1', '-0', '2147483648', '4294967296', '9007199254740993', '99999999999999999999', '-2147483649'].map(
    (template) => ({ template, kind: 'unknown' as const }),
  ),
  ...[
    'abc',
    '1.5',
    '1e3',
    '0x1A',
    '%20',
    '%00',
    '%D9%A1',
    '%EF%BC%91',
    'NaN',
    'Infinity',
    'null',
    'true',
    '%5B%5D',
    '%7B%7D',
    '%F0%9F%98%80',
    '%E2%80%AE1',
    '-',
    '--1',
    '1-',
    '%2F',
    '{id}abc',
    '{id}.0',
    '{id}%00',
    '%20{id}',
    '{id}%20',
    '%2B{id}',
    '{id}e0',
    '{id}%0A',
    '{id}%2F1',
    '__proto__',
    'constructor',
  ].map((template) => ({ template, kind: 'invalid' as const })),
];

const fillId = (template: string, id: number) =>
  template.replace('{encoded}', [...String(id)].map((digit) => `%3${digit}`).join('')).replace('{id}', String(id));

// ---------------------------------------------------------------- the suite

type EventJson = Record<string, unknown> & { id: number };

describe('fuzzing every endpoint', () => {
  let t: TestApp;
  let db: DataSource;

  beforeAll(async () => {
    // Long-lived access tokens: they must outlive every run and every shrink.
    // Webhook URLs are then checked for their form only (no DNS): the test app runs no webhook worker.
    t = await startApp({ JWT_ACCESS_TTL: '2h', WEBHOOK_ALLOW_PRIVATE: 'true' });
    db = t.app.get(DataSource);
  });
  afterAll(() => t.close());

  async function countOf(sql: string, params: unknown[]): Promise<number> {
    const rows = (await db.query(sql, params)) as { n: number | string }[];
    return Number(rows[0].n);
  }

  async function registrationsOf(eventId: number, organizer: TestUser): Promise<Record<string, unknown>[]> {
    const rows: Record<string, unknown>[] = [];
    for (let page = 1; ; page++) {
      const res = await t.http
        .get(`/api/events/${eventId}/registrations/`)
        .query({ page, page_size: 200 })
        .set(bearer(organizer.access));
      expect(res.status, res.text).toBe(200);
      rows.push(...(res.body as Record<string, unknown>[]));
      if ((res.body as unknown[]).length < 200) return rows;
    }
  }

  /** Everything a write to an event could change: the event as read back, its counters and its registrations. */
  async function eventState(eventId: number, organizer: TestUser) {
    const event = await t.http.get(`/api/events/${eventId}/`).set(bearer(organizer.access));
    expect(event.status, event.text).toBe(200);
    const capacity = await t.http.get(`/api/events/${eventId}/capacity`).set(bearer(organizer.access));
    expect(capacity.status, capacity.text).toBe(200);
    return {
      event: event.body as EventJson,
      capacity: capacity.body as Record<string, number>,
      registrations: await registrationsOf(eventId, organizer),
    };
  }

  async function register(eventId: number, name = 'Fuzz Runner') {
    const res = await t.http
      .post(`/api/events/${eventId}/register`)
      .send({ name, email: `${unique('fz')}@example.com` });
    expect(res.status, res.text).toBe(201);
    return { id: res.body.registration.id as number, token: res.body.cancel_token as string };
  }

  // ------------------------------------------------------------ users and tokens

  it('POST /api/register/: any body is a 201 that reads back or a 4xx problem that creates nobody', async () => {
    const label = 'POST /api/register/';
    const existing = await createUser(t.http);

    const usernameChars = [...'abcxyzABCXYZ0189@.+-_éßİΐשעبع٣𝒜ǅ'];
    const usernameField: fc.Arbitrary<Field> = fc.oneof(
      {
        weight: 5,
        arbitrary: fc
          .string({ unit: fc.constantFrom(...usernameChars), maxLength: 20 })
          .map((suffix) => stringField(MARKER + suffix, usernameVerdict(withMarkerAsLetters(MARKER + suffix)))),
      },
      {
        weight: 2,
        arbitrary: fc
          .record({ unit: fc.constantFrom('a', 'ΐ', 'İ', '𝒜', 'ß'), length: fc.constantFrom(139, 140, 141, 290) })
          .map(({ unit, length }) => {
            const value = MARKER + unit.repeat(length);
            return stringField(value, usernameVerdict(withMarkerAsLetters(value)));
          }),
      },
      {
        weight: 2,
        arbitrary: fc
          .constantFrom(' ', '!', '😀', '\u0000', '\u200F', '\uD800', '/', '\\', '#', '%', '\u0301', '\t', '\u00A0')
          .map((bad) => stringField(MARKER + bad, false)),
      },
      {
        weight: 1,
        arbitrary: fc.constantFrom('', 'a', 'ab', '  ', 'ab\u0000').map((value) => stringField(value, false)),
      },
      {
        weight: 1,
        arbitrary: anyString(150).map((value) => stringField(value, usernameVerdict(value) === false ? false : null)),
      },
      { weight: 1, arbitrary: notAString.map((text): Field => ({ text, ok: false })) },
      { weight: 1, arbitrary: fc.nat().map((mask): Field => ({ text: '', ok: true, special: 'dup', mask })) },
    );

    const passwordField: fc.Arbitrary<Field> = fc.oneof(
      {
        weight: 5,
        arbitrary: fc
          .string({ unit: 'grapheme', minLength: 7, maxLength: 30 })
          .map((value) => 'p' + value)
          .map((value) => stringField(value, textVerdict(value, 8, 128, false))),
      },
      {
        weight: 2,
        arbitrary: fc
          .record({
            unit: fc.constantFrom('a', '😀', 'é', ' ', '\u0000', '\uD800'),
            length: fc.constantFrom(7, 8, 128, 129),
          })
          .map(({ unit, length }) => {
            const value = unit.repeat(length);
            return stringField(value, textVerdict(value, 8, 128, false));
          }),
      },
      {
        weight: 1,
        arbitrary: fc
          .constantFrom('12345678', '0'.repeat(128), '١٢٣٤٥٦٧٨')
          .map((value) => stringField(value, /^[0-9]+$/.test(value) ? false : null)),
      },
      {
        weight: 1,
        arbitrary: anyString(128).map((value) => {
          const verdict = textVerdict(value, 8, 128, false);
          return stringField(value, verdict === false ? false : /^[0-9]+$/.test(value) ? false : null);
        }),
      },
      { weight: 1, arbitrary: notAString.map((text): Field => ({ text, ok: false })) },
    );

    const emailField: fc.Arbitrary<Field> = fc.oneof(
      {
        weight: 5,
        arbitrary: fc
          .record({
            suffix: fc.constantFrom('', '+tag', '.x', '_y', '-z'),
            domain: fc.constantFrom('example.com', 'EXAMPLE.org', 'mail.example.co.uk', 'xn--bcher-kva.example'),
            upper: fc.boolean(),
            pad: fc.constantFrom('', ' ', '  '),
          })
          .map(({ suffix, domain, upper, pad }) => {
            const address = `${MARKER}${suffix}@${domain}`;
            return stringField(pad + (upper ? address.toUpperCase() : address) + pad, true);
          }),
      },
      {
        weight: 2,
        arbitrary: fc
          .constantFrom(
            '',
            ' ',
            'plainaddress',
            '@example.com',
            `${MARKER}@`,
            `${MARKER}@@example.com`,
            `us er${MARKER}@example.com`,
            `${MARKER}@exa mple.com`,
            `${MARKER}@example`,
            `${MARKER}@.example.com`,
            `${MARKER}@example..com`,
            `ü${MARKER}@example.com`,
            `😀${MARKER}@example.com`,
            `${MARKER}@example.com\u0000`,
            `${'a'.repeat(55)}${MARKER}@example.com`,
            `${MARKER}@localhost`,
            `${'a'.repeat(54)}${MARKER}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.${'e'.repeat(57)}.com`,
          )
          .map((value) => stringField(value, false)),
      },
      {
        weight: 2,
        arbitrary: fc
          .constantFrom(`${MARKER}@例え.jp`, `"${MARKER}"@example.com`, `${MARKER}@b\uFE0F.com`)
          .map((value) => stringField(value, null)),
      },
      {
        weight: 1,
        arbitrary: anyString(254)
          .filter((v) => !LONE_SURROGATE.test(v))
          .map((value) => stringField(value, null)),
      },
      { weight: 1, arbitrary: notAString.map((text): Field => ({ text, ok: false })) },
      { weight: 1, arbitrary: fc.nat().map((mask): Field => ({ text: '', ok: true, special: 'dup', mask })) },
    );

    const bodies: fc.Arbitrary<BodyCase> = fc.oneof(
      {
        weight: 6,
        arbitrary: fc
          .record({
            username: maybe(usernameField, 12),
            password: maybe(passwordField, 12),
            email: maybe(emailField, 12),
            extras: extrasArbitrary(UNKNOWN_EXTRAS),
          })
          .map(({ extras, ...fields }) => objectBody(fields, extras, ['username', 'password', 'email'])),
      },
      { weight: 1, arbitrary: rawBody },
    );

    const withCase = (text: string, mask: number) =>
      [...text].map((c, i) => ((mask >> (i % 30)) & 1 ? c.toUpperCase() : c)).join('');

    await runProperty([label], bodies, 160, async (body) => {
      let duplicate = false;
      const rendered = render(body, (entry) => {
        duplicate = true;
        const taken = entry.key === 'username' ? existing.username : existing.email;
        return JSON.stringify(withCase(taken, entry.field.mask ?? 0));
      });
      const values = rendered.values ?? {};
      const username = typeof values.username === 'string' ? values.username : undefined;
      const email = typeof values.email === 'string' ? values.email : undefined;
      const password = typeof values.password === 'string' ? values.password : undefined;
      const samePassword =
        username !== undefined && password !== undefined && foldCase(username) === foldCase(password);
      const countUsers = () =>
        countOf('SELECT COUNT(*) AS n FROM users WHERE username_normalized = ? OR email = ?', [
          username === undefined ? '\u0001none' : foldCase(username),
          email === undefined ? '\u0001none' : normalizeEmail(email),
        ]);
      const before = await countUsers();

      const res = await send(t.http.post('/api/register/'), rendered);
      tally(label, res.status);
      const what = `POST /api/register/ ${show(rendered.payload)}`;
      expectWellFormed(res, what);
      const ok = samePassword ? false : body.ok;
      if (duplicate && ok === true) expect(res.status, `a taken username or email: ${what}`).toBe(409);
      else expectVerdict(res, ok, what, [201]);

      const after = await countUsers();
      if (res.status !== 201) {
        expect(after, `a refused registration created a user: ${what}`).toBe(before);
        return;
      }
      expect(after, `one user more: ${what}`).toBe(before + 1);
      expect(res.body, what).toEqual({ id: expect.any(Number), username, email: normalizeEmail(email!) });
      // It reads back: the new account logs in with the password sent, and /me shows what was stored.
      const tokens = await t.http.post('/api/login/').send({ username, password });
      expect(tokens.status, `the new account cannot log in: ${what}\n${tokens.text}`).toBe(200);
      const me = await t.http.get('/api/me/').set(bearer(tokens.body.access as string));
      expect(me.status, me.text).toBe(200);
      expect({ id: me.body.id, username: me.body.username, email: me.body.email }, `read back: ${what}`).toEqual(
        res.body,
      );
    });
  }, 180_000);

  it('POST /api/login/: any body is a 200, a 401 or a 4xx problem, and only a 200 opens a session', async () => {
    const label = 'POST /api/login/';
    const known = await createUser(t.http, { password: 'Fuzzy passphrase 1' });

    type Credential = { field: Field; match: 'known' | 'other' };
    const usernameArb: fc.Arbitrary<Credential> = fc.oneof(
      {
        weight: 3,
        arbitrary: fc.nat().map((mask): Credential => ({
          field: stringField(
            [...known.username].map((c, i) => ((mask >> (i % 30)) & 1 ? c.toUpperCase() : c)).join(''),
            true,
          ),
          match: 'known',
        })),
      },
      {
        weight: 1,
        arbitrary: fc.constant<Credential>({ field: stringField(` ${known.username}`, null), match: 'other' }),
      },
      {
        weight: 3,
        arbitrary: anyString(150).map((value): Credential => ({
          field: stringField(value, textVerdict(value, 0, 150, false)),
          match: 'other',
        })),
      },
      { weight: 1, arbitrary: notAString.map((text): Credential => ({ field: { text, ok: false }, match: 'other' })) },
    );
    const passwordArb: fc.Arbitrary<Credential> = fc.oneof(
      { weight: 3, arbitrary: fc.constant<Credential>({ field: stringField(known.password, true), match: 'known' }) },
      {
        weight: 1,
        arbitrary: fc.constant<Credential>({ field: stringField(known.password.toUpperCase(), true), match: 'other' }),
      },
      {
        weight: 3,
        arbitrary: anyString(128).map((value): Credential => ({
          field: stringField(value, textVerdict(value, 0, 128, false)),
          match: 'other',
        })),
      },
      { weight: 1, arbitrary: notAString.map((text): Credential => ({ field: { text, ok: false }, match: 'other' })) },
    );

    const cases = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({
          username: maybe(usernameArb, 12),
          password: maybe(passwordArb, 12),
          extras: extrasArbitrary(UNKNOWN_EXTRAS),
        }),
      },
      { weight: 1, arbitrary: rawBody.map((raw) => ({ raw })) },
    );

    const sessions = () => countOf('SELECT COUNT(*) AS n FROM login_sessions WHERE user_id = ?', [known.id]);

    await runProperty([label], cases, 200, async (generated) => {
      let body: BodyCase;
      let expected: number | 'invalid' | null;
      if ('raw' in generated) {
        body = generated.raw;
        expected = generated.raw.ok === false ? 'invalid' : null;
      } else {
        const { username, password, extras } = generated;
        body = objectBody({ username: username?.field, password: password?.field }, extras, ['username', 'password']);
        expected =
          body.ok === false
            ? 'invalid'
            : body.ok === null
              ? null
              : username?.match === 'known' && password?.match === 'known'
                ? 200
                : 401;
      }
      const before = await sessions();
      const rendered = render(body);
      const res = await send(t.http.post('/api/login/'), rendered);
      tally(label, res.status);
      const what = `POST /api/login/ ${show(rendered.payload)}`;
      expectWellFormed(res, what);
      if (expected === 'invalid') expect(res.status, `invalid input accepted: ${what}`).toBeGreaterThanOrEqual(400);
      else if (expected !== null) expect(res.status, `${what}\n${res.text}`).toBe(expected);
      if (res.status === 401) {
        expect(res.body.detail, what).toBe('No active account found with the given credentials');
        expect(res.headers['www-authenticate'], what).toMatch(/^Bearer/);
      }
      const after = await sessions();
      if (res.status === 200) {
        expect(Object.keys(res.body).sort(), what).toEqual(['access', 'refresh']);
        expect(after, `a login opens one session: ${what}`).toBe(before + 1);
      } else {
        expect(after, `a refused login opened a session: ${what}`).toBe(before);
      }
    });
  }, 120_000);

  /** A JWT with its payload changed and the old signature kept, or with alg none. */
  function forge(token: string, change: (claims: Record<string, unknown>) => void, algNone = false): string {
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    change(claims);
    const newPayload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    if (algNone) return `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${newPayload}.`;
    return `${header}.${newPayload}.${signature}`;
  }

  /** Changes the first character of the signature (every bit of it counts, unlike the last one's). */
  function tamperSignature(token: string): string {
    const [header, payload, signature] = token.split('.');
    return `${header}.${payload}.${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
  }

  type TokenChoice =
    | 'current'
    | 'padded'
    | 'access'
    | 'tampered-signature'
    | 'tampered-payload'
    | 'alg-none'
    | 'other-type'
    | 'truncated'
    | 'at-bound'
    | 'past-bound';

  const tokenChoice = fc.constantFrom<TokenChoice>(
    'current',
    'padded',
    'access',
    'tampered-signature',
    'tampered-payload',
    'alg-none',
    'other-type',
    'truncated',
    'at-bound',
    'past-bound',
  );

  /** A refresh-ish value built from a live session, and whether it must be accepted as that session's refresh token. */
  function refreshValue(choice: TokenChoice, session: { access: string; refresh: string }): Field {
    switch (choice) {
      case 'current':
        return stringField(session.refresh, true);
      case 'padded':
        return stringField(` ${session.refresh}\n`, null);
      case 'access':
        return stringField(session.access, false);
      case 'tampered-signature':
        return stringField(tamperSignature(session.refresh), false);
      case 'tampered-payload':
        return stringField(
          forge(session.refresh, (claims) => {
            claims.user_id = 1;
            claims.sub = '1';
          }),
          false,
        );
      case 'alg-none':
        return stringField(
          forge(session.refresh, () => undefined, true),
          false,
        );
      case 'other-type':
        return stringField(
          forge(session.access, (claims) => {
            claims.token_type = 'refresh';
          }),
          false,
        );
      case 'truncated':
        return stringField(session.refresh.slice(0, -5), false);
      case 'at-bound':
        return stringField(session.refresh + 'A'.repeat(2048 - session.refresh.length), false);
      case 'past-bound':
        return stringField(session.refresh + 'A'.repeat(2049 - session.refresh.length), false);
    }
  }

  const refreshField = fc.oneof(
    { weight: 4, arbitrary: tokenChoice.map((choice) => ({ choice })) },
    {
      weight: 2,
      arbitrary: anyString(2048).map((value) => ({ field: stringField(value, false) })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('a.b.c', '..', 'eyJhbGciOiJIUzI1NiJ9..', 'Bearer x', 'A'.repeat(2048), 'A'.repeat(2049))
        .map((value) => ({ field: stringField(value, false) })),
    },
    { weight: 1, arbitrary: notAString.map((text) => ({ field: { text, ok: false } as Field })) },
  );

  it('POST /api/token/refresh/: only the current refresh token rotates; anything else is a 4xx problem that revokes nothing', async () => {
    const label = 'POST /api/token/refresh/';
    const user = await createUser(t.http);
    const session = { access: user.access, refresh: user.refresh };

    const cases = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({ refresh: maybe(refreshField, 10), extras: extrasArbitrary(UNKNOWN_EXTRAS) }),
      },
      { weight: 1, arbitrary: rawBody.map((raw) => ({ raw })) },
    );

    await runProperty([label], cases, 160, async (generated) => {
      let body: BodyCase;
      if ('raw' in generated) body = generated.raw;
      else {
        const chosen = generated.refresh;
        const field =
          chosen === undefined ? undefined : 'choice' in chosen ? refreshValue(chosen.choice, session) : chosen.field;
        body = objectBody({ refresh: field }, generated.extras, ['refresh']);
      }
      const rendered = render(body);
      const res = await send(t.http.post('/api/token/refresh/'), rendered);
      tally(label, res.status);
      const what = `POST /api/token/refresh/ ${show(rendered.payload)}`;
      expectWellFormed(res, what);
      expectVerdict(res, body.ok, what, [200]);
      if (res.status === 200) {
        expect(Object.keys(res.body).sort(), what).toEqual(['access', 'refresh']);
        session.access = res.body.access as string;
        session.refresh = res.body.refresh as string;
      }
      // Whatever happened, the session is alive: a refused refresh revokes nothing.
      const me = await t.http.get('/api/me/').set(bearer(session.access));
      expect(me.status, `the session stopped working after: ${what}\n  -> ${res.status} ${res.text}`).toBe(200);
    });
  }, 120_000);

  it('POST /api/logout/ with a body: a 200 ends the session, a 4xx problem ends nothing', async () => {
    const label = 'POST /api/logout/';
    const user = await createUser(t.http);
    const other = await createUser(t.http);
    let session = { access: user.access, refresh: user.refresh };

    type AuthChoice = 'valid' | 'none' | 'junk' | 'basic' | 'refresh-as-access';
    const cases = fc.record({
      auth: fc.oneof(
        { weight: 8, arbitrary: fc.constant<AuthChoice>('valid') },
        fc.constantFrom<AuthChoice>('none', 'junk', 'basic', 'refresh-as-access'),
      ),
      body: fc.oneof(
        { weight: 1, arbitrary: fc.constant<'none'>('none') },
        { weight: 1, arbitrary: fc.constant<'other-user'>('other-user') },
        {
          weight: 5,
          arbitrary: fc.record({ refresh: maybe(refreshField, 6), extras: extrasArbitrary(UNKNOWN_EXTRAS) }),
        },
        { weight: 1, arbitrary: rawBody.map((raw) => ({ raw })) },
      ),
    });

    await runProperty([label], cases, 160, async ({ auth, body: generated }) => {
      let body: BodyCase;
      let otherUsers = false;
      if (generated === 'none') body = { kind: 'none', ok: true };
      else if (generated === 'other-user') {
        body = objectBody({ refresh: stringField(other.refresh, false) }, [], []);
        otherUsers = true;
      } else if ('raw' in generated) body = generated.raw;
      else {
        const chosen = generated.refresh;
        const field =
          chosen === undefined ? undefined : 'choice' in chosen ? refreshValue(chosen.choice, session) : chosen.field;
        // The session's own refresh token may be in the body; the refresh endpoint's 'access' choice is a 401 here too.
        body = objectBody({ refresh: field }, generated.extras, []);
      }
      const rendered = render(body);
      let request = t.http.post('/api/logout/');
      if (auth === 'valid') request = request.set(bearer(session.access));
      if (auth === 'junk') request = request.set('Authorization', 'Bearer not.a.token');
      if (auth === 'basic') request = request.set('Authorization', 'Basic YWxpY2U6c2VjcmV0');
      if (auth === 'refresh-as-access') request = request.set(bearer(session.refresh));
      const res = await send(request, rendered);
      tally(label, res.status);
      const what = `POST /api/logout/ (auth: ${auth}) ${show(rendered.payload)}`;
      expectWellFormed(res, what);
      // A body Fastify cannot parse (nesting, __proto__, media type) is refused before authentication runs.
      if (auth !== 'valid' && body.ok === true) expect(res.status, `${what}\n${res.text}`).toBe(401);
      else if (auth !== 'valid') expect(res.status, what).toBeGreaterThanOrEqual(400);
      else if (otherUsers) expect(res.status, `${what}\n${res.text}`).toBe(403);
      else expectVerdict(res, body.ok, what, [200]);

      const mine = await t.http.get('/api/me/').set(bearer(session.access));
      const theirs = await t.http.get('/api/me/').set(bearer(other.access));
      expect(theirs.status, `another user's session was ended by: ${what}`).toBe(200);
      if (res.status === 200) {
        expect(res.body, what).toEqual({ detail: 'Successfully logged out' });
        expect(mine.status, `the session survived a logout: ${what}`).toBe(401);
        session = await login(t.http, user.username, user.password);
      } else {
        expect(mine.status, `a refused logout ended the session: ${what}\n  -> ${res.status} ${res.text}`).toBe(200);
      }
    });
  }, 120_000);

  // ------------------------------------------------------------ events

  it('GET /api/events/: any query is a 200 list that honours its filters or a 4xx problem', async () => {
    const label = 'GET /api/events/';
    const viewer = await createUser(t.http);
    await createEvent(t.http, viewer, { title: 'Fuzz list café', status: 'draft' });
    await createEvent(t.http, viewer, { title: 'Fuzz list past', date_time: '2001-01-01T00:00:00Z' });
    await createEvent(t.http, viewer, { title: 'Fuzz list %_ future' });

    const dateStrings = fc.oneof(
      rfc3339ish,
      fc.constantFrom(...DATE_CONSTANTS),
      fc.constantFrom('2031-02-15T10:00:00 01:00', '2000-01-01T00:00:00+01:00'),
    );
    const KEYS: Record<string, fc.Arbitrary<string>> = {
      status: queryValue(
        fc.oneof(fc.constantFrom(...EVENT_STATUSES), fc.constantFrom('ACTIVE', '', 'deleted', 'draft '), anyString(20)),
      ),
      from: queryValue(dateStrings),
      to: queryValue(dateStrings),
      updated_since: queryValue(
        fc.oneof(dateStrings, fc.constantFrom('2001-01-01T00:00:00.5Z', '2999-01-01T00:00:00.123+01:00', '1735689600')),
      ),
      upcoming: queryValue(fc.oneof(fc.constantFrom('true', 'false', 'TRUE', '1', 'yes', '', ' true'), anyString(10))),
      search: queryValue(anyString(200)),
      organizer: queryValue(fc.oneof(fc.constant(viewer.username.toUpperCase()), anyString(150))),
      mine: queryValue(fc.constantFrom('true', 'false', 'True', '1', '')),
      ordering: queryValue(
        fc.oneof(
          fc.constantFrom(...EVENT_ORDERINGS),
          fc.constantFrom(
            'DATE_TIME',
            '-date_time ',
            'id',
            '--title',
            '',
            'title;DROP TABLE events',
            '+title',
            'updated',
          ),
        ),
      ),
      page: queryValue(pageQuery),
      page_size: queryValue(pageQuery),
      ['__proto__']: queryValue(anyString(10)),
      constructor: queryValue(anyString(10)),
      hasOwnProperty: queryValue(anyString(10)),
      toString: queryValue(anyString(10)),
      'status[]': queryValue(anyString(10)),
      utm_source: queryValue(anyString(10)),
    };
    const KNOWN = new Set([
      'status',
      'from',
      'to',
      'updated_since',
      'upcoming',
      'search',
      'organizer',
      'mine',
      'ordering',
      'page',
      'page_size',
    ]);

    function queryVerdict(key: string, value: string): Verdict {
      switch (key) {
        case 'status':
          return (EVENT_STATUSES as readonly string[]).includes(value);
        case 'from':
        case 'to':
        case 'updated_since':
          return judgeDate(value.replace(/ (\d{2}:\d{2})$/, '+$1')).ok;
        case 'upcoming':
        case 'mine':
          return value === 'true' || value === 'false';
        case 'search':
          return textVerdict(value, 0, 200, true);
        case 'organizer':
          return textVerdict(value, 0, 150, false);
        case 'ordering':
          return (EVENT_ORDERINGS as readonly string[]).includes(value);
        case 'page':
          return integerVerdict(value, 10_000_000);
        case 'page_size':
          return integerVerdict(value, 200);
        default:
          return true;
      }
    }

    const cases = fc.record({
      pairs: fc.array(
        fc.constantFrom(...Object.keys(KEYS)).chain((key) => KEYS[key].map((value): [string, string] => [key, value])),
        { maxLength: 5 },
      ),
      auth: fc.constantFrom('none', 'none', 'viewer', 'viewer', 'junk'),
    });

    await runProperty([label], cases, 480, async ({ pairs, auth }) => {
      const query: QueryCase = { pairs, text: queryText(pairs) };
      const decoded = new Map<string, string[]>();
      for (const [key, value] of pairs) decoded.set(key, [...(decoded.get(key) ?? []), decodeQueryValue(value)]);
      const verdicts: Verdict[] = [];
      for (const [key, values] of decoded) {
        if (!KNOWN.has(key)) continue;
        verdicts.push(values.length > 1 ? false : queryVerdict(key, values[0]));
      }
      const ok = combine(...verdicts);
      const single = (key: string) => (decoded.get(key)?.length === 1 ? decoded.get(key)![0] : undefined);
      const mine = single('mine') === 'true';

      let request = t.http.get(`/api/events/?${query.text}`);
      if (auth === 'viewer') request = request.set(bearer(viewer.access));
      if (auth === 'junk') request = request.set('Authorization', 'Bearer junk');
      const res = await request;
      tally(label, res.status);
      const what = `GET /api/events/?${clip(query.text)} (auth: ${auth})`;
      expectWellFormed(res, what);
      if (auth === 'junk') expect(res.status, what).toBe(401);
      else if (ok === false) expect(res.status, `an invalid query was answered: ${what}`).toBe(400);
      else if (ok === true) expect(res.status, `${what}\n${clip(res.text)}`).toBe(mine && auth === 'none' ? 401 : 200);
      if (res.status !== 200) return;

      const events = res.body as EventJson[];
      const pageSize = Number(single('page_size') ?? 50);
      expect(Array.isArray(events), what).toBe(true);
      expect(events.length, what).toBeLessThanOrEqual(pageSize);
      expect(res.headers['x-total-count'], what).toMatch(/^\d+$/);
      const status = single('status');
      const [from, to] = [single('from'), single('to')].map((value) =>
        value === undefined ? undefined : judgeDate(value.replace(/ (\d{2}:\d{2})$/, '+$1')).utc,
      );
      const ordering = single('ordering') ?? 'date_time';
      const since = single('updated_since');
      const sinceMs =
        since === undefined ? undefined : instantToTheMillisecond(since.replace(/ (\d{2}:\d{2})$/, '+$1'));
      for (const event of events) {
        if (sinceMs !== undefined) {
          expect(
            Date.parse(event.updated_at as string),
            `updated before updated_since: ${what}`,
          ).toBeGreaterThanOrEqual(sinceMs);
        }
        if (mine) expect(event.organizer_id, what).toBe(viewer.id);
        else expect(event.status, `a draft in the public list: ${what}`).not.toBe('draft');
        if (status) expect(event.status, what).toBe(status);
        if (from) expect((event.date_time as string) >= from, `before from: ${what}`).toBe(true);
        if (to) expect((event.date_time as string) < to, `not before to: ${what}`).toBe(true);
      }
      for (const field of ['date_time', 'updated_at']) {
        if (ordering !== field && ordering !== `-${field}`) continue;
        const times = events.map((event) => event[field] as string);
        const sorted = [...times].sort();
        expect(times, `ordering ${ordering}: ${what}`).toEqual(ordering === field ? sorted : sorted.reverse());
      }
    });
  }, 120_000);

  const eventFieldArbitraries = {
    title: textField(1, 200, true),
    description: textField(0, 10_000, false),
    date_time: dateField,
    location: textField(1, 255, true),
    status: statusField,
    capacity: capacityField,
    timezone: timezoneField,
  };

  /** Event bodies: mixed valid and invalid fields, all-valid ones, and bodies that are not objects. */
  function eventBodies(required: readonly string[], absentFreq: number): fc.Arbitrary<BodyCase> {
    const a = eventFieldArbitraries;
    const mixed = fc
      .record({
        title: maybe(a.title, absentFreq),
        description: maybe(a.description, absentFreq),
        date_time: maybe(a.date_time, absentFreq),
        location: maybe(a.location, absentFreq),
        status: maybe(a.status, absentFreq),
        capacity: maybe(a.capacity, absentFreq),
        timezone: maybe(a.timezone, 3),
        extras: extrasArbitrary([...READ_ONLY_EVENT_EXTRAS, ...UNKNOWN_EXTRAS]),
      })
      .map(({ extras, ...fields }) => objectBody(fields, extras, required));
    const optional = (key: string, arbitrary: fc.Arbitrary<Field>) =>
      required.includes(key) ? arbitrary : maybe(arbitrary, 3);
    const valid = fc
      .record({
        title: optional('title', notInvalid(a.title)),
        description: optional('description', notInvalid(a.description)),
        date_time: optional('date_time', notInvalid(a.date_time)),
        location: optional('location', notInvalid(a.location)),
        status: optional('status', notInvalid(a.status)),
        capacity: optional('capacity', notInvalid(a.capacity)),
        timezone: maybe(notInvalid(a.timezone), 3),
        extras: extrasArbitrary(READ_ONLY_EVENT_EXTRAS),
      })
      .map(({ extras, ...fields }) => objectBody(fields, extras, required));
    return fc.oneof(
      { weight: 4, arbitrary: mixed },
      { weight: 3, arbitrary: valid },
      { weight: 1, arbitrary: rawBody },
    );
  }

  /** What an event must read back as after the fields sent were applied to it (the API trims title and location). */
  function applied(before: Record<string, unknown>, sent: Record<string, unknown>): Record<string, unknown> {
    const after = { ...before };
    if (sent.title !== undefined) after.title = (sent.title as string).trim();
    if (sent.description !== undefined) after.description = sent.description;
    if (sent.date_time !== undefined) after.date_time = judgeDate(sent.date_time as string).utc ?? after.date_time;
    if (sent.location !== undefined) after.location = (sent.location as string).trim();
    if (sent.status !== undefined) after.status = sent.status;
    if (sent.capacity !== undefined) after.capacity = sent.capacity;
    if (sent.timezone !== undefined) after.timezone = spellZone(sent.timezone as string);
    after.available_slots = (after.capacity as number) - (after.attendees_count as number);
    if (typeof after.date_time === 'string' && typeof after.timezone === 'string') {
      after.local_date_time = localDateTime(after.date_time, after.timezone);
    }
    return after;
  }

  const withoutUpdatedAt = ({ updated_at: _updatedAt, ...rest }: Record<string, unknown>) => rest;

  it('POST /api/events/: any body is a 201 that reads back as sent, or a 4xx problem that creates nothing', async () => {
    const label = 'POST /api/events/';
    const organizer = await createUser(t.http);
    const events = () => countOf('SELECT COUNT(*) AS n FROM events WHERE organizer_id = ?', [organizer.id]);

    await runProperty([label], eventBodies(['title', 'date_time', 'location', 'capacity'], 10), 400, async (body) => {
      const before = await events();
      const rendered = render(body);
      const res = await send(t.http.post('/api/events/').set(bearer(organizer.access)), rendered);
      tally(label, res.status);
      const what = `POST /api/events/ ${show(rendered.payload)}`;
      expectWellFormed(res, what);
      expectVerdict(res, body.ok, what, [201]);
      const after = await events();
      if (res.status !== 201) {
        expect(after, `a refused create made an event: ${what}`).toBe(before);
        return;
      }
      expect(after, `one event more: ${what}`).toBe(before + 1);
      const sent = rendered.values ?? {};
      const expected = applied(
        {
          description: '',
          status: 'active',
          timezone: 'UTC',
          attendees_count: 0,
          waitlist_count: 0,
          organizer: organizer.username,
          organizer_id: organizer.id,
        },
        sent,
      );
      expect(res.body, `the 201 body: ${what}`).toMatchObject(expected);
      const read = await t.http.get(`/api/events/${res.body.id}/`).set(bearer(organizer.access));
      expect(read.status, read.text).toBe(200);
      expect(read.body, `the event reads back differently from the 201 answer: ${what}`).toEqual(res.body);
    });
  }, 180_000);

  /** An event with two confirmed registrations, for PUT and PATCH: lowering capacity below 2 or going back to draft is a 409. */
  async function eventWithAttendees(organizer: TestUser) {
    const event = await createEvent(t.http, organizer, { capacity: 4 });
    await register(event.id);
    await register(event.id);
    return event;
  }

  async function runUpdate(method: 'put' | 'patch', required: readonly string[], numRuns: number): Promise<void> {
    const label = `${method.toUpperCase()} /api/events/:id/`;
    const organizer = await createUser(t.http);
    const event = await eventWithAttendees(organizer);

    await runProperty([label], eventBodies(required, method === 'put' ? 12 : 2), numRuns * 4, async (body) => {
      const before = await eventState(event.id, organizer);
      const rendered = render(body);
      const res = await send(t.http[method](`/api/events/${event.id}/`).set(bearer(organizer.access)), rendered);
      tally(label, res.status);
      const what = `${label} ${show(rendered.payload)}`;
      expectWellFormed(res, what);
      const sent = rendered.values ?? {};
      const conflict =
        body.ok === true &&
        ((typeof sent.capacity === 'number' && sent.capacity < before.capacity.attendees_count) ||
          sent.status === 'draft');
      const date = typeof sent.date_time === 'string' ? judgeDate(sent.date_time).utc : before.event.date_time;
      const zone = sent.timezone !== undefined ? sent.timezone : before.event.timezone;
      const edge = typeof date === 'string' && typeof zone === 'string' && nearYear10000(date, zone);
      if (conflict) expect(res.status, `${what}\n  -> ${res.status} ${res.text}`).toBe(409);
      else expectVerdict(res, edge ? null : body.ok, what, [200]);

      const after = await eventState(event.id, organizer);
      if (res.status !== 200) {
        expect(
          after,
          `a refused ${method.toUpperCase()} changed the event: ${what}\n  -> ${res.status} ${res.text}`,
        ).toEqual(before);
        return;
      }
      expect(after.event, `the event reads back differently from the 200 answer: ${what}`).toEqual(res.body);
      expect(withoutUpdatedAt(after.event), `the event after: ${what}`).toEqual(
        withoutUpdatedAt(applied(before.event, sent)),
      );
      expect((after.event.updated_at as string) >= (before.event.updated_at as string), what).toBe(true);
      expect(after.registrations, `the registrations changed: ${what}`).toEqual(before.registrations);
    });
  }

  it(
    'PUT /api/events/:id/: any body is a 200 that reads back as sent, or a 4xx problem that changes nothing',
    () => runUpdate('put', ['title', 'description', 'date_time', 'location', 'status', 'capacity'], 60),
    180_000,
  );

  it(
    'PATCH /api/events/:id/: any body is a 200 that reads back as sent, or a 4xx problem that changes nothing',
    () => runUpdate('patch', [], 80),
    180_000,
  );

  it('event id paths: any :id is answered without a 5xx, and a stranger changes nothing', async () => {
    const organizer = await createUser(t.http);
    const stranger = await createUser(t.http);
    // The target is cancelled (registration closed), so no generated path can add a registration anywhere.
    const target = await createEvent(t.http, organizer);
    const seat = await register(target.id);
    const patched = await t.http
      .patch(`/api/events/${target.id}/`)
      .set(bearer(organizer.access))
      .send({ status: 'cancelled' });
    expect(patched.status, patched.text).toBe(200);

    type Op = {
      label: string;
      method: 'get' | 'put' | 'patch' | 'delete' | 'post';
      suffix: string;
      auth: 'none' | 'stranger';
      body?: () => Record<string, unknown>;
      /** The status when :id is the target. */
      target: number;
    };
    const ops: Op[] = [
      { label: 'GET /api/events/:id/', method: 'get', suffix: '/', auth: 'none', target: 200 },
      { label: 'GET /api/events/:id/capacity', method: 'get', suffix: '/capacity', auth: 'none', target: 200 },
      { label: 'GET /api/events/:id/waitlist', method: 'get', suffix: '/waitlist', auth: 'stranger', target: 200 },
      {
        label: 'GET /api/events/:id/registrations/',
        method: 'get',
        suffix: '/registrations/',
        auth: 'stranger',
        target: 403,
      },
      {
        label: 'PUT /api/events/:id/',
        method: 'put',
        suffix: '/',
        auth: 'stranger',
        body: () => eventBody(),
        target: 403,
      },
      {
        label: 'PATCH /api/events/:id/',
        method: 'patch',
        suffix: '/',
        auth: 'stranger',
        body: () => ({ title: 'Taken over' }),
        target: 403,
      },
      { label: 'DELETE /api/events/:id/', method: 'delete', suffix: '/', auth: 'stranger', target: 403 },
      {
        label: 'POST /api/events/:id/register',
        method: 'post',
        suffix: '/register',
        auth: 'none',
        body: () => ({ name: 'Path Fuzzer', email: `${unique('fz')}@example.com` }),
        target: 409,
      },
      {
        label: 'GET /api/events/:id/registrations/:rid/',
        method: 'get',
        suffix: `/registrations/${seat.id}/`,
        auth: 'none',
        target: 401,
      },
      {
        label: 'DELETE /api/events/:id/registrations/:rid/',
        method: 'delete',
        suffix: `/registrations/${seat.id}/`,
        auth: 'stranger',
        target: 403,
      },
      {
        label: 'POST /api/events/:id/registrations/:rid/check-in/',
        method: 'post',
        suffix: `/registrations/${seat.id}/check-in/`,
        auth: 'stranger',
        target: 403,
      },
      {
        label: 'DELETE /api/events/:id/registrations/:rid/check-in/',
        method: 'delete',
        suffix: `/registrations/${seat.id}/check-in/`,
        auth: 'stranger',
        target: 403,
      },
    ];
    const labels = [...new Set(ops.map((op) => `${op.label} (id path)`))];

    const cases = fc.record({ op: fc.constantFrom(...ops), id: fc.constantFrom(...ID_TEMPLATES) });
    await runProperty(labels, cases, 560, async ({ op, id }) => {
      const before = await eventState(target.id, organizer);
      const path = `/api/events/${fillId(id.template, target.id)}${op.suffix}`;
      let request = t.http[op.method](path);
      if (op.auth === 'stranger') request = request.set(bearer(stranger.access));
      const res = await (op.body ? request.send(op.body()) : request);
      tally(`${op.label} (id path)`, res.status);
      const what = `${op.method.toUpperCase()} ${clip(path, 200)} (${id.kind})`;
      expectWellFormed(res, what);
      const allowed =
        id.kind === 'target'
          ? [op.target]
          : id.kind === 'maybe'
            ? [op.target, 400, 404]
            : id.kind === 'unknown'
              ? [400, 404]
              : [400, 404];
      expect(allowed, `${what}\n  -> ${res.status} ${clip(res.text)}`).toContain(res.status);
      const after = await eventState(target.id, organizer);
      expect(after, `the event changed after: ${what}\n  -> ${res.status} ${res.text}`).toEqual(before);
    });
  }, 180_000);

  // ------------------------------------------------------------ registrations

  it('POST /api/events/:id/register: any body is a 201 that reads back, a 409 duplicate, or a 4xx problem that changes nothing', async () => {
    const label = 'POST /api/events/:id/register';
    const organizer = await createUser(t.http);
    const attendee = await createUser(t.http);
    const event = await createEvent(t.http, organizer, { capacity: 3, date_time: FUTURE });
    const taken: string[] = [];

    const emailField: fc.Arbitrary<Field> = fc.oneof(
      {
        weight: 5,
        arbitrary: fc
          .record({
            domain: fc.constantFrom('example.com', 'MAIL.example.org', 'xn--bcher-kva.example'),
            upper: fc.boolean(),
            pad: fc.constantFrom('', ' ', '\t'),
          })
          .map(({ domain, upper, pad }) => {
            const address = `${MARKER}@${domain}`;
            return stringField(pad + (upper ? address.toUpperCase() : address) + pad, true);
          }),
      },
      { weight: 2, arbitrary: fc.nat().map((mask): Field => ({ text: '', ok: true, special: 'dup', mask })) },
      {
        weight: 2,
        arbitrary: fc
          .constantFrom(
            '',
            'plainaddress',
            `${MARKER}@`,
            `${MARKER}@example`,
            `ü${MARKER}@example.com`,
            `${MARKER}@example..com`,
          )
          .map((value) => stringField(value, false)),
      },
      {
        weight: 2,
        arbitrary: fc
          .constantFrom(`${MARKER}@例え.jp`, `${MARKER}@b\uFE0F.com`)
          .map((value) => stringField(value, null)),
      },
      {
        weight: 1,
        arbitrary: anyString(254)
          .filter((v) => !LONE_SURROGATE.test(v))
          .map((value) => stringField(value, null)),
      },
      { weight: 1, arbitrary: notAString.map((text): Field => ({ text, ok: false })) },
    );

    const cases = fc.record({
      body: fc.oneof(
        {
          weight: 6,
          arbitrary: fc
            .record({
              name: maybe(textField(1, 200, true), 12),
              email: maybe(emailField, 12),
              extras: extrasArbitrary(UNKNOWN_EXTRAS),
            })
            .map(({ extras, ...fields }) => objectBody(fields, extras, ['name', 'email'])),
        },
        { weight: 1, arbitrary: rawBody },
      ),
      auth: fc.constantFrom('none', 'none', 'none', 'attendee', 'junk'),
    });

    await runProperty([label], cases, 400, async ({ body, auth }) => {
      const before = await eventState(event.id, organizer);
      let duplicate = false;
      const rendered = render(body, (entry) => {
        if (taken.length === 0) return JSON.stringify(`${unique('fz')}@example.com`);
        duplicate = true;
        const email = taken[(entry.field.mask ?? 0) % taken.length];
        return JSON.stringify(email.toUpperCase());
      });
      let request = t.http.post(`/api/events/${event.id}/register`);
      if (auth === 'attendee') request = request.set(bearer(attendee.access));
      if (auth === 'junk') request = request.set('Authorization', 'Bearer junk');
      const res = await send(request, rendered);
      tally(label, res.status);
      const what = `POST /api/events/${event.id}/register (auth: ${auth}) ${show(rendered.payload)}`;
      expectWellFormed(res, what);
      if (auth === 'junk') expect(res.status, what).toBeGreaterThanOrEqual(400);
      else if (duplicate && body.ok === true) expect(res.status, `a duplicate email: ${what}\n${res.text}`).toBe(409);
      else expectVerdict(res, body.ok, what, [201]);

      const after = await eventState(event.id, organizer);
      if (res.status !== 201) {
        expect(after, `a refused registration changed the event: ${what}\n  -> ${res.status} ${res.text}`).toEqual(
          before,
        );
        return;
      }
      const sent = rendered.values ?? {};
      const registration = res.body.registration as Record<string, unknown>;
      const seat = before.capacity.attendees_count < before.capacity.capacity;
      expect(registration, `the 201 body: ${what}`).toMatchObject({
        event_id: event.id,
        name: (sent.name as string).trim(),
        email: normalizeEmail(sent.email as string),
        status: seat ? 'confirmed' : 'waitlisted',
        position: seat ? null : before.capacity.waitlist_count + 1,
      });
      taken.push(registration.email as string);
      expect(after.capacity, `the counters: ${what}`).toEqual({
        ...before.capacity,
        attendees_count: before.capacity.attendees_count + (seat ? 1 : 0),
        available_slots: before.capacity.available_slots - (seat ? 1 : 0),
        waitlist_count: before.capacity.waitlist_count + (seat ? 0 : 1),
      });
      expect(after.registrations, `the registration list: ${what}`).toEqual([...before.registrations, registration]);
      const read = await t.http
        .get(`/api/events/${event.id}/registrations/${registration.id}/`)
        .set('X-Registration-Token', res.body.cancel_token as string);
      expect(read.status, read.text).toBe(200);
      expect(read.body, `the registration reads back differently from the 201 answer: ${what}`).toEqual(registration);
    });
  }, 180_000);

  it('registration id paths: any :rid is answered without a 5xx, and nothing is cancelled or checked in', async () => {
    const organizer = await createUser(t.http);
    const stranger = await createUser(t.http);
    const event = await createEvent(t.http, organizer, { capacity: 1, date_time: FUTURE });
    const first = await register(event.id);
    const second = await register(event.id);
    const elsewhere = await createEvent(t.http, organizer, { date_time: FUTURE });
    const foreign = await register(elsewhere.id);

    type Op = {
      label: string;
      method: 'get' | 'delete' | 'post';
      /** After `:rid/`: nothing, or the check-in. */
      suffix: '' | 'check-in/';
      credentials: 'organizer' | 'own-token' | 'other-token' | 'none' | 'stranger';
      /** The registration :rid stands for: the first (confirmed, not checked in) unless it is the second (waitlisted). */
      of?: 'second';
      /** The status when :rid is that registration. */
      target: number;
    };
    const ops: Op[] = [
      { label: 'GET', method: 'get', suffix: '', credentials: 'organizer', target: 200 },
      { label: 'GET', method: 'get', suffix: '', credentials: 'own-token', target: 200 },
      { label: 'GET', method: 'get', suffix: '', credentials: 'other-token', target: 403 },
      { label: 'GET', method: 'get', suffix: '', credentials: 'none', target: 401 },
      { label: 'GET', method: 'get', suffix: '', credentials: 'stranger', target: 403 },
      { label: 'DELETE', method: 'delete', suffix: '', credentials: 'other-token', target: 403 },
      { label: 'DELETE', method: 'delete', suffix: '', credentials: 'none', target: 401 },
      { label: 'DELETE', method: 'delete', suffix: '', credentials: 'stranger', target: 403 },
      // Check-in is the organizer's, with a JWT: a cancel token alone is no credential there.
      { label: 'POST', method: 'post', suffix: 'check-in/', credentials: 'organizer', of: 'second', target: 409 },
      { label: 'POST', method: 'post', suffix: 'check-in/', credentials: 'own-token', target: 401 },
      { label: 'POST', method: 'post', suffix: 'check-in/', credentials: 'stranger', target: 403 },
      { label: 'DELETE', method: 'delete', suffix: 'check-in/', credentials: 'organizer', target: 409 },
      { label: 'DELETE', method: 'delete', suffix: 'check-in/', credentials: 'none', target: 401 },
    ];
    const labels = [
      'GET /api/events/:id/registrations/:rid/',
      'DELETE /api/events/:id/registrations/:rid/',
      'POST /api/events/:id/registrations/:rid/check-in/',
      'DELETE /api/events/:id/registrations/:rid/check-in/',
    ];
    const templates = [...ID_TEMPLATES, { template: '{foreign}', kind: 'unknown' as const }];

    const cases = fc.record({ op: fc.constantFrom(...ops), rid: fc.constantFrom(...templates) });
    await runProperty(labels, cases, 420, async ({ op, rid }) => {
      const before = await eventState(event.id, organizer);
      const id = op.of === 'second' ? second.id : first.id;
      const path = `/api/events/${event.id}/registrations/${fillId(rid.template, id).replace('{foreign}', String(foreign.id))}/${op.suffix}`;
      let request = t.http[op.method](path);
      if (op.credentials === 'organizer') request = request.set(bearer(organizer.access));
      if (op.credentials === 'stranger') request = request.set(bearer(stranger.access));
      if (op.credentials === 'own-token') request = request.set('X-Registration-Token', first.token);
      if (op.credentials === 'other-token') request = request.set('X-Registration-Token', second.token);
      const res = await request;
      const label = `${op.label} /api/events/:id/registrations/:rid/${op.suffix}`;
      tally(label, res.status);
      const what = `${op.label} ${clip(path, 200)} (${rid.kind}, ${op.credentials})`;
      expectWellFormed(res, what);
      // Check-in asks whether the caller organizes the event before it looks for the registration.
      const refusedFirst = op.suffix && op.credentials === 'stranger' ? [403] : [];
      const allowed =
        rid.kind === 'target'
          ? [op.target]
          : rid.kind === 'maybe'
            ? [op.target, 400, 404]
            : [400, 401, 404, ...refusedFirst];
      expect(allowed, `${what}\n  -> ${res.status} ${clip(res.text)}`).toContain(res.status);
      const after = await eventState(event.id, organizer);
      expect(after, `the registrations changed after: ${what}\n  -> ${res.status} ${res.text}`).toEqual(before);
    });
  }, 180_000);

  it('check-in: any body and credentials give the answer the rules say, and a 4xx problem changes nothing', async () => {
    const organizer = await createUser(t.http);
    const stranger = await createUser(t.http);
    const event = await createEvent(t.http, organizer, { capacity: 2, date_time: FUTURE });
    const registrations = [await register(event.id), await register(event.id), await register(event.id)];
    /** The model: which registrations are checked in (the third is waitlisted). */
    const checkedIn = new Set<number>();

    type Auth = 'organizer' | 'stranger' | 'none' | 'junk' | 'cancel-token';
    const cases = fc.record({
      method: fc.constantFrom<'post' | 'delete'>('post', 'delete'),
      which: fc.constantFrom(0, 1, 2, 'unknown' as const),
      auth: fc.oneof(
        { weight: 4, arbitrary: fc.constant<Auth>('organizer') },
        fc.constantFrom<Auth>('stranger', 'none', 'junk', 'cancel-token'),
      ),
      body: fc.oneof(
        { weight: 3, arbitrary: fc.constant<BodyCase>({ kind: 'none', ok: true }) },
        { weight: 1, arbitrary: extrasArbitrary(UNKNOWN_EXTRAS).map((extras) => objectBody({}, extras, [])) },
        { weight: 2, arbitrary: rawBody },
      ),
    });
    const labels = [
      'POST /api/events/:id/registrations/:rid/check-in/ (rules)',
      'DELETE /api/events/:id/registrations/:rid/check-in/ (rules)',
    ];

    await runProperty(labels, cases, 120, async ({ method, which, auth, body }) => {
      const before = await eventState(event.id, organizer);
      const target = which === 'unknown' ? undefined : registrations[which];
      const path = `/api/events/${event.id}/registrations/${target?.id ?? 2_000_000_000}/check-in/`;
      let request = t.http[method](path);
      if (auth === 'organizer') request = request.set(bearer(organizer.access));
      if (auth === 'stranger') request = request.set(bearer(stranger.access));
      if (auth === 'junk') request = request.set('Authorization', 'Bearer junk');
      if (auth === 'cancel-token') request = request.set('X-Registration-Token', registrations[0].token);
      const rendered = render(body);
      const res = await send(request, rendered);
      const label = `${method.toUpperCase()} /api/events/:id/registrations/:rid/check-in/ (rules)`;
      tally(label, res.status);
      const what = `${method.toUpperCase()} ${path} (auth: ${auth}) ${show(rendered.payload)}`;
      expectWellFormed(res, what);

      const isIn = target !== undefined && checkedIn.has(target.id);
      const expected =
        auth === 'stranger'
          ? 403
          : auth !== 'organizer'
            ? 401
            : target === undefined
              ? 404
              : method === 'delete'
                ? isIn
                  ? 200
                  : 409
                : which === 2 || isIn
                  ? 409
                  : 200;
      // A body is not read here; one the server cannot parse as JSON is refused before the route.
      const allowed = body.kind === 'none' ? [expected] : [expected, 400, 413, 415];
      expect(allowed, `${what}\n  -> ${res.status} ${clip(res.text)}`).toContain(res.status);

      const after = await eventState(event.id, organizer);
      if (res.status !== 200) {
        expect(after, `a refused check-in changed the event: ${what}\n  -> ${res.status} ${res.text}`).toEqual(before);
        return;
      }
      if (method === 'post') checkedIn.add(target!.id);
      else checkedIn.delete(target!.id);
      expect(res.body, what).toEqual({
        ...before.registrations.find((row) => row.id === target!.id),
        checked_in_at: method === 'post' ? expect.any(String) : null,
      });
      expect(after.capacity, what).toEqual({ ...before.capacity, checked_in_count: checkedIn.size });
      expect(
        after.registrations.filter((row) => row.checked_in_at !== null).map((row) => row.id),
        what,
      ).toEqual(registrations.filter((r) => checkedIn.has(r.id)).map((r) => r.id));
      expect(after.event, what).toEqual(before.event);
    });
  }, 180_000);

  it('X-Registration-Token: only the exact token opens its registration; anything else is a 4xx problem that cancels nothing', async () => {
    const organizer = await createUser(t.http);
    const stranger = await createUser(t.http);
    const event = await createEvent(t.http, organizer, { capacity: 2, date_time: FUTURE });
    const other = await register(event.id);
    let current = await register(event.id);

    type HeaderChoice =
      'exact' | 'padded' | 'other' | 'upper' | 'truncated' | 'extended' | 'twice' | 'empty' | 'hash' | 'long';
    const latin1 = fc.string({
      unit: fc
        .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }), fc.constant(0x09))
        .map((code) => String.fromCharCode(code)),
      maxLength: 300,
    });
    const cases = fc.record({
      method: fc.constantFrom<'get' | 'delete'>('get', 'delete'),
      header: fc.oneof(
        {
          weight: 6,
          arbitrary: fc.constantFrom<HeaderChoice>(
            'exact',
            'padded',
            'other',
            'upper',
            'truncated',
            'extended',
            'twice',
            'empty',
            'hash',
            'long',
          ),
        },
        { weight: 2, arbitrary: latin1.map((value) => ({ junk: value })) },
        { weight: 1, arbitrary: fc.constant<'absent'>('absent') },
      ),
      stranger: fc.boolean(),
    });

    const labels = [
      'GET /api/events/:id/registrations/:rid/ (X-Registration-Token)',
      'DELETE /api/events/:id/registrations/:rid/ (X-Registration-Token)',
    ];
    await runProperty(labels, cases, 320, async ({ method, header, stranger: asStranger }) => {
      const before = await eventState(event.id, organizer);
      let value: string | string[] | undefined;
      let opens: boolean;
      if (header === 'absent') [value, opens] = [undefined, false];
      else if (typeof header === 'object') [value, opens] = [header.junk, false];
      else {
        const token = current.token;
        const values: Record<HeaderChoice, [string | string[], boolean]> = {
          exact: [token, true],
          padded: [` \t${token} `, true],
          other: [other.token, false],
          upper: [token.toUpperCase(), token.toUpperCase() === token],
          truncated: [token.slice(0, -1), false],
          extended: [`${token}A`, false],
          twice: [[token, token], false],
          empty: ['', false],
          hash: [createHash('sha256').update(token).digest('hex'), false],
          long: [token + 'A'.repeat(8000), false],
        };
        [value, opens] = values[header as HeaderChoice];
      }
      const path = `/api/events/${event.id}/registrations/${current.id}/`;
      let request = t.http[method](path);
      // supertest sends an array as the header repeated (the server joins the values with a comma).
      if (value !== undefined) request = request.set('X-Registration-Token', value as string);
      if (asStranger) request = request.set(bearer(stranger.access));
      const res = await request;
      const label = `${method.toUpperCase()} /api/events/:id/registrations/:rid/ (X-Registration-Token)`;
      tally(label, res.status);
      const what = `${method.toUpperCase()} ${path} X-Registration-Token: ${show(value)}${asStranger ? ' + stranger bearer' : ''}`;
      expectWellFormed(res, what);
      if (opens) expect(res.status, `${what}\n${res.text}`).toBe(200);
      else if (value === undefined && !asStranger) expect(res.status, `${what}\n${res.text}`).toBe(401);
      else if (value === '' && !asStranger) expect([401, 403], `${what}\n${res.text}`).toContain(res.status);
      else expect(res.status, `${what}\n${res.text}`).toBe(403);

      const after = await eventState(event.id, organizer);
      if (method === 'delete' && res.status === 200) {
        expect(res.body, what).toEqual({ detail: 'Registration cancelled' });
        expect(
          after.registrations.map((row) => row.id),
          what,
        ).not.toContain(current.id);
        expect(after.capacity.attendees_count + after.capacity.waitlist_count, what).toBe(
          before.capacity.attendees_count + before.capacity.waitlist_count - 1,
        );
        current = await register(event.id);
        return;
      }
      if (res.status === 200) expect(res.body.id, what).toBe(current.id);
      expect(after, `the registration changed after: ${what}\n  -> ${res.status} ${res.text}`).toEqual(before);
    });
  }, 180_000);

  it('Idempotency-Key: any value on a write is a 400 that changes nothing, a first run, or a replay of it', async () => {
    const label = 'POST /api/events/:id/register (Idempotency-Key)';
    const organizer = await createUser(t.http);
    const event = await createEvent(t.http, organizer, { capacity: 500, date_time: FUTURE });
    const firstAnswers = new Map<string, { email: string; text: string }>();
    let registered = 0;

    const printable = fc.string({
      unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
      minLength: 1,
      maxLength: 260,
    });
    const latin1 = fc.string({
      unit: fc
        .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }), fc.constant(0x09))
        .map((code) => String.fromCharCode(code)),
      maxLength: 300,
    });
    const cases = fc.record({
      key: fc.oneof(
        { weight: 4, arbitrary: printable },
        { weight: 2, arbitrary: latin1 },
        { weight: 2, arbitrary: fc.nat().map((pick) => ({ reuse: pick })) },
      ),
      sameBody: fc.boolean(),
    });

    await runProperty([label], cases, 40, async ({ key: generated, sameBody }) => {
      const known = [...firstAnswers.keys()];
      const reused =
        typeof generated === 'object' && known.length > 0 ? known[generated.reuse % known.length] : undefined;
      const key = typeof generated === 'object' ? (reused ?? 'first-key') : generated;
      const email = reused && sameBody ? firstAnswers.get(reused)!.email : `${unique('fz')}@example.com`;
      const res = await t.http
        .post(`/api/events/${event.id}/register`)
        .set('Idempotency-Key', key)
        .send({ name: 'Fuzz Retry', email });
      tally(label, res.status);
      const what = `POST /api/events/${event.id}/register Idempotency-Key: ${show(key)}`;
      expectWellFormed(res, what);

      // Node drops the spaces and tabs around a header value.
      const received = key.replace(/^[ \t]+|[ \t]+$/g, '');
      const first = firstAnswers.get(received);
      if (!/^[\x20-\x7e]{1,255}$/.test(received)) {
        expect(res.status, `${what}\n${res.text}`).toBe(400);
        expect(res.body.errors, what).toHaveProperty(['Idempotency-Key']);
      } else if (!first) {
        expect(res.status, `${what}\n${res.text}`).toBe(201);
        expect(res.headers['idempotent-replayed'], what).toBeUndefined();
        firstAnswers.set(received, { email, text: res.text });
        registered++;
      } else if (first.email === email) {
        expect(res.status, `${what}\n${res.text}`).toBe(201);
        expect(res.headers['idempotent-replayed'], what).toBe('true');
        expect(res.text, what).toBe(first.text);
      } else {
        expect(res.status, `${what}\n${res.text}`).toBe(422);
      }
      const capacity = await t.http.get(`/api/events/${event.id}/capacity`);
      expect(capacity.body.attendees_count + capacity.body.waitlist_count, what).toBe(registered);
    });
  }, 120_000);

  it('waitlist and registration lists: any page, page_size, status and checked_in is a consistent page or a 4xx problem', async () => {
    const organizer = await createUser(t.http);
    const stranger = await createUser(t.http);
    const event = await createEvent(t.http, organizer, { capacity: 2, date_time: FUTURE });
    const arrived = await register(event.id, 'Arrived');
    for (let i = 0; i < 4; i++) await register(event.id, `Waiting ${i}`);
    const checkIn = await t.http
      .post(`/api/events/${event.id}/registrations/${arrived.id}/check-in/`)
      .set(bearer(organizer.access));
    expect(checkIn.status, checkIn.text).toBe(200);
    const all = await registrationsOf(event.id, organizer);
    const waiting = all.filter((row) => row.status === 'waitlisted');
    expect(waiting).toHaveLength(3);

    const KEYS: Record<string, fc.Arbitrary<string>> = {
      page: queryValue(pageQuery),
      page_size: queryValue(pageQuery),
      status: queryValue(
        fc.oneof(fc.constantFrom('confirmed', 'waitlisted', 'CONFIRMED', '', 'cancelled'), anyString(20)),
      ),
      checked_in: queryValue(fc.oneof(fc.constantFrom('true', 'false', 'TRUE', '1', '', ' true'), anyString(10))),
      ['__proto__']: queryValue(anyString(10)),
      hasOwnProperty: queryValue(anyString(10)),
      unknown: queryValue(anyString(10)),
    };
    const cases = fc.record({
      endpoint: fc.constantFrom('waitlist', 'registrations', 'registrations-csv'),
      auth: fc.constantFrom('organizer', 'organizer', 'stranger', 'none', 'junk'),
      pairs: fc.array(
        fc.constantFrom(...Object.keys(KEYS)).chain((key) => KEYS[key].map((value): [string, string] => [key, value])),
        { maxLength: 4 },
      ),
    });
    const labelOf = (endpoint: string) =>
      endpoint === 'waitlist'
        ? 'GET /api/events/:id/waitlist'
        : endpoint === 'registrations'
          ? 'GET /api/events/:id/registrations/'
          : 'GET /api/events/:id/registrations/ (text/csv)';

    await runProperty(
      ['waitlist', 'registrations', 'registrations-csv'].map(labelOf),
      cases,
      120,
      async ({ endpoint, auth, pairs }) => {
        const decoded = new Map<string, string[]>();
        for (const [key, value] of pairs) decoded.set(key, [...(decoded.get(key) ?? []), decodeQueryValue(value)]);
        const known = endpoint === 'waitlist' ? ['page', 'page_size'] : ['page', 'page_size', 'status', 'checked_in'];
        const verdicts: Verdict[] = [];
        for (const [key, values] of decoded) {
          if (!known.includes(key)) continue;
          if (values.length > 1) verdicts.push(false);
          else if (key === 'status') verdicts.push(['confirmed', 'waitlisted'].includes(values[0]));
          else if (key === 'checked_in') verdicts.push(['true', 'false'].includes(values[0]));
          else verdicts.push(integerVerdict(values[0], key === 'page' ? 10_000_000 : 200));
        }
        const ok = combine(...verdicts);
        const single = (key: string) => (decoded.get(key)?.length === 1 ? decoded.get(key)![0] : undefined);

        const path = `/api/events/${event.id}/${endpoint === 'waitlist' ? 'waitlist' : 'registrations/'}?${queryText(pairs)}`;
        let request = t.http.get(path);
        if (endpoint === 'registrations-csv') request = request.set('Accept', 'text/csv');
        if (auth === 'organizer') request = request.set(bearer(organizer.access));
        if (auth === 'stranger') request = request.set(bearer(stranger.access));
        if (auth === 'junk') request = request.set('Authorization', 'Bearer junk');
        const res = await request;
        tally(labelOf(endpoint), res.status);
        const what = `GET ${clip(path)} (${endpoint}, auth: ${auth})`;
        expectWellFormed(res, what);
        const csvIgnoresPages = endpoint === 'registrations-csv';
        const expectedStatus =
          auth === 'none' || auth === 'junk'
            ? 401
            : ok === false
              ? 400
              : endpoint !== 'waitlist' && auth === 'stranger'
                ? 403
                : ok === true
                  ? 200
                  : undefined;
        if (expectedStatus === 400 && csvIgnoresPages) expect(res.status, what).toBeGreaterThanOrEqual(400);
        else if (expectedStatus !== undefined) expect(res.status, `${what}\n${clip(res.text)}`).toBe(expectedStatus);
        if (res.status !== 200) return;

        const page = Number(single('page') ?? 1);
        const pageSize = Number(single('page_size') ?? 50);
        const status = single('status');
        const checkedIn = single('checked_in');
        if (endpoint === 'waitlist') {
          const expected = waiting.slice((page - 1) * pageSize, page * pageSize);
          expect(res.body.count, what).toBe(3);
          expect(
            (res.body.waitlist as Record<string, unknown>[]).map((entry) => [entry.position, entry.name]),
            what,
          ).toEqual(expected.map((row, i) => [(page - 1) * pageSize + i + 1, row.name]));
          for (const entry of res.body.waitlist as Record<string, unknown>[]) {
            if (auth === 'stranger') expect(entry.email as string, `an unmasked email: ${what}`).toContain('***');
            else expect(entry.email as string, what).not.toContain('***');
          }
          return;
        }
        const filtered = all.filter(
          (row) =>
            (!status || row.status === status) &&
            (checkedIn === undefined || (row.checked_in_at !== null) === (checkedIn === 'true')),
        );
        if (endpoint === 'registrations') {
          expect(res.headers['x-total-count'], what).toBe(String(filtered.length));
          expect(res.body, what).toEqual(filtered.slice((page - 1) * pageSize, page * pageSize));
          return;
        }
        expect(res.headers['content-type'], what).toMatch(/^text\/csv/);
        const lines = res.text.trim().split(/\r?\n/);
        expect(lines, `the CSV rows: ${what}`).toHaveLength(filtered.length + 1);
      },
    );
  }, 180_000);

  it("the caller's own resources: any query on /api/me/ and /api/me/registrations/, any body on logout/all", async () => {
    const user = await createUser(t.http);
    const event = await createEvent(t.http, user, { capacity: 2, date_time: FUTURE });
    const mine: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await t.http
        .post(`/api/events/${event.id}/register`)
        .set(bearer(user.access))
        .send({ name: `Mine ${i}`, email: `${unique('me')}@example.com` });
      expect(res.status, res.text).toBe(201);
      mine.push(res.body.registration.id as number);
    }
    const KEYS: Record<string, fc.Arbitrary<string>> = {
      page: queryValue(pageQuery),
      page_size: queryValue(pageQuery),
      ['__proto__']: queryValue(anyString(10)),
      unknown: queryValue(anyString(10)),
    };
    const cases = fc.record({
      endpoint: fc.constantFrom('me', 'me/registrations', 'logout/all'),
      pairs: fc.array(
        fc.constantFrom(...Object.keys(KEYS)).chain((key) => KEYS[key].map((value): [string, string] => [key, value])),
        { maxLength: 3 },
      ),
      body: fc.oneof(
        { weight: 2, arbitrary: fc.constant<BodyCase>({ kind: 'none', ok: true }) },
        { weight: 2, arbitrary: extrasArbitrary(UNKNOWN_EXTRAS).map((extras) => objectBody({}, extras, [])) },
        { weight: 3, arbitrary: rawBody },
      ),
    });
    const LABELS = {
      me: 'GET /api/me/',
      'me/registrations': 'GET /api/me/registrations/',
      'logout/all': 'POST /api/logout/all/',
    };

    await runProperty(Object.values(LABELS), cases, 150, async ({ endpoint, pairs, body }) => {
      const label = LABELS[endpoint];
      if (endpoint === 'logout/all') {
        const session = await login(t.http, user.username, user.password);
        const rendered = render(body);
        const res = await send(t.http.post('/api/logout/all/').set(bearer(session.access)), rendered);
        tally(label, res.status);
        const what = `POST /api/logout/all/ ${show(rendered.payload)}`;
        expectWellFormed(res, what);
        expect([200, 400, 413, 415], what).toContain(res.status);
        const me = await t.http.get('/api/me/').set(bearer(session.access));
        // A 200 ends every session; a refused request ends none.
        expect(me.status, `after ${what} -> ${res.status}`).toBe(res.status === 200 ? 401 : 200);
        if (res.status === 200) user.access = (await login(t.http, user.username, user.password)).access;
        return;
      }
      const path = `/api/${endpoint}/?${queryText(pairs)}`;
      const res = await t.http.get(path).set(bearer(user.access));
      tally(label, res.status);
      const what = `GET ${clip(path)}`;
      expectWellFormed(res, what);
      if (endpoint === 'me') {
        // Query parameters mean nothing here and are ignored.
        expect(res.status, what).toBe(200);
        expect(res.body.id, what).toBe(user.id);
        return;
      }
      const decoded = new Map<string, string[]>();
      for (const [key, value] of pairs) decoded.set(key, [...(decoded.get(key) ?? []), decodeQueryValue(value)]);
      const verdicts: Verdict[] = [];
      for (const key of ['page', 'page_size']) {
        const values = decoded.get(key);
        if (!values) continue;
        verdicts.push(values.length > 1 ? false : integerVerdict(values[0], key === 'page' ? 10_000_000 : 200));
      }
      const ok = combine(...verdicts);
      expectVerdict(res, ok, what, [200]);
      if (res.status !== 200) return;
      const page = Number(decoded.get('page')?.[0] ?? 1);
      const pageSize = Number(decoded.get('page_size')?.[0] ?? 50);
      expect(res.headers['x-total-count'], what).toBe(String(mine.length));
      const ids = (res.body as { id: number }[]).map((row) => row.id);
      expect(ids.length, what).toBe(Math.max(0, Math.min(pageSize, mine.length - (page - 1) * pageSize)));
      for (const id of ids) expect(mine, what).toContain(id);
    });
  }, 180_000);

  // ------------------------------------------------------------ webhooks

  const WEBHOOK_TYPES = [
    'registration.created',
    'registration.cancelled',
    'registration.promoted',
    'registration.checked_in',
    'event.updated',
    'event.cancelled',
    'event.deleted',
  ];

  /** An independent reading of the URL rule: an absolute http(s) URL (WHATWG), no credentials, no spaces or controls, 2,048 characters at most as stored. */
  function webhookUrlVerdict(value: string): Verdict {
    // eslint-disable-next-line no-control-regex -- control characters are what is judged here
    if (/[\s\u0000-\u001f\u007f]/.test(value)) return false;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return false;
    }
    if (!['http:', 'https:'].includes(url.protocol) || url.username || url.password) return false;
    return [...url.href].length <= 2048;
  }

  it('POST /api/webhooks/: any body is a 201 that reads back, or a 4xx problem that creates nothing', async () => {
    const label = 'POST /api/webhooks/';
    const owner = await createUser(t.http);
    const endpoints = () => countOf('SELECT COUNT(*) AS n FROM webhook_endpoints WHERE user_id = ?', [owner.id]);

    const urlField: fc.Arbitrary<Field> = fc.oneof(
      {
        weight: 5,
        arbitrary: fc
          .record({
            scheme: fc.constantFrom('http', 'https', 'HTTPS'),
            host: fc.constantFrom(
              '127.0.0.1',
              'hooks.example.com',
              'HOOKS.Example.COM',
              '[::1]',
              '[2001:DB8::1]',
              'bücher.example',
              '0x7f.1',
              'localhost',
            ),
            port: fc.constantFrom('', ':8080', ':1', ':65535', ':65536', ':0'),
            path: fc.string({ unit: fc.constantFrom(...'abcXYZ019-._~/%é😀?=&#'), maxLength: 40 }),
          })
          .map(({ scheme, host, port, path }) => {
            const value = `${scheme}://${host}${port}/${path}`;
            return stringField(value, webhookUrlVerdict(value));
          }),
      },
      {
        weight: 2,
        arbitrary: fc
          .constantFrom(
            'ftp://hooks.example/x',
            'javascript:alert(1)',
            'file:///etc/passwd',
            'data:text/plain,x',
            'mailto:a@hooks.example',
            'ws://hooks.example/x',
            '//hooks.example/x',
            '/relative',
            'hooks.example/x',
            'http://',
            'http:///x',
            'http://user:pw@hooks.example/',
            'http://user@hooks.example/',
            'http://hooks.example/a b',
            ' http://hooks.example/',
            'http://hooks.example/\u0000',
            'http://hooks.example/\t',
            'http://hooks.example:99999/',
            'http://[::1/',
            'http://exa mple.com/',
            '',
            `http://hooks.example/${'a'.repeat(2026)}`,
            `http://hooks.example/${'a'.repeat(2027)}`,
            `http://hooks.example/${'é'.repeat(400)}`,
          )
          .map((value) => stringField(value, webhookUrlVerdict(value))),
      },
      {
        weight: 1,
        arbitrary: anyString(100).map((value) => stringField(value, webhookUrlVerdict(value) === false ? false : null)),
      },
      { weight: 1, arbitrary: notAString.map((text): Field => ({ text, ok: false })) },
    );

    const eventsField: fc.Arbitrary<Field> = fc.oneof(
      {
        weight: 5,
        arbitrary: fc
          .shuffledSubarray(WEBHOOK_TYPES, { minLength: 1 })
          .map((types): Field => ({ text: JSON.stringify(types), ok: true })),
      },
      {
        weight: 2,
        arbitrary: fc
          .constantFrom(
            '[]',
            '["event.updated","event.updated"]',
            '["Event.Updated"]',
            '["event.updated "]',
            '["registration.*"]',
            '["event.updated",null]',
            '["event.updated",1]',
            '[["event.updated"]]',
            '"event.updated"',
            '{"0":"event.updated"}',
            JSON.stringify([...WEBHOOK_TYPES, 'event.updated']),
          )
          .map((text): Field => ({ text, ok: false })),
      },
      {
        weight: 1,
        arbitrary: fc.array(anyString(30), { minLength: 1, maxLength: 3 }).map((values): Field => ({
          text: JSON.stringify(values),
          ok: values.every((value) => WEBHOOK_TYPES.includes(value)) && new Set(values).size === values.length,
        })),
      },
      { weight: 1, arbitrary: notAString.map((text): Field => ({ text, ok: false })) },
    );

    const READ_ONLY_WEBHOOK_EXTRAS: Extra[] = [
      { key: 'id', text: '999999', ok: true },
      { key: 'status', text: '"disabled"', ok: true },
      { key: 'created_at', text: '{}', ok: true },
      { key: 'disabled_at', text: 'null', ok: true },
      { key: 'disabled_reason', text: '[]', ok: true },
      { key: 'secret', text: '"whsec_chosen"', ok: false },
    ];

    const bodies: fc.Arbitrary<BodyCase> = fc.oneof(
      {
        weight: 5,
        arbitrary: fc
          .record({
            url: maybe(urlField, 12),
            events: maybe(eventsField, 12),
            extras: extrasArbitrary([...READ_ONLY_WEBHOOK_EXTRAS, ...UNKNOWN_EXTRAS]),
          })
          .map(({ extras, ...fields }) => objectBody(fields, extras, ['url', 'events'])),
      },
      {
        weight: 3,
        arbitrary: fc
          .record({
            url: notInvalid(urlField),
            events: notInvalid(eventsField),
            extras: extrasArbitrary(READ_ONLY_WEBHOOK_EXTRAS.filter((extra) => extra.ok)),
          })
          .map(({ extras, ...fields }) => objectBody(fields, extras, ['url', 'events'])),
      },
      { weight: 1, arbitrary: rawBody },
    );

    await runProperty([label], bodies, 200, async (body) => {
      const before = await endpoints();
      const rendered = render(body);
      const res = await send(t.http.post('/api/webhooks/').set(bearer(owner.access)), rendered);
      tally(label, res.status);
      const what = `POST /api/webhooks/ ${show(rendered.payload)}`;
      expectWellFormed(res, what);
      expectVerdict(res, body.ok, what, [201]);
      const after = await endpoints();
      if (res.status !== 201) {
        expect(after, `a refused create made an endpoint: ${what}`).toBe(before);
        return;
      }
      expect(after, `one endpoint more: ${what}`).toBe(before + 1);
      const sent = rendered.values ?? {};
      const { secret, ...endpoint } = res.body as Record<string, unknown>;
      expect(secret, what).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
      expect(endpoint, `the 201 body: ${what}`).toMatchObject({
        url: new URL(sent.url as string).href,
        events: sent.events,
        status: 'active',
        disabled_at: null,
      });
      const read = await t.http.get(`/api/webhooks/${endpoint.id as number}/`).set(bearer(owner.access));
      expect(read.status, read.text).toBe(200);
      expect(read.body, `the endpoint reads back differently from the 201 answer: ${what}`).toEqual(endpoint);
      // Under the cap of 10 for the next case.
      expect((await t.http.delete(`/api/webhooks/${endpoint.id as number}/`).set(bearer(owner.access))).status).toBe(
        200,
      );
    });
  }, 180_000);

  it('webhook paths and lists: any :id, page, page_size and status is answered without a 5xx, and a stranger changes nothing', async () => {
    const owner = await createUser(t.http);
    const stranger = await createUser(t.http);
    const created = await t.http
      .post('/api/webhooks/')
      .set(bearer(owner.access))
      .send({ url: 'http://127.0.0.1:9/fuzz', events: ['registration.created'] });
    expect(created.status, created.text).toBe(201);
    const webhookId = created.body.id as number;
    // Three deliveries, left pending (the test app sends nothing).
    const event = await createEvent(t.http, owner, { date_time: FUTURE });
    for (let i = 0; i < 3; i++) await register(event.id);
    const state = async () => ({
      endpoints: await countOf('SELECT COUNT(*) AS n FROM webhook_endpoints WHERE user_id = ?', [owner.id]),
      deliveries: await countOf('SELECT COUNT(*) AS n FROM webhook_deliveries WHERE endpoint_id = ?', [webhookId]),
    });
    expect(await state()).toEqual({ endpoints: 1, deliveries: 3 });

    type Op = {
      label: string;
      method: 'get' | 'delete';
      suffix: '/' | '/deliveries/';
      auth: 'owner' | 'stranger';
      /** The status when :id is the endpoint and the query is valid. */
      target: number;
    };
    const ops: Op[] = [
      { label: 'GET /api/webhooks/:id/', method: 'get', suffix: '/', auth: 'owner', target: 200 },
      { label: 'GET /api/webhooks/:id/', method: 'get', suffix: '/', auth: 'stranger', target: 404 },
      { label: 'DELETE /api/webhooks/:id/', method: 'delete', suffix: '/', auth: 'stranger', target: 404 },
      { label: 'GET /api/webhooks/:id/deliveries/', method: 'get', suffix: '/deliveries/', auth: 'owner', target: 200 },
      {
        label: 'GET /api/webhooks/:id/deliveries/',
        method: 'get',
        suffix: '/deliveries/',
        auth: 'stranger',
        target: 404,
      },
    ];
    const KEYS: Record<string, fc.Arbitrary<string>> = {
      page: queryValue(pageQuery),
      page_size: queryValue(pageQuery),
      status: queryValue(fc.oneof(fc.constantFrom('pending', 'delivered', 'failed', 'PENDING', ''), anyString(20))),
      ['__proto__']: queryValue(anyString(10)),
      unknown: queryValue(anyString(10)),
    };
    const cases = fc.record({
      target: fc.oneof(
        {
          weight: 4,
          arbitrary: fc.record({
            op: fc.constantFrom(...ops),
            // Half on the endpoint itself, so that the queries reach it.
            id: fc.oneof(fc.constant(ID_TEMPLATES[0]), fc.constantFrom(...ID_TEMPLATES)),
          }),
        },
        { weight: 1, arbitrary: fc.constant<'list'>('list') },
      ),
      pairs: fc.array(
        fc.constantFrom(...Object.keys(KEYS)).chain((key) => KEYS[key].map((value): [string, string] => [key, value])),
        { maxLength: 3 },
      ),
    });
    const labels = ['GET /api/webhooks/', ...new Set(ops.map((op) => `${op.label} (id path)`))];

    await runProperty(labels, cases, 240, async ({ target, pairs }) => {
      const before = await state();
      const decoded = new Map<string, string[]>();
      for (const [key, value] of pairs) decoded.set(key, [...(decoded.get(key) ?? []), decodeQueryValue(value)]);
      const deliveriesList = target !== 'list' && target.op.suffix === '/deliveries/';
      const known = deliveriesList ? ['page', 'page_size', 'status'] : target === 'list' ? ['page', 'page_size'] : [];
      const verdicts: Verdict[] = [];
      for (const [key, values] of decoded) {
        if (!known.includes(key)) continue;
        if (values.length > 1) verdicts.push(false);
        else if (key === 'status') verdicts.push(['pending', 'delivered', 'failed'].includes(values[0]));
        else verdicts.push(integerVerdict(values[0], key === 'page' ? 10_000_000 : 200));
      }
      const ok = combine(...verdicts);
      const single = (key: string) => (decoded.get(key)?.length === 1 ? decoded.get(key)![0] : undefined);
      const query = queryText(pairs);

      const label = target === 'list' ? 'GET /api/webhooks/' : `${target.op.label} (id path)`;
      const path =
        target === 'list'
          ? `/api/webhooks/?${query}`
          : `/api/webhooks/${fillId(target.id.template, webhookId)}${target.op.suffix}?${query}`;
      const method = target === 'list' ? 'get' : target.op.method;
      const auth = target === 'list' || target.op.auth === 'owner' ? owner : stranger;
      const res = await t.http[method](path).set(bearer(auth.access));
      tally(label, res.status);
      const what = `${method.toUpperCase()} ${clip(path, 200)}${target === 'list' ? '' : ` (${target.id.kind}, ${target.op.auth})`}`;
      expectWellFormed(res, what);
      if (target === 'list') {
        if (ok === false) expect(res.status, what).toBe(400);
        else if (ok === true) expect(res.status, `${what}\n${clip(res.text)}`).toBe(200);
      } else {
        // The query is validated before the endpoint is looked up.
        const expected = deliveriesList && ok === false ? 400 : target.op.target;
        const options = deliveriesList && ok === null ? [expected, 400] : [expected];
        const allowed =
          target.id.kind === 'target' ? options : target.id.kind === 'maybe' ? [...options, 400, 404] : [400, 404];
        expect(allowed, `${what}\n  -> ${res.status} ${clip(res.text)}`).toContain(res.status);
      }
      expect(await state(), `the endpoint or its deliveries changed after: ${what}\n  -> ${res.status}`).toEqual(
        before,
      );
      if (res.status !== 200) return;

      const page = Number(single('page') ?? 1);
      const pageSize = Number(single('page_size') ?? 50);
      if (target === 'list') {
        expect(res.headers['x-total-count'], what).toBe('1');
        expect(
          (res.body as { id: number }[]).map((item) => item.id),
          what,
        ).toEqual(page === 1 ? [webhookId] : []);
      } else if (deliveriesList) {
        const status = single('status');
        const total = status === undefined || status === 'pending' ? 3 : 0;
        expect(res.headers['x-total-count'], what).toBe(String(total));
        expect((res.body as unknown[]).length, what).toBe(
          Math.max(0, Math.min(pageSize, total - (page - 1) * pageSize)),
        );
        for (const delivery of res.body as Record<string, unknown>[]) {
          expect(delivery, what).toMatchObject({ type: 'registration.created', status: 'pending', event_id: event.id });
        }
      } else {
        expect(res.body, what).toMatchObject({ id: webhookId });
        expect(res.text, `the secret in a later answer: ${what}`).not.toContain(created.body.secret as string);
      }
    });
  }, 180_000);
});

import { describe, expect, it } from 'vitest';
import { fitsInZone, formatInZone, isTimeZone, spellTimeZone } from './time-zone.js';

const at = (iso: string) => new Date(iso);

describe('isTimeZone', () => {
  it.each([
    'UTC',
    'America/New_York',
    'Europe/Lisbon',
    'Asia/Kolkata',
    'US/Eastern',
    'Etc/UTC',
    'Etc/GMT+5',
    'EST5EDT',
  ])('accepts the IANA name %s', (name) => {
    expect(isTimeZone(name)).toBe(true);
  });

  it.each([
    'Mars/Olympus_Mons',
    'America/New York',
    '+05:00',
    '-0500',
    'Z',
    '',
    ' UTC',
    'UTC ',
    'America/',
    '/UTC',
    'America//New_York',
    '../UTC',
    'A'.repeat(65),
  ])('refuses %j', (name) => {
    expect(isTimeZone(name)).toBe(false);
  });

  it.each([5, null, undefined, {}, ['UTC']])('refuses the non-string %j', (value) => {
    expect(isTimeZone(value)).toBe(false);
  });
});

describe('spellTimeZone', () => {
  it.each([
    ['america/new_york', 'America/New_York'],
    ['AMERICA/NEW_YORK', 'America/New_York'],
    ['utc', 'UTC'],
    ['America/New_York', 'America/New_York'],
  ])('spells %s as the zone database does: %s', (name, spelled) => {
    expect(spellTimeZone(name)).toBe(spelled);
  });

  it('keeps an alias the runtime does not list as it was given', () => {
    expect(spellTimeZone('US/Eastern')).toBe('US/Eastern');
  });
});

describe('formatInZone', () => {
  it.each([
    ['UTC', '2025-02-15T10:00:00Z', '2025-02-15T10:00:00+00:00'],
    ['Etc/UTC', '2025-02-15T10:00:00Z', '2025-02-15T10:00:00+00:00'],
    ['UTC', '2025-02-15T10:00:00.999Z', '2025-02-15T10:00:00+00:00'],
    ['UTC', '1000-01-01T00:00:00.500Z', '1000-01-01T00:00:00+00:00'],
    ['America/New_York', '2025-02-15T10:00:00Z', '2025-02-15T05:00:00-05:00'],
    ['America/New_York', '2025-07-15T10:00:00Z', '2025-07-15T06:00:00-04:00'],
    ['US/Eastern', '2025-07-15T10:00:00Z', '2025-07-15T06:00:00-04:00'],
    ['Asia/Kolkata', '2025-02-15T10:00:00Z', '2025-02-15T15:30:00+05:30'],
    ['Asia/Kathmandu', '2025-02-15T10:00:00Z', '2025-02-15T15:45:00+05:45'],
    ['Pacific/Kiritimati', '2025-02-15T10:00:00Z', '2025-02-16T00:00:00+14:00'],
    ['Pacific/Pago_Pago', '2025-02-15T10:00:00Z', '2025-02-14T23:00:00-11:00'],
    ['Europe/London', '2025-03-30T00:59:59Z', '2025-03-30T00:59:59+00:00'],
    ['Europe/London', '2025-03-30T01:00:00Z', '2025-03-30T02:00:00+01:00'],
  ])('writes the instant in %s with its offset (%s -> %s)', (zone, instant, local) => {
    expect(formatInZone(at(instant), zone)).toBe(local);
  });

  it('writes both instants of a repeated hour at the end of summer time with their own offsets', () => {
    expect(formatInZone(at('2025-11-02T05:30:00Z'), 'America/New_York')).toBe('2025-11-02T01:30:00-04:00');
    expect(formatInZone(at('2025-11-02T06:30:00Z'), 'America/New_York')).toBe('2025-11-02T01:30:00-05:00');
  });

  it('rounds a local mean time offset with seconds to the minute, keeping the same instant', () => {
    const text = formatInZone(at('1850-01-01T12:00:00Z'), 'America/New_York');
    expect(text).toBe('1850-01-01T07:04:00-04:56');
    expect(new Date(text).toISOString()).toBe('1850-01-01T12:00:00.000Z');
  });

  it('rounds an offset of half a minute away from zero', () => {
    expect(formatInZone(at('1960-01-01T12:00:00Z'), 'Africa/Monrovia')).toBe('1960-01-01T11:15:00-00:45');
  });

  it('writes an instant in UTC for a zone this runtime does not know', () => {
    expect(formatInZone(at('2025-02-15T10:00:00Z'), 'Mars/Olympus_Mons')).toBe('2025-02-15T10:00:00+00:00');
  });

  it('pads a year that is before 1000 only on the local clock', () => {
    expect(formatInZone(at('1000-01-01T00:00:00Z'), 'America/Sao_Paulo')).toMatch(/^0999-12-31T2\d:\d\d:00-0\d:\d\d$/);
  });
});

describe('fitsInZone', () => {
  it('tells whether the local year can be written in RFC 3339', () => {
    expect(fitsInZone(at('9999-12-31T23:59:59Z'), 'UTC')).toBe(true);
    expect(fitsInZone(at('9999-12-31T23:59:59Z'), 'America/New_York')).toBe(true);
    expect(fitsInZone(at('9999-12-31T20:00:00Z'), 'Asia/Tokyo')).toBe(false);
    expect(fitsInZone(at('9999-12-31T14:59:59Z'), 'Asia/Tokyo')).toBe(true);
  });
});

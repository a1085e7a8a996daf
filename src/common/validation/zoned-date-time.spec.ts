import { describe, expect, it } from 'vitest';
import { formatToSecond, parseZonedDateTime } from './zoned-date-time.js';

const iso = (value: unknown) => parseZonedDateTime(value)?.toISOString();

describe('parseZonedDateTime', () => {
  it('reads a UTC time with Z', () => {
    expect(iso('2025-02-15T10:00:00Z')).toBe('2025-02-15T10:00:00.000Z');
  });

  it.each([
    ['2025-02-15T10:00:00+01:00', '2025-02-15T09:00:00.000Z'],
    ['2025-02-15T10:00:00-05:30', '2025-02-15T15:30:00.000Z'],
    ['2025-02-15T10:00:00+00:00', '2025-02-15T10:00:00.000Z'],
    ['2025-02-15T10:00:00-00:00', '2025-02-15T10:00:00.000Z'],
    ['2025-02-15T10:00:00+23:59', '2025-02-14T10:01:00.000Z'],
  ])('converts the offset of %s to UTC', (text, utc) => {
    expect(iso(text)).toBe(utc);
  });

  it('accepts a lower-case t and z', () => {
    expect(iso('2025-02-15t10:00:00z')).toBe('2025-02-15T10:00:00.000Z');
  });

  it.each([
    ['2025-02-15T10:00:00.999Z', '2025-02-15T10:00:00.000Z'],
    ['2025-02-15T10:00:59.5+02:00', '2025-02-15T08:00:59.000Z'],
    ['2025-02-15T10:00:00.123456789Z', '2025-02-15T10:00:00.000Z'],
  ])('truncates the fraction of %s to the second', (text, utc) => {
    expect(iso(text)).toBe(utc);
  });

  it.each(['2025-02-15T10:00:00', '2025-02-15T10:00:00.000', '2025-02-15 10:00:00', '2025-02-15'])(
    'refuses the naive time %j',
    (text) => {
      expect(parseZonedDateTime(text)).toBeUndefined();
    },
  );

  it.each([
    ['Feb 30', '2031-02-30T10:00:00Z'],
    ['Feb 29 of 2030, not a leap year', '2030-02-29T10:00:00Z'],
    ['Apr 31', '2031-04-31T10:00:00Z'],
    ['day 0', '2031-01-00T10:00:00Z'],
    ['month 13', '2031-13-01T10:00:00Z'],
    ['month 0', '2031-00-01T10:00:00Z'],
    ['hour 24', '2031-01-01T24:00:00Z'],
    ['minute 60', '2031-01-01T10:60:00Z'],
    ['second 60', '2031-01-01T10:00:60Z'],
  ])('refuses a time that does not exist (%s)', (_what, text) => {
    expect(parseZonedDateTime(text)).toBeUndefined();
  });

  it.each([
    ['2025-02-15T10:00:00.987Z', '2025-02-15T10:00:00.987Z'],
    ['2025-02-15T10:00:00.5+01:00', '2025-02-15T09:00:00.500Z'],
    ['2025-02-15T10:00:00.123456789Z', '2025-02-15T10:00:00.123Z'],
    ['2025-02-15T10:00:00Z', '2025-02-15T10:00:00.000Z'],
  ])('keeps the milliseconds of %s when asked to', (text, utc) => {
    expect(parseZonedDateTime(text, 'millisecond')?.toISOString()).toBe(utc);
  });

  it('accepts Feb 29 of the leap year 2032', () => {
    expect(iso('2032-02-29T10:00:00Z')).toBe('2032-02-29T10:00:00.000Z');
  });

  it.each(['+24:00', '-24:00', '+05:60', '+5:00', '+0500', '+05'])('refuses the offset %s', (offset) => {
    expect(parseZonedDateTime(`2025-02-15T10:00:00${offset}`)).toBeUndefined();
  });

  it.each([
    ['the year 999 (three digits)', '999-12-31T10:00:00Z'],
    ['the year 0999', '0999-12-31T10:00:00Z'],
    ['the year 0050 (which Date.UTC would read as 1950)', '0050-06-01T10:00:00Z'],
    ['the year 0000', '0000-01-01T00:00:00Z'],
    ['an instant that is before 1000 only in UTC', '1000-01-01T00:30:00+01:00'],
    ['an instant that is after 9999 only in UTC', '9999-12-31T23:30:00-01:00'],
    ['a five-digit year', '10000-01-01T00:00:00Z'],
  ])('refuses %s', (_what, text) => {
    expect(parseZonedDateTime(text)).toBeUndefined();
  });

  it('accepts the first and last seconds a DATETIME column can hold', () => {
    expect(iso('1000-01-01T00:00:00Z')).toBe('1000-01-01T00:00:00.000Z');
    expect(iso('9999-12-31T23:59:59Z')).toBe('9999-12-31T23:59:59.000Z');
  });

  it.each([
    ['a number', 1739613600000],
    ['a Date', new Date('2025-02-15T10:00:00Z')],
    ['null', null],
    ['undefined', undefined],
    ['an object', { date_time: '2025-02-15T10:00:00Z' }],
    ['an array', ['2025-02-15T10:00:00Z']],
    ['a boolean', true],
  ])('refuses %s', (_what, value) => {
    expect(parseZonedDateTime(value)).toBeUndefined();
  });

  it.each([' 2025-02-15T10:00:00Z', '2025-02-15T10:00:00Z\n', '2025-02-15T10:00:00ZZ', ''])(
    'refuses the padded or garbled text %j',
    (text) => {
      expect(parseZonedDateTime(text)).toBeUndefined();
    },
  );
});

describe('formatToSecond', () => {
  it('writes UTC with Z, to the second', () => {
    expect(formatToSecond(new Date('2025-02-15T10:00:00.000Z'))).toBe('2025-02-15T10:00:00Z');
  });

  it('drops the milliseconds', () => {
    expect(formatToSecond(new Date('2025-02-15T10:00:00.987Z'))).toBe('2025-02-15T10:00:00Z');
  });

  it('writes back what parseZonedDateTime read, in UTC', () => {
    expect(formatToSecond(parseZonedDateTime('2025-02-15T05:00:00.5-05:00')!)).toBe('2025-02-15T10:00:00Z');
  });
});

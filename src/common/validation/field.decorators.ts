import { applyDecorators } from '@nestjs/common';
import { ApiHideProperty, ApiProperty, type ApiPropertyOptions } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { Allow, IsEmail, IsString, registerDecorator, ValidateIf, type ValidationOptions } from 'class-validator';
import { normalizeEmail } from './case-fold.js';
import { isTimeZone, MAX_TIME_ZONE_LENGTH, spellTimeZone } from './time-zone.js';
import { parseZonedDateTime } from './zoned-date-time.js';

/**
 * The field may be left out, but not sent as `null` (class-validator's
 * `@IsOptional()` would let `null` through to a NOT NULL column).
 */
export function Optional(): PropertyDecorator {
  return ValidateIf((_object, value) => value !== undefined);
}

/** Trims surrounding whitespace from a string before it is validated. */
export function Trim(): PropertyDecorator {
  return Transform(({ value }) => (typeof value === 'string' ? value.trim() : value));
}

/**
 * At most `max` characters as the database counts them: Unicode code points.
 * class-validator's `MaxLength` leaves variation selectors out of its count,
 * so a string it accepts could overflow a MySQL `VARCHAR`.
 */
export function MaxChars(max: number, options?: ValidationOptions): PropertyDecorator {
  const validate: PropertyDecorator = (target, propertyName) =>
    registerDecorator({
      name: 'maxChars',
      target: target.constructor,
      propertyName: propertyName as string,
      constraints: [max],
      options: { message: `${String(propertyName)} must be at most ${max} characters long`, ...options },
      validator: { validate: (value: unknown) => typeof value === 'string' && codePointCount(value) <= max },
    });
  return applyDecorators(validate, ApiProperty({ type: String, maxLength: max }));
}

function codePointCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/** An RFC 3339 date-time with a zone, naming a date that exists. */
export function IsZonedDateTime(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isZonedDateTime',
      target: target.constructor,
      propertyName: propertyName as string,
      options: {
        message: `${String(propertyName)} must be an RFC 3339 date-time with a zone (Z or ±hh:mm), such as 2025-02-15T10:00:00Z, on a date that exists`,
        ...options,
      },
      validator: { validate: (value: unknown) => parseZonedDateTime(value) !== undefined },
    });
}

export function ZonedDateTimeField(options: ApiPropertyOptions = {}): PropertyDecorator {
  return applyDecorators(
    IsZonedDateTime(),
    ApiProperty({
      type: String,
      format: 'date-time',
      example: '2025-02-15T10:00:00Z',
      ...options,
    } as ApiPropertyOptions),
  );
}

/**
 * An IANA time zone name the runtime's zone database knows, in any letter
 * case; a name the database lists is stored as it spells it.
 */
export function TimeZoneField(options: ApiPropertyOptions = {}): PropertyDecorator {
  const validate: PropertyDecorator = (target, propertyName) =>
    registerDecorator({
      name: 'isTimeZone',
      target: target.constructor,
      propertyName: propertyName as string,
      options: {
        message: `${String(propertyName)} must be an IANA time zone name, such as America/New_York or UTC`,
      },
      validator: { validate: isTimeZone },
    });
  return applyDecorators(
    Transform(({ value }) => (typeof value === 'string' ? spellTimeZone(value) : value)),
    validate,
    ApiProperty({
      type: String,
      maxLength: MAX_TIME_ZONE_LENGTH,
      example: 'America/New_York',
      ...options,
    } as ApiPropertyOptions),
  );
}

/**
 * A field the API returns for this resource: accepted and ignored in a body,
 * so a client can send back what it read. Not shown in the request schema.
 */
export function ReadOnlyField(): PropertyDecorator {
  return applyDecorators(Allow(), ApiHideProperty());
}

/** A query parameter that must be a plain decimal integer (`?page=2`); anything else fails validation. */
export function QueryInteger(): PropertyDecorator {
  return Transform(({ value }) => (typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : value));
}

/** A query parameter that must be `true` or `false`. */
export function QueryBoolean(): PropertyDecorator {
  return Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value));
}

/**
 * An email address, trimmed and case-folded before it is checked (the
 * 254-character limit applies to the stored form).
 */
export function EmailField(): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }) => (typeof value === 'string' ? normalizeEmail(value) : value)),
    IsEmail({ allow_utf8_local_part: false }, { message: 'email must be a valid email address' }),
    MaxChars(254),
    IsString(),
    ApiProperty({ type: String, format: 'email', example: 'newuser@mail.com' }),
  );
}

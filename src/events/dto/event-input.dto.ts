import { ApiProperty, IntersectionType, OmitType, PartialType, PickType } from '@nestjs/swagger';
import { IsIn, IsInt, IsNotEmpty, IsString, Max, Min } from 'class-validator';
import {
  MaxChars,
  Optional,
  ReadOnlyField,
  TimeZoneField,
  Trim,
  ZonedDateTimeField,
} from '../../common/validation/field.decorators.js';
import { EVENT_STATUSES, type EventStatus } from '../event.entity.js';

export const MAX_CAPACITY = 1_000_000;

/** Fields the API returns for an event; a body may carry them (a client PUTs back what it GETs), and they are ignored. */
class EventReadOnlyFields {
  @ReadOnlyField() id?: unknown;
  @ReadOnlyField() organizer?: unknown;
  @ReadOnlyField() organizer_id?: unknown;
  @ReadOnlyField() created_at?: unknown;
  @ReadOnlyField() updated_at?: unknown;
  @ReadOnlyField() attendees_count?: unknown;
  @ReadOnlyField() waitlist_count?: unknown;
  @ReadOnlyField() available_slots?: unknown;
  @ReadOnlyField() local_date_time?: unknown;
}

/** PUT: the six fields of the seed's payload, all required, and the optional `timezone`. */
export class ReplaceEventDto extends EventReadOnlyFields {
  /**
   * 1–200 characters, trimmed; not blank.
   * @example "New Event"
   */
  @Trim()
  @MaxChars(200)
  @IsNotEmpty({ message: 'title must not be blank' })
  @IsString()
  title: string;

  /**
   * Up to 10,000 characters.
   * @example "This is a new event"
   */
  @MaxChars(10_000)
  @IsString()
  description: string;

  /** RFC 3339 with a zone; stored and returned in UTC, to the second. May be in the past. */
  @ZonedDateTimeField()
  date_time: string;

  /**
   * 1–255 characters, trimmed; not blank.
   * @example "New York"
   */
  @Trim()
  @MaxChars(255)
  @IsNotEmpty({ message: 'location must not be blank' })
  @IsString()
  location: string;

  /**
   * `draft` events are visible to their organizer only.
   * @example "active"
   */
  @IsIn(EVENT_STATUSES)
  status: EventStatus;

  /**
   * Seats, 1–1,000,000; never below the confirmed attendees.
   * @example 100
   */
  @ApiProperty({ type: 'integer', maximum: MAX_CAPACITY })
  @Max(MAX_CAPACITY)
  @Min(1)
  @IsInt()
  capacity: number;

  /**
   * The event's IANA time zone (`America/New_York`, `Europe/Lisbon`, `UTC`), in
   * any letter case; `local_date_time` shows `date_time` on its clock. Optional:
   * a new event is in `UTC`, and a PUT or PATCH without it keeps the zone.
   */
  @Optional()
  @TimeZoneField()
  timezone?: string;
}

/** POST: `description` defaults to empty, `status` to `active` and `timezone` to `UTC`. */
export class CreateEventDto extends IntersectionType(
  OmitType(ReplaceEventDto, ['description', 'status'] as const),
  PartialType(PickType(ReplaceEventDto, ['description', 'status'] as const), { skipNullProperties: false }),
) {}

/** PATCH: any subset of the fields; `null` is not a value. */
export class UpdateEventDto extends PartialType(ReplaceEventDto, { skipNullProperties: false }) {}

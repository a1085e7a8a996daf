import { formatInZone } from '../../common/validation/time-zone.js';
import { formatToSecond } from '../../common/validation/zoned-date-time.js';
import { fromSqlDateTime } from '../../database/sql.js';
import { EVENT_STATUSES, type EventStatus } from '../event.entity.js';
import { ApiProperty } from '@nestjs/swagger';

export class EventDto {
  /** @example 2 */
  @ApiProperty({ type: 'integer' })
  id: number;
  /** @example "New Event" */
  title: string;
  /** @example "This is a new event" */
  description: string;
  /** UTC, to the second. @example "2025-02-15T10:00:00Z" */
  @ApiProperty({ format: 'date-time' })
  date_time: string;
  /** The event's IANA time zone (`UTC` unless one was given). @example "America/New_York" */
  timezone: string;
  /**
   * `date_time` on the wall clock of `timezone`, to the second, with its
   * offset: `+00:00` in UTC, never `Z`. The same instant as `date_time`.
   * @example "2025-02-15T05:00:00-05:00"
   */
  @ApiProperty({ format: 'date-time' })
  local_date_time: string;
  /** @example "New York" */
  location: string;
  @ApiProperty({ enum: EVENT_STATUSES, example: 'active' })
  status: EventStatus;
  /** @example 100 */
  @ApiProperty({ type: 'integer' })
  capacity: number;
  /** Confirmed registrations. @example 0 */
  @ApiProperty({ type: 'integer' })
  attendees_count: number;
  /** Registrations waiting for a seat. @example 0 */
  @ApiProperty({ type: 'integer' })
  waitlist_count: number;
  /** `capacity - attendees_count`. @example 100 */
  @ApiProperty({ type: 'integer' })
  available_slots: number;
  /** UTC, to the millisecond. @example "2025-01-09T14:21:56.113Z" */
  @ApiProperty({ format: 'date-time' })
  created_at: string;
  /**
   * UTC, to the millisecond. Moves whenever anything shown here changes,
   * the counters included (registrations, cancellations, promotions); see
   * `updated_since` on the list.
   * @example "2025-01-09T14:21:56.113Z"
   */
  @ApiProperty({ format: 'date-time' })
  updated_at: string;
  /** The organizer's username. @example "user1" */
  organizer: string;
  /** @example 1 */
  @ApiProperty({ type: 'integer' })
  organizer_id: number;
}

/** An event as the event queries select it: the row plus the organizer's username. */
export interface EventRow {
  id: number;
  title: string;
  description: string;
  date_time: Date | string;
  timezone: string;
  location: string;
  status: EventStatus;
  capacity: number;
  attendees_count: number;
  waitlist_count: number;
  organizer_id: number;
  created_at: Date | string;
  updated_at: Date | string;
  organizer: string;
}

/**
 * The columns of an `EventRow`, from `events e`. The organizer's name comes
 * from a subquery rather than a join, so that the database always starts from
 * the events it was asked for (with a join, MariaDB once chose to walk every
 * event of the organizer to find a page of 50).
 */
export const EVENT_COLUMNS =
  'e.id, e.title, e.description, e.date_time, e.timezone, e.location, e.status, e.capacity, e.attendees_count, ' +
  'e.waitlist_count, e.organizer_id, e.created_at, e.updated_at, ' +
  '(SELECT u.username FROM users u WHERE u.id = e.organizer_id) AS organizer';

export function toEventDto(row: EventRow): EventDto {
  const dateTime = fromSqlDateTime(row.date_time);
  return {
    id: row.id,
    title: row.title,
    description: row.description,
    date_time: formatToSecond(dateTime),
    timezone: row.timezone,
    local_date_time: formatInZone(dateTime, row.timezone),
    location: row.location,
    status: row.status,
    capacity: row.capacity,
    attendees_count: row.attendees_count,
    waitlist_count: row.waitlist_count,
    available_slots: row.capacity - row.attendees_count,
    created_at: fromSqlDateTime(row.created_at).toISOString(),
    updated_at: fromSqlDateTime(row.updated_at).toISOString(),
    organizer: row.organizer,
    organizer_id: row.organizer_id,
  };
}

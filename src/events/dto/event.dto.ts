import { formatToSecond } from '../../common/validation/zoned-date-time.js';
import { EVENT_STATUSES, type Event, type EventStatus } from '../event.entity.js';
import { ApiProperty } from '@nestjs/swagger';

export class EventDto {
  /** @example 2 */
  id: number;
  /** @example "New Event" */
  title: string;
  /** @example "This is a new event" */
  description: string;
  /** UTC, to the second. @example "2025-02-15T10:00:00Z" */
  date_time: string;
  /** @example "New York" */
  location: string;
  @ApiProperty({ enum: EVENT_STATUSES, example: 'active' })
  status: EventStatus;
  /** @example 100 */
  capacity: number;
  /** Confirmed registrations. @example 0 */
  attendees_count: number;
  /** Registrations waiting for a seat. @example 0 */
  waitlist_count: number;
  /** `capacity - attendees_count`. @example 100 */
  available_slots: number;
  /** UTC, to the millisecond. @example "2025-01-09T14:21:56.113Z" */
  created_at: string;
  /** UTC, to the millisecond. @example "2025-01-09T14:21:56.113Z" */
  updated_at: string;
  /** The organizer's username. @example "user1" */
  organizer: string;
  /** @example 1 */
  organizer_id: number;
}

export function toEventDto(event: Event, organizerUsername: string): EventDto {
  return {
    id: event.id,
    title: event.title,
    description: event.description,
    date_time: formatToSecond(event.dateTime),
    location: event.location,
    status: event.status,
    capacity: event.capacity,
    attendees_count: event.attendeesCount,
    waitlist_count: event.waitlistCount,
    available_slots: event.capacity - event.attendeesCount,
    created_at: event.createdAt.toISOString(),
    updated_at: event.updatedAt.toISOString(),
    organizer: organizerUsername,
    organizer_id: event.organizerId,
  };
}

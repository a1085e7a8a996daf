import { ApiProperty } from '@nestjs/swagger';
import { REGISTRATION_STATUSES, type RegistrationStatus } from '../registration.entity.js';
import type { PositionedRegistration } from '../waitlist.service.js';

export class RegistrationDto {
  /** @example 17 */
  @ApiProperty({ type: 'integer' })
  id: number;
  /** @example 2 */
  @ApiProperty({ type: 'integer' })
  event_id: number;
  /** @example "NEW USER" */
  name: string;
  /** Stored lower-cased. @example "newuser@mail.com" */
  email: string;
  @ApiProperty({ enum: REGISTRATION_STATUSES, example: 'confirmed' })
  status: RegistrationStatus;
  /** 1-based place in the waitlist while waitlisted, else null. */
  @ApiProperty({ type: 'integer', nullable: true, example: null })
  position: number | null;
  /** UTC, to the millisecond. @example "2025-01-09T14:21:56.113Z" */
  @ApiProperty({ format: 'date-time' })
  created_at: string;
  /** When it moved from the waitlist to a seat, else null. */
  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null })
  promoted_at: string | null;
  /** When the organizer checked it in (UTC, to the millisecond), else null. */
  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null })
  checked_in_at: string | null;
}

export class RegistrationCreatedDto {
  /** @example "Registered for event successfully" */
  detail: string;
  registration: RegistrationDto;
  /**
   * Shown once: send it as `X-Registration-Token` to read or cancel this registration.
   * @example "q2V9m3aP8y0xK4b7T1rW6sZcJ5hN2dF8gL0eU3iO9kA"
   */
  cancel_token: string;
}

export class CapacityDto {
  /** @example 100 */
  @ApiProperty({ type: 'integer' })
  capacity: number;
  /** @example 2 */
  @ApiProperty({ type: 'integer' })
  attendees_count: number;
  /** @example 98 */
  @ApiProperty({ type: 'integer' })
  available_slots: number;
  /** @example 0 */
  @ApiProperty({ type: 'integer' })
  waitlist_count: number;
  /** Confirmed registrations checked in by the organizer. @example 1 */
  @ApiProperty({ type: 'integer' })
  checked_in_count: number;
}

export class WaitlistEntryDto {
  /** @example 1 */
  @ApiProperty({ type: 'integer' })
  position: number;
  /** @example "NEW USER" */
  name: string;
  /** Masked (`n***@mail.com`) unless the caller is the organizer. @example "n***@mail.com" */
  email: string;
  /** UTC, to the millisecond. @example "2025-01-09T14:21:56.113Z" */
  @ApiProperty({ format: 'date-time' })
  created_at: string;
}

export class WaitlistDto {
  /** One page of the waitlist, first come first. */
  waitlist: WaitlistEntryDto[];
  /** Everyone waitlisted, not just this page. @example 1 */
  @ApiProperty({ type: 'integer' })
  count: number;
}

export function toRegistrationDto(registration: PositionedRegistration): RegistrationDto {
  return {
    id: registration.id,
    event_id: registration.eventId,
    name: registration.name,
    email: registration.email,
    status: registration.status,
    position: registration.position,
    created_at: registration.createdAt.toISOString(),
    promoted_at: registration.promotedAt?.toISOString() ?? null,
    checked_in_at: registration.checkedInAt?.toISOString() ?? null,
  };
}

/** `newuser@mail.com` → `n***@mail.com`. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  return `${email.slice(0, Math.min(1, at))}***${email.slice(at)}`;
}

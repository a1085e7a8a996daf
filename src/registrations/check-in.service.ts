import { ConflictException, ForbiddenException, Injectable, NotFoundException } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { AuthenticatedUser } from '../common/decorators/current-user.decorator.js';
import { execute, toSqlDateTime } from '../database/sql.js';
import { TransactionRunner } from '../database/transaction.runner.js';
import { isVisibleTo, lockEvent } from '../events/event-access.js';
import type { Event } from '../events/event.entity.js';
import { type RegistrationDto, toRegistrationDto } from './dto/registration.dto.js';
import { WebhookOutbox } from '../webhooks/webhook-outbox.js';
import { Registration } from './registration.entity.js';
import { EVENT_NOT_FOUND, REGISTRATION_NOT_FOUND } from './registrations.service.js';

export const ALREADY_CHECKED_IN = 'This registration is already checked in.';
export const WAITLISTED_CHECK_IN = 'A waitlisted registration cannot be checked in; only a confirmed one can.';
export const NOT_CHECKED_IN = 'This registration is not checked in.';
export const CANCELLED_EVENT_CHECK_IN = 'The event is cancelled: its registrations cannot be checked in.';

/**
 * Checking confirmed registrations in at the door, for the event's organizer.
 * Each write is one transaction that takes the event's row lock first (as
 * every write to an event or its registrations does), changes the
 * registration with one conditional UPDATE and moves the event's
 * `checked_in_count` with it, so the counter always equals the rows.
 */
@Injectable()
export class CheckInService {
  constructor(
    private readonly transactions: TransactionRunner,
    private readonly outbox: WebhookOutbox,
  ) {}

  /**
   * Sets `checked_in_at` on a confirmed registration that is not checked in
   * yet, and records the `registration.checked_in` webhook in the same
   * transaction.
   */
  checkIn(eventId: number, registrationId: number, caller: AuthenticatedUser): Promise<RegistrationDto> {
    return this.transactions.run(async (manager) => {
      const event = await this.organizedEvent(manager, eventId, caller);
      if (event.status === 'cancelled') {
        await this.registrationOf(manager, eventId, registrationId);
        throw new ConflictException(CANCELLED_EVENT_CHECK_IN);
      }
      const { affected } = await execute(
        manager,
        'UPDATE registrations SET checked_in_at = ? ' +
          "WHERE id = ? AND event_id = ? AND status = 'confirmed' AND checked_in_at IS NULL",
        [toSqlDateTime(new Date()), registrationId, eventId],
      );
      if (affected === 0) {
        const registration = await this.registrationOf(manager, eventId, registrationId);
        throw new ConflictException(registration.status === 'waitlisted' ? WAITLISTED_CHECK_IN : ALREADY_CHECKED_IN);
      }
      await execute(manager, 'UPDATE events SET checked_in_count = checked_in_count + 1 WHERE id = ?', [eventId]);
      const checkedIn = await this.read(manager, eventId, registrationId);
      await this.outbox.record(manager, eventId, 'registration.checked_in', checkedIn);
      return checkedIn;
    });
  }

  /** Clears `checked_in_at` again, whatever the event's status, so a mistaken check-in can be corrected. */
  undoCheckIn(eventId: number, registrationId: number, caller: AuthenticatedUser): Promise<RegistrationDto> {
    return this.transactions.run(async (manager) => {
      await this.organizedEvent(manager, eventId, caller);
      const { affected } = await execute(
        manager,
        'UPDATE registrations SET checked_in_at = NULL WHERE id = ? AND event_id = ? AND checked_in_at IS NOT NULL',
        [registrationId, eventId],
      );
      if (affected === 0) {
        await this.registrationOf(manager, eventId, registrationId);
        throw new ConflictException(NOT_CHECKED_IN);
      }
      await execute(manager, 'UPDATE events SET checked_in_count = checked_in_count - 1 WHERE id = ?', [eventId]);
      return this.read(manager, eventId, registrationId);
    });
  }

  /**
   * Locks the event for a check-in by its organizer, with the access rules of
   * the organizer's registration list: another user's draft is a 404 like any
   * unknown id, their other events a 403.
   */
  private async organizedEvent(manager: EntityManager, eventId: number, caller: AuthenticatedUser): Promise<Event> {
    const event = await lockEvent(manager, eventId);
    if (!event || !isVisibleTo(event, caller.id)) throw new NotFoundException(EVENT_NOT_FOUND);
    if (event.organizerId !== caller.id) {
      throw new ForbiddenException('Only the organizer can check in the registrations of this event.');
    }
    return event;
  }

  private async registrationOf(manager: EntityManager, eventId: number, registrationId: number): Promise<Registration> {
    const registration = await manager.findOneBy(Registration, { id: registrationId, eventId });
    if (!registration) throw new NotFoundException(REGISTRATION_NOT_FOUND);
    return registration;
  }

  /** A registration that can be or has been checked in is confirmed: it has no waitlist position. */
  private async read(manager: EntityManager, eventId: number, registrationId: number): Promise<RegistrationDto> {
    const registration = await this.registrationOf(manager, eventId, registrationId);
    return toRegistrationDto(Object.assign(registration, { position: null }));
  }
}

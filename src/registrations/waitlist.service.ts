import { Injectable } from '@nestjs/common';
import { type EntityManager, In, type SelectQueryBuilder } from 'typeorm';
import { Event } from '../events/event.entity.js';
import type { EventWebhooks } from '../webhooks/webhook-outbox.js';
import { toRegistrationDto } from './dto/registration.dto.js';
import { Registration } from './registration.entity.js';

/** A registration with its 1-based waitlist position (null once confirmed). */
export type PositionedRegistration = Registration & { position: number | null };

/**
 * The waitlist is an event's waitlisted registrations in id (arrival) order.
 * Positions are counted, never stored, so they cannot have gaps.
 */
@Injectable()
export class WaitlistService {
  /**
   * Moves the oldest waitlisted registrations into free seats, at most
   * `seats` of them, keeping the event's counters equal to its rows (and
   * moving its `updated_at`), and records a `registration.promoted` webhook
   * for each (oldest first). The caller holds the event's lock (see
   * `lockEvent`).
   */
  async promote(manager: EntityManager, eventId: number, seats: number, webhooks: EventWebhooks): Promise<number> {
    if (seats <= 0) return 0;
    const oldest = await manager.find(Registration, {
      select: { id: true },
      where: { eventId, status: 'waitlisted' },
      order: { id: 'ASC' },
      take: seats,
    });
    if (oldest.length === 0) return 0;
    const ids = oldest.map((registration) => registration.id);
    const now = new Date();
    await manager
      .createQueryBuilder()
      .update(Registration)
      .set({ status: 'confirmed', promotedAt: now })
      .whereInIds(ids)
      .execute();
    await manager
      .createQueryBuilder()
      .update(Event)
      .set({
        attendeesCount: () => `attendees_count + ${ids.length}`,
        waitlistCount: () => `waitlist_count - ${ids.length}`,
        updatedAt: now,
      })
      .where('id = :eventId', { eventId })
      .execute();
    if (webhooks.wants('registration.promoted')) {
      const promoted = await manager.find(Registration, { where: { id: In(ids) }, order: { id: 'ASC' } });
      await webhooks.record(
        'registration.promoted',
        ...promoted.map((registration) => toRegistrationDto(Object.assign(registration, { position: null }))),
      );
    }
    return ids.length;
  }

  /**
   * Adds each row's waitlist position to a query over registrations aliased
   * `registration`: one indexed count per waitlisted row.
   */
  selectPositions(query: SelectQueryBuilder<Registration>): SelectQueryBuilder<Registration> {
    return query.addSelect(
      (sub) =>
        sub
          .select('COUNT(*)')
          .from(Registration, 'ahead')
          .where('ahead.event_id = registration.event_id')
          .andWhere("ahead.status = 'waitlisted'")
          .andWhere('ahead.id <= registration.id'),
      'position',
    );
  }

  /** Runs a positioned query and pairs each entity with its position. */
  async withPositions(query: SelectQueryBuilder<Registration>): Promise<PositionedRegistration[]> {
    const { entities, raw } = await this.selectPositions(query).getRawAndEntities<{ position: string | number }>();
    return entities.map((registration, index) =>
      Object.assign(registration, {
        position: registration.status === 'waitlisted' ? Number(raw[index].position) : null,
      }),
    );
  }
}

import type { EntityManager } from 'typeorm';
import { isMysqlFamily } from '../database/dialect.js';
import { Event } from './event.entity.js';

/** A draft is visible to its organizer only; to anyone else it does not exist. */
export function isVisibleTo(event: Pick<Event, 'status' | 'organizerId'>, viewerId: number | undefined): boolean {
  return event.status !== 'draft' || event.organizerId === viewerId;
}

/**
 * Loads an event inside a transaction and, on MySQL, locks its row until the
 * transaction ends. Every write to an event or its registrations takes this
 * lock first (or starts with a conditional UPDATE of the row, which takes it
 * too), so those writes run one at a time per event and always lock in the
 * same order. On SQLite, transactions already run one at a time.
 */
export async function lockEvent(manager: EntityManager, id: number): Promise<Event | null> {
  const query = manager.createQueryBuilder(Event, 'event').where('event.id = :id', { id });
  if (isMysqlFamily(manager.connection)) query.setLock('pessimistic_write');
  return query.getOne();
}

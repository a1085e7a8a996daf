import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { isMysqlFamily } from '../database/dialect.js';
import { execute, select, type SqlValue, toSqlDateTime } from '../database/sql.js';
import type { WebhookEventType } from './webhook-event-types.js';

/** The resource a delivery carries as `data`, or a function that builds it (called only if someone subscribed). */
export type WebhookData = object | (() => object | Promise<object>);

/** The active endpoints of an event's organizer: the one query the hot path pays when there are none. */
const SUBSCRIBERS_SQL =
  'SELECT w.id, w.events FROM webhook_endpoints w ' +
  'WHERE w.user_id = (SELECT e.organizer_id FROM events e WHERE e.id = ?) AND w.disabled_at IS NULL';

const INSERT_COLUMNS =
  'INSERT INTO webhook_deliveries (public_id, endpoint_id, event_id, type, data, status, attempts, next_attempt_at, created_at) VALUES ';

interface Subscriber {
  id: number;
  events: Set<string>;
}

/**
 * The webhooks of one event, inside the transaction of a change to it: says
 * who wants a type of change, and records one outbox row per subscribed
 * endpoint. The rows commit or roll back with the change.
 */
export class EventWebhooks {
  constructor(
    private readonly manager: EntityManager,
    readonly eventId: number,
    private readonly subscribers: Subscriber[],
  ) {}

  /** Whether any active endpoint of the organizer subscribed to this type. */
  wants(type: WebhookEventType): boolean {
    return this.subscribers.some((subscriber) => subscriber.events.has(type));
  }

  /**
   * Records one change for every endpoint subscribed to its type; `data` is
   * built only if there is one. Several items are recorded in their order
   * (it is the order in which they are sent). Returns the rows written.
   */
  async record(type: WebhookEventType, ...items: WebhookData[]): Promise<number> {
    const wanted = this.subscribers.filter((subscriber) => subscriber.events.has(type));
    if (wanted.length === 0 || items.length === 0) return 0;
    const endpointIds = await this.stillActive(wanted.map((subscriber) => subscriber.id));
    if (endpointIds.length === 0) return 0;
    const now = toSqlDateTime(new Date());
    const rows: SqlValue[][] = [];
    for (const item of items) {
      const data = JSON.stringify(typeof item === 'function' ? await item() : item);
      for (const endpointId of endpointIds) {
        rows.push([randomUUID(), endpointId, this.eventId, type, data, 'pending', 0, now, now]);
      }
    }
    // Multi-row inserts number their rows in order: ids are the sending order.
    for (let start = 0; start < rows.length; start += 100) {
      const chunk = rows.slice(start, start + 100);
      await execute(
        this.manager,
        INSERT_COLUMNS + chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', '),
        chunk.flat(),
      );
    }
    return rows.length;
  }

  /**
   * On MySQL, a shared lock on the endpoints about to get rows: an endpoint
   * deleted or disabled meanwhile by another transaction is left out (its
   * deletion waits for this transaction instead of breaking its foreign key).
   * SQLite runs one write transaction at a time.
   */
  private async stillActive(ids: number[]): Promise<number[]> {
    if (!isMysqlFamily(this.manager.connection)) return ids;
    const rows = await select<{ id: number }>(
      this.manager,
      `SELECT id FROM webhook_endpoints WHERE id IN (${ids.map(() => '?').join(', ')}) AND disabled_at IS NULL ` +
        'ORDER BY id LOCK IN SHARE MODE',
      ids,
    );
    return rows.map((row) => row.id);
  }
}

/**
 * The transactional outbox's writing side. Call it inside the transaction of
 * the change, after taking the event's lock (every write to an event does),
 * so that the deliveries of one event are numbered in the order the changes
 * commit. A change rolled back leaves no delivery.
 */
@Injectable()
export class WebhookOutbox {
  /**
   * The event's organizer's active endpoints: one indexed query, and nothing
   * more when there are none. Best asked before the event's lock is taken
   * (it needs no lock), so that it does not lengthen the lock's hold.
   */
  async forEvent(manager: EntityManager, eventId: number): Promise<EventWebhooks> {
    const rows = await select<{ id: number; events: string }>(manager, SUBSCRIBERS_SQL, [eventId]);
    return new EventWebhooks(
      manager,
      eventId,
      rows.map((row) => ({ id: row.id, events: new Set(row.events.split(',')) })),
    );
  }

  /**
   * Records one change of an event for every endpoint subscribed to `type`,
   * in the manager's transaction; a one-line hook for a new kind of change:
   *
   *     await this.outbox.record(manager, eventId, 'registration.checked_in', () => toRegistrationDto(registration));
   */
  async record(manager: EntityManager, eventId: number, type: WebhookEventType, data: WebhookData): Promise<number> {
    return (await this.forEvent(manager, eventId)).record(type, data);
  }
}

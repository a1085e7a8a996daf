import { ConflictException, ForbiddenException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { AuthenticatedUser } from '../common/decorators/current-user.decorator.js';
import { Paginated } from '../common/pagination/paginated.js';
import { InvalidInputException, UnauthenticatedException } from '../common/problems/problem.exceptions.js';
import { fitsInZone } from '../common/validation/time-zone.js';
import { parseZonedDateTime } from '../common/validation/zoned-date-time.js';
import { isMysqlFamily } from '../database/dialect.js';
import { execute, select, toSqlDateTime } from '../database/sql.js';
import { TransactionRunner } from '../database/transaction.runner.js';
import { RegistrationMetrics } from '../metrics/registration-metrics.js';
import { WaitlistService } from '../registrations/waitlist.service.js';
import { WebhookOutbox } from '../webhooks/webhook-outbox.js';
import type { CreateEventDto, UpdateEventDto } from './dto/event-input.dto.js';
import { EVENT_COLUMNS, type EventDto, type EventRow, toEventDto } from './dto/event.dto.js';
import type { ListEventsQueryDto } from './dto/list-events-query.dto.js';
import { eventCountSql, eventListSql, eventPageIdsSql, eventsByIdSql } from './event-list.query.js';
import { ListCache } from './list-cache.js';
import { isVisibleTo, lockEvent } from './event-access.js';
import { Event } from './event.entity.js';

const EVENT_BY_ID = `SELECT ${EVENT_COLUMNS} FROM events e WHERE e.id = ?`;

const NOT_FOUND = 'No event with this id.';

/** `local_date_time` must be writable: 9999-12-31T20:00:00Z is already the year 10000 in Tokyo. */
function assertFitsInZone(dateTime: Date, timezone: string, field: 'date_time' | 'timezone'): void {
  if (!fitsInZone(dateTime, timezone)) {
    throw new InvalidInputException({
      [field]: [`date_time must fall before the year 10000 in the event's time zone (${timezone})`],
    });
  }
}

@Injectable()
export class EventsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly transactions: TransactionRunner,
    private readonly waitlist: WaitlistService,
    private readonly cache: ListCache,
    private readonly metrics: RegistrationMetrics,
    private readonly outbox: WebhookOutbox,
  ) {}

  /** The public list never shows drafts; `mine=true` lists the caller's own events, drafts included. */
  async list(query: ListEventsQueryDto, viewer: AuthenticatedUser | undefined): Promise<Paginated<EventDto>> {
    if (query.mine && !viewer) {
      throw new UnauthenticatedException('mine=true lists your own events: send an access token.');
    }
    const list = eventListSql(query, viewer?.id);
    const manager = this.dataSource.manager;
    const filterKey = `${list.filter}|${list.params.join('|')}`;
    const offset = (query.page - 1) * query.page_size;
    const countAll = async () => {
      const [{ total }] = await select<{ total: number | string }>(manager, eventCountSql(list), list.params);
      return Number(total);
    };
    const readIds = async () => {
      const page = await select<{ id: number }>(manager, eventPageIdsSql(list, isMysqlFamily(manager.connection)), [
        ...list.params,
        query.page_size,
        offset,
      ]);
      return page.map((row) => row.id);
    };
    let total: number;
    let ids: number[];
    if (list.sync) {
      // A sync client's page of ids is always read fresh: one a second old could skip a change for good.
      // Its total is exact when page 1 is not full, else counted (and remembered, as for any list).
      const counted = () => this.cache.remember(`total|${filterKey}`, countAll);
      ids = offset > 0 && offset >= (await counted()) ? [] : await readIds();
      total =
        offset === 0 && ids.length < query.page_size ? ids.length : Math.max(offset + ids.length, await counted());
    } else {
      total = await this.cache.remember(`total|${filterKey}`, countAll);
      ids =
        offset >= total
          ? []
          : await this.cache.remember(`page|${filterKey}|${list.order}|${query.page_size}|${offset}`, readIds);
    }
    const rows = ids.length === 0 ? [] : await select<EventRow>(manager, eventsByIdSql(ids.length, list), ids);
    return new Paginated(rows.map(toEventDto), total, query.page, query.page_size);
  }

  async get(id: number, viewer: AuthenticatedUser | undefined): Promise<EventDto> {
    const [row] = await select<EventRow>(this.dataSource.manager, EVENT_BY_ID, [id]);
    if (!row || !isVisibleTo({ status: row.status, organizerId: row.organizer_id }, viewer?.id)) {
      throw new NotFoundException(NOT_FOUND);
    }
    return toEventDto(row);
  }

  /** One INSERT, and the answer is built from what was written: no transaction, no read back. */
  async create(dto: CreateEventDto, caller: AuthenticatedUser): Promise<EventDto> {
    const now = new Date();
    const dateTime = parseZonedDateTime(dto.date_time)!;
    const timezone = dto.timezone ?? 'UTC';
    assertFitsInZone(dateTime, timezone, 'date_time');
    const row: Omit<EventRow, 'id'> = {
      title: dto.title,
      description: dto.description ?? '',
      date_time: dateTime,
      timezone,
      location: dto.location,
      status: dto.status ?? 'active',
      capacity: dto.capacity,
      attendees_count: 0,
      waitlist_count: 0,
      organizer_id: caller.id,
      created_at: now,
      updated_at: now,
      organizer: caller.username,
    };
    const { affected, insertId } = await this.transactions.runStatement((manager) =>
      // Inserted only while the caller's account exists (a token can outlive it).
      execute(
        manager,
        'INSERT INTO events (title, description, date_time, timezone, location, status, capacity, attendees_count, ' +
          'waitlist_count, organizer_id, created_at, updated_at) ' +
          'SELECT ?, ?, ?, ?, ?, ?, ?, 0, 0, id, ?, ? FROM users WHERE id = ?',
        [
          row.title,
          row.description,
          toSqlDateTime(dateTime),
          timezone,
          row.location,
          row.status,
          row.capacity,
          toSqlDateTime(now),
          toSqlDateTime(now),
          caller.id,
        ],
      ),
    );
    if (!affected) throw new UnauthenticatedException('The user of this token no longer exists.', true);
    this.cache.forget();
    return toEventDto({ id: insertId, ...row });
  }

  /**
   * PUT and PATCH alike: only the fields present change. Raising the capacity
   * promotes waitlisted registrations, oldest first, into the new seats in
   * the same transaction; lowering it below the confirmed attendees is a 409.
   */
  async update(id: number, dto: UpdateEventDto, caller: AuthenticatedUser): Promise<EventDto> {
    const { updated, promoted } = await this.transactions.run(async (manager) => {
      const webhooks = await this.outbox.forEvent(manager, id);
      const event = await this.findOwned(manager, id, caller);
      if (dto.capacity !== undefined && dto.capacity < event.attendeesCount) {
        throw new ConflictException(
          `capacity cannot be lower than the ${event.attendeesCount} confirmed attendees; cancel registrations first.`,
        );
      }
      if (dto.status === 'draft' && event.status !== 'draft' && event.attendeesCount + event.waitlistCount > 0) {
        throw new ConflictException('An event with registrations cannot go back to draft; cancel it instead.');
      }
      const changes: Partial<Event> = {
        ...(dto.title !== undefined && { title: dto.title }),
        ...(dto.description !== undefined && { description: dto.description }),
        ...(dto.date_time !== undefined && { dateTime: parseZonedDateTime(dto.date_time) }),
        ...(dto.timezone !== undefined && { timezone: dto.timezone }),
        ...(dto.location !== undefined && { location: dto.location }),
        ...(dto.status !== undefined && { status: dto.status }),
        ...(dto.capacity !== undefined && { capacity: dto.capacity }),
        updatedAt: new Date(),
      };
      assertFitsInZone(
        changes.dateTime ?? event.dateTime,
        changes.timezone ?? event.timezone,
        dto.date_time !== undefined ? 'date_time' : 'timezone',
      );
      await manager.update(Event, { id }, changes);
      const seats = (changes.capacity ?? 0) - event.attendeesCount;
      const promoted = await this.waitlist.promote(manager, id, seats, webhooks);
      const updated = await this.read(manager, id);
      await webhooks.record('event.updated', updated);
      if (changes.status === 'cancelled' && event.status !== 'cancelled') {
        await webhooks.record('event.cancelled', updated);
      }
      return { updated, promoted };
    });
    this.cache.forget();
    this.metrics.promoted(promoted);
    return updated;
  }

  async remove(id: number, caller: AuthenticatedUser): Promise<void> {
    await this.transactions.run(async (manager) => {
      const webhooks = await this.outbox.forEvent(manager, id);
      await this.findOwned(manager, id, caller);
      // The event as it was, read before it goes (its registrations go with it, without webhooks of their own).
      await webhooks.record('event.deleted', () => this.read(manager, id));
      await manager.delete(Event, { id });
    });
    this.cache.forget();
  }

  private async read(manager: EntityManager, id: number): Promise<EventDto> {
    const [row] = await select<EventRow>(manager, EVENT_BY_ID, [id]);
    return toEventDto(row);
  }

  /**
   * Locks the event for a write by its organizer: another user's draft is a
   * 404 like any unknown id, their other events a 403.
   */
  private async findOwned(manager: EntityManager, id: number, caller: AuthenticatedUser): Promise<Event> {
    const event = await lockEvent(manager, id);
    if (!event || !isVisibleTo(event, caller.id)) throw new NotFoundException(NOT_FOUND);
    if (event.organizerId !== caller.id)
      throw new ForbiddenException('Only the organizer can change or delete this event.');
    return event;
  }
}

import { ConflictException, ForbiddenException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { AuthenticatedUser } from '../common/decorators/current-user.decorator.js';
import { Paginated } from '../common/pagination/paginated.js';
import { UnauthenticatedException } from '../common/problems/problem.exceptions.js';
import { foldCase } from '../common/validation/case-fold.js';
import { parseZonedDateTime } from '../common/validation/zoned-date-time.js';
import { execute, select, type SqlValue, toSqlDateTime } from '../database/sql.js';
import { TransactionRunner } from '../database/transaction.runner.js';
import { WaitlistService } from '../registrations/waitlist.service.js';
import type { CreateEventDto, UpdateEventDto } from './dto/event-input.dto.js';
import { EVENT_COLUMNS, type EventDto, type EventRow, toEventDto } from './dto/event.dto.js';
import type { EventOrdering, ListEventsQueryDto } from './dto/list-events-query.dto.js';
import { isVisibleTo, lockEvent } from './event-access.js';
import { Event } from './event.entity.js';

/** Each ordering, and its tie-break by id in the same direction; every one is served by an index. */
const ORDER_BY: Record<EventOrdering, string> = {
  date_time: 'e.date_time ASC, e.id ASC',
  '-date_time': 'e.date_time DESC, e.id DESC',
  created_at: 'e.created_at ASC, e.id ASC',
  '-created_at': 'e.created_at DESC, e.id DESC',
  title: 'e.title ASC, e.id ASC',
  '-title': 'e.title DESC, e.id DESC',
};

const EVENT_BY_ID = `SELECT ${EVENT_COLUMNS} FROM events e JOIN users u ON u.id = e.organizer_id WHERE e.id = ?`;

const NOT_FOUND = 'No event with this id.';

/** `%`, `_` and the escape character itself match literally in a LIKE pattern. */
function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

@Injectable()
export class EventsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly transactions: TransactionRunner,
    private readonly waitlist: WaitlistService,
  ) {}

  /** The public list never shows drafts; `mine=true` lists the caller's own events, drafts included. */
  async list(query: ListEventsQueryDto, viewer: AuthenticatedUser | undefined): Promise<Paginated<EventDto>> {
    if (query.mine && !viewer) {
      throw new UnauthenticatedException('mine=true lists your own events: send an access token.');
    }
    const conditions: string[] = [];
    const params: SqlValue[] = [];
    const where = (condition: string, ...values: SqlValue[]) => {
      conditions.push(condition);
      params.push(...values);
    };
    if (query.mine) where('e.organizer_id = ?', viewer!.id);
    else where("e.status <> 'draft'");
    if (query.status) where('e.status = ?', query.status);
    if (query.from) where('e.date_time >= ?', toSqlDateTime(parseZonedDateTime(query.from)!));
    if (query.to) where('e.date_time < ?', toSqlDateTime(parseZonedDateTime(query.to)!));
    if (query.upcoming !== undefined) {
      where(query.upcoming ? 'e.date_time >= ?' : 'e.date_time < ?', toSqlDateTime(new Date()));
    }
    if (query.search) {
      const pattern = containsPattern(query.search);
      where("(LOWER(e.title) LIKE ? ESCAPE '!' OR LOWER(e.location) LIKE ? ESCAPE '!')", pattern, pattern);
    }
    if (query.organizer) {
      where('e.organizer_id = (SELECT id FROM users WHERE username_normalized = ?)', foldCase(query.organizer));
    }
    const filter = conditions.join(' AND ');
    const order = ORDER_BY[query.ordering];
    const manager = this.dataSource.manager;
    // The page's ids come from the indexes alone (a deep OFFSET skips index entries, not rows); then 50 rows are read.
    const [rows, [{ total }]] = await Promise.all([
      select<EventRow>(
        manager,
        `SELECT ${EVENT_COLUMNS} FROM (SELECT e.id FROM events e WHERE ${filter} ORDER BY ${order} LIMIT ? OFFSET ?) page ` +
          `JOIN events e ON e.id = page.id JOIN users u ON u.id = e.organizer_id ORDER BY ${order}`,
        [...params, query.page_size, (query.page - 1) * query.page_size],
      ),
      select<{ total: number | string }>(manager, `SELECT COUNT(*) AS total FROM events e WHERE ${filter}`, params),
    ]);
    return new Paginated(rows.map(toEventDto), Number(total), query.page, query.page_size);
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
    const row: Omit<EventRow, 'id'> = {
      title: dto.title,
      description: dto.description ?? '',
      date_time: dateTime,
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
        'INSERT INTO events (title, description, date_time, location, status, capacity, attendees_count, ' +
          'waitlist_count, organizer_id, created_at, updated_at) ' +
          'SELECT ?, ?, ?, ?, ?, ?, 0, 0, id, ?, ? FROM users WHERE id = ?',
        [
          row.title,
          row.description,
          toSqlDateTime(dateTime),
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
    return toEventDto({ id: insertId, ...row });
  }

  /**
   * PUT and PATCH alike: only the fields present change. Raising the capacity
   * promotes waitlisted registrations, oldest first, into the new seats in
   * the same transaction; lowering it below the confirmed attendees is a 409.
   */
  async update(id: number, dto: UpdateEventDto, caller: AuthenticatedUser): Promise<EventDto> {
    return this.transactions.run(async (manager) => {
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
        ...(dto.location !== undefined && { location: dto.location }),
        ...(dto.status !== undefined && { status: dto.status }),
        ...(dto.capacity !== undefined && { capacity: dto.capacity }),
        updatedAt: new Date(),
      };
      await manager.update(Event, { id }, changes);
      await this.waitlist.promote(manager, id, (changes.capacity ?? 0) - event.attendeesCount);
      return this.read(manager, id);
    });
  }

  async remove(id: number, caller: AuthenticatedUser): Promise<void> {
    await this.transactions.run(async (manager) => {
      await this.findOwned(manager, id, caller);
      await manager.delete(Event, { id });
    });
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

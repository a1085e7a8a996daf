import { Readable } from 'node:stream';
import { ConflictException, ForbiddenException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { stringify } from 'csv-stringify';
import { type EntityManager, Repository, type SelectQueryBuilder } from 'typeorm';
import type { AuthenticatedUser } from '../common/decorators/current-user.decorator.js';
import type { PageQueryDto } from '../common/pagination/page-query.dto.js';
import { Paginated } from '../common/pagination/paginated.js';
import { DuplicateValueException, UnauthenticatedException } from '../common/problems/problem.exceptions.js';
import { uniqueViolation } from '../database/database-errors.js';
import { isMysqlFamily } from '../database/dialect.js';
import { execute, fromSqlDateTime, select, toSqlDateTime } from '../database/sql.js';
import { TransactionRunner } from '../database/transaction.runner.js';
import { isVisibleTo, lockEvent } from '../events/event-access.js';
import { Event, type EventStatus } from '../events/event.entity.js';
import { RegistrationMetrics } from '../metrics/registration-metrics.js';
import { WebhookOutbox } from '../webhooks/webhook-outbox.js';
import { cancelTokenMatches, newCancelToken } from './cancel-token.js';
import type { ListRegistrationsQueryDto } from './dto/list-registrations-query.dto.js';
import type { RegisterForEventDto } from './dto/register-for-event.dto.js';
import {
  type CapacityDto,
  maskEmail,
  type RegistrationCreatedDto,
  type RegistrationDto,
  toRegistrationDto,
  type WaitlistDto,
} from './dto/registration.dto.js';
import { Registration, type RegistrationStatus } from './registration.entity.js';
import { type PositionedRegistration, WaitlistService } from './waitlist.service.js';

export const EVENT_NOT_FOUND = 'No event with this id.';

interface CountersRow {
  status: EventStatus;
  organizer_id: number;
  capacity: number;
  attendees_count: number;
  waitlist_count: number;
  checked_in_count: number;
}
export const REGISTRATION_NOT_FOUND = 'No registration with this id for this event.';
export const REGISTRATION_CLOSED = 'Registration is closed for this event';
const CSV_BATCH = 1_000;
const CSV_COLUMNS = [
  'id',
  'name',
  'email',
  'status',
  'position',
  'created_at',
  'promoted_at',
  'checked_in_at',
] as const;

/** Which registrations the organizer's list and its CSV export keep: by status, by check-in, or both. */
export type RegistrationFilter = Pick<ListRegistrationsQueryDto, 'status' | 'checked_in'>;

/** Narrows a query over registrations aliased `registration` to those the filter keeps. */
function applyFilter(query: SelectQueryBuilder<Registration>, { status, checked_in }: RegistrationFilter): void {
  if (status) query.andWhere('registration.status = :status', { status });
  if (checked_in !== undefined) query.andWhere(`registration.checkedInAt IS ${checked_in ? 'NOT ' : ''}NULL`);
}

/**
 * How many registrations the filter keeps, from the event's counters (which
 * always equal its rows): only a confirmed registration can be checked in.
 */
function filteredTotal(event: CountersRow, { status, checked_in }: RegistrationFilter): number {
  const confirmed =
    checked_in === undefined
      ? event.attendees_count
      : checked_in
        ? event.checked_in_count
        : event.attendees_count - event.checked_in_count;
  const waitlisted = checked_in === true ? 0 : event.waitlist_count;
  return (status === 'waitlisted' ? 0 : confirmed) + (status === 'confirmed' ? 0 : waitlisted);
}

/** A registration's row as it is first written, before it has an id and a place. */
type NewRegistration = Pick<Registration, 'eventId' | 'userId' | 'name' | 'email' | 'cancelTokenHash' | 'createdAt'>;

function registrationOf(row: NewRegistration, id: number, status: RegistrationStatus): Registration {
  return Object.assign(new Registration(), { ...row, id, status, promotedAt: null, checkedInAt: null });
}

/** What `register_for_event` answers: the new registration, or nulls when the event is closed. */
interface PlacedRow {
  id: number | null;
  status: RegistrationStatus | null;
}

/** The largest id an `int` column holds: the procedure refuses an argument beyond its range. */
const MAX_ID = 2_147_483_647;

/** MySQL: the seat or waitlist place and the row, in the caller's transaction or (`ownTransaction`) its own. */
async function callRegisterProcedure(
  manager: EntityManager,
  row: NewRegistration,
  ownTransaction: boolean,
): Promise<PlacedRow> {
  // No event has an id outside 1..MAX_ID (the path accepts any integer).
  if (!(row.eventId >= 1 && row.eventId <= MAX_ID)) return { id: null, status: null };
  // A CALL answers with the procedure's result set, then the call's own status.
  const [[placed]] = await select<PlacedRow[]>(manager, 'CALL register_for_event(?, ?, ?, ?, ?, ?, ?)', [
    row.eventId,
    row.userId,
    row.name,
    row.email,
    row.cancelTokenHash,
    toSqlDateTime(row.createdAt),
    ownTransaction ? 1 : 0,
  ]);
  return placed;
}

/** Who asks for one registration: a caller with a token, the holder of its cancel token, or both. */
export interface RegistrationCredentials {
  caller?: AuthenticatedUser;
  registrationToken?: string;
}

/**
 * Spreadsheets run a cell that starts with one of these as a formula; a
 * leading apostrophe makes it text (OWASP's advice for CSV injection).
 */
function neutraliseFormula(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

@Injectable()
export class RegistrationsService {
  constructor(
    @InjectRepository(Registration) private readonly registrations: Repository<Registration>,
    private readonly transactions: TransactionRunner,
    private readonly waitlist: WaitlistService,
    private readonly metrics: RegistrationMetrics,
    private readonly outbox: WebhookOutbox,
  ) {}

  /**
   * A seat while one is free, else the end of the waitlist. Taking the seat is
   * one conditional UPDATE (`attendees_count < capacity`), so concurrent
   * registrations cannot overbook; the unique (event_id, email) index refuses
   * a duplicate, and the whole transaction (counter included) rolls back.
   */
  async register(
    eventId: number,
    dto: RegisterForEventDto,
    caller?: AuthenticatedUser,
  ): Promise<RegistrationCreatedDto> {
    const { token, hash } = newCancelToken();
    const row: NewRegistration = {
      eventId,
      userId: caller?.id ?? null,
      name: dto.name,
      email: dto.email,
      cancelTokenHash: hash,
      createdAt: new Date(),
    };
    const registration = await this.counted(this.place(row, caller));
    return {
      detail:
        registration.status === 'confirmed'
          ? 'Registered for event successfully'
          : 'Event is full; added to the waitlist',
      registration: toRegistrationDto(registration),
      cancel_token: token,
    };
  }

  async capacity(eventId: number, viewer?: AuthenticatedUser): Promise<CapacityDto> {
    const event = await this.visibleEvent(eventId, viewer);
    return {
      capacity: event.capacity,
      attendees_count: event.attendees_count,
      available_slots: event.capacity - event.attendees_count,
      waitlist_count: event.waitlist_count,
      checked_in_count: event.checked_in_count,
    };
  }

  /** First come, first served. The organizer sees emails; other users see them masked. */
  async waitlistOf(eventId: number, page: PageQueryDto, caller: AuthenticatedUser): Promise<WaitlistDto> {
    const event = await this.visibleEvent(eventId, caller);
    const isOrganizer = event.organizer_id === caller.id;
    const first = (page.page - 1) * page.page_size;
    // The count is the event's counter, kept equal to the rows: counting 200,000 waiting rows took 20 ms.
    const entries =
      first >= event.waitlist_count
        ? []
        : await select<{ name: string; email: string; created_at: Date | string }>(
            this.registrations.manager,
            "SELECT name, email, created_at FROM registrations WHERE event_id = ? AND status = 'waitlisted' " +
              'ORDER BY id LIMIT ? OFFSET ?',
            [eventId, page.page_size, first],
          );
    return {
      waitlist: entries.map((entry, index) => ({
        position: first + index + 1,
        name: entry.name,
        email: isOrganizer ? entry.email : maskEmail(entry.email),
        created_at: fromSqlDateTime(entry.created_at).toISOString(),
      })),
      count: event.waitlist_count,
    };
  }

  async listForOrganizer(
    eventId: number,
    query: ListRegistrationsQueryDto,
    caller: AuthenticatedUser,
  ): Promise<Paginated<RegistrationDto>> {
    const event = await this.organizedEvent(eventId, caller);
    const total = filteredTotal(event, query);
    const first = (query.page - 1) * query.page_size;
    if (first >= total) return new Paginated([], total, query.page, query.page_size);
    const base = this.registrations
      .createQueryBuilder('registration')
      .where('registration.eventId = :eventId', { eventId });
    applyFilter(base, query);
    const rows = await this.waitlist.withPositions(
      base.orderBy('registration.id', 'ASC').offset(first).limit(query.page_size),
    );
    return new Paginated(rows.map(toRegistrationDto), total, query.page, query.page_size);
  }

  /**
   * Every registration of the event that the filter keeps, as CSV, read from
   * the database in batches and streamed to the client.
   */
  async exportCsv(eventId: number, filter: RegistrationFilter, caller: AuthenticatedUser): Promise<Readable> {
    await this.organizedEvent(eventId, caller);
    const batches = async function* (this: RegistrationsService) {
      let afterId = 0;
      for (;;) {
        const query = this.registrations
          .createQueryBuilder('registration')
          .where('registration.eventId = :eventId', { eventId })
          .andWhere('registration.id > :afterId', { afterId });
        applyFilter(query, filter);
        const rows = await this.waitlist.withPositions(query.orderBy('registration.id', 'ASC').limit(CSV_BATCH));
        for (const row of rows) yield toRegistrationDto(row);
        if (rows.length < CSV_BATCH) return;
        afterId = rows[rows.length - 1].id;
      }
    }.call(this);
    const csv = stringify({
      header: true,
      columns: [...CSV_COLUMNS],
      cast: { string: neutraliseFormula },
    });
    return Readable.from(batches).pipe(csv);
  }

  async get(eventId: number, registrationId: number, credentials: RegistrationCredentials): Promise<RegistrationDto> {
    const manager = this.registrations.manager;
    const event = await manager.findOneBy(Event, { id: eventId });
    const registration = await this.authorised(manager, event, registrationId, credentials);
    return toRegistrationDto(await this.positioned(manager, registration));
  }

  /**
   * Cancels a registration; a freed seat goes to the oldest waitlisted
   * registration in the same transaction, and a checked-in one leaves the
   * check-in count. Of several concurrent cancellations of one registration,
   * one succeeds and the others find it gone (404).
   */
  async cancel(eventId: number, registrationId: number, credentials: RegistrationCredentials): Promise<void> {
    const promoted = await this.transactions.run(async (manager) => {
      const webhooks = await this.outbox.forEvent(manager, eventId);
      const event = await lockEvent(manager, eventId);
      const registration = await this.authorised(manager, event, registrationId, credentials);
      // As it was: a waitlisted registration's position is counted before its row goes.
      const cancelled = webhooks.wants('registration.cancelled')
        ? toRegistrationDto(await this.positioned(manager, registration))
        : undefined;
      await manager.delete(Registration, { id: registration.id });
      await manager
        .createQueryBuilder()
        .update(Event)
        .set({
          ...(registration.status === 'confirmed'
            ? {
                attendeesCount: () => 'attendees_count - 1',
                // One statement: the database checks checked_in_count <= attendees_count after each.
                ...(registration.checkedInAt !== null && { checkedInCount: () => 'checked_in_count - 1' }),
              }
            : { waitlistCount: () => 'waitlist_count - 1' }),
          updatedAt: new Date(),
        })
        .where('id = :eventId', { eventId })
        .execute();
      if (cancelled) await webhooks.record('registration.cancelled', cancelled);
      return registration.status === 'confirmed' ? this.waitlist.promote(manager, eventId, 1, webhooks) : 0;
    });
    this.metrics.promoted(promoted);
  }

  /** The caller's own registrations (made while sending a token), newest last. */
  async listMine(caller: AuthenticatedUser, query: PageQueryDto): Promise<Paginated<RegistrationDto>> {
    const base = this.registrations
      .createQueryBuilder('registration')
      .where('registration.userId = :userId', { userId: caller.id });
    const total = await base.getCount();
    const rows = await this.waitlist.withPositions(
      base
        .orderBy('registration.id', 'ASC')
        .offset((query.page - 1) * query.page_size)
        .limit(query.page_size),
    );
    return new Paginated(rows.map(toRegistrationDto), total, query.page, query.page_size);
  }

  /** Counts a registration attempt by its outcome, once its transaction has committed or been refused. */
  private async counted(registering: Promise<PositionedRegistration>): Promise<PositionedRegistration> {
    try {
      const registration = await registering;
      this.metrics.registered(registration.status === 'confirmed' ? 'confirmed' : 'waitlisted');
      return registration;
    } catch (error) {
      if (error instanceof DuplicateValueException) this.metrics.registered('duplicate');
      else if (error instanceof ConflictException) this.metrics.registered('closed');
      throw error;
    }
  }

  /**
   * Takes a seat or waitlist place and writes the registration, with the
   * webhook deliveries it causes, in one transaction. Every registration for
   * an event holds the event's row lock from its seat to its commit, so that
   * hold is kept short: on MySQL the seat and the row are one call of the
   * `register_for_event` procedure, which also commits when there is no
   * delivery to record (one round trip; its migration gives the figures).
   */
  private async place(row: NewRegistration, caller?: AuthenticatedUser): Promise<PositionedRegistration> {
    try {
      return await (isMysqlFamily(this.registrations.manager.connection)
        ? this.placeByProcedure(row, caller)
        : this.placeStepByStep(row, caller));
    } catch (error) {
      if (uniqueViolation(error)) {
        throw new DuplicateValueException({ email: 'This email is already registered for this event.' });
      }
      throw error;
    }
  }

  private async placeByProcedure(row: NewRegistration, caller?: AuthenticatedUser): Promise<PositionedRegistration> {
    const pool = this.registrations.manager;
    // Read outside the transaction: it takes no lock, and a subscription made meanwhile is missed either way.
    const webhooks = await this.outbox.forEvent(pool, row.eventId);
    if (!webhooks.wants('registration.created')) {
      const placed = await this.transactions.runStatement((manager) => callRegisterProcedure(manager, row, true));
      return this.placedRegistration(pool, row, placed, caller);
    }
    return this.transactions.run(async (manager) => {
      const placed = await callRegisterProcedure(manager, row, false);
      const registration = await this.placedRegistration(manager, row, placed, caller);
      await this.outbox.record(manager, row.eventId, 'registration.created', () => toRegistrationDto(registration));
      return registration;
    });
  }

  /** The registration the procedure wrote, with its waitlist position, or why it wrote none. */
  private async placedRegistration(
    manager: EntityManager,
    row: NewRegistration,
    placed: PlacedRow,
    caller?: AuthenticatedUser,
  ): Promise<PositionedRegistration> {
    if (placed.id === null || placed.status === null) throw await this.whyClosed(manager, row.eventId, caller);
    return this.positioned(manager, registrationOf(row, placed.id, placed.status));
  }

  /** SQLite, which has no procedures (nor round trips): the same steps, one statement each. */
  private placeStepByStep(row: NewRegistration, caller?: AuthenticatedUser): Promise<PositionedRegistration> {
    return this.transactions.run(async (manager) => {
      const webhooks = await this.outbox.forEvent(manager, row.eventId);
      const status = await this.claimPlace(manager, row.eventId, row.createdAt);
      if (status === null) throw await this.whyClosed(manager, row.eventId, caller);
      const { insertId } = await execute(
        manager,
        'INSERT INTO registrations (event_id, user_id, name, email, status, cancel_token_hash, created_at) ' +
          'VALUES (?, ?, ?, ?, ?, ?, ?)',
        [row.eventId, row.userId, row.name, row.email, status, row.cancelTokenHash, toSqlDateTime(row.createdAt)],
      );
      const registration = await this.positioned(manager, registrationOf(row, insertId, status));
      await webhooks.record('registration.created', () => toRegistrationDto(registration));
      return registration;
    });
  }

  /**
   * Counts one more seat taken (only while one is free), else one more in the
   * waitlist, if the event is open: active and still to come, and moves its
   * `updated_at` (the counters are part of the event). The first UPDATE takes
   * the event's row lock for the rest of the transaction. Null when the event
   * is closed. The rules of the MySQL procedure, which must stay the same.
   */
  private async claimPlace(manager: EntityManager, eventId: number, now: Date): Promise<RegistrationStatus | null> {
    const at = toSqlDateTime(now);
    const seat = await execute(
      manager,
      "UPDATE events SET attendees_count = attendees_count + 1, updated_at = ? WHERE id = ? AND status = 'active' AND date_time > ? AND attendees_count < capacity",
      [at, eventId, at],
    );
    if (seat.affected > 0) return 'confirmed';
    const place = await execute(
      manager,
      "UPDATE events SET waitlist_count = waitlist_count + 1, updated_at = ? WHERE id = ? AND status = 'active' AND date_time > ?",
      [at, eventId, at],
    );
    return place.affected > 0 ? 'waitlisted' : null;
  }

  /** After a refused registration: the event is unknown or hidden (404), or not open (409). */
  private async whyClosed(manager: EntityManager, eventId: number, caller?: AuthenticatedUser): Promise<Error> {
    const event = await manager.findOneBy(Event, { id: eventId });
    if (!event || !isVisibleTo(event, caller?.id)) return new NotFoundException(EVENT_NOT_FOUND);
    return new ConflictException(REGISTRATION_CLOSED);
  }

  /** The event's counters, if the viewer may see it; its counters always equal its registration rows. */
  private async visibleEvent(eventId: number, viewer?: AuthenticatedUser): Promise<CountersRow> {
    const [event] = await select<CountersRow>(
      this.registrations.manager,
      'SELECT status, organizer_id, capacity, attendees_count, waitlist_count, checked_in_count FROM events WHERE id = ?',
      [eventId],
    );
    if (!event || !isVisibleTo({ status: event.status, organizerId: event.organizer_id }, viewer?.id)) {
      throw new NotFoundException(EVENT_NOT_FOUND);
    }
    return event;
  }

  private async organizedEvent(eventId: number, caller: AuthenticatedUser): Promise<CountersRow> {
    const event = await this.visibleEvent(eventId, caller);
    if (event.organizer_id !== caller.id) {
      throw new ForbiddenException('Only the organizer can see the registrations of this event.');
    }
    return event;
  }

  /**
   * One registration, for its event's organizer, the account that made it, or
   * whoever holds its cancel token; that token opens this registration only.
   */
  private async authorised(
    manager: EntityManager,
    event: Event | null,
    registrationId: number,
    { caller, registrationToken }: RegistrationCredentials,
  ): Promise<Registration> {
    if (!event || !isVisibleTo(event, caller?.id)) throw new NotFoundException(EVENT_NOT_FOUND);
    const registration = await manager.findOneBy(Registration, { id: registrationId, eventId: event.id });
    if (!registration) throw new NotFoundException(REGISTRATION_NOT_FOUND);
    const allowed =
      (caller !== undefined && (caller.id === event.organizerId || caller.id === registration.userId)) ||
      (registrationToken !== undefined && cancelTokenMatches(registrationToken, registration.cancelTokenHash));
    if (allowed) return registration;
    if (!caller && registrationToken === undefined) {
      throw new UnauthenticatedException('Send the registration token (X-Registration-Token) or an access token.');
    }
    throw new ForbiddenException('These credentials do not open this registration.');
  }

  private async positioned(manager: EntityManager, registration: Registration): Promise<PositionedRegistration> {
    if (registration.status !== 'waitlisted') return Object.assign(registration, { position: null });
    const [{ position }] = await select<{ position: number | string }>(
      manager,
      "SELECT COUNT(*) AS position FROM registrations WHERE event_id = ? AND status = 'waitlisted' AND id <= ?",
      [registration.eventId, registration.id],
    );
    return Object.assign(registration, { position: Number(position) });
  }
}

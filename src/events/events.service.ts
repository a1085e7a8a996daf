import { ConflictException, ForbiddenException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { type EntityManager, Repository } from 'typeorm';
import type { AuthenticatedUser } from '../common/decorators/current-user.decorator.js';
import { Paginated } from '../common/pagination/paginated.js';
import { UnauthenticatedException } from '../common/problems/problem.exceptions.js';
import { parseZonedDateTime } from '../common/validation/zoned-date-time.js';
import { TransactionRunner } from '../database/transaction.runner.js';
import { foldCase } from '../common/validation/case-fold.js';
import { WaitlistService } from '../registrations/waitlist.service.js';
import { User } from '../users/user.entity.js';
import { UsersService } from '../users/users.service.js';
import type { CreateEventDto, UpdateEventDto } from './dto/event-input.dto.js';
import { type EventDto, toEventDto } from './dto/event.dto.js';
import type { EventOrdering, ListEventsQueryDto } from './dto/list-events-query.dto.js';
import { isVisibleTo, lockEvent } from './event-access.js';
import { Event } from './event.entity.js';

const ORDER_COLUMNS: Record<EventOrdering, [column: string, direction: 'ASC' | 'DESC']> = {
  date_time: ['event.dateTime', 'ASC'],
  '-date_time': ['event.dateTime', 'DESC'],
  created_at: ['event.createdAt', 'ASC'],
  '-created_at': ['event.createdAt', 'DESC'],
  title: ['event.title', 'ASC'],
  '-title': ['event.title', 'DESC'],
};

const NOT_FOUND = 'No event with this id.';

/** `%`, `_` and the escape character itself match literally in a LIKE pattern. */
function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

@Injectable()
export class EventsService {
  constructor(
    @InjectRepository(Event) private readonly events: Repository<Event>,
    private readonly transactions: TransactionRunner,
    private readonly users: UsersService,
    private readonly waitlist: WaitlistService,
  ) {}

  /** The public list never shows drafts; `mine=true` lists the caller's own events, drafts included. */
  async list(query: ListEventsQueryDto, viewer: AuthenticatedUser | undefined): Promise<Paginated<EventDto>> {
    if (query.mine && !viewer) {
      throw new UnauthenticatedException('mine=true lists your own events: send an access token.');
    }
    const builder = this.events
      .createQueryBuilder('event')
      .innerJoin('event.organizer', 'organizer')
      .addSelect(['organizer.id', 'organizer.username']);
    if (query.mine) builder.where('event.organizerId = :viewerId', { viewerId: viewer!.id });
    else builder.where('event.status <> :draft', { draft: 'draft' });
    if (query.status) builder.andWhere('event.status = :status', { status: query.status });
    if (query.from) builder.andWhere('event.dateTime >= :from', { from: parseZonedDateTime(query.from) });
    if (query.to) builder.andWhere('event.dateTime < :to', { to: parseZonedDateTime(query.to) });
    if (query.upcoming !== undefined) {
      builder.andWhere(query.upcoming ? 'event.dateTime >= :now' : 'event.dateTime < :now', { now: new Date() });
    }
    if (query.search) {
      builder.andWhere(
        "(LOWER(event.title) LIKE :pattern ESCAPE '!' OR LOWER(event.location) LIKE :pattern ESCAPE '!')",
        { pattern: containsPattern(query.search) },
      );
    }
    if (query.organizer) {
      builder.andWhere('organizer.usernameNormalized = :organizer', { organizer: foldCase(query.organizer) });
    }
    const [column, direction] = ORDER_COLUMNS[query.ordering];
    builder
      .orderBy(column, direction)
      .addOrderBy('event.id', direction)
      .offset((query.page - 1) * query.page_size)
      .limit(query.page_size);
    const [events, total] = await builder.getManyAndCount();
    const items = events.map((event) => toEventDto(event, event.organizer.username));
    return new Paginated(items, total, query.page, query.page_size);
  }

  async get(id: number, viewer: AuthenticatedUser | undefined): Promise<EventDto> {
    const event = await this.events.findOne({ where: { id }, relations: { organizer: true } });
    if (!event || !isVisibleTo(event, viewer?.id)) throw new NotFoundException(NOT_FOUND);
    return toEventDto(event, event.organizer.username);
  }

  async create(dto: CreateEventDto, caller: AuthenticatedUser): Promise<EventDto> {
    const organizer = await this.users.getAccount(caller.id);
    return this.transactions.run(async (manager) => {
      const now = new Date();
      const event = manager.create(Event, {
        title: dto.title,
        description: dto.description ?? '',
        dateTime: parseZonedDateTime(dto.date_time),
        location: dto.location,
        status: dto.status ?? 'active',
        capacity: dto.capacity,
        attendeesCount: 0,
        waitlistCount: 0,
        organizerId: organizer.id,
        createdAt: now,
        updatedAt: now,
      });
      await manager.insert(Event, event);
      return toEventDto(event, organizer.username);
    });
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
      const promoted = await this.waitlist.promote(manager, id, (changes.capacity ?? 0) - event.attendeesCount);
      Object.assign(event, changes, {
        attendeesCount: event.attendeesCount + promoted,
        waitlistCount: event.waitlistCount - promoted,
      });
      return toEventDto(event, await this.organizerName(manager, event));
    });
  }

  async remove(id: number, caller: AuthenticatedUser): Promise<void> {
    await this.transactions.run(async (manager) => {
      await this.findOwned(manager, id, caller);
      await manager.delete(Event, { id });
    });
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

  private async organizerName(manager: EntityManager, event: Event): Promise<string> {
    const organizer = await manager.findOneOrFail(User, {
      select: { username: true },
      where: { id: event.organizerId },
    });
    return organizer.username;
  }
}

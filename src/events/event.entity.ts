import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, type Relation } from 'typeorm';
import { User } from '../users/user.entity.js';

export const EVENT_STATUSES = ['draft', 'active', 'cancelled', 'completed'] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];

@Entity('events')
@Index('idx_events_status_date_time', ['status', 'dateTime', 'id'])
@Index('idx_events_organizer_date_time', ['organizerId', 'dateTime', 'id'])
@Index('idx_events_date_time', ['dateTime', 'id', 'status'])
@Index('idx_events_created_at', ['createdAt', 'id', 'status'])
@Index('idx_events_title', ['title', 'id', 'status'])
@Index('idx_events_updated_at', ['updatedAt', 'id', 'status'])
@Check('chk_events_status', `status IN ('draft', 'active', 'cancelled', 'completed')`)
@Check('chk_events_capacity', 'capacity >= 1 AND capacity <= 1000000')
@Check('chk_events_attendees_count', 'attendees_count >= 0 AND attendees_count <= capacity')
@Check('chk_events_waitlist_count', 'waitlist_count >= 0')
@Check('chk_events_checked_in_count', 'checked_in_count >= 0 AND checked_in_count <= attendees_count')
export class Event {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ type: 'varchar', length: 200 })
  title: string;

  @Column({ type: 'text' })
  description: string;

  /** Stored in UTC, to the second. */
  @Column({ type: 'datetime' })
  dateTime: Date;

  /** IANA time zone name; the API also shows `date_time` on its wall clock. */
  @Column({ type: 'varchar', length: 64, default: 'UTC' })
  timezone: string;

  @Column({ type: 'varchar', length: 255 })
  location: string;

  @Column({ type: 'varchar', length: 16 })
  status: EventStatus;

  @Column({ type: 'int' })
  capacity: number;

  /** Confirmed registrations; the database checks it never exceeds `capacity`. */
  @Column({ type: 'int', default: 0 })
  attendeesCount: number;

  @Column({ type: 'int', default: 0 })
  waitlistCount: number;

  /** Confirmed registrations checked in; the database checks it never exceeds `attendees_count`. */
  @Column({ type: 'int', default: 0 })
  checkedInCount: number;

  @Column({ type: 'int' })
  organizerId: number;

  @ManyToOne(() => User, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'organizer_id', foreignKeyConstraintName: 'fk_events_organizer' })
  organizer: Relation<User>;

  @Column({ type: 'datetime', precision: 3 })
  createdAt: Date;

  /** Moves on every change the event's representation shows, its counters included (sync clients poll it). */
  @Column({ type: 'datetime', precision: 3 })
  updatedAt: Date;
}

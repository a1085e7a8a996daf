import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, type Relation } from 'typeorm';
import { Event } from '../events/event.entity.js';
import { User } from '../users/user.entity.js';

export const REGISTRATION_STATUSES = ['confirmed', 'waitlisted'] as const;
export type RegistrationStatus = (typeof REGISTRATION_STATUSES)[number];

/**
 * A seat, or a place in the waitlist. Ids grow with arrival, so the waitlist
 * is the event's waitlisted rows in id order and a position is derived by
 * counting (never stored, so it can never have gaps). Cancelling deletes the row.
 */
@Entity('registrations')
@Index('uq_registrations_event_email', ['eventId', 'email'], { unique: true })
@Index('idx_registrations_event_status', ['eventId', 'status', 'id'])
@Index('idx_registrations_user', ['userId', 'id'])
@Index('idx_registrations_event_checked_in', ['eventId', 'id', 'checkedInAt'])
@Check('chk_registrations_status', `status IN ('confirmed', 'waitlisted')`)
@Check('chk_registrations_checked_in', `checked_in_at IS NULL OR status = 'confirmed'`)
export class Registration {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ type: 'int' })
  eventId: number;

  @ManyToOne(() => Event, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'event_id', foreignKeyConstraintName: 'fk_registrations_event' })
  event: Relation<Event>;

  /** The account that registered, when the request carried a token. */
  @Column({ type: 'int', nullable: true })
  userId: number | null;

  @ManyToOne(() => User, { onDelete: 'SET NULL', nullable: true })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'fk_registrations_user' })
  user: Relation<User> | null;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  /** Trimmed and case-folded: one registration per address and event. */
  @Column({ type: 'varchar', length: 254 })
  email: string;

  @Column({ type: 'varchar', length: 16 })
  status: RegistrationStatus;

  /** SHA-256 of the cancel token, which is shown once and never stored. */
  @Column({ type: 'varchar', length: 64 })
  cancelTokenHash: string;

  @Column({ type: 'datetime', precision: 3 })
  createdAt: Date;

  /** When it moved from the waitlist to a seat. */
  @Column({ type: 'datetime', precision: 3, nullable: true })
  promotedAt: Date | null;

  /** When the organizer checked it in at the door; only a confirmed registration can be. */
  @Column({ type: 'datetime', precision: 3, nullable: true })
  checkedInAt: Date | null;
}

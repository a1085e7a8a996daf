import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, type Relation } from 'typeorm';
import { User } from '../users/user.entity.js';

/**
 * Where a user wants to hear about the events they organize. The secret
 * signs every delivery, so it is kept as issued (it is shown to its owner
 * once, when the endpoint is created, and never again).
 */
@Entity('webhook_endpoints')
@Index('idx_webhook_endpoints_user', ['userId', 'id'])
export class WebhookEndpoint {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ type: 'int' })
  userId: number;

  @ManyToOne(() => User, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'fk_webhook_endpoints_user' })
  user: Relation<User>;

  @Column({ type: 'varchar', length: 2048 })
  url: string;

  /** The subscribed event types, comma-separated. */
  @Column({ type: 'varchar', length: 255 })
  events: string;

  @Column({ type: 'varchar', length: 64 })
  secret: string;

  @Column({ type: 'datetime', precision: 3 })
  createdAt: Date;

  /** Set when the receiver answered 410 Gone: nothing more is sent to it. */
  @Column({ type: 'datetime', precision: 3, nullable: true })
  disabledAt: Date | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  disabledReason: string | null;
}

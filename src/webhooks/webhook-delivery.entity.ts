import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, type Relation } from 'typeorm';
import type { DeliveryStatus, WebhookEventType } from './webhook-event-types.js';
import { WebhookEndpoint } from './webhook-endpoint.entity.js';

/**
 * The outbox: one row per change and subscribed endpoint, written in the
 * transaction of the change, then sent (and retried) by the dispatcher of
 * any instance. `claimed_by`/`claimed_until` is the lease of the process
 * sending it right now; ids grow with creation, which orders the deliveries
 * of one event to one endpoint.
 */
@Entity('webhook_deliveries')
@Index('uq_webhook_deliveries_public_id', ['publicId'], { unique: true })
@Index('idx_webhook_deliveries_queue', ['status', 'endpointId', 'eventId', 'id'])
@Index('idx_webhook_deliveries_endpoint', ['endpointId', 'id'])
@Index('idx_webhook_deliveries_created', ['createdAt'])
@Check('chk_webhook_deliveries_status', `status IN ('pending', 'delivered', 'failed')`)
export class WebhookDelivery {
  @PrimaryGeneratedColumn()
  id: number;

  /** The id receivers see (`id` in the body, `X-Webhook-Id`): a UUID, the same on every attempt. */
  @Column({ type: 'varchar', length: 36 })
  publicId: string;

  @Column({ type: 'int' })
  endpointId: number;

  @ManyToOne(() => WebhookEndpoint, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'endpoint_id', foreignKeyConstraintName: 'fk_webhook_deliveries_endpoint' })
  endpoint: Relation<WebhookEndpoint>;

  /** The event the change concerns (no foreign key: `event.deleted` outlives it). */
  @Column({ type: 'int' })
  eventId: number;

  @Column({ type: 'varchar', length: 32 })
  type: WebhookEventType;

  /** The `data` of the body, as JSON: the resource as it was when the change committed. */
  @Column({ type: 'text' })
  data: string;

  @Column({ type: 'varchar', length: 16 })
  status: DeliveryStatus;

  @Column({ type: 'int', default: 0 })
  attempts: number;

  @Column({ type: 'int', nullable: true })
  lastStatusCode: number | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  lastError: string | null;

  @Column({ type: 'datetime', precision: 3 })
  nextAttemptAt: Date;

  @Column({ type: 'varchar', length: 36, nullable: true })
  claimedBy: string | null;

  @Column({ type: 'datetime', precision: 3, nullable: true })
  claimedUntil: Date | null;

  @Column({ type: 'datetime', precision: 3 })
  createdAt: Date;

  @Column({ type: 'datetime', precision: 3, nullable: true })
  lastAttemptAt: Date | null;

  @Column({ type: 'datetime', precision: 3, nullable: true })
  deliveredAt: Date | null;
}

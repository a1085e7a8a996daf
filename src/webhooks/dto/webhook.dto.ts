import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  ArrayUnique,
  IsArray,
  IsIn,
  IsString,
  registerDecorator,
  type ValidationOptions,
} from 'class-validator';
import { PageQueryDto } from '../../common/pagination/page-query.dto.js';
import { Optional, ReadOnlyField } from '../../common/validation/field.decorators.js';
import { fromSqlDateTime } from '../../database/sql.js';
import {
  DELIVERY_STATUSES,
  type DeliveryStatus,
  ENDPOINT_STATUSES,
  type EndpointStatus,
  WEBHOOK_EVENT_TYPES,
  type WebhookEventType,
} from '../webhook-event-types.js';

export const MAX_WEBHOOK_URL_LENGTH = 2048;

/** Why a URL is not acceptable as a webhook endpoint, or undefined when it is. */
export function webhookUrlProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'url must be a string';
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
  if (/[\s\u0000-\u001f\u007f]/.test(value)) return 'url must not contain spaces or control characters';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'url must be an absolute http:// or https:// URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'url must be an http:// or https:// URL';
  if (url.username !== '' || url.password !== '') {
    return 'url must not carry credentials: authenticate deliveries by their signature';
  }
  if ([...url.href].length > MAX_WEBHOOK_URL_LENGTH) {
    return `url must be at most ${MAX_WEBHOOK_URL_LENGTH} characters long`;
  }
  return undefined;
}

/** An absolute http(s) URL without credentials, stored as the WHATWG URL standard writes it. */
function WebhookUrlField(options?: ValidationOptions): PropertyDecorator {
  const validate: PropertyDecorator = (target, propertyName) =>
    registerDecorator({
      name: 'isWebhookUrl',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: (args) => webhookUrlProblem(args.value) ?? 'url is invalid', ...options },
      validator: { validate: (value: unknown) => webhookUrlProblem(value) === undefined },
    });
  return applyDecorators(
    validate,
    ApiProperty({
      type: String,
      format: 'uri',
      maxLength: MAX_WEBHOOK_URL_LENGTH,
      example: 'https://hooks.example.com/event-api',
    }),
  );
}

/** Fields the API returns for an endpoint: accepted and ignored in a body (the secret is not among them: it cannot be chosen). */
class WebhookReadOnlyFields {
  @ReadOnlyField() id?: unknown;
  @ReadOnlyField() status?: unknown;
  @ReadOnlyField() created_at?: unknown;
  @ReadOnlyField() disabled_at?: unknown;
  @ReadOnlyField() disabled_reason?: unknown;
}

export class CreateWebhookDto extends WebhookReadOnlyFields {
  /**
   * Where deliveries are POSTed: `http://` or `https://`, without credentials,
   * at most 2,048 characters. By default its host must resolve to public
   * addresses only (no loopback, private, link-local or reserved ones).
   */
  @WebhookUrlField()
  @IsString()
  url: string;

  /** The changes to be told about: at least one, each at most once. */
  @ApiProperty({
    enum: WEBHOOK_EVENT_TYPES,
    isArray: true,
    minItems: 1,
    maxItems: WEBHOOK_EVENT_TYPES.length,
    uniqueItems: true,
    example: ['registration.created', 'registration.cancelled'],
  })
  @IsIn(WEBHOOK_EVENT_TYPES, { each: true, message: `each of events must be one of ${WEBHOOK_EVENT_TYPES.join(', ')}` })
  @ArrayUnique({ message: 'events must not list a type twice' })
  @ArrayMaxSize(WEBHOOK_EVENT_TYPES.length)
  @ArrayNotEmpty({ message: 'events must list at least one event type' })
  @IsArray()
  events: WebhookEventType[];
}

export class WebhookEndpointDto {
  /** @example 4 */
  @ApiProperty({ type: 'integer' })
  id: number;
  /** @example "https://hooks.example.com/event-api" */
  url: string;
  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES, isArray: true, example: ['registration.created'] })
  events: WebhookEventType[];
  /** `disabled` once the receiver answered 410 Gone: nothing more is sent to it. */
  @ApiProperty({ enum: ENDPOINT_STATUSES, example: 'active' })
  status: EndpointStatus;
  /** When it was disabled, else null. */
  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null })
  disabled_at: string | null;
  /** Why it was disabled, else null. */
  @ApiProperty({ type: String, nullable: true, example: null })
  disabled_reason: string | null;
  /** UTC, to the millisecond. @example "2025-01-09T14:21:56.113Z" */
  @ApiProperty({ format: 'date-time' })
  created_at: string;
}

export class WebhookEndpointCreatedDto extends WebhookEndpointDto {
  /**
   * Shown once, in this answer only: the key of the HMAC-SHA256 signature
   * every delivery carries in `X-Webhook-Signature`. Keep it secret.
   * @example "whsec_Vb6mS0cQ3Zl2c8yJt0n4d1KpXo9aR7fU5wEiH3gL2qA"
   */
  secret: string;
}

export class WebhookDeliveryDto {
  /** The delivery's id, also the `id` of the body and `X-Webhook-Id`: de-duplicate by it. @example "0b7e1b9e-3c1f-4f57-9a7e-2f0d5c8a1e42" */
  @ApiProperty({ format: 'uuid' })
  id: string;
  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES, example: 'registration.created' })
  type: WebhookEventType;
  /** The event the change concerns. @example 2 */
  @ApiProperty({ type: 'integer' })
  event_id: number;
  /** `pending` until delivered, or given up (`failed`). */
  @ApiProperty({ enum: DELIVERY_STATUSES, example: 'delivered' })
  status: DeliveryStatus;
  /** Attempts made so far. @example 1 */
  @ApiProperty({ type: 'integer' })
  attempts: number;
  /** The HTTP status of the last attempt, null if it got no answer (or none was made). */
  @ApiProperty({ type: 'integer', nullable: true, example: 200 })
  last_status_code: number | null;
  /** Why the last attempt failed, else null. */
  @ApiProperty({ type: String, nullable: true, example: null })
  last_error: string | null;
  /** While pending: when the next attempt is due. Else null. */
  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null })
  next_attempt_at: string | null;
  /** When the change happened. UTC, to the millisecond. @example "2025-01-09T14:21:56.113Z" */
  @ApiProperty({ format: 'date-time' })
  created_at: string;
  /** When the last attempt was made, else null. */
  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: '2025-01-09T14:21:56.342Z' })
  last_attempt_at: string | null;
  /** When a 2xx answer came, else null. */
  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: '2025-01-09T14:21:56.342Z' })
  delivered_at: string | null;
}

export class ListDeliveriesQueryDto extends PageQueryDto {
  /** Only the deliveries in this state. */
  @Optional()
  @ApiProperty({ enum: DELIVERY_STATUSES, required: false })
  @IsIn(DELIVERY_STATUSES)
  status?: DeliveryStatus;
}

export interface WebhookEndpointRow {
  id: number;
  url: string;
  events: string;
  created_at: Date | string;
  disabled_at: Date | string | null;
  disabled_reason: string | null;
}

export interface WebhookDeliveryRow {
  public_id: string;
  type: WebhookEventType;
  event_id: number;
  status: DeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: Date | string;
  created_at: Date | string;
  last_attempt_at: Date | string | null;
  delivered_at: Date | string | null;
}

const isoOrNull = (value: Date | string | null) => (value === null ? null : fromSqlDateTime(value).toISOString());

export function toWebhookEndpointDto(row: WebhookEndpointRow): WebhookEndpointDto {
  return {
    id: row.id,
    url: row.url,
    events: row.events.split(',') as WebhookEventType[],
    status: row.disabled_at === null ? 'active' : 'disabled',
    disabled_at: isoOrNull(row.disabled_at),
    disabled_reason: row.disabled_reason,
    created_at: fromSqlDateTime(row.created_at).toISOString(),
  };
}

export function toWebhookDeliveryDto(row: WebhookDeliveryRow): WebhookDeliveryDto {
  return {
    id: row.public_id,
    type: row.type,
    event_id: row.event_id,
    status: row.status,
    attempts: row.attempts,
    last_status_code: row.last_status_code,
    last_error: row.last_error,
    next_attempt_at: row.status === 'pending' ? isoOrNull(row.next_attempt_at) : null,
    created_at: fromSqlDateTime(row.created_at).toISOString(),
    last_attempt_at: isoOrNull(row.last_attempt_at),
    delivered_at: isoOrNull(row.delivered_at),
  };
}

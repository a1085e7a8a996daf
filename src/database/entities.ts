import { LoginSession } from '../auth/login-session.entity.js';
import { RevokedToken } from '../auth/revoked-token.entity.js';
import { IdempotencyKey } from '../common/idempotency/idempotency-key.entity.js';
import { Event } from '../events/event.entity.js';
import { Registration } from '../registrations/registration.entity.js';
import { User } from '../users/user.entity.js';
import { WebhookDelivery } from '../webhooks/webhook-delivery.entity.js';
import { WebhookEndpoint } from '../webhooks/webhook-endpoint.entity.js';

export const ENTITIES = [
  User,
  Event,
  Registration,
  LoginSession,
  RevokedToken,
  IdempotencyKey,
  WebhookEndpoint,
  WebhookDelivery,
];

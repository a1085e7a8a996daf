/** What a webhook endpoint can subscribe to; each delivery has one of these as its `type`. */
export const WEBHOOK_EVENT_TYPES = [
  'registration.created',
  'registration.cancelled',
  'registration.promoted',
  'registration.checked_in',
  'event.updated',
  'event.cancelled',
  'event.deleted',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export const ENDPOINT_STATUSES = ['active', 'disabled'] as const;
export type EndpointStatus = (typeof ENDPOINT_STATUSES)[number];

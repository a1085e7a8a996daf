/** Every metric the API defines, besides prom-client's process and Node.js defaults. */
export const HTTP_REQUEST_DURATION = 'http_request_duration_seconds';
export const EVENT_REGISTRATIONS = 'event_registrations_total';
export const WAITLIST_PROMOTIONS = 'waitlist_promotions_total';
export const DATABASE_POOL_CONNECTIONS = 'database_pool_connections';
export const DATABASE_POOL_WAITING = 'database_pool_waiting_requests';

export const REGISTRATION_OUTCOMES = ['confirmed', 'waitlisted', 'duplicate', 'closed'] as const;
export type RegistrationOutcome = (typeof REGISTRATION_OUTCOMES)[number];

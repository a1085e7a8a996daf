import { Module } from '@nestjs/common';

/**
 * Registrations, capacity and the waitlist. The events table already keeps
 * the counters they maintain (`attendees_count`, `waitlist_count`), checked
 * by the database never to exceed the event's capacity.
 */
@Module({})
export class RegistrationsModule {}

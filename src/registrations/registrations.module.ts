import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Event } from '../events/event.entity.js';
import { WebhooksModule } from '../webhooks/webhooks.module.js';
import { CheckInService } from './check-in.service.js';
import { Registration } from './registration.entity.js';
import { RegistrationsController } from './registrations.controller.js';
import { RegistrationsService } from './registrations.service.js';
import { WaitlistService } from './waitlist.service.js';

/** Registrations, capacity, the waitlist and check-in. */
@Module({
  imports: [TypeOrmModule.forFeature([Registration, Event]), WebhooksModule],
  controllers: [RegistrationsController],
  providers: [RegistrationsService, WaitlistService, CheckInService],
  exports: [WaitlistService],
})
export class RegistrationsModule {}

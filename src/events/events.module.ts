import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { RegistrationsModule } from '../registrations/registrations.module.js';
import { WebhooksModule } from '../webhooks/webhooks.module.js';
import { Event } from './event.entity.js';
import { EventsController } from './events.controller.js';
import { EventsService } from './events.service.js';
import { ListCache } from './list-cache.js';

@Module({
  imports: [TypeOrmModule.forFeature([Event]), RegistrationsModule, WebhooksModule],
  controllers: [EventsController],
  providers: [EventsService, ListCache],
})
export class EventsModule {}

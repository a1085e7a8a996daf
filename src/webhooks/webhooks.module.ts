import { Module } from '@nestjs/common';
import { WebhookDispatcher } from './webhook-dispatcher.js';
import { WebhookOutbox } from './webhook-outbox.js';
import { WebhooksController } from './webhooks.controller.js';
import { WebhooksService } from './webhooks.service.js';

/**
 * Webhooks: users' endpoints, the outbox other modules write to in their
 * transactions (`WebhookOutbox`), and the dispatcher that sends it.
 */
@Module({
  controllers: [WebhooksController],
  providers: [WebhooksService, WebhookOutbox, WebhookDispatcher],
  exports: [WebhookOutbox],
})
export class WebhooksModule {}

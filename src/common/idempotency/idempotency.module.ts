import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { IdempotencyKey } from './idempotency-key.entity.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';
import { IdempotencyStore } from './idempotency.store.js';

/**
 * `Idempotency-Key` for every write route: the interceptor each write route
 * binds with `@Idempotent()`, its `onSend` hook (installed by configureApp,
 * see `recordAnswers`), the table shared by every instance, and the scheduled
 * purge of expired keys. Global, so every module's routes can bind it.
 */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([IdempotencyKey])],
  providers: [IdempotencyStore, IdempotencyInterceptor],
  exports: [IdempotencyStore, IdempotencyInterceptor],
})
export class IdempotencyModule {}

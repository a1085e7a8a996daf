import { Global, Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { ThrottlerModule, type ThrottlerOptions } from '@nestjs/throttler';
import { type RateLimitName, securityConfig } from '../../config/security.config.js';
import { FailedLogins } from './failed-logins.service.js';
import { RATE_LIMIT } from './rate-limit.decorator.js';
import { RateLimitGuard } from './rate-limit.guard.js';
import { RateLimitRedis } from './redis.provider.js';

@Global()
@Module({
  providers: [RateLimitRedis, FailedLogins],
  exports: [RateLimitRedis, FailedLogins],
})
class RateLimitStorageModule {}

/**
 * The per-IP limits of API.md: the default one on every request, and the
 * named ones on the routes marked `@RateLimit(name)`. Counted in Redis when
 * REDIS_URL is set (shared by every instance), else in each process.
 */
@Module({
  imports: [
    RateLimitStorageModule,
    ThrottlerModule.forRootAsync({
      inject: [securityConfig.KEY, RateLimitRedis],
      useFactory: (config: ConfigType<typeof securityConfig>, redis: RateLimitRedis) => ({
        throttlers: (Object.entries(config.limits) as [RateLimitName, { limit: number; ttlMs: number }][]).map(
          ([name, { limit, ttlMs }]): ThrottlerOptions => ({
            name,
            limit,
            ttl: ttlMs,
            ...(name !== 'default' && {
              skipIf: (context) => Reflect.getMetadata(RATE_LIMIT, context.getHandler()) !== name,
            }),
          }),
        ),
        setHeaders: false,
        storage: redis.client ? new ThrottlerStorageRedisService(redis.client) : undefined,
      }),
    }),
  ],
  providers: [{ provide: APP_GUARD, useClass: RateLimitGuard }],
  exports: [RateLimitStorageModule],
})
export class RateLimitModule {}

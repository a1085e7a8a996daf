import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { Redis } from 'ioredis';
import { securityConfig } from '../../config/security.config.js';

/**
 * The Redis connection the rate limits share between instances, when
 * REDIS_URL is set. A command fails fast (no offline queue, one retry) so a
 * Redis outage cannot stall requests: the limits then fail open, with a warning.
 */
@Injectable()
export class RateLimitRedis implements OnApplicationShutdown {
  readonly client: Redis | undefined;

  constructor(@Inject(securityConfig.KEY) config: ConfigType<typeof securityConfig>) {
    this.client =
      config.rateLimit && config.redisUrl
        ? new Redis(config.redisUrl, {
            lazyConnect: false,
            enableOfflineQueue: false,
            maxRetriesPerRequest: 1,
            connectTimeout: 1_000,
            commandTimeout: 1_000,
          })
        : undefined;
    // ioredis reconnects by itself; without a listener, a lost connection would crash the process.
    this.client?.on('error', () => undefined);
  }

  // After the HTTP server has closed: requests still in flight at shutdown keep their limits.
  onApplicationShutdown(): void {
    this.client?.disconnect();
  }
}

import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { securityConfig } from '../../config/security.config.js';
import { foldCase } from '../validation/case-fold.js';
import { RateLimitRedis } from './redis.provider.js';

const MAX_REMEMBERED = 100_000;

/**
 * Failed logins per account (10 in 15 minutes by default), whatever address
 * they come from: past the limit, the account takes no login attempt, right
 * or wrong, until the window ends. Counted in Redis when REDIS_URL is set
 * (shared by every instance), else in this process. Unknown usernames count
 * too, so the limit tells nothing about which accounts exist.
 */
@Injectable()
export class FailedLogins {
  private readonly logger = new Logger(FailedLogins.name);
  private readonly local = new Map<string, { failures: number; expires: number }>();

  constructor(
    @Inject(securityConfig.KEY) private readonly config: ConfigType<typeof securityConfig>,
    private readonly redis: RateLimitRedis,
  ) {}

  /** Seconds until this account may try again; 0 when it may now. */
  async retryAfterSeconds(username: string): Promise<number> {
    if (!this.config.rateLimit) return 0;
    const key = this.key(username);
    const { limit } = this.config.failedLogins;
    try {
      if (this.redis.client) {
        const [failures, ttlMs] = await Promise.all([this.redis.client.get(key), this.redis.client.pttl(key)]);
        return Number(failures) >= limit && ttlMs > 0 ? Math.ceil(ttlMs / 1000) : 0;
      }
    } catch (error) {
      this.logger.warn(`Failed-login limit unavailable (Redis): ${(error as Error).message}`);
      return 0;
    }
    const entry = this.local.get(key);
    if (!entry || entry.expires <= Date.now()) return 0;
    return entry.failures >= limit ? Math.ceil((entry.expires - Date.now()) / 1000) : 0;
  }

  async recordFailure(username: string): Promise<void> {
    if (!this.config.rateLimit) return;
    const key = this.key(username);
    const { ttlMs } = this.config.failedLogins;
    try {
      if (this.redis.client) {
        const failures = await this.redis.client.incr(key);
        if (failures === 1) await this.redis.client.pexpire(key, ttlMs);
        return;
      }
    } catch (error) {
      this.logger.warn(`Failed-login limit unavailable (Redis): ${(error as Error).message}`);
      return;
    }
    const now = Date.now();
    const entry = this.local.get(key);
    if (entry && entry.expires > now) {
      entry.failures += 1;
      return;
    }
    if (this.local.size >= MAX_REMEMBERED) this.local.clear();
    this.local.set(key, { failures: 1, expires: now + ttlMs });
  }

  private key(username: string): string {
    return `failed-logins:${foldCase(username)}`;
  }
}

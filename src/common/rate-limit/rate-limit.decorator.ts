import { SetMetadata } from '@nestjs/common';
import type { RateLimitName } from '../../config/security.config.js';

export const RATE_LIMIT = 'rateLimit';

/**
 * Puts a route under one of the named per-IP limits (login, signup, event
 * registration) as well as the default one every route has.
 */
export const RateLimit = (name: Exclude<RateLimitName, 'default'>) => SetMetadata(RATE_LIMIT, name);

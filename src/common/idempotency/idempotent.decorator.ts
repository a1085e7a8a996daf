import { UseInterceptors } from '@nestjs/common';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';

/**
 * The write route honours `Idempotency-Key` (API.md: every POST, PUT, PATCH
 * and DELETE). Bound per route rather than globally, so that reads pass
 * through no interceptor at all: Nest's interceptor chain (rxjs, async
 * scopes) cost 5–8 % of a read's CPU. A test fails if a write route lacks it.
 */
export const Idempotent = (): MethodDecorator => UseInterceptors(IdempotencyInterceptor);

import { type ExecutionContext, HttpException, Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { FastifyRequest } from 'fastify';
import { Reflector } from '@nestjs/core';
import {
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerRequest,
  ThrottlerStorage,
  InjectThrottlerOptions,
  InjectThrottlerStorage,
} from '@nestjs/throttler';
import { securityConfig } from '../../config/security.config.js';
import { TooManyRequestsException } from '../problems/too-many-requests.exception.js';
import { clientAddressOf } from './client-address.js';

/**
 * Per-IP rate limits. Every limit counts per client address across all the
 * routes it covers (not per route): the default one every request, the named
 * ones (login, signup, event registration) their routes. The address is the
 * socket's unless the request came through a trusted proxy (TRUSTED_PROXIES),
 * so a client cannot pick its own with X-Forwarded-For; IPv6 addresses count
 * per /64, the block one client usually holds. If the shared
 * storage (Redis) fails, requests pass, with a warning: an outage of the
 * limits must not become an outage of the API.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  private readonly warnings = new Logger(RateLimitGuard.name);

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    @Inject(securityConfig.KEY) private readonly config: ConfigType<typeof securityConfig>,
  ) {
    super(options, storage, reflector);
  }

  protected override async shouldSkip(): Promise<boolean> {
    return !this.config.rateLimit;
  }

  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    return clientAddressOf(request as { ip: string });
  }

  protected override generateKey(_context: ExecutionContext, tracker: string, name: string): string {
    return `rate-limit:${name}:${tracker}`;
  }

  protected override async handleRequest(request: ThrottlerRequest): Promise<boolean> {
    try {
      return await super.handleRequest(request);
    } catch (error) {
      if (error instanceof HttpException) throw error;
      this.warnings.warn({
        reqId: request.context.switchToHttp().getRequest<FastifyRequest>().id,
        msg: `Rate limits unavailable, letting the request through: ${(error as Error).message}`,
      });
      return true;
    }
  }

  protected override async throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const retryAfter = Math.max(1, Math.ceil(detail.timeToBlockExpire));
    throw new TooManyRequestsException(`Too many requests from this address; retry in ${retryAfter} s.`, retryAfter);
  }
}

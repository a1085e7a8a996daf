import { type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { IS_PUBLIC, type PublicAccess } from '../common/decorators/public.decorator.js';
import { UnauthenticatedException } from '../common/problems/problem.exceptions.js';
import { INVALID_TOKEN } from './tokens.service.js';

const NO_CREDENTIALS = 'Authentication credentials were not provided.';

/**
 * Default-deny: every route needs a valid access token unless it is marked
 * `@Public()`. A public route called with a token still verifies it, so a bad
 * token is refused rather than silently treated as anonymous.
 */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override canActivate(context: ExecutionContext) {
    const access = this.reflector.getAllAndOverride<PublicAccess | undefined>(IS_PUBLIC, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (access === 'ignore-token') return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (access && request.headers.authorization === undefined) return true;
    return super.canActivate(context);
  }

  override handleRequest<User>(error: unknown, user: User | false, info: unknown): User {
    if (error) throw error;
    if (user) return user;
    const noToken = info instanceof Error && info.message === 'No auth token';
    throw noToken ? new UnauthenticatedException(NO_CREDENTIALS) : new UnauthenticatedException(INVALID_TOKEN, true);
  }
}

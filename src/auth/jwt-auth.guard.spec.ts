import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import passport from 'passport';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Public } from '../common/decorators/public.decorator.js';
import { UnauthenticatedException } from '../common/problems/problem.exceptions.js';
import { readAuthConfig } from '../config/auth.config.js';
import { JwtAuthGuard } from './jwt-auth.guard.js';
import { JwtStrategy } from './jwt.strategy.js';
import type { RevocationsService } from './revocations.service.js';
import { INVALID_TOKEN, TokensService } from './tokens.service.js';

const SECRET = 'guard-spec-0123456789abcdefghijklmnopqrstuvwxyz';

class Routes {
  @Public()
  open(): void {}

  closed(): void {}
}

@Public()
class PublicRoutes {
  anything(): void {}
}

function contextFor(
  controller: new () => object,
  handler: () => void,
  headers: Record<string, string> = {},
): ExecutionContext {
  const request = { headers, query: {}, body: undefined };
  return {
    getClass: () => controller,
    getHandler: () => handler,
    getType: () => 'http',
    getArgs: () => [request, {}],
    getArgByIndex: (index: number) => [request, {}][index],
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => ({}), getNext: () => undefined }),
    switchToRpc: () => {
      throw new Error('not RPC');
    },
    switchToWs: () => {
      throw new Error('not WebSocket');
    },
  } as unknown as ExecutionContext;
}

async function refusal(promise: Promise<unknown>): Promise<UnauthenticatedException> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(UnauthenticatedException);
  return error as UnauthenticatedException;
}

describe('JwtAuthGuard', () => {
  const guard = new JwtAuthGuard(new Reflector());

  beforeAll(() => {
    // Registers the app's real "jwt" strategy with passport, as the auth module does.
    const config = readAuthConfig({ NODE_ENV: 'test', JWT_SECRET: SECRET });
    const tokens = new TokensService(new JwtService({ secret: SECRET }), config);
    const revocations = { isRevoked: vi.fn().mockResolvedValue(false) } as unknown as RevocationsService;
    new JwtStrategy(tokens, revocations, config);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  describe('canActivate', () => {
    it('lets a public route through without an Authorization header, without calling passport', async () => {
      const authenticate = vi.spyOn(passport, 'authenticate');
      await expect(Promise.resolve(guard.canActivate(contextFor(Routes, Routes.prototype.open)))).resolves.toBe(true);
      expect(authenticate).not.toHaveBeenCalled();
    });

    it('lets every route of a public controller through without a token', async () => {
      const authenticate = vi.spyOn(passport, 'authenticate');
      const context = contextFor(PublicRoutes, PublicRoutes.prototype.anything);
      await expect(Promise.resolve(guard.canActivate(context))).resolves.toBe(true);
      expect(authenticate).not.toHaveBeenCalled();
    });

    it('refuses a protected route without a token: credentials not provided, not a token error', async () => {
      const exception = await refusal(Promise.resolve(guard.canActivate(contextFor(Routes, Routes.prototype.closed))));
      expect(exception.message).toBe('Authentication credentials were not provided.');
      expect(exception.tokenError).toBe(false);
    });

    it('refuses a protected route with a malformed token as an invalid token', async () => {
      const context = contextFor(Routes, Routes.prototype.closed, { authorization: 'Bearer not.a.jwt' });
      const exception = await refusal(Promise.resolve(guard.canActivate(context)));
      expect(exception.message).toBe(INVALID_TOKEN);
      expect(exception.tokenError).toBe(true);
    });

    it('still checks the token a caller sends to a public route, and refuses a bad one', async () => {
      const authenticate = vi.spyOn(passport, 'authenticate');
      const context = contextFor(Routes, Routes.prototype.open, { authorization: 'Bearer not.a.jwt' });
      const exception = await refusal(Promise.resolve(guard.canActivate(context)));
      expect(exception.tokenError).toBe(true);
      expect(authenticate).toHaveBeenCalled();
    });

    it('accepts a valid access token on a protected route and sets request.user', async () => {
      const config = readAuthConfig({ NODE_ENV: 'test', JWT_SECRET: SECRET });
      const tokens = new TokensService(new JwtService({ secret: SECRET }), config);
      const sessionId = '1b4e28ba-2fa1-41d2-883f-0016d3cca427';
      const { access } = await tokens.issue({ id: 5, username: 'alice' }, sessionId);
      const context = contextFor(Routes, Routes.prototype.closed, { authorization: `Bearer ${access}` });
      await expect(Promise.resolve(guard.canActivate(context))).resolves.toBe(true);
      expect(context.switchToHttp().getRequest<{ user: unknown }>().user).toMatchObject({ id: 5, sessionId });
    });
  });

  describe('handleRequest', () => {
    it('rethrows an error from the strategy as it is', () => {
      const error = new Error('database down');
      expect(() => guard.handleRequest(error, false, undefined)).toThrow(error);
    });

    it('rethrows an error even when a user came with it', () => {
      const error = new UnauthenticatedException('The token has been revoked.', true);
      expect(() => guard.handleRequest(error, { id: 1 }, undefined)).toThrow(error);
    });

    it('returns the user when there is one', () => {
      const user = { id: 1, sessionId: 's', tokenId: 't' };
      expect(guard.handleRequest(null, user, undefined)).toBe(user);
    });

    it('maps an info error (bad or expired token) to the invalid-token exception', () => {
      let thrown: unknown;
      try {
        guard.handleRequest(null, false, new Error('jwt expired'));
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(UnauthenticatedException);
      expect((thrown as UnauthenticatedException).message).toBe(INVALID_TOKEN);
      expect((thrown as UnauthenticatedException).tokenError).toBe(true);
    });

    it('maps a missing token to "credentials were not provided", not a token error', () => {
      let thrown: unknown;
      try {
        guard.handleRequest(null, false, new Error('No auth token'));
      } catch (error) {
        thrown = error;
      }
      expect((thrown as UnauthenticatedException).message).toBe('Authentication credentials were not provided.');
      expect((thrown as UnauthenticatedException).tokenError).toBe(false);
    });
  });
});

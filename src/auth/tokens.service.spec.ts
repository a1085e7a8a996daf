import { randomUUID } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import jsonwebtoken from 'jsonwebtoken';
import { beforeEach, describe, expect, it } from 'vitest';
import { UnauthenticatedException } from '../common/problems/problem.exceptions.js';
import { type AuthConfig, readAuthConfig } from '../config/auth.config.js';
import { INVALID_TOKEN, type TokenClaims, TokensService } from './tokens.service.js';

const SECRET = 'tokens-spec-0123456789abcdefghijklmnopqrstuvwxyz';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ACCESS_TTL = 7 * 60;
const REFRESH_TTL = 2 * 3600;

type Payload = Record<string, unknown>;

const decode = (token: string) => jsonwebtoken.decode(token, { complete: true })!;

/** A token signed with the app's secret, but with exactly the claims and header we choose. */
function forge(payload: Payload, options: { algorithm?: jsonwebtoken.Algorithm; secret?: string } = {}): string {
  return jsonwebtoken.sign(payload, options.secret ?? SECRET, {
    algorithm: options.algorithm ?? 'HS256',
    // jsonwebtoken adds an iat unless told not to, and then drops the payload's own.
    noTimestamp: !('iat' in payload),
  });
}

function unsigned(payload: Payload): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(payload)}.`;
}

function validClaims(type: 'access' | 'refresh' = 'access'): Payload {
  const now = Math.floor(Date.now() / 1000);
  return {
    token_type: type,
    user_id: 42,
    username: 'alice',
    sub: '42',
    sid: randomUUID(),
    jti: randomUUID(),
    iat: now,
    exp: now + 60,
    iss: 'event-api',
    aud: 'event-api',
  };
}

function without(claims: Payload, name: string): Payload {
  const copy = { ...claims };
  delete copy[name];
  return copy;
}

async function refusal(promise: Promise<unknown>): Promise<UnauthenticatedException> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(UnauthenticatedException);
  const exception = error as UnauthenticatedException;
  expect(exception.getStatus()).toBe(401);
  expect(exception.tokenError).toBe(true);
  return exception;
}

describe('TokensService', () => {
  let config: AuthConfig;
  let tokens: TokensService;

  beforeEach(() => {
    config = readAuthConfig({ NODE_ENV: 'test', JWT_SECRET: SECRET, JWT_ACCESS_TTL: '7m', JWT_REFRESH_TTL: '2h' });
    tokens = new TokensService(new JwtService({ secret: config.secret }), config);
  });

  describe('issue', () => {
    it('gives an access and a refresh token carrying every claim', async () => {
      const sessionId = randomUUID();
      const issued = await tokens.issue({ id: 7, username: 'alice' }, sessionId);
      for (const [type, ttl] of [
        ['access', ACCESS_TTL],
        ['refresh', REFRESH_TTL],
      ] as const) {
        const { header, payload } = decode(issued[type]);
        const claims = payload as TokenClaims;
        expect(header.alg).toBe('HS256');
        expect(claims).toEqual({
          token_type: type,
          user_id: 7,
          sub: '7',
          username: 'alice',
          sid: sessionId,
          jti: expect.stringMatching(UUID),
          iat: expect.any(Number),
          exp: claims.iat + ttl,
          iss: 'event-api',
          aud: 'event-api',
        });
        expect(Math.abs(claims.iat - Date.now() / 1000)).toBeLessThan(60);
      }
    });

    it('gives every token its own jti', async () => {
      const first = await tokens.issue({ id: 7, username: 'alice' }, randomUUID());
      const second = await tokens.issue({ id: 7, username: 'alice' }, randomUUID());
      const jtis = [first.access, first.refresh, second.access, second.refresh].map(
        (token) => (decode(token).payload as TokenClaims).jti,
      );
      expect(new Set(jtis).size).toBe(4);
    });

    it('reports when the refresh token expires', async () => {
      const issued = await tokens.issue({ id: 7, username: 'alice' }, randomUUID());
      const { exp } = decode(issued.refresh).payload as TokenClaims;
      expect(issued.refreshExpiresAt.getTime()).toBe(exp * 1000);
    });

    it('reports the longest lifetime of any token', () => {
      expect(tokens.longestTtlSeconds).toBe(REFRESH_TTL);
    });
  });

  describe('verify', () => {
    it('accepts its own access token as an access token', async () => {
      const sessionId = randomUUID();
      const { access } = await tokens.issue({ id: 7, username: 'alice' }, sessionId);
      await expect(tokens.verify(access, 'access')).resolves.toMatchObject({
        token_type: 'access',
        user_id: 7,
        sid: sessionId,
      });
    });

    it('accepts its own refresh token as a refresh token', async () => {
      const { refresh } = await tokens.issue({ id: 7, username: 'alice' }, randomUUID());
      await expect(tokens.verify(refresh, 'refresh')).resolves.toMatchObject({ token_type: 'refresh', user_id: 7 });
    });

    it('refuses an access token where a refresh token is expected, saying a refresh token is required', async () => {
      const { access } = await tokens.issue({ id: 7, username: 'alice' }, randomUUID());
      const exception = await refusal(tokens.verify(access, 'refresh'));
      expect(exception.message).toMatch(/refresh token is required/);
    });

    it('refuses a refresh token where an access token is expected, saying an access token is required', async () => {
      const { refresh } = await tokens.issue({ id: 7, username: 'alice' }, randomUUID());
      const exception = await refusal(tokens.verify(refresh, 'access'));
      expect(exception.message).toMatch(/access token is required/);
    });

    it('accepts a forged token that carries every claim (the control for the refusals below)', async () => {
      await expect(tokens.verify(forge(validClaims()), 'access')).resolves.toMatchObject({ user_id: 42 });
    });

    it.each(['token_type', 'user_id', 'sub', 'sid', 'jti', 'iat', 'exp', 'iss', 'aud'])(
      'refuses a token without %s',
      async (claim) => {
        await refusal(tokens.verify(forge(without(validClaims(), claim)), 'access'));
      },
    );

    it.each([
      ['a user_id that is a string', { user_id: '42' }],
      ['a sub that is not the user id', { sub: '43' }],
      ['a sid that is not a UUID', { sid: 'session-1' }],
      ['a jti that is not a UUID', { jti: '1' }],
      ['an unknown token_type', { token_type: 'id' }],
    ])('refuses a token with %s', async (_what, change) => {
      await refusal(tokens.verify(forge({ ...validClaims(), ...change }), 'access'));
    });

    it('refuses a token from another issuer', async () => {
      const exception = await refusal(tokens.verify(forge({ ...validClaims(), iss: 'someone-else' }), 'access'));
      expect(exception.message).toBe(INVALID_TOKEN);
    });

    it('refuses a token for another audience', async () => {
      const exception = await refusal(tokens.verify(forge({ ...validClaims(), aud: 'someone-else' }), 'access'));
      expect(exception.message).toBe(INVALID_TOKEN);
    });

    it('refuses a token signed with HS512, even with the right secret', async () => {
      const exception = await refusal(tokens.verify(forge(validClaims(), { algorithm: 'HS512' }), 'access'));
      expect(exception.message).toBe(INVALID_TOKEN);
    });

    it('refuses an unsigned token (alg none)', async () => {
      await refusal(tokens.verify(unsigned(validClaims()), 'access'));
    });

    it('refuses a token signed with another secret', async () => {
      const other = 'another-secret-0123456789abcdefghijklmnopqrstuvwxyz';
      await refusal(tokens.verify(forge(validClaims(), { secret: other }), 'access'));
    });

    it('refuses an expired token', async () => {
      const now = Math.floor(Date.now() / 1000);
      const exception = await refusal(
        tokens.verify(forge({ ...validClaims(), iat: now - 600, exp: now - 300 }), 'access'),
      );
      expect(exception.message).toBe(INVALID_TOKEN);
    });

    it('refuses a token that is not a JWT', async () => {
      await refusal(tokens.verify('not-a-token', 'access'));
    });
  });
});

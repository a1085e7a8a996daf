import { randomUUID } from 'node:crypto';
import { ForbiddenException } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { beforeEach, describe, expect, it, type Mock, vi } from 'vitest';
import type { AuthenticatedUser } from '../common/decorators/current-user.decorator.js';
import { UnauthenticatedException } from '../common/problems/problem.exceptions.js';
import type { TransactionRunner } from '../database/transaction.runner.js';
import type { PasswordHasher } from '../users/password-hasher.js';
import type { User } from '../users/user.entity.js';
import type { UsersService } from '../users/users.service.js';
import type { FailedLogins } from '../common/rate-limit/failed-logins.service.js';
import { AuthService, BAD_CREDENTIALS } from './auth.service.js';
import type { RevocationsService } from './revocations.service.js';
import type { TokenClaims, TokensService } from './tokens.service.js';

function userFactory(overrides: Partial<User> = {}): User {
  return {
    id: 1,
    username: 'alice',
    usernameNormalized: 'alice',
    email: 'alice@example.com',
    passwordHash: '$argon2id$stored',
    dateJoined: new Date('2025-01-01T00:00:00Z'),
    ...overrides,
  };
}

function claimsFactory(overrides: Partial<TokenClaims> = {}): TokenClaims {
  const now = Math.floor(Date.now() / 1000);
  return {
    token_type: 'refresh',
    user_id: 1,
    sub: '1',
    username: 'alice',
    sid: randomUUID(),
    jti: randomUUID(),
    iat: now,
    exp: now + 86400,
    iss: 'event-api',
    aud: 'event-api',
    ...overrides,
  };
}

describe('AuthService', () => {
  let users: { findByUsername: Mock; replacePasswordHash: Mock };
  let hasher: { verify: Mock; needsRehash: Mock; hash: Mock };
  let tokens: { issue: Mock; verify: Mock; longestTtlSeconds: number };
  let revocations: { revokeSessions: Mock; revokeToken: Mock };
  let manager: { insert: Mock };
  let transactions: { run: Mock };
  let failedLogins: { retryAfterSeconds: Mock; recordFailure: Mock };
  let auth: AuthService;

  beforeEach(() => {
    users = { findByUsername: vi.fn(), replacePasswordHash: vi.fn().mockResolvedValue(undefined) };
    hasher = { verify: vi.fn(), needsRehash: vi.fn().mockReturnValue(false), hash: vi.fn() };
    tokens = {
      issue: vi.fn().mockResolvedValue({ access: 'access', refresh: 'refresh', refreshExpiresAt: new Date() }),
      verify: vi.fn(),
      longestTtlSeconds: 86400,
    };
    revocations = { revokeSessions: vi.fn().mockResolvedValue(undefined), revokeToken: vi.fn() };
    manager = { insert: vi.fn().mockResolvedValue(undefined) };
    transactions = { run: vi.fn((work: (manager: EntityManager) => Promise<unknown>) => work(manager as never)) };
    failedLogins = {
      retryAfterSeconds: vi.fn().mockResolvedValue(0),
      recordFailure: vi.fn().mockResolvedValue(undefined),
    };
    auth = new AuthService(
      users as unknown as UsersService,
      hasher as unknown as PasswordHasher,
      tokens as unknown as TokensService,
      revocations as unknown as RevocationsService,
      transactions as unknown as TransactionRunner,
      failedLogins as unknown as FailedLogins,
    );
  });

  async function loginFailure(username: string, password: string): Promise<UnauthenticatedException> {
    const error = await auth.login({ username, password }).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(UnauthenticatedException);
    return error as UnauthenticatedException;
  }

  describe('login', () => {
    it('still verifies a password (against no hash) when the username is unknown', async () => {
      users.findByUsername.mockResolvedValue(null);
      hasher.verify.mockResolvedValue(false);
      await loginFailure('nobody', 'some password');
      expect(hasher.verify).toHaveBeenCalledTimes(1);
      expect(hasher.verify).toHaveBeenCalledWith(undefined, 'some password');
      expect(tokens.issue).not.toHaveBeenCalled();
    });

    it('answers an unknown username exactly as a wrong password', async () => {
      users.findByUsername.mockResolvedValue(null);
      hasher.verify.mockResolvedValue(false);
      const unknownUser = await loginFailure('nobody', 'some password');

      users.findByUsername.mockResolvedValue(userFactory());
      const wrongPassword = await loginFailure('alice', 'wrong password');

      expect(hasher.verify).toHaveBeenLastCalledWith('$argon2id$stored', 'wrong password');
      expect(unknownUser.message).toBe(BAD_CREDENTIALS);
      expect(wrongPassword.message).toBe(unknownUser.message);
      expect(wrongPassword.getStatus()).toBe(401);
      expect(wrongPassword.tokenError).toBe(unknownUser.tokenError);
      expect(tokens.issue).not.toHaveBeenCalled();
      expect(transactions.run).not.toHaveBeenCalled();
    });

    it('rehashes the password on a successful login when the stored hash is outdated', async () => {
      users.findByUsername.mockResolvedValue(userFactory({ id: 9, passwordHash: '$argon2id$old' }));
      hasher.verify.mockResolvedValue(true);
      hasher.needsRehash.mockReturnValue(true);
      hasher.hash.mockResolvedValue('$argon2id$new');

      await expect(auth.login({ username: 'alice', password: 'right password' })).resolves.toMatchObject({
        access: 'access',
        refresh: 'refresh',
      });
      expect(hasher.needsRehash).toHaveBeenCalledWith('$argon2id$old');
      expect(hasher.hash).toHaveBeenCalledWith('right password');
      expect(users.replacePasswordHash).toHaveBeenCalledWith(9, '$argon2id$new');
    });

    it('leaves a current hash alone on a successful login', async () => {
      users.findByUsername.mockResolvedValue(userFactory());
      hasher.verify.mockResolvedValue(true);
      await auth.login({ username: 'alice', password: 'right password' });
      expect(hasher.hash).not.toHaveBeenCalled();
      expect(users.replacePasswordHash).not.toHaveBeenCalled();
    });

    it('records a new login session whose id the tokens carry', async () => {
      users.findByUsername.mockResolvedValue(userFactory({ id: 9 }));
      hasher.verify.mockResolvedValue(true);
      await auth.login({ username: 'alice', password: 'right password' });
      const [subject, sessionId] = tokens.issue.mock.calls[0] as [{ id: number; username: string }, string];
      expect(subject).toMatchObject({ id: 9, username: 'alice' });
      expect(manager.insert).toHaveBeenCalledWith(
        expect.anything(),
        expect.objectContaining({ id: sessionId, userId: 9 }),
      );
    });
  });

  describe('logout', () => {
    const caller: AuthenticatedUser = { id: 1, username: 'alice', sessionId: randomUUID(), tokenId: randomUUID() };

    it("refuses another user's refresh token with a 403 and revokes nothing", async () => {
      tokens.verify.mockResolvedValue(claimsFactory({ user_id: 2, sub: '2' }));
      await expect(auth.logout(caller, 'their refresh token')).rejects.toBeInstanceOf(ForbiddenException);
      expect(tokens.verify).toHaveBeenCalledWith('their refresh token', 'refresh');
      expect(revocations.revokeSessions).not.toHaveBeenCalled();
      expect(revocations.revokeToken).not.toHaveBeenCalled();
      expect(transactions.run).not.toHaveBeenCalled();
    });

    it("revokes the caller's session and the refresh token's session when the refresh token is theirs", async () => {
      const claims = claimsFactory({ user_id: 1 });
      tokens.verify.mockResolvedValue(claims);
      await auth.logout(caller, 'my refresh token');
      expect(revocations.revokeSessions).toHaveBeenCalledWith(
        manager,
        1,
        [caller.sessionId, claims.sid],
        expect.any(Date),
      );
    });

    it("revokes the caller's own session when no refresh token is sent", async () => {
      await auth.logout(caller);
      expect(tokens.verify).not.toHaveBeenCalled();
      expect(revocations.revokeSessions).toHaveBeenCalledWith(manager, 1, [caller.sessionId], expect.any(Date));
    });
  });
});

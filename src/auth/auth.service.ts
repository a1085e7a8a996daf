import { randomUUID } from 'node:crypto';
import { ForbiddenException, Injectable } from '@nestjs/common';
import { MoreThan } from 'typeorm';
import type { AuthenticatedUser } from '../common/decorators/current-user.decorator.js';
import { UnauthenticatedException } from '../common/problems/problem.exceptions.js';
import { TooManyRequestsException } from '../common/problems/too-many-requests.exception.js';
import { FailedLogins } from '../common/rate-limit/failed-logins.service.js';
import { uniqueViolation } from '../database/database-errors.js';
import { TransactionRunner } from '../database/transaction.runner.js';
import { PasswordHasher } from '../users/password-hasher.js';
import { UsersService } from '../users/users.service.js';
import type { LoginDto } from './dto/auth.dto.js';
import { LoginSession } from './login-session.entity.js';
import { RevocationsService } from './revocations.service.js';
import { RevokedToken } from './revoked-token.entity.js';
import { type IssuedTokens, type TokenClaims, TokensService } from './tokens.service.js';

/** SimpleJWT's wording, which the seed's clients may match on. */
export const BAD_CREDENTIALS = 'No active account found with the given credentials';
const REFRESH_REUSED = 'This refresh token was already used; its login session has been revoked.';
const REVOKED = 'The token has been revoked.';

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly hasher: PasswordHasher,
    private readonly tokens: TokensService,
    private readonly revocations: RevocationsService,
    private readonly transactions: TransactionRunner,
    private readonly failedLogins: FailedLogins,
  ) {}

  /** Same answer, and about the same time, whether the username is unknown or the password wrong. */
  async login({ username, password }: LoginDto): Promise<IssuedTokens> {
    const retryAfter = await this.failedLogins.retryAfterSeconds(username);
    if (retryAfter > 0) {
      throw new TooManyRequestsException(
        `Too many failed logins for this account; retry in ${retryAfter} s.`,
        retryAfter,
      );
    }
    const user = await this.users.findByUsername(username);
    const valid = await this.hasher.verify(user?.passwordHash, password);
    if (!user || !valid) {
      await this.failedLogins.recordFailure(username);
      throw new UnauthenticatedException(BAD_CREDENTIALS);
    }
    if (this.hasher.needsRehash(user.passwordHash)) {
      await this.users.replacePasswordHash(user.id, await this.hasher.hash(password));
    }
    const sessionId = randomUUID();
    const issued = await this.tokens.issue(user, sessionId);
    await this.transactions.run((manager) =>
      manager.insert(LoginSession, {
        id: sessionId,
        userId: user.id,
        createdAt: new Date(),
        expiresAt: issued.refreshExpiresAt,
      }),
    );
    return issued;
  }

  /**
   * Rotation with reuse detection. Retiring the presented token is one insert
   * keyed by its `jti`, so of several concurrent uses exactly one succeeds; any
   * other use of a retired token revokes the whole login session.
   */
  async refresh(refreshToken: string): Promise<IssuedTokens> {
    const claims = await this.tokens.verify(refreshToken, 'refresh');
    try {
      return await this.transactions.run(async (manager) => {
        await this.revocations.revokeToken(manager, claims.jti, claims.user_id, new Date(claims.exp * 1000));
        if (await manager.existsBy(RevokedToken, { id: claims.sid })) throw new UnauthenticatedException(REVOKED, true);
        const issued = await this.tokens.issue({ id: claims.user_id, username: claims.username }, claims.sid);
        const { affected } = await manager.update(
          LoginSession,
          { id: claims.sid, userId: claims.user_id },
          { expiresAt: issued.refreshExpiresAt },
        );
        if (!affected) throw new UnauthenticatedException(REVOKED, true);
        return issued;
      });
    } catch (error) {
      if (!uniqueViolation(error)) throw error;
      await this.revokeSessions(claims.user_id, [claims.sid]);
      throw new UnauthenticatedException(REFRESH_REUSED, true);
    }
  }

  /**
   * Ends the caller's login session (this access token and its refresh
   * token). A refresh token in the body must be the caller's; its session ends too.
   */
  async logout(caller: AuthenticatedUser, refreshToken?: string): Promise<void> {
    const sessionIds = [caller.sessionId];
    if (refreshToken !== undefined) {
      const claims: TokenClaims = await this.tokens.verify(refreshToken, 'refresh');
      if (claims.user_id !== caller.id) {
        throw new ForbiddenException('The refresh token belongs to another user; nothing was revoked.');
      }
      sessionIds.push(claims.sid);
    }
    await this.revokeSessions(caller.id, sessionIds);
  }

  /** Ends every login session of the caller, on every device. */
  async logoutEverywhere(caller: AuthenticatedUser): Promise<void> {
    await this.transactions.run(async (manager) => {
      const sessions = await manager.find(LoginSession, {
        select: { id: true },
        where: { userId: caller.id, expiresAt: MoreThan(new Date()) },
      });
      await this.revocations.revokeSessions(
        manager,
        caller.id,
        [caller.sessionId, ...sessions.map((session) => session.id)],
        this.lastPossibleExpiry(),
      );
    });
  }

  private revokeSessions(userId: number, sessionIds: string[]): Promise<void> {
    return this.transactions.run((manager) =>
      this.revocations.revokeSessions(manager, userId, sessionIds, this.lastPossibleExpiry()),
    );
  }

  /** No token issued until now can outlive this instant. */
  private lastPossibleExpiry(): Date {
    return new Date(Date.now() + this.tokens.longestTtlSeconds * 1000);
  }
}

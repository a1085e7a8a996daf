import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import type { VerifyOptions } from 'jsonwebtoken';
import { authConfig } from '../config/auth.config.js';
import { UnauthenticatedException } from '../common/problems/problem.exceptions.js';

export type TokenType = 'access' | 'refresh';

/** What a verified token says. */
export interface TokenClaims {
  token_type: TokenType;
  /** The user id, as SimpleJWT (the seed's token library) names it. */
  user_id: number;
  /** The same user id as a string, as RFC 7519 wants `sub`. */
  sub: string;
  /** Usernames never change, so the token can answer "who is the organizer" without a query. */
  username: string;
  /** The login session shared by every token of one login. */
  sid: string;
  jti: string;
  iat: number;
  exp: number;
  iss: string;
  aud: string;
}

/** Whom a token is issued to. */
export interface TokenSubject {
  id: number;
  username: string;
}

export interface IssuedTokens {
  access: string;
  refresh: string;
  refreshExpiresAt: Date;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const INVALID_TOKEN = 'The token is invalid or expired.';
const WRONG_TYPE: Record<TokenType, string> = {
  access: 'An access token is required here, not a refresh token.',
  refresh: 'A refresh token is required here, not an access token.',
};

/**
 * Signs and verifies the API's JWTs. The algorithm, issuer and audience are
 * pinned both ways, and a token must carry every claim this API relies on:
 * jsonwebtoken alone would accept a token without `exp` or `jti`.
 */
@Injectable()
export class TokensService {
  constructor(
    private readonly jwt: JwtService,
    @Inject(authConfig.KEY) private readonly config: ConfigType<typeof authConfig>,
  ) {}

  private get verifyOptions(): VerifyOptions {
    return { algorithms: [this.config.algorithm], issuer: this.config.issuer, audience: this.config.audience };
  }

  async issue(user: TokenSubject, sessionId: string): Promise<IssuedTokens> {
    const now = Math.floor(Date.now() / 1000);
    const [access, refresh] = await Promise.all([
      this.sign('access', user, sessionId, now, this.config.accessTtlSeconds),
      this.sign('refresh', user, sessionId, now, this.config.refreshTtlSeconds),
    ]);
    return { access, refresh, refreshExpiresAt: new Date((now + this.config.refreshTtlSeconds) * 1000) };
  }

  /** Verifies signature, algorithm, issuer, audience and expiry, then the claims and the token type. */
  async verify(token: string, expected: TokenType): Promise<TokenClaims> {
    let payload: unknown;
    try {
      payload = await this.jwt.verifyAsync(token, this.verifyOptions);
    } catch {
      throw new UnauthenticatedException(INVALID_TOKEN, true);
    }
    return this.checkClaims(payload, expected);
  }

  /** Refuses a signature-checked payload that lacks a claim we rely on, or is of the other type. */
  checkClaims(payload: unknown, expected: TokenType): TokenClaims {
    const claims = payload as Partial<TokenClaims>;
    const complete =
      typeof claims === 'object' &&
      claims !== null &&
      Number.isSafeInteger(claims.user_id) &&
      claims.sub === String(claims.user_id) &&
      typeof claims.username === 'string' &&
      typeof claims.sid === 'string' &&
      UUID.test(claims.sid) &&
      typeof claims.jti === 'string' &&
      UUID.test(claims.jti) &&
      Number.isSafeInteger(claims.iat) &&
      Number.isSafeInteger(claims.exp);
    if (!complete) throw new UnauthenticatedException(INVALID_TOKEN, true);
    if (claims.token_type !== expected) {
      throw new UnauthenticatedException(WRONG_TYPE[expected], true);
    }
    return claims as TokenClaims;
  }

  /** The longest any token issued from now on can stay valid. */
  get longestTtlSeconds(): number {
    return Math.max(this.config.accessTtlSeconds, this.config.refreshTtlSeconds);
  }

  private sign(type: TokenType, user: TokenSubject, sessionId: string, now: number, ttl: number): Promise<string> {
    return this.jwt.signAsync(
      {
        token_type: type,
        user_id: user.id,
        sub: String(user.id),
        username: user.username,
        sid: sessionId,
        jti: randomUUID(),
        iat: now,
        exp: now + ttl,
      },
      { algorithm: this.config.algorithm, issuer: this.config.issuer, audience: this.config.audience },
    );
  }
}

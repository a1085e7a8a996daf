import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import type { AuthenticatedUser } from '../common/decorators/current-user.decorator.js';
import { UnauthenticatedException } from '../common/problems/problem.exceptions.js';
import { authConfig } from '../config/auth.config.js';
import { RevocationsService } from './revocations.service.js';
import { TokensService } from './tokens.service.js';

/**
 * passport-jwt checks the signature with the pinned algorithm, issuer,
 * audience and expiry; `validate` then requires the claims this API relies on,
 * an access token, and that neither the token nor its session is revoked.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy) {
  constructor(
    private readonly tokens: TokensService,
    private readonly revocations: RevocationsService,
    @Inject(authConfig.KEY) config: ConfigType<typeof authConfig>,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // passport-jwt's types say string or Buffer; it hands the key to jsonwebtoken, which takes a KeyObject.
      secretOrKey: config.key as unknown as Buffer,
      algorithms: [config.algorithm],
      issuer: config.issuer,
      audience: config.audience,
      ignoreExpiration: false,
    });
  }

  async validate(payload: unknown): Promise<AuthenticatedUser> {
    const claims = this.tokens.checkClaims(payload, 'access');
    if (await this.revocations.isRevoked(claims.jti, claims.sid)) {
      throw new UnauthenticatedException('The token has been revoked.', true);
    }
    return { id: claims.user_id, username: claims.username, sessionId: claims.sid, tokenId: claims.jti };
  }
}

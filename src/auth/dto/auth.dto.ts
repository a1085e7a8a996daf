import { IsString, MaxLength } from 'class-validator';
import { Optional } from '../../common/validation/field.decorators.js';

export class LoginDto {
  /** @example "alice" */
  @MaxLength(150)
  @IsString()
  username: string;

  /** @example "correct horse battery" */
  @MaxLength(128)
  @IsString()
  password: string;
}

export class RefreshDto {
  /** A refresh token from login or from the previous refresh. */
  @MaxLength(2048)
  @IsString()
  refresh: string;
}

export class LogoutDto {
  /** Optional: the session's refresh token; another session's of the same user is revoked too. */
  @Optional()
  @MaxLength(2048)
  @IsString()
  refresh?: string;
}

export class TokenPairDto {
  /** Refresh token (1 day by default); each use returns a new one and retires the old. */
  refresh: string;
  /** Access token (5 minutes by default), sent as `Authorization: Bearer <access>`. */
  access: string;
}

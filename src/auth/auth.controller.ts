import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { type AuthenticatedUser, CurrentUser } from '../common/decorators/current-user.decorator.js';
import { Public } from '../common/decorators/public.decorator.js';
import { RateLimit } from '../common/rate-limit/rate-limit.decorator.js';
import { DetailDto } from '../common/dto/detail.dto.js';
import { ApiProblems } from '../common/problems/api-problems.decorator.js';
import { AuthService } from './auth.service.js';
import { LoginDto, LogoutDto, RefreshDto, TokenPairDto } from './dto/auth.dto.js';
import { Idempotent } from '../common/idempotency/idempotent.decorator.js';

@ApiTags('Users and tokens')
@Controller()
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  /** Exchange a username and password for an access and a refresh token (a new login session). */
  @Public({ ignoreToken: true })
  @RateLimit('login')
  @Post('login')
  @Idempotent()
  @HttpCode(HttpStatus.OK)
  @ApiOkResponse({ type: TokenPairDto, description: 'A new login session' })
  @ApiProblems(400, 401, 413, 415)
  async login(@Body() dto: LoginDto): Promise<TokenPairDto> {
    const { refresh, access } = await this.auth.login(dto);
    return { refresh, access };
  }

  /**
   * Exchange a refresh token for a new access and refresh token. The one sent
   * is retired; sending a retired one again revokes its whole login session.
   */
  @Public({ ignoreToken: true })
  @Post('token/refresh')
  @Idempotent()
  @HttpCode(HttpStatus.OK)
  @ApiOkResponse({ type: TokenPairDto, description: 'The next access and refresh token of the session' })
  @ApiProblems(400, 401, 413, 415)
  async refresh(@Body() dto: RefreshDto): Promise<TokenPairDto> {
    const { access, refresh } = await this.auth.refresh(dto.refresh);
    return { access, refresh };
  }

  /**
   * End this login session: the access token used and its refresh token stop
   * working. A refresh token in the body (the caller's own) ends its session too.
   */
  @Post('logout')
  @Idempotent()
  @HttpCode(HttpStatus.OK)
  @ApiBearerAuth()
  @ApiOkResponse({ type: DetailDto, example: { detail: 'Successfully logged out' } })
  @ApiProblems(400, 401, 403, 413, 415)
  async logout(@CurrentUser() caller: AuthenticatedUser, @Body() dto: LogoutDto): Promise<DetailDto> {
    await this.auth.logout(caller, dto.refresh);
    return { detail: 'Successfully logged out' };
  }

  /** End every login session of the caller. */
  @Post('logout/all')
  @Idempotent()
  @HttpCode(HttpStatus.OK)
  @ApiBearerAuth()
  @ApiOkResponse({ type: DetailDto, example: { detail: 'Successfully logged out of every session' } })
  @ApiProblems(400, 401, 413, 415)
  async logoutEverywhere(@CurrentUser() caller: AuthenticatedUser): Promise<DetailDto> {
    await this.auth.logoutEverywhere(caller);
    return { detail: 'Successfully logged out of every session' };
  }
}

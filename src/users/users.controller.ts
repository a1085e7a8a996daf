import { Body, Controller, Get, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { type AuthenticatedUser, CurrentUser } from '../common/decorators/current-user.decorator.js';
import { Public } from '../common/decorators/public.decorator.js';
import { RateLimit } from '../common/rate-limit/rate-limit.decorator.js';
import { ApiProblems } from '../common/problems/api-problems.decorator.js';
import { RegisterUserDto } from './dto/register-user.dto.js';
import { MeDto, toMeDto, toUserDto, UserDto } from './dto/user.dto.js';
import { UsersService } from './users.service.js';
import { Idempotent } from '../common/idempotency/idempotent.decorator.js';

@ApiTags('Users and tokens')
@Controller()
export class UsersController {
  constructor(private readonly users: UsersService) {}

  /** Create an account. Usernames and emails are unique regardless of letter case. */
  @Public({ ignoreToken: true })
  @RateLimit('signup')
  @Post('register')
  @Idempotent()
  @HttpCode(HttpStatus.CREATED)
  @ApiCreatedResponse({ type: UserDto, description: 'The new account' })
  @ApiProblems(400, 409, 413, 415)
  async register(@Body() dto: RegisterUserDto): Promise<UserDto> {
    return toUserDto(await this.users.register(dto));
  }

  /** The account the access token belongs to. */
  @Get('me')
  @ApiBearerAuth()
  @ApiOkResponse({ type: MeDto })
  @ApiProblems(401)
  async me(@CurrentUser() caller: AuthenticatedUser): Promise<MeDto> {
    return toMeDto(await this.users.getAccount(caller.id));
  }
}

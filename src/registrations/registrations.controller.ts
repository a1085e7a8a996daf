import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Post,
  Query,
  StreamableFile,
  UseInterceptors,
} from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { type AuthenticatedUser, CurrentUser } from '../common/decorators/current-user.decorator.js';
import { Public } from '../common/decorators/public.decorator.js';
import { RateLimit } from '../common/rate-limit/rate-limit.decorator.js';
import { DetailDto } from '../common/dto/detail.dto.js';
import { ApiPaginatedResponse } from '../common/pagination/api-paginated-response.decorator.js';
import { PageQueryDto } from '../common/pagination/page-query.dto.js';
import type { Paginated } from '../common/pagination/paginated.js';
import { PaginationInterceptor } from '../common/pagination/pagination.interceptor.js';
import { ApiProblems } from '../common/problems/api-problems.decorator.js';
import { IdParam } from '../common/validation/id-param.decorator.js';
import { CheckInService } from './check-in.service.js';
import { ListRegistrationsQueryDto } from './dto/list-registrations-query.dto.js';
import { RegisterForEventDto } from './dto/register-for-event.dto.js';
import { CapacityDto, RegistrationCreatedDto, RegistrationDto, WaitlistDto } from './dto/registration.dto.js';
import { RegistrationToken, WantsCsv } from './header.decorators.js';
import { RegistrationsService } from './registrations.service.js';
import { Idempotent } from '../common/idempotency/idempotent.decorator.js';

const CSV_EXAMPLE =
  'id,name,email,status,position,created_at,promoted_at,checked_in_at\n' +
  '17,NEW USER,newuser@mail.com,confirmed,,2025-01-09T14:21:56.113Z,,2025-02-15T09:48:12.530Z\n' +
  '18,LATE USER,late@mail.com,waitlisted,1,2025-01-09T14:22:03.410Z,,\n';

@ApiTags('Registrations')
@ApiBearerAuth()
@Controller()
export class RegistrationsController {
  constructor(
    private readonly registrations: RegistrationsService,
    private readonly checkIns: CheckInService,
  ) {}

  /**
   * Register for an event: a seat while one is free, else a place at the end
   * of the waitlist. No token needed; with one, the registration is linked to
   * the caller. The `cancel_token` is shown only in this answer.
   */
  @Public()
  @RateLimit('eventRegistration')
  @Post('events/:id/register')
  @Idempotent()
  @HttpCode(HttpStatus.CREATED)
  @ApiCreatedResponse({ type: RegistrationCreatedDto })
  @ApiProblems(400, 401, 404, 409, 413, 415)
  register(
    @IdParam() eventId: number,
    @Body() dto: RegisterForEventDto,
    @CurrentUser() caller?: AuthenticatedUser,
  ): Promise<RegistrationCreatedDto> {
    return this.registrations.register(eventId, dto, caller);
  }

  /** Seats taken and free, and the length of the waitlist. */
  @Public()
  @Get('events/:id/capacity')
  @ApiOkResponse({ type: CapacityDto })
  @ApiProblems(400, 401, 404)
  capacity(@IdParam() eventId: number, @CurrentUser() viewer?: AuthenticatedUser): Promise<CapacityDto> {
    return this.registrations.capacity(eventId, viewer);
  }

  /** The waitlist, first come first, paginated; emails are masked except for the organizer. */
  @Get('events/:id/waitlist')
  @ApiOkResponse({ type: WaitlistDto })
  @ApiProblems(400, 401, 404)
  waitlist(
    @IdParam() eventId: number,
    @Query() page: PageQueryDto,
    @CurrentUser() caller: AuthenticatedUser,
  ): Promise<WaitlistDto> {
    return this.registrations.waitlistOf(eventId, page, caller);
  }

  /**
   * Every registration of the event, for its organizer, in registration
   * order, optionally of one status and checked in or not. With
   * `Accept: text/csv`, every one the filters keep, as a CSV file.
   */
  @Get('events/:id/registrations')
  @UseInterceptors(PaginationInterceptor)
  @ApiPaginatedResponse(RegistrationDto, { csvExample: CSV_EXAMPLE })
  @ApiProblems(400, 401, 403, 404)
  async list(
    @IdParam() eventId: number,
    @Query() query: ListRegistrationsQueryDto,
    @CurrentUser() caller: AuthenticatedUser,
    @WantsCsv() wantsCsv: boolean,
  ): Promise<Paginated<RegistrationDto> | StreamableFile> {
    if (!wantsCsv) return this.registrations.listForOrganizer(eventId, query, caller);
    const csv = await this.registrations.exportCsv(eventId, query, caller);
    return new StreamableFile(csv, {
      type: 'text/csv; charset=utf-8',
      disposition: `attachment; filename="event-${eventId}-registrations.csv"`,
    });
  }

  /** One registration, for the organizer, the account that made it, or the holder of its cancel token. */
  @Public()
  @Get('events/:id/registrations/:rid')
  @ApiOkResponse({ type: RegistrationDto })
  @ApiProblems(400, 401, 403, 404)
  get(
    @IdParam() eventId: number,
    @IdParam('rid') registrationId: number,
    @CurrentUser() caller?: AuthenticatedUser,
    @RegistrationToken() registrationToken?: string,
  ): Promise<RegistrationDto> {
    return this.registrations.get(eventId, registrationId, { caller, registrationToken });
  }

  /** Cancel a registration; a freed seat goes to the oldest waitlisted registration. */
  @Public()
  @Delete('events/:id/registrations/:rid')
  @Idempotent()
  @ApiOkResponse({ type: DetailDto, example: { detail: 'Registration cancelled' } })
  @ApiProblems(400, 401, 403, 404, 413, 415)
  async cancel(
    @IdParam() eventId: number,
    @IdParam('rid') registrationId: number,
    @CurrentUser() caller?: AuthenticatedUser,
    @RegistrationToken() registrationToken?: string,
  ): Promise<DetailDto> {
    await this.registrations.cancel(eventId, registrationId, { caller, registrationToken });
    return { detail: 'Registration cancelled' };
  }

  /**
   * Check in a confirmed registration (the event's organizer only): sets its
   * `checked_in_at`. Checking in twice, a waitlisted registration, or one of
   * a cancelled event is a 409.
   */
  @Post('events/:id/registrations/:rid/check-in')
  @Idempotent()
  @HttpCode(HttpStatus.OK)
  @ApiOkResponse({ type: RegistrationDto })
  @ApiProblems(400, 401, 403, 404, 409, 413, 415)
  checkIn(
    @IdParam() eventId: number,
    @IdParam('rid') registrationId: number,
    @CurrentUser() caller: AuthenticatedUser,
  ): Promise<RegistrationDto> {
    return this.checkIns.checkIn(eventId, registrationId, caller);
  }

  /** Undo a check-in (the event's organizer only): `checked_in_at` is null again; one not checked in is a 409. */
  @Delete('events/:id/registrations/:rid/check-in')
  @Idempotent()
  @ApiOkResponse({ type: RegistrationDto })
  @ApiProblems(400, 401, 403, 404, 409, 413, 415)
  undoCheckIn(
    @IdParam() eventId: number,
    @IdParam('rid') registrationId: number,
    @CurrentUser() caller: AuthenticatedUser,
  ): Promise<RegistrationDto> {
    return this.checkIns.undoCheckIn(eventId, registrationId, caller);
  }

  /** The caller's registrations (those made while sending an access token). */
  @Get('me/registrations')
  @UseInterceptors(PaginationInterceptor)
  @ApiPaginatedResponse(RegistrationDto)
  @ApiProblems(400, 401)
  mine(@Query() page: PageQueryDto, @CurrentUser() caller: AuthenticatedUser): Promise<Paginated<RegistrationDto>> {
    return this.registrations.listMine(caller, page);
  }
}

import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Patch,
  Post,
  Put,
  Query,
  UseInterceptors,
} from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { type AuthenticatedUser, CurrentUser } from '../common/decorators/current-user.decorator.js';
import { Public } from '../common/decorators/public.decorator.js';
import { DetailDto } from '../common/dto/detail.dto.js';
import { ApiPaginatedResponse } from '../common/pagination/api-paginated-response.decorator.js';
import type { Paginated } from '../common/pagination/paginated.js';
import { PaginationInterceptor } from '../common/pagination/pagination.interceptor.js';
import { ApiProblems } from '../common/problems/api-problems.decorator.js';
import { IdParam } from '../common/validation/id-param.decorator.js';
import { CreateEventDto, ReplaceEventDto, UpdateEventDto } from './dto/event-input.dto.js';
import { EventDto } from './dto/event.dto.js';
import { ListEventsQueryDto } from './dto/list-events-query.dto.js';
import { EventsService } from './events.service.js';
import { Idempotent } from '../common/idempotency/idempotent.decorator.js';

@ApiTags('Events')
@ApiBearerAuth()
@Controller('events')
export class EventsController {
  constructor(private readonly events: EventsService) {}

  /**
   * List events, paginated. Drafts appear only with `mine=true`. A token is
   * optional (needed for `mine=true`). Sync clients poll with `updated_since`
   * and `ordering=updated_at`.
   */
  @Public()
  @Get()
  @UseInterceptors(PaginationInterceptor)
  @ApiPaginatedResponse(EventDto)
  @ApiProblems(400, 401)
  list(@Query() query: ListEventsQueryDto, @CurrentUser() viewer?: AuthenticatedUser): Promise<Paginated<EventDto>> {
    return this.events.list(query, viewer);
  }

  /** Publish an event (or save a draft); the caller is its organizer. */
  @Post()
  @Idempotent()
  @HttpCode(HttpStatus.CREATED)
  @ApiCreatedResponse({ type: EventDto })
  @ApiProblems(400, 401, 413, 415)
  create(@Body() dto: CreateEventDto, @CurrentUser() caller: AuthenticatedUser): Promise<EventDto> {
    return this.events.create(dto, caller);
  }

  /** One event. A draft is found only with its organizer's token. */
  @Public()
  @Get(':id')
  @ApiOkResponse({ type: EventDto })
  @ApiProblems(400, 401, 404)
  get(@IdParam() id: number, @CurrentUser() viewer?: AuthenticatedUser): Promise<EventDto> {
    return this.events.get(id, viewer);
  }

  /**
   * Replace an event's six fields (organizer only); `timezone` is optional and
   * kept when left out. Read-only fields in the body are ignored.
   */
  @Put(':id')
  @Idempotent()
  @ApiOkResponse({ type: EventDto })
  @ApiProblems(400, 401, 403, 404, 409, 413, 415)
  replace(
    @IdParam() id: number,
    @Body() dto: ReplaceEventDto,
    @CurrentUser() caller: AuthenticatedUser,
  ): Promise<EventDto> {
    return this.events.update(id, dto, caller);
  }

  /** Change some of an event's fields (organizer only). */
  @Patch(':id')
  @Idempotent()
  @ApiOkResponse({ type: EventDto })
  @ApiProblems(400, 401, 403, 404, 409, 413, 415)
  update(
    @IdParam() id: number,
    @Body() dto: UpdateEventDto,
    @CurrentUser() caller: AuthenticatedUser,
  ): Promise<EventDto> {
    return this.events.update(id, dto, caller);
  }

  /** Delete an event and its registrations (organizer only). */
  @Delete(':id')
  @Idempotent()
  @ApiOkResponse({ type: DetailDto, example: { detail: 'Event deleted successfully' } })
  @ApiProblems(400, 401, 403, 404, 413, 415)
  async remove(@IdParam() id: number, @CurrentUser() caller: AuthenticatedUser): Promise<DetailDto> {
    await this.events.remove(id, caller);
    return { detail: 'Event deleted successfully' };
  }
}

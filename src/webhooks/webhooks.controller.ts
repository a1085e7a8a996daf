import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Post, Query, UseInterceptors } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { type AuthenticatedUser, CurrentUser } from '../common/decorators/current-user.decorator.js';
import { DetailDto } from '../common/dto/detail.dto.js';
import { ApiPaginatedResponse } from '../common/pagination/api-paginated-response.decorator.js';
import { PageQueryDto } from '../common/pagination/page-query.dto.js';
import type { Paginated } from '../common/pagination/paginated.js';
import { PaginationInterceptor } from '../common/pagination/pagination.interceptor.js';
import { ApiProblems } from '../common/problems/api-problems.decorator.js';
import { IdParam } from '../common/validation/id-param.decorator.js';
import {
  CreateWebhookDto,
  ListDeliveriesQueryDto,
  WebhookDeliveryDto,
  WebhookEndpointCreatedDto,
  WebhookEndpointDto,
} from './dto/webhook.dto.js';
import { WebhooksService } from './webhooks.service.js';
import { Idempotent } from '../common/idempotency/idempotent.decorator.js';

@ApiTags('Webhooks')
@ApiBearerAuth()
@Controller('webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  /**
   * Register an endpoint to be told about changes to the events you
   * organize. The `secret` that signs every delivery is in this answer only.
   */
  @Post()
  @Idempotent()
  @HttpCode(HttpStatus.CREATED)
  @ApiCreatedResponse({ type: WebhookEndpointCreatedDto })
  @ApiProblems(400, 401, 409, 413, 415)
  create(@Body() dto: CreateWebhookDto, @CurrentUser() caller: AuthenticatedUser): Promise<WebhookEndpointCreatedDto> {
    return this.webhooks.create(dto, caller);
  }

  /** Your webhook endpoints, oldest first, paginated. */
  @Get()
  @UseInterceptors(PaginationInterceptor)
  @ApiPaginatedResponse(WebhookEndpointDto)
  @ApiProblems(400, 401)
  list(@Query() page: PageQueryDto, @CurrentUser() caller: AuthenticatedUser): Promise<Paginated<WebhookEndpointDto>> {
    return this.webhooks.list(caller, page);
  }

  /** One of your webhook endpoints (another user's is a 404). */
  @Get(':id')
  @ApiOkResponse({ type: WebhookEndpointDto })
  @ApiProblems(400, 401, 404)
  get(@IdParam() id: number, @CurrentUser() caller: AuthenticatedUser): Promise<WebhookEndpointDto> {
    return this.webhooks.get(id, caller);
  }

  /** Delete one of your webhook endpoints and its deliveries log; nothing more is sent to it. */
  @Delete(':id')
  @Idempotent()
  @ApiOkResponse({ type: DetailDto, example: { detail: 'Webhook endpoint deleted' } })
  @ApiProblems(400, 401, 404, 413, 415)
  async remove(@IdParam() id: number, @CurrentUser() caller: AuthenticatedUser): Promise<DetailDto> {
    await this.webhooks.remove(id, caller);
    return { detail: 'Webhook endpoint deleted' };
  }

  /** The endpoint's deliveries, newest first, paginated; `status` filters them. */
  @Get(':id/deliveries')
  @UseInterceptors(PaginationInterceptor)
  @ApiPaginatedResponse(WebhookDeliveryDto)
  @ApiProblems(400, 401, 404)
  deliveries(
    @IdParam() id: number,
    @Query() query: ListDeliveriesQueryDto,
    @CurrentUser() caller: AuthenticatedUser,
  ): Promise<Paginated<WebhookDeliveryDto>> {
    return this.webhooks.deliveries(id, query, caller);
  }
}

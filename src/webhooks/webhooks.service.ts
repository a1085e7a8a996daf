import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AuthenticatedUser } from '../common/decorators/current-user.decorator.js';
import { Paginated } from '../common/pagination/paginated.js';
import { InvalidInputException, UnauthenticatedException } from '../common/problems/problem.exceptions.js';
import { webhooksConfig, type WebhooksConfig } from '../config/webhooks.config.js';
import { isMysqlFamily } from '../database/dialect.js';
import { execute, select, type SqlValue, toSqlDateTime } from '../database/sql.js';
import { TransactionRunner } from '../database/transaction.runner.js';
import { RefusedAddressError, resolveAllowed, systemResolver } from './address-policy.js';
import {
  type CreateWebhookDto,
  type ListDeliveriesQueryDto,
  toWebhookDeliveryDto,
  toWebhookEndpointDto,
  type WebhookDeliveryDto,
  type WebhookDeliveryRow,
  type WebhookEndpointCreatedDto,
  type WebhookEndpointDto,
  type WebhookEndpointRow,
} from './dto/webhook.dto.js';
import { newWebhookSecret } from './signature.js';

/** Endpoints one user may have: every change of their events writes one outbox row per endpoint. */
export const MAX_ENDPOINTS_PER_USER = 10;
/** A host name that takes longer than this to resolve is refused at creation. */
const RESOLVE_TIMEOUT_MS = 2_000;

const NOT_FOUND = 'No webhook endpoint with this id.';

const ENDPOINT_COLUMNS = 'id, url, events, created_at, disabled_at, disabled_reason';
const DELIVERY_COLUMNS =
  'public_id, type, event_id, status, attempts, last_status_code, last_error, next_attempt_at, created_at, ' +
  'last_attempt_at, delivered_at';

/** A user's webhook endpoints and their deliveries log. Another user's endpoint does not exist (404). */
@Injectable()
export class WebhooksService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly transactions: TransactionRunner,
    @Inject(webhooksConfig.KEY) private readonly config: WebhooksConfig,
  ) {}

  /**
   * Creates an endpoint for the caller's events. Its URL's host must resolve
   * to public addresses only (unless WEBHOOK_ALLOW_PRIVATE); it is checked
   * again before every delivery. The secret is in this answer only.
   */
  async create(dto: CreateWebhookDto, caller: AuthenticatedUser): Promise<WebhookEndpointCreatedDto> {
    const url = new URL(dto.url);
    if (!this.config.allowPrivateAddresses) await this.checkAddresses(url.hostname);
    const secret = newWebhookSecret();
    const now = new Date();
    const row: Omit<WebhookEndpointRow, 'id'> = {
      url: url.href,
      events: dto.events.join(','),
      created_at: now,
      disabled_at: null,
      disabled_reason: null,
    };
    const id = await this.transactions.run(async (manager) => {
      // The account's row lock makes the count and the insert one step, so concurrent requests cannot pass the limit.
      const lock = isMysqlFamily(manager.connection) ? ' FOR UPDATE' : '';
      const [user] = await select<{ id: number }>(manager, `SELECT id FROM users WHERE id = ?${lock}`, [caller.id]);
      if (!user) throw new UnauthenticatedException('The user of this token no longer exists.', true);
      const [{ count }] = await select<{ count: number | string }>(
        manager,
        'SELECT COUNT(*) AS count FROM webhook_endpoints WHERE user_id = ?',
        [caller.id],
      );
      if (Number(count) >= MAX_ENDPOINTS_PER_USER) {
        throw new ConflictException(
          `You already have ${MAX_ENDPOINTS_PER_USER} webhook endpoints, the most allowed; delete one first.`,
        );
      }
      const { insertId } = await execute(
        manager,
        'INSERT INTO webhook_endpoints (user_id, url, events, secret, created_at) VALUES (?, ?, ?, ?, ?)',
        [caller.id, row.url, row.events, secret, toSqlDateTime(now)],
      );
      return insertId;
    });
    return { ...toWebhookEndpointDto({ id, ...row }), secret };
  }

  async list(
    caller: AuthenticatedUser,
    page: { page: number; page_size: number },
  ): Promise<Paginated<WebhookEndpointDto>> {
    const manager = this.dataSource.manager;
    const [{ total }] = await select<{ total: number | string }>(
      manager,
      'SELECT COUNT(*) AS total FROM webhook_endpoints WHERE user_id = ?',
      [caller.id],
    );
    const offset = (page.page - 1) * page.page_size;
    const rows =
      offset >= Number(total)
        ? []
        : await select<WebhookEndpointRow>(
            manager,
            `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE user_id = ? ORDER BY id LIMIT ? OFFSET ?`,
            [caller.id, page.page_size, offset],
          );
    return new Paginated(rows.map(toWebhookEndpointDto), Number(total), page.page, page.page_size);
  }

  async get(id: number, caller: AuthenticatedUser): Promise<WebhookEndpointDto> {
    return toWebhookEndpointDto(await this.owned(id, caller));
  }

  /** Deletes the endpoint and its deliveries; one being sent right now may still arrive. */
  async remove(id: number, caller: AuthenticatedUser): Promise<void> {
    const { affected } = await this.transactions.runStatement((manager) =>
      execute(manager, 'DELETE FROM webhook_endpoints WHERE id = ? AND user_id = ?', [id, caller.id]),
    );
    if (affected === 0) throw new NotFoundException(NOT_FOUND);
  }

  /** The endpoint's deliveries, newest first. */
  async deliveries(
    id: number,
    query: ListDeliveriesQueryDto,
    caller: AuthenticatedUser,
  ): Promise<Paginated<WebhookDeliveryDto>> {
    await this.owned(id, caller);
    const manager = this.dataSource.manager;
    const filter = query.status ? ' AND status = ?' : '';
    const params: SqlValue[] = query.status ? [id, query.status] : [id];
    const [{ total }] = await select<{ total: number | string }>(
      manager,
      `SELECT COUNT(*) AS total FROM webhook_deliveries WHERE endpoint_id = ?${filter}`,
      params,
    );
    const offset = (query.page - 1) * query.page_size;
    const rows =
      offset >= Number(total)
        ? []
        : await select<WebhookDeliveryRow>(
            manager,
            `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = ?${filter} ` +
              'ORDER BY id DESC LIMIT ? OFFSET ?',
            [...params, query.page_size, offset],
          );
    return new Paginated(rows.map(toWebhookDeliveryDto), Number(total), query.page, query.page_size);
  }

  private async owned(id: number, caller: AuthenticatedUser): Promise<WebhookEndpointRow> {
    const [row] = await select<WebhookEndpointRow>(
      this.dataSource.manager,
      `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = ? AND user_id = ?`,
      [id, caller.id],
    );
    if (!row) throw new NotFoundException(NOT_FOUND);
    return row;
  }

  /** Every address the host resolves to must be public; a host that does not resolve is refused too. */
  private async checkAddresses(hostname: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), RESOLVE_TIMEOUT_MS);
    });
    try {
      await Promise.race([resolveAllowed(hostname, systemResolver), timeout]);
    } catch (error) {
      throw new InvalidInputException({
        url: [
          error instanceof RefusedAddressError
            ? `url must reach a public address: ${error.message}`
            : 'url: its host name could not be resolved',
        ],
      });
    } finally {
      clearTimeout(timer);
    }
  }
}

import { randomUUID } from 'node:crypto';
import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource, type EntityManager } from 'typeorm';
import { webhooksConfig, type WebhooksConfig } from '../config/webhooks.config.js';
import { execute, fromSqlDateTime, select, type SqlValue, toSqlDateTime } from '../database/sql.js';
import { TransactionRunner } from '../database/transaction.runner.js';
import { signatureHeader } from './signature.js';
import { sendWebhook, WEBHOOK_TIMEOUT_MS, WEBHOOK_USER_AGENT, type WebhookResponse } from './webhook-sender.js';

/** Queues (an endpoint and an event) one process works on at once. */
const MAX_QUEUES_IN_FLIGHT = 16;
/** Deliveries of one queue claimed together and sent one after the other. */
const QUEUE_BATCH = 10;
/**
 * How long a claim keeps other processes off a delivery. A process starts an
 * attempt only while its claim has an attempt's 10 s and a margin left, so a
 * delivery is never sent by two processes at once; a process that dies leaves
 * its deliveries to another after this long.
 */
const LEASE_MS = 60_000;
const LEASE_MARGIN_MS = 5_000;
/** Retries back off exponentially up to this wait between two attempts. */
const MAX_BACKOFF_MS = 60 * 60 * 1000;
/** At shutdown, attempts in flight get this long to finish before they are aborted. */
const SHUTDOWN_GRACE_MS = 3_000;
/** Delivered and failed deliveries are kept this long for the deliveries log, then purged. */
const RETENTION_MS = 30 * 24 * 60 * 60 * 1000;
const PURGE_INTERVAL_MS = 60 * 60 * 1000;
/** A failing database is reported once per this long, not on every poll. */
const WARN_EVERY_MS = 60_000;

/**
 * The deliveries to one endpoint about one event form a queue, sent in id
 * (creation) order: only its head, the oldest pending delivery, may be sent.
 * This finds the heads that are due and not claimed by a live process. The
 * heads come from the (status, endpoint, event, id) index, one per queue
 * (MySQL reads them with a loose index scan), however long the queues are.
 */
const HEADS_SQL =
  'SELECT d.id FROM webhook_deliveries d JOIN (SELECT MIN(id) AS id FROM webhook_deliveries ' +
  "WHERE status = 'pending' GROUP BY endpoint_id, event_id) h ON h.id = d.id " +
  'WHERE d.next_attempt_at <= ? AND (d.claimed_until IS NULL OR d.claimed_until < ?) ' +
  'ORDER BY d.next_attempt_at, d.id LIMIT ?';

/** The pending deliveries behind a head, in order. */
const QUEUE_SQL =
  "SELECT id FROM webhook_deliveries WHERE status = 'pending' AND endpoint_id = ? AND event_id = ? AND id > ? " +
  'ORDER BY id LIMIT ?';

const placeholders = (count: number) => new Array<string>(count).fill('?').join(', ');

const claimedSql = (count: number) =>
  'SELECT d.id, d.public_id, d.type, d.data, d.attempts, d.created_at, d.event_id, w.id AS endpoint_id, w.url, ' +
  'w.secret, w.disabled_at FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id ' +
  `WHERE d.id IN (${placeholders(count)}) AND d.claimed_by = ? ORDER BY d.id`;

interface ClaimedDelivery {
  id: number;
  public_id: string;
  type: string;
  data: string;
  attempts: number;
  created_at: Date | string;
  event_id: number;
  endpoint_id: number;
  url: string;
  secret: string;
  disabled_at: Date | string | null;
}

/** Deliveries of one queue this process holds, under one claim. */
interface Claim {
  token: string;
  until: number;
  deliveries: ClaimedDelivery[];
}

/** The wait before the next attempt after `attempts` failed ones: doubling from the base, capped, ±20 % jitter. */
export function retryDelayMs(attempts: number, baseMs: number, random = Math.random()): number {
  const nominal = Math.min(baseMs * 2 ** Math.min(attempts - 1, 40), MAX_BACKOFF_MS);
  return Math.round(nominal * (0.8 + 0.4 * random));
}

/**
 * The outbox's sending side, running in every app process: it polls for due
 * deliveries, claims them (a conditional UPDATE that only one process can
 * win per row, marked with a token of its own), sends them, and records each
 * outcome. Several processes may run it against one database: a delivery is
 * sent by one of them at a time, and again only after an attempt failed.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Webhooks');
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private pollAgain = false;
  private stopping = false;
  private lastWarning = 0;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly transactions: TransactionRunner,
    @Inject(webhooksConfig.KEY) private readonly config: WebhooksConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.workerEnabled) this.schedule(this.config.pollIntervalMs);
  }

  /**
   * Stops polling and lets the attempts in flight finish, for a few seconds;
   * then aborts them (each counts as a failed attempt, for another process to
   * take over at once). Deliveries claimed but not started are released.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    await this.polling;
    const finished = Promise.all(this.inFlight);
    if (await Promise.race([finished.then(() => true), sleep(SHUTDOWN_GRACE_MS, false)])) return;
    this.abort.abort();
    await Promise.race([finished, sleep(SHUTDOWN_GRACE_MS)]);
  }

  /** Looks for due deliveries now rather than at the next poll (a queue has been worked through). */
  private wake(): void {
    if (this.polling) this.pollAgain = true;
    else this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.stopping) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.polling = this.poll().finally(() => {
        this.polling = undefined;
      });
    }, delayMs);
  }

  private async poll(): Promise<void> {
    this.pollAgain = false;
    let busy = false;
    try {
      const free = MAX_QUEUES_IN_FLIGHT - this.inFlight.size;
      if (free > 0) {
        const claims = await this.claim(free);
        busy = claims.length === free;
        for (const claim of claims) this.track(this.work(claim));
      }
    } catch (error) {
      this.warn(`Looking for due webhook deliveries failed: ${(error as Error).message}`);
    }
    this.schedule(this.pollAgain || busy ? 0 : this.config.pollIntervalMs);
  }

  private track(work: Promise<void>): void {
    const tracked = work
      .catch((error: Error) => this.warn(`Recording a webhook delivery failed: ${error.message}`))
      .finally(() => {
        this.inFlight.delete(tracked);
        this.wake();
      });
    this.inFlight.add(tracked);
  }

  /**
   * Claims the heads of up to `limit` due queues, then the deliveries queued
   * behind each head won. Each UPDATE re-checks that its rows are still
   * pending and unclaimed, so of several processes claiming one row exactly
   * one wins it; the token it wrote names the rows it won. Only heads are
   * ever contested: a delivery behind a pending head is claimed only by the
   * holder of that head.
   */
  private async claim(limit: number): Promise<Claim[]> {
    const manager = this.dataSource.manager;
    const now = toSqlDateTime(new Date());
    const heads = (await select<{ id: number }>(manager, HEADS_SQL, [now, now, limit])).map((row) => row.id);
    if (heads.length === 0) return [];
    const token = randomUUID();
    const until = Date.now() + LEASE_MS;
    const claimed = await this.claimRows(token, until, heads, now);
    if (claimed === 0) return [];
    const won = await select<{ id: number; endpoint_id: number; event_id: number }>(
      manager,
      `SELECT id, endpoint_id, event_id FROM webhook_deliveries WHERE id IN (${placeholders(heads.length)}) AND claimed_by = ?`,
      [...heads, token],
    );
    const behind: number[] = [];
    for (const head of won) {
      const rows = await select<{ id: number }>(manager, QUEUE_SQL, [
        head.endpoint_id,
        head.event_id,
        head.id,
        QUEUE_BATCH - 1,
      ]);
      behind.push(...rows.map((row) => row.id));
    }
    if (behind.length > 0) await this.claimRows(token, until, behind, now);
    const ids = [...won.map((head) => head.id), ...behind];
    const rows = await select<ClaimedDelivery>(manager, claimedSql(ids.length), [...ids, token]);
    const queues = new Map<string, ClaimedDelivery[]>();
    for (const row of rows) {
      const key = `${row.endpoint_id}:${row.event_id}`;
      queues.set(key, [...(queues.get(key) ?? []), row]);
    }
    return [...queues.values()].map((deliveries) => ({ token, until, deliveries }));
  }

  private async claimRows(token: string, until: number, ids: number[], now: string): Promise<number> {
    const { affected } = await this.transactions.runStatement((writer) =>
      execute(
        writer,
        `UPDATE webhook_deliveries SET claimed_by = ?, claimed_until = ? WHERE id IN (${placeholders(ids.length)}) ` +
          "AND status = 'pending' AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until < ?)",
        [token, toSqlDateTime(new Date(until)), ...ids, now, now],
      ),
    );
    return affected;
  }

  /**
   * Sends a queue's claimed deliveries in order, stopping at the first that
   * fails (those behind it wait for its retry) or when the claim has too
   * little time left for another attempt; what is left is released.
   */
  private async work(claim: Claim): Promise<void> {
    const { token, deliveries } = claim;
    let sent = 0;
    try {
      for (const delivery of deliveries) {
        if (this.stopping || Date.now() + WEBHOOK_TIMEOUT_MS + LEASE_MARGIN_MS > claim.until) break;
        sent++;
        if (!(await this.deliver(delivery, token))) break;
      }
    } finally {
      const rest = deliveries.slice(sent).map((delivery) => delivery.id);
      if (rest.length > 0) await this.release(rest, token);
    }
  }

  /** One attempt and its outcome; true if the queue may go on to the next delivery. */
  private async deliver(delivery: ClaimedDelivery, token: string): Promise<boolean> {
    if (delivery.disabled_at !== null) {
      await this.finish(delivery.id, token, 'failed', { attempted: false, error: 'the endpoint is disabled' });
      return true;
    }
    const body =
      `{"id":${JSON.stringify(delivery.public_id)},"type":${JSON.stringify(delivery.type)},` +
      `"created_at":${JSON.stringify(fromSqlDateTime(delivery.created_at).toISOString())},"data":${delivery.data}}`;
    const outcome = await sendWebhook({
      url: delivery.url,
      body,
      headers: {
        'Content-Type': 'application/json',
        'User-Agent': WEBHOOK_USER_AGENT,
        'X-Webhook-Id': delivery.public_id,
        'X-Webhook-Type': delivery.type,
        'X-Webhook-Signature': signatureHeader(delivery.secret, body, Math.floor(Date.now() / 1000)),
      },
      allowPrivateAddresses: this.config.allowPrivateAddresses,
      timeoutMs: WEBHOOK_TIMEOUT_MS,
      signal: this.abort.signal,
    });
    const status = outcome.statusCode;
    if (status !== null && status >= 200 && status < 300) {
      await this.finish(delivery.id, token, 'delivered', { statusCode: status });
      return true;
    }
    if (status === 410) await this.disableEndpoint(delivery, token);
    else await this.retryLater(delivery, token, outcome);
    return false;
  }

  /** A failed attempt: try again after the backoff, unless that would be past the retry window. */
  private async retryLater(delivery: ClaimedDelivery, token: string, outcome: WebhookResponse): Promise<void> {
    const attempts = delivery.attempts + 1;
    const error = outcome.error ?? `the endpoint answered ${outcome.statusCode}`;
    // An attempt cut short by this process stopping is taken over by another process at once.
    const delay = this.abort.signal.aborted ? 0 : retryDelayMs(attempts, this.config.retryBaseMs);
    const next = Date.now() + delay;
    const giveUpAt = fromSqlDateTime(delivery.created_at).getTime() + this.config.retryWindowMs;
    if (next > giveUpAt) {
      this.logger.warn(`Webhook delivery ${delivery.public_id} failed after ${attempts} attempts; giving up`);
      await this.finish(delivery.id, token, 'failed', { statusCode: outcome.statusCode, error });
      return;
    }
    await this.finish(delivery.id, token, 'pending', { statusCode: outcome.statusCode, error, nextAttemptAt: next });
  }

  /** 410 Gone: the receiver wants nothing more. The endpoint is disabled and its pending deliveries fail. */
  private async disableEndpoint(delivery: ClaimedDelivery, token: string): Promise<void> {
    const now = toSqlDateTime(new Date());
    await this.transactions.run(async (manager) => {
      await this.finish(
        delivery.id,
        token,
        'failed',
        { statusCode: 410, error: 'the endpoint answered 410 Gone' },
        manager,
      );
      await execute(
        manager,
        'UPDATE webhook_endpoints SET disabled_at = ?, disabled_reason = ? WHERE id = ? AND disabled_at IS NULL',
        [now, 'The endpoint answered 410 Gone.', delivery.endpoint_id],
      );
      // Deliveries another process is sending right now keep their claim and record their own outcome.
      await execute(
        manager,
        "UPDATE webhook_deliveries SET status = 'failed', last_error = ?, claimed_by = NULL, claimed_until = NULL " +
          "WHERE endpoint_id = ? AND status = 'pending' AND (claimed_until IS NULL OR claimed_until < ? OR claimed_by = ?)",
        ['the endpoint was disabled after answering 410 Gone', delivery.endpoint_id, now, token],
      );
    });
    this.logger.warn(`Webhook endpoint ${delivery.endpoint_id} answered 410 Gone and was disabled`);
  }

  /** Records an attempt's outcome and releases the claim, if the claim is still this one. */
  private async finish(
    id: number,
    token: string,
    status: 'pending' | 'delivered' | 'failed',
    outcome: { statusCode?: number | null; error?: string; attempted?: boolean; nextAttemptAt?: number },
    manager?: EntityManager,
  ): Promise<void> {
    const now = toSqlDateTime(new Date());
    const attempted = outcome.attempted ?? true;
    const sets = ['status = ?', 'claimed_by = NULL', 'claimed_until = NULL'];
    const params: SqlValue[] = [status];
    if (attempted) {
      sets.push('attempts = attempts + 1', 'last_status_code = ?', 'last_error = ?', 'last_attempt_at = ?');
      params.push(outcome.statusCode ?? null, outcome.error?.slice(0, 255) ?? null, now);
    } else {
      sets.push('last_error = ?');
      params.push(outcome.error ?? null);
    }
    if (status === 'delivered') {
      sets.push('delivered_at = ?');
      params.push(now);
    }
    if (outcome.nextAttemptAt !== undefined) {
      sets.push('next_attempt_at = ?');
      params.push(toSqlDateTime(new Date(outcome.nextAttemptAt)));
    }
    const sql = `UPDATE webhook_deliveries SET ${sets.join(', ')} WHERE id = ? AND claimed_by = ?`;
    params.push(id, token);
    if (manager) await execute(manager, sql, params);
    else await this.transactions.runStatement((writer) => execute(writer, sql, params));
  }

  /** Gives claimed deliveries back, untouched, for whoever comes next. */
  private async release(ids: number[], token: string): Promise<void> {
    await this.transactions.runStatement((writer) =>
      execute(
        writer,
        `UPDATE webhook_deliveries SET claimed_by = NULL, claimed_until = NULL WHERE id IN (${placeholders(ids.length)}) AND claimed_by = ?`,
        [...ids, token],
      ),
    );
  }

  /** Drops delivered and failed deliveries older than the retention period. */
  @Interval(PURGE_INTERVAL_MS)
  async purgeOnSchedule(): Promise<void> {
    if (!this.config.workerEnabled) return;
    const cutoff = toSqlDateTime(new Date(Date.now() - RETENTION_MS));
    await this.transactions
      .runStatement((manager) =>
        execute(manager, "DELETE FROM webhook_deliveries WHERE created_at < ? AND status <> 'pending'", [cutoff]),
      )
      .catch((error: Error) => this.logger.warn(`Purge of old webhook deliveries failed: ${error.message}`));
  }

  private warn(message: string): void {
    if (Date.now() - this.lastWarning < WARN_EVERY_MS) return;
    this.lastWarning = Date.now();
    this.logger.warn(message);
  }
}

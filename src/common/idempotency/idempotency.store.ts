import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { Interval } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { securityConfig } from '../../config/security.config.js';
import { uniqueViolation } from '../../database/database-errors.js';
import { execute, fromSqlDateTime, select, toSqlDateTime } from '../../database/sql.js';
import { TransactionRunner } from '../../database/transaction.runner.js';
import { open, type RequestIdentity, seal } from './request-identity.js';

/** A key holds its first answer this long; after that it is new again. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000;
const PURGE_INTERVAL_MS = 15 * 60 * 1000;
/** Rows deleted by one statement of the purge, so that it never holds many locks for long. */
export const PURGE_BATCH_SIZE = 1000;
/** Batches in one run of the purge; whatever is left waits for the next run. */
const PURGE_MAX_BATCHES = 100;
/** A claim that is taken over, or released, between our INSERT and our SELECT: try again, this many times in all. */
const CLAIM_ATTEMPTS = 3;

/** What a replay sends: the first answer's status, the headers that matter, and its body as text. */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The right, held by one request, to run with a key and then store or release it. */
export interface Claim {
  id: number;
  token: string;
  identity: RequestIdentity;
}

export type ClaimOutcome =
  | { kind: 'claimed'; claim: Claim }
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'mismatch' }
  | { kind: 'in-flight' };

interface Row {
  id: number;
  fingerprint: string;
  claim_token: string;
  expires_at: Date | string;
  locked_until: Date | string | null;
  response_status: number | null;
  response: string | { headers: Record<string, string>; body: string } | null;
}

const COLUMNS = 'id, fingerprint, claim_token, expires_at, locked_until, response_status, response';

/**
 * The idempotency keys table. A key is claimed by an INSERT that the unique
 * (scope, key_hash) index lets only one request win, on any instance; the
 * losers read the row and get the stored answer, a 409 while it is still
 * running, or a 422 for a different request. A claim whose request died with
 * its instance lapses after its lease; an answer after 24 hours; either is
 * then taken over by a conditional UPDATE, which again only one request wins.
 */
@Injectable()
export class IdempotencyStore {
  private readonly logger = new Logger(IdempotencyStore.name);
  /** Long enough for the request deadline and for a write started just before it to end (TransactionRunner). */
  private readonly leaseMs: number;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly transactions: TransactionRunner,
    @Inject(securityConfig.KEY) security: ConfigType<typeof securityConfig>,
  ) {
    this.leaseMs = 2 * security.requestTimeoutMs + 1000;
  }

  async claim(identity: RequestIdentity): Promise<ClaimOutcome> {
    for (let attempt = 1; attempt <= CLAIM_ATTEMPTS; attempt++) {
      const now = new Date();
      const token = randomBytes(16).toString('hex');
      const times = this.claimTimes(now);
      try {
        const { insertId } = await this.transactions.runStatement((manager) =>
          execute(
            manager,
            `INSERT INTO idempotency_keys
               (scope, key_hash, fingerprint, claim_token, created_at, expires_at, locked_until)
             VALUES (?, ?, ?, ?, ?, ?, ?)`,
            [identity.scope, identity.keyHash, identity.fingerprint, token, ...times],
          ),
        );
        return { kind: 'claimed', claim: { id: insertId, token, identity } };
      } catch (error) {
        if (!uniqueViolation(error)) throw error;
      }
      const [row] = await select<Row>(
        this.dataSource.manager,
        `SELECT ${COLUMNS} FROM idempotency_keys WHERE scope = ? AND key_hash = ?`,
        [identity.scope, identity.keyHash],
      );
      if (!row) continue;
      if (this.lapsed(row, now)) {
        const { affected } = await this.transactions.runStatement((manager) =>
          execute(
            manager,
            `UPDATE idempotency_keys
               SET fingerprint = ?, claim_token = ?, created_at = ?, expires_at = ?, locked_until = ?,
                   response_status = NULL, response = NULL
             WHERE id = ? AND claim_token = ?`,
            [identity.fingerprint, token, ...times, row.id, row.claim_token],
          ),
        );
        if (affected === 1) return { kind: 'claimed', claim: { id: row.id, token, identity } };
        continue;
      }
      if (row.fingerprint !== identity.fingerprint) return { kind: 'mismatch' };
      if (row.response_status === null || row.response === null) return { kind: 'in-flight' };
      return { kind: 'replay', response: this.unpack(row, identity) };
    }
    return { kind: 'in-flight' };
  }

  /** Keeps the answer for replays; a claim that lapsed and was taken over meanwhile stores nothing. */
  async store(claim: Claim, response: StoredResponse): Promise<void> {
    const packed = JSON.stringify({ headers: response.headers, body: seal(response.body, claim.identity) });
    await this.transactions.runStatement((manager) =>
      execute(
        manager,
        `UPDATE idempotency_keys SET response_status = ?, response = ?, locked_until = NULL
         WHERE id = ? AND claim_token = ?`,
        [response.status, packed, claim.id, claim.token],
      ),
    );
  }

  /** Frees the key: the next request with it runs as if it were the first. */
  async release(claim: Claim): Promise<void> {
    await this.transactions.runStatement((manager) =>
      execute(manager, 'DELETE FROM idempotency_keys WHERE id = ? AND claim_token = ?', [claim.id, claim.token]),
    );
  }

  @Interval(PURGE_INTERVAL_MS)
  async purgeOnSchedule(): Promise<void> {
    await this.purgeExpired().catch((error: Error) =>
      this.logger.warn(`Purge of expired idempotency keys failed: ${error.message}`),
    );
  }

  /** Deletes the keys past their 24 hours, `batchSize` rows per statement. */
  async purgeExpired(now = new Date(), batchSize = PURGE_BATCH_SIZE): Promise<number> {
    let purged = 0;
    for (let batch = 0; batch < PURGE_MAX_BATCHES; batch++) {
      const rows = await select<{ id: number }>(
        this.dataSource.manager,
        `SELECT id FROM idempotency_keys WHERE expires_at <= ? ORDER BY id LIMIT ${Math.trunc(batchSize)}`,
        [toSqlDateTime(now)],
      );
      if (rows.length === 0) break;
      const { affected } = await this.transactions.runStatement((manager) =>
        execute(
          manager,
          `DELETE FROM idempotency_keys WHERE id IN (${rows.map(() => '?').join(', ')}) AND expires_at <= ?`,
          [...rows.map((row) => row.id), toSqlDateTime(now)],
        ),
      );
      purged += affected;
      if (rows.length < batchSize) break;
    }
    if (purged > 0) this.logger.log(`Purged ${purged} expired idempotency keys`);
    return purged;
  }

  private claimTimes(now: Date): [createdAt: string, expiresAt: string, lockedUntil: string] {
    return [
      toSqlDateTime(now),
      toSqlDateTime(new Date(now.getTime() + IDEMPOTENCY_KEY_TTL_MS)),
      toSqlDateTime(new Date(now.getTime() + this.leaseMs)),
    ];
  }

  /** Past its 24 hours, or claimed by a request whose lease ran out before it answered. */
  private lapsed(row: Row, now: Date): boolean {
    if (fromSqlDateTime(row.expires_at) <= now) return true;
    return row.response_status === null && row.locked_until !== null && fromSqlDateTime(row.locked_until) <= now;
  }

  private unpack(row: Row, identity: RequestIdentity): StoredResponse {
    const packed = typeof row.response === 'string' ? JSON.parse(row.response) : row.response!;
    return { status: Number(row.response_status), headers: packed.headers, body: open(packed.body, identity) };
  }
}

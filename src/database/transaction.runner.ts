import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { PoolConnection } from 'mysql2';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource, type EntityManager, type QueryRunner } from 'typeorm';
import { securityConfig, type SecurityConfig } from '../config/security.config.js';
import { closeConnection } from './connection-leases.js';
import { databaseTimeLimitError, isLockConflict, isSqliteBusy } from './database-errors.js';

/** MySQL: a transaction that lost a lock conflict is run again, up to this many times in all. */
const MAX_ATTEMPTS = 3;
/** SQLite: the pause between two attempts to get the file's lock from another process. */
const SQLITE_BUSY_PAUSE_MS = 25;
/** A write's time ends this long before the request deadline would, counted from when the write is asked for. */
const WRITE_TIME_MARGIN_MS = 500;

/**
 * Runs a unit of work in a database transaction. Every write goes through it.
 *
 * TypeORM over better-sqlite3 has one connection and one query runner, so two
 * transactions running at once would interleave their statements in a single
 * SQLite transaction (and a rollback would undo the other's work). On SQLite
 * the transactions therefore queue up and run one after the other; on MySQL
 * each takes its own pooled connection and runs concurrently, and one that
 * loses a lock conflict (a deadlock, or a lock wait over 2 s) is retried a
 * few times (so the work must be safe to re-run), then answered with a 503.
 *
 * A write has REQUEST_TIMEOUT - 0.5 s from the moment it is asked for, waits
 * and retries included. When that runs out before it starts, it does not
 * start; while it runs, its connection is closed, so the server rolls it back
 * and the request gets a 503 (the transaction's COMMIT, if already sent, may
 * still land: then it is whole). A write that starts with its request, such
 * as a registration, is thereby settled before the request deadline: its 503
 * never hides a write that goes on afterwards.
 */
@Injectable()
export class TransactionRunner {
  private readonly serialised: boolean;
  private readonly writeTimeMs: number;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(securityConfig.KEY) security: Pick<SecurityConfig, 'requestTimeoutMs'>,
  ) {
    this.serialised = dataSource.options.type === 'better-sqlite3';
    this.writeTimeMs = security.requestTimeoutMs - WRITE_TIME_MARGIN_MS;
  }

  run<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const until = Date.now() + this.writeTimeMs;
    if (!this.serialised) return this.retryingLockConflicts(() => this.transactionUntil(work, until), until);
    return this.inTurn(() => this.whileSqliteBusy(() => this.dataSource.transaction(work), until));
  }

  /**
   * A write made of one statement, atomic on its own (or of a procedure call
   * that begins and commits its own transaction): it is sent without BEGIN
   * and COMMIT (two round trips fewer), and retried like a transaction after
   * a lock conflict, which rolled it back whole. On SQLite it still waits for
   * its turn, so it never lands inside another request's transaction.
   */
  runStatement<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const until = Date.now() + this.writeTimeMs;
    if (!this.serialised) {
      return this.retryingLockConflicts(
        () => this.onOwnConnection(until, (queryRunner) => work(queryRunner.manager)),
        until,
      );
    }
    return this.inTurn(() => this.whileSqliteBusy(() => work(this.dataSource.manager), until));
  }

  private inTurn<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /**
   * Another process (a backup, an sqlite3 shell) may hold the file's write
   * lock. better-sqlite3 would wait for it by sleeping on the event loop,
   * freezing every request, so it waits only briefly and the wait goes on
   * here, asynchronously, until the write's time is spent; then the 503
   * stands. A write whose turn comes after that does not start.
   */
  private async whileSqliteBusy<T>(task: () => Promise<T>, until: number): Promise<T> {
    if (Date.now() >= until) throw databaseTimeLimitError();
    for (;;) {
      try {
        return await task();
      } catch (error) {
        if (!isSqliteBusy(error) || Date.now() + SQLITE_BUSY_PAUSE_MS >= until) throw error;
        await sleep(SQLITE_BUSY_PAUSE_MS);
      }
    }
  }

  private async retryingLockConflicts<T>(attempt: () => Promise<T>, until: number): Promise<T> {
    for (let attempts = 1; ; attempts++) {
      try {
        return await attempt();
      } catch (error) {
        if (attempts >= MAX_ATTEMPTS || !isLockConflict(error) || Date.now() >= until) throw error;
        // Back off a little, with jitter, so the transactions that collided do not collide again.
        await sleep(attempts * 10 + Math.random() * 20);
      }
    }
  }

  /** On MySQL: begin, work, commit (or roll back) on a connection of its own, within the write's time. */
  private transactionUntil<T>(work: (manager: EntityManager) => Promise<T>, until: number): Promise<T> {
    return this.onOwnConnection(until, async (queryRunner) => {
      await queryRunner.startTransaction();
      try {
        const result = await work(queryRunner.manager);
        await queryRunner.commitTransaction();
        return result;
      } catch (error) {
        // Fails too when the connection is gone; the server has rolled back then.
        await queryRunner.rollbackTransaction().catch(() => undefined);
        throw error;
      }
    });
  }

  /**
   * Takes a connection from the pool for `use`, unless the write's time is
   * spent by the time it comes, and closes it when the time runs out,
   * whatever it is waiting for.
   */
  private async onOwnConnection<T>(until: number, use: (queryRunner: QueryRunner) => Promise<T>): Promise<T> {
    const queryRunner = this.dataSource.createQueryRunner();
    let limit: NodeJS.Timeout | undefined;
    try {
      await queryRunner.connect();
      const remaining = until - Date.now();
      if (remaining <= 0) throw databaseTimeLimitError();
      const { databaseConnection } = queryRunner as unknown as { databaseConnection: PoolConnection };
      limit = setTimeout(() => closeConnection(databaseConnection, databaseTimeLimitError()), remaining);
      return await use(queryRunner);
    } finally {
      clearTimeout(limit);
      await queryRunner.release();
    }
  }
}

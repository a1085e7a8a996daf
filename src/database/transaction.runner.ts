import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource, type EntityManager } from 'typeorm';
import { isLockConflict, isSqliteBusy } from './database-errors.js';

/** MySQL: a transaction that lost a lock conflict is run again, up to this many times in all. */
const MAX_ATTEMPTS = 3;
/** SQLite: how long a write waits, in all, for another process to release the file. */
const SQLITE_BUSY_WAIT_MS = 5_000;
const SQLITE_BUSY_PAUSE_MS = 25;

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
 */
@Injectable()
export class TransactionRunner {
  private readonly serialised: boolean;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.serialised = dataSource.options.type === 'better-sqlite3';
  }

  run<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (!this.serialised) return this.retryingLockConflicts(work);
    return this.inTurn(() => this.whileSqliteBusy(() => this.dataSource.transaction(work)));
  }

  /**
   * A write made of one statement, atomic on its own: it is sent without
   * BEGIN and COMMIT (two round trips fewer). On SQLite it still waits for
   * its turn, so it never lands inside another request's transaction.
   */
  runStatement<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (!this.serialised) return work(this.dataSource.manager);
    return this.inTurn(() => this.whileSqliteBusy(() => work(this.dataSource.manager)));
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
   * here, asynchronously, until SQLITE_BUSY_WAIT_MS; then the 503 stands.
   */
  private async whileSqliteBusy<T>(task: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + SQLITE_BUSY_WAIT_MS;
    for (;;) {
      try {
        return await task();
      } catch (error) {
        if (!isSqliteBusy(error) || Date.now() >= deadline) throw error;
        await sleep(SQLITE_BUSY_PAUSE_MS);
      }
    }
  }

  private async retryingLockConflicts<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.dataSource.transaction(work);
      } catch (error) {
        if (attempt >= MAX_ATTEMPTS || !isLockConflict(error)) throw error;
        // Back off a little, with jitter, so the transactions that collided do not collide again.
        await sleep(attempt * 10 + Math.random() * 20);
      }
    }
  }
}

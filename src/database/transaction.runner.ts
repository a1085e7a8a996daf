import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource, type EntityManager } from 'typeorm';
import { isLockConflict } from './database-errors.js';

/** MySQL: a transaction that lost a lock conflict is run again, up to this many times in all. */
const MAX_ATTEMPTS = 3;

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
    const result = this.tail.then(() => this.dataSource.transaction(work));
    this.tail = result.catch(() => undefined);
    return result;
  }

  /**
   * A write made of one statement, atomic on its own: it is sent without
   * BEGIN and COMMIT (two round trips fewer). On SQLite it still waits for
   * its turn, so it never lands inside another request's transaction.
   */
  runStatement<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (!this.serialised) return work(this.dataSource.manager);
    const result = this.tail.then(() => work(this.dataSource.manager));
    this.tail = result.catch(() => undefined);
    return result;
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

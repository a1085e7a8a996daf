import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';

/**
 * Runs a unit of work in a database transaction. Every write goes through it.
 *
 * TypeORM over better-sqlite3 has one connection and one query runner, so two
 * transactions running at once would interleave their statements in a single
 * SQLite transaction (and a rollback would undo the other's work). On SQLite
 * the transactions therefore queue up and run one after the other; on MySQL
 * each takes its own pooled connection and runs concurrently.
 */
@Injectable()
export class TransactionRunner {
  private readonly serialised: boolean;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.serialised = dataSource.options.type === 'better-sqlite3';
  }

  run<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (!this.serialised) return this.dataSource.transaction(work);
    const result = this.tail.then(() => this.dataSource.transaction(work));
    this.tail = result.catch(() => undefined);
    return result;
  }
}

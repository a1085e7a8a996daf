import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Gauge, register } from 'prom-client';
import type { DataSource } from 'typeorm';
import { DATABASE_POOL_CONNECTIONS, DATABASE_POOL_WAITING } from './metric-names.js';

interface PoolUse {
  inUse: number;
  idle: number;
  waiting: number;
  max: number;
}

/** The private counters of a mysql2 pool: it has no public API for them. */
interface Mysql2Pool {
  _allConnections?: { length: number };
  _freeConnections?: { length: number };
  _connectionQueue?: { length: number };
  config?: { connectionLimit?: number };
}

/** The pool of the running app; gauges are process-wide, the app behind them may be replaced (tests). */
let readPoolUse: (() => PoolUse | undefined) | undefined;

function gauge(name: string, help: string, labelNames: string[], collect: (this: Gauge) => void): void {
  if (register.getSingleMetric(name)) return;
  new Gauge({ name, help, labelNames, collect });
}

gauge(DATABASE_POOL_CONNECTIONS, 'Database connections by state (in_use, idle, max).', ['state'], function () {
  const use = readPoolUse?.();
  this.reset();
  if (!use) return;
  this.set({ state: 'in_use' }, use.inUse);
  this.set({ state: 'idle' }, use.idle);
  this.set({ state: 'max' }, use.max);
});

gauge(DATABASE_POOL_WAITING, 'Requests waiting for a free database connection.', [], function () {
  const use = readPoolUse?.();
  this.reset();
  if (use) this.set(use.waiting);
});

/**
 * Database pool use, read when metrics are scraped: MySQL's pool as mysql2
 * keeps it; SQLite's single connection is "in use" while a transaction holds it.
 */
@Injectable()
export class DatabasePoolMetrics implements OnModuleInit, OnModuleDestroy {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  onModuleInit(): void {
    readPoolUse = () => this.poolUse();
  }

  onModuleDestroy(): void {
    readPoolUse = undefined;
  }

  private poolUse(): PoolUse | undefined {
    if (!this.dataSource.isInitialized) return undefined;
    const driver = this.dataSource.driver as { pool?: Mysql2Pool; databaseConnection?: { inTransaction?: boolean } };
    if (this.dataSource.options.type === 'better-sqlite3') {
      const busy = driver.databaseConnection?.inTransaction ? 1 : 0;
      return { inUse: busy, idle: 1 - busy, waiting: 0, max: 1 };
    }
    const pool = driver.pool;
    if (!pool?._allConnections || !pool._freeConnections) return undefined;
    const all = pool._allConnections.length;
    const idle = pool._freeConnections.length;
    return {
      inUse: all - idle,
      idle,
      waiting: pool._connectionQueue?.length ?? 0,
      max: pool.config?.connectionLimit ?? all,
    };
  }
}

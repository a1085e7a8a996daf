import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import mysql, { type Pool, type PoolConnection, type PoolOptions } from 'mysql2';
import type { DataSourceOptions } from 'typeorm';
import type { DatabaseConfig } from '../config/database.config.js';
import { ENTITIES } from './entities.js';
import { closeConnection } from './connection-leases.js';
import { MIGRATIONS } from './migrations/index.js';
import { SnakeNamingStrategy } from './snake-naming.strategy.js';

/** Milliseconds MySQL gets to accept a connection and greet the client. */
export const CONNECT_TIMEOUT_MS = 5_000;
/**
 * better-sqlite3 waits for a locked file by sleeping on the event loop: keep
 * that short; TransactionRunner waits longer, asynchronously.
 */
const SQLITE_LOCK_SLEEP_MS = 20;

/**
 * Set once on every new MySQL connection, before its first query:
 * - READ COMMITTED: a statement that waited for a row lock sees what was
 *   committed meanwhile (no stale snapshot), and InnoDB takes fewer gap locks;
 * - a lock wait gives up after 2 s (not InnoDB's 50), to be retried or answered 503.
 */
export const MYSQL_SESSION_SETTINGS = [
  'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED',
  'SET SESSION innodb_lock_wait_timeout = 2',
];

/** mysql2, with the session settings applied to each connection its pools open. */
const mysqlWithSessionSettings = {
  ...mysql,
  createPool(options: PoolOptions): Pool {
    const pool = mysql.createPool(options);
    pool.on('connection', (connection: PoolConnection) => {
      for (const statement of MYSQL_SESSION_SETTINGS) {
        // Without a callback, a server error here would be thrown, uncaught. A connection
        // without its settings must not be used: close it, failing what waits on it.
        connection.query(statement, (error) => {
          if (error) closeConnection(connection, error);
        });
      }
    });
    return pool;
  },
};

/** The TypeORM options for either database; the app and `ormconfig.ts` both use them. */
export function dataSourceOptions(config: DatabaseConfig): DataSourceOptions {
  const common = {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    namingStrategy: new SnakeNamingStrategy(),
    synchronize: false,
  };
  if (config.type !== 'sqlite') {
    return {
      ...common,
      type: config.type,
      url: config.url,
      timezone: 'Z',
      driver: mysqlWithSessionSettings,
      charset: 'utf8mb4_unicode_ci',
      connectTimeout: CONNECT_TIMEOUT_MS,
      poolSize: 10,
      // No stack trace captured for every query (mysql2's `trace`): it cost 2.5 % of CPU on reads.
      extra: { waitForConnections: true, queueLimit: 500, enableKeepAlive: true, trace: false },
    };
  }
  if (config.file !== ':memory:') mkdirSync(dirname(config.file), { recursive: true });
  return {
    ...common,
    type: 'better-sqlite3',
    database: config.file,
    enableWAL: config.file !== ':memory:',
    timeout: SQLITE_LOCK_SLEEP_MS,
    prepareDatabase: (db: { function: (name: string, options: object, fn: (value: unknown) => unknown) => void }) => {
      // SQLite's built-in lower() folds ASCII only; search must fold any letter, as MySQL does.
      db.function('lower', { deterministic: true }, (value) =>
        typeof value === 'string' ? value.toLowerCase() : value,
      );
    },
  };
}

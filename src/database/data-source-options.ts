import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import type { DatabaseConfig } from '../config/database.config.js';
import { ENTITIES } from './entities.js';
import { MIGRATIONS } from './migrations/index.js';
import { SnakeNamingStrategy } from './snake-naming.strategy.js';

/** Milliseconds a statement waits for a lock or a connection before the request fails with 503. */
const WAIT_TIMEOUT_MS = 5_000;

/** The TypeORM options for either database; the app and `ormconfig.ts` both use them. */
export function dataSourceOptions(config: DatabaseConfig): DataSourceOptions {
  const common = {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    namingStrategy: new SnakeNamingStrategy(),
    synchronize: false,
  };
  if (config.type === 'mysql') {
    return {
      ...common,
      type: 'mysql',
      url: config.url,
      timezone: 'Z',
      // Each statement sees what is committed: no stale snapshot after waiting for a row lock, fewer gap locks.
      isolationLevel: 'READ COMMITTED',
      charset: 'utf8mb4_unicode_ci',
      connectTimeout: WAIT_TIMEOUT_MS,
      poolSize: 10,
      extra: { waitForConnections: true, queueLimit: 500, enableKeepAlive: true },
    };
  }
  if (config.file !== ':memory:') mkdirSync(dirname(config.file), { recursive: true });
  return {
    ...common,
    type: 'better-sqlite3',
    database: config.file,
    enableWAL: config.file !== ':memory:',
    timeout: WAIT_TIMEOUT_MS,
    prepareDatabase: (db: { function: (name: string, options: object, fn: (value: unknown) => unknown) => void }) => {
      // SQLite's built-in lower() folds ASCII only; search must fold any letter, as MySQL does.
      db.function('lower', { deterministic: true }, (value) =>
        typeof value === 'string' ? value.toLowerCase() : value,
      );
    },
  };
}

import type { DataSource } from 'typeorm';
import { isMysqlFamily } from './dialect.js';

const MIGRATION_LOCK = 'event_api_migrations';
const LOCK_WAIT_SECONDS = 60;

/**
 * Applies pending migrations. On MySQL an advisory lock makes instances that
 * boot together take turns, so only the first one migrates.
 */
export async function runMigrations(dataSource: DataSource): Promise<void> {
  if (!isMysqlFamily(dataSource)) {
    await dataSource.runMigrations({ transaction: 'each' });
    return;
  }
  const lockHolder = dataSource.createQueryRunner();
  try {
    const [row] = await lockHolder.query('SELECT GET_LOCK(?, ?) AS acquired', [MIGRATION_LOCK, LOCK_WAIT_SECONDS]);
    if (Number(row.acquired) !== 1) {
      throw new Error(`Another instance held the migration lock for over ${LOCK_WAIT_SECONDS} s`);
    }
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await lockHolder.query('SELECT RELEASE_LOCK(?)', [MIGRATION_LOCK]).catch(() => undefined);
    await lockHolder.release();
  }
}

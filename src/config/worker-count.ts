import { availableParallelism } from 'node:os';

/**
 * How many processes serve requests. MySQL/MariaDB: one per CPU unless
 * WEB_CONCURRENCY says otherwise. SQLite: one, since its transactions are
 * queued inside the process that owns the database file.
 *
 * Read by the supervising process, which loads nothing else (no validation
 * library), to stay small; every other variable is checked by the workers.
 */
export function workerCount(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.WEB_CONCURRENCY;
  const requested = raw === undefined || raw === '' ? undefined : Number(raw);
  if (requested !== undefined && !(Number.isInteger(requested) && requested >= 1 && requested <= 64)) {
    throw new Error('Invalid configuration: WEB_CONCURRENCY must be an integer between 1 and 64');
  }
  const sqlite = env.DATABASE_URL === undefined || env.DATABASE_URL.startsWith('sqlite:');
  if (!sqlite) return requested ?? availableParallelism();
  if (requested !== undefined && requested > 1) {
    throw new Error('Invalid configuration: WEB_CONCURRENCY must be 1 with SQLite; use MySQL for several workers');
  }
  return 1;
}

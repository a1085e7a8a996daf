import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { readAppConfig } from './config/app.config.js';
import { readAuthConfig } from './config/auth.config.js';
import { readDatabaseConfig } from './config/database.config.js';
import { superviseWorkers } from './cluster.js';

/**
 * How many processes serve requests. MySQL: one per CPU unless
 * WEB_CONCURRENCY says otherwise. SQLite: one, since its transactions are
 * queued inside the process that owns the database file.
 */
function workerCount(): number {
  const { webConcurrency } = readAppConfig();
  if (readDatabaseConfig().type !== 'sqlite') return webConcurrency ?? availableParallelism();
  if (webConcurrency !== undefined && webConcurrency > 1) {
    throw new Error('Invalid configuration: WEB_CONCURRENCY must be 1 with SQLite; use MySQL for several workers');
  }
  return 1;
}

async function main(): Promise<void> {
  if (cluster.isPrimary) {
    // Fail fast, once, before any worker starts: every variable is checked here.
    readAuthConfig();
    const workers = workerCount();
    if (workers > 1) {
      superviseWorkers(workers);
      return;
    }
  }
  // Loaded only where requests are served, so the supervising process stays small.
  const { serve } = await import('./server.js');
  await serve();
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});

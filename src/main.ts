import cluster from 'node:cluster';
import { superviseWorkers } from './cluster.js';
import { workerCount } from './config/worker-count.js';
import { CONFIGURATION_ERROR_EXIT_CODE } from './exit-codes.js';

async function main(): Promise<void> {
  if (cluster.isPrimary) {
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

main().catch((error: Error & { exitCode?: number }) => {
  console.error(error.message);
  process.exit(
    error.exitCode ?? (error.message.startsWith('Invalid configuration') ? CONFIGURATION_ERROR_EXIT_CODE : 1),
  );
});

import cluster, { type Worker } from 'node:cluster';
import { CONFIGURATION_ERROR_EXIT_CODE, DATABASE_UNREACHABLE_EXIT_CODE } from './exit-codes.js';
import { serveClusterMetrics } from './metrics/cluster-protocol.js';
import { serveHashingSlots } from './users/hashing-slots.js';

/** A worker that dies this soon after starting counts as a failed start. */
const QUICK_DEATH_MS = 10_000;
/** Failed starts in a row before the supervisor gives up (the database is down, the port taken…). */
const MAX_FAILED_STARTS = 5;
const RESPAWN_DELAY_MS = 1_000;

/**
 * The primary process of cluster mode: forks the workers (they share the
 * listening socket), replaces one that dies, gives up if they keep dying at
 * start, passes SIGTERM and SIGINT on so each worker shuts down itself,
 * sums the workers' metrics for the one that serves a scrape, and hands out
 * the password-hashing slots the workers share.
 */
export function superviseWorkers(count: number): void {
  let stopping = false;
  let failedStarts = 0;
  const startedAt = new Map<Worker, number>();

  // glibc keeps freed argon2 work areas (19 MiB a hash) in the heap once it has
  // seen one freed; a fixed mmap threshold hands them back to the system.
  const env = { MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ ?? '131072' };
  const fork = () => startedAt.set(cluster.fork(env), Date.now());

  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (startedAt.get(worker) ?? 0);
    startedAt.delete(worker);
    if (stopping) {
      // A worker that could not stop cleanly (its shutdown deadline passed) makes the whole exit a failure,
      // unless a reason to stop has already set the exit code.
      if (code !== 0 && !process.exitCode) process.exitCode = 1;
      if (startedAt.size === 0) process.exit();
      return;
    }
    failedStarts = lived < QUICK_DEATH_MS ? failedStarts + 1 : 0;
    const badConfiguration = code === CONFIGURATION_ERROR_EXIT_CODE;
    // A worker waits DATABASE_START_TIMEOUT before it gives up: another would wait as long, in vain.
    const databaseUnreachable = code === DATABASE_UNREACHABLE_EXIT_CODE;
    if (badConfiguration || databaseUnreachable || failedStarts >= MAX_FAILED_STARTS) {
      console.error(
        badConfiguration
          ? 'A worker refused the configuration (see above); stopping'
          : databaseUnreachable
            ? 'A worker could not reach the database (see above); stopping'
            : `Workers keep failing at start (last: code ${code}, signal ${signal}); giving up`,
      );
      stopping = true;
      for (const other of startedAt.keys()) other.kill('SIGTERM');
      process.exitCode = databaseUnreachable ? DATABASE_UNREACHABLE_EXIT_CODE : 1;
      if (startedAt.size === 0) process.exit();
      return;
    }
    console.error(`Worker ${worker.process.pid} exited (code ${code}, signal ${signal}); starting another`);
    setTimeout(fork, RESPAWN_DELAY_MS);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      stopping = true;
      for (const worker of startedAt.keys()) worker.kill(signal);
      if (startedAt.size === 0) process.exit();
    });
  }

  serveClusterMetrics();
  serveHashingSlots();
  for (let i = 0; i < count; i++) fork();
}

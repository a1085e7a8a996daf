import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import type { DatabaseConfig } from '../config/database.config.js';
import { DATABASE_UNREACHABLE_EXIT_CODE } from '../exit-codes.js';
import { CONNECT_TIMEOUT_MS } from './data-source-options.js';
import { isDatabaseUnavailable } from './database-errors.js';

const RETRY_PAUSE_MS = 1_000;

/** The database did not answer within DATABASE_START_TIMEOUT; the message names the server, never the password. */
export class DatabaseUnreachableError extends Error {
  readonly exitCode = DATABASE_UNREACHABLE_EXIT_CODE;
}

/** `host:port` of the server, for log lines. */
function serverOf(url: string): string {
  const { hostname, port } = new URL(url);
  return `${hostname}:${port || 3306}`;
}

function reasonOf(error: unknown): string {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return typeof code === 'string' ? code : String(message);
}

/**
 * Waits until the MySQL/MariaDB server accepts a connection to the app's
 * database, trying again every second for up to `startTimeoutMs`; then
 * throws DatabaseUnreachableError. Only a server that cannot be reached is
 * waited for: a refused login or a missing database fails at once.
 *
 * It runs before the app is built, so a server still starting up (or a
 * network still coming up) does not fail the start, and one that never comes
 * gives one clear line instead of a framework's stack trace.
 */
export async function waitForDatabase(
  config: Extract<DatabaseConfig, { url: string }>,
  warn: (line: string) => void,
): Promise<void> {
  const url = new URL(config.url);
  const server = serverOf(config.url);
  const seconds = config.startTimeoutMs / 1000;
  const deadline = Date.now() + config.startTimeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      const connection = await mysql.createConnection({
        host: url.hostname,
        port: Number(url.port || 3306),
        user: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
        database: decodeURIComponent(url.pathname.slice(1)),
        // An attempt does not run far past the deadline, yet has a second to get through.
        connectTimeout: Math.min(CONNECT_TIMEOUT_MS, Math.max(deadline - Date.now(), RETRY_PAUSE_MS)),
      });
      await connection.end();
      return;
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error;
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new DatabaseUnreachableError(
          `The database at ${server} did not answer within ${seconds} s (last error: ${reasonOf(error)}); stopping`,
        );
      }
      if (attempt === 1) {
        warn(`The database at ${server} does not answer (${reasonOf(error)}); trying again for up to ${seconds} s`);
      }
      await sleep(Math.min(RETRY_PAUSE_MS, remaining));
    }
  }
}

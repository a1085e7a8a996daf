import { QueryFailedError } from 'typeorm';

type DriverError = { code?: string; errno?: number; message?: string; fatal?: boolean };

function driverError(error: unknown): DriverError | undefined {
  if (error instanceof QueryFailedError) return error.driverError as DriverError;
  if (error && typeof error === 'object' && 'code' in error) return error as DriverError;
  return undefined;
}

/** A unique index refused the write; `constraint` is the index name when the driver says it. */
export function uniqueViolation(error: unknown): { constraint?: string } | undefined {
  const cause = driverError(error);
  if (cause?.code === 'ER_DUP_ENTRY') {
    return { constraint: /for key '(?:[^.']*\.)?([^']+)'/.exec(cause.message ?? '')?.[1] };
  }
  if (cause?.code === 'SQLITE_CONSTRAINT_UNIQUE' || cause?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return { constraint: /UNIQUE constraint failed: (\S+)/.exec(cause.message ?? '')?.[1] };
  }
  return undefined;
}

/**
 * MySQL gave up on a row lock: it rolled the transaction back to break a
 * deadlock, or the lock wait timed out. The transaction can be run again.
 */
export function isLockConflict(error: unknown): boolean {
  const code = driverError(error)?.code;
  return code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT';
}

/** SQLite: another connection (another process) holds the lock this statement needs. */
export function isSqliteBusy(error: unknown): boolean {
  return driverError(error)?.code?.startsWith('SQLITE_BUSY') ?? false;
}

const TIME_LIMIT = 'DATABASE_TIME_LIMIT';

/**
 * Database work ran out of its time (a connection's lease, a write's time
 * budget): its connection was closed, so the server rolled back whatever it
 * had not committed.
 */
export function databaseTimeLimitError(): Error {
  return Object.assign(new Error('The database did not answer in time; its work was stopped'), { code: TIME_LIMIT });
}

/** After its retries, a lock conflict is reported like the other transient faults: 503, retry later. */
const UNAVAILABLE_CODES = new Set([
  TIME_LIMIT,
  'ER_LOCK_DEADLOCK',
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ERR_STREAM_DESTROYED',
  'ERR_SOCKET_CLOSED',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_QUERY_INTERRUPTED',
  'ER_CLIENT_INTERACTION_TIMEOUT',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_IOERR',
  'SQLITE_CANTOPEN',
  'SQLITE_FULL',
]);

/**
 * The database could not be reached or did not answer in time: worth a 503
 * and a retry. mysql2 marks every error that ends a connection `fatal`
 * (resets, closes, protocol errors), and its pool's own refusals carry no code.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const cause = driverError(error);
  if (cause?.code && (UNAVAILABLE_CODES.has(cause.code) || isSqliteBusy(error))) return true;
  if (((cause ?? error) as DriverError | null | undefined)?.fatal === true) return true;
  const message = error instanceof Error ? error.message : '';
  return /Pool is closed|Queue limit reached|No connections available|Can't add new command when connection is in closed state|Can't write in closed state|connect ETIMEDOUT|Connection lost/i.test(
    message,
  );
}

import type { Pool, PoolConnection, ResultSetHeader } from 'mysql2';
import type { EntityManager } from 'typeorm';
import { isMysqlFamily } from './dialect.js';

/**
 * Hand-written SQL for the hot paths. TypeORM's query builder spends more CPU
 * building a statement than the database spends running it (a single-worker
 * event detail went from 3,960 to 13,900 requests/s on MariaDB without it), so
 * the requests that run most often send fixed SQL. It is written once for
 * both databases: `?` placeholders, unquoted snake_case names, and dates
 * passed as the UTC text both store (see `toSqlDateTime`). On MySQL the
 * statements are prepared (mysql2 caches them per connection), which saves
 * the server parsing them again on every request.
 */
export type SqlValue = string | number | null;

/** `2025-02-15 10:00:00.000`: a DATETIME as SQLite stores it and MySQL reads it (the connection is UTC). */
export function toSqlDateTime(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

/** mysql2 returns a Date; better-sqlite3 the stored text, which is UTC. */
export function fromSqlDateTime(value: Date | string): Date {
  return value instanceof Date ? value : new Date(`${value.replace(' ', 'T')}Z`);
}

type Mysql = Pick<Pool | PoolConnection, 'execute'>;

/** The mysql2 connection of the manager's transaction, or the pool outside one. */
function mysqlOf(manager: EntityManager): Mysql {
  const runner = manager.queryRunner as { databaseConnection?: PoolConnection } | undefined;
  return runner?.databaseConnection ?? (manager.connection.driver as unknown as { pool: Pool }).pool;
}

function executePrepared<T>(manager: EntityManager, sql: string, params: SqlValue[]): Promise<T> {
  return new Promise((resolve, reject) =>
    mysqlOf(manager).execute(sql, params, (error, result) => (error ? reject(error) : resolve(result as T))),
  );
}

export function select<T>(manager: EntityManager, sql: string, params: SqlValue[] = []): Promise<T[]> {
  return isMysqlFamily(manager.connection) ? executePrepared<T[]>(manager, sql, params) : manager.query(sql, params);
}

/**
 * Runs an INSERT, UPDATE or DELETE, in the manager's transaction if it has
 * one: the rows it changed and, for an INSERT, the new id.
 */
export async function execute(
  manager: EntityManager,
  sql: string,
  params: SqlValue[] = [],
): Promise<{ affected: number; insertId: number }> {
  if (isMysqlFamily(manager.connection)) {
    const header = await executePrepared<ResultSetHeader>(manager, sql, params);
    return { affected: header.affectedRows, insertId: header.insertId };
  }
  // better-sqlite3 has one query runner, shared by every caller.
  const runner = manager.queryRunner ?? manager.connection.createQueryRunner();
  const result = await runner.query(sql, params, true);
  return { affected: result.affected ?? 0, insertId: Number(result.raw) };
}

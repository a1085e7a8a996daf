import type { Socket } from 'node:net';
import type { Pool, PoolConnection } from 'mysql2';
import { databaseTimeLimitError } from './database-errors.js';

/**
 * Closes the connection's socket at once: its pending statement fails with
 * `reason` (so the code awaiting it goes on), the server sees the connection
 * end and rolls back its open transaction, and the pool drops it. (mysql2's
 * own `destroy()` leaves the pending statement waiting forever.)
 */
export function closeConnection(connection: PoolConnection, reason: Error): void {
  (connection as unknown as { stream: Socket }).stream.destroy(reason);
}

/** The running lease of each connection taken from the pool and not given back yet. */
const leases = new WeakMap<PoolConnection, NodeJS.Timeout>();

function endLease(connection: PoolConnection): void {
  clearTimeout(leases.get(connection));
  leases.delete(connection);
}

/**
 * Lends every connection the pool hands out for `leaseMs` at most: a
 * connection not given back by then is closed (see closeConnection),
 * whatever it is waiting for. A request is answered by then anyway (the
 * lease is the request deadline), so nobody waits for that work any more;
 * and a connection stuck on a stalled socket, or on a server that vanished
 * without a word, is never handed to anyone else: the pool opens a new one.
 *
 * Applied once the app has started, so that migrations, which may wait
 * minutes for a lock or an ALTER TABLE, are not cut short.
 */
export function leaseConnections(pool: Pool, leaseMs: number): void {
  const takeConnection = pool.getConnection.bind(pool);
  // mysql2's pool.query and pool.execute take their connections through this method too.
  pool.getConnection = (callback) =>
    takeConnection((error, connection) => {
      if (error) return callback(error, connection);
      // A connection handed straight from one user to the next starts a new lease.
      endLease(connection);
      leases.set(
        connection,
        setTimeout(() => closeConnection(connection, databaseTimeLimitError()), leaseMs),
      );
      return callback(null, connection);
    });
  pool.on('release', endLease);
}

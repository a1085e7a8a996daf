import { createServer } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { DatabaseUnreachableError, waitForDatabase } from './wait-for-database.js';

/** A port that refuses connections: one that was just free. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('waitForDatabase', () => {
  it('tries again until DATABASE_START_TIMEOUT, warning once, then gives up naming the server, not the password', async () => {
    const port = await closedPort();
    const warn = vi.fn();
    const started = Date.now();
    const waited = waitForDatabase(
      { type: 'mysql', url: `mysql://app:s3cret-Pa55@127.0.0.1:${port}/events`, migrate: true, startTimeoutMs: 1_500 },
      warn,
    );

    await expect(waited).rejects.toBeInstanceOf(DatabaseUnreachableError);
    const error = (await waited.catch((caught: unknown) => caught)) as DatabaseUnreachableError;
    expect(error.message).toBe(
      `The database at 127.0.0.1:${port} did not answer within 1.5 s (last error: ECONNREFUSED); stopping`,
    );
    expect(error.exitCode).toBe(69);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(
      `The database at 127.0.0.1:${port} does not answer (ECONNREFUSED); trying again for up to 1.5 s`,
    );
    expect(JSON.stringify(warn.mock.calls)).not.toContain('s3cret');
  });
});

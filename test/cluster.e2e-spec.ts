import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  type AppProcess,
  freePort,
  HttpClient,
  startAppProcess,
  stopAppProcess,
  waitUntilHealthy,
} from './support/app-processes.js';
import { isMysql } from './support/test-app.js';

/** Cluster mode: the supervising process and its workers, as `node dist/src/main.js` runs them. */
describe('starting and stopping the app as processes', () => {
  const client = new HttpClient(8);
  let app: AppProcess | undefined;
  const secret = randomBytes(32).toString('hex');

  afterEach(async () => {
    await stopAppProcess(app);
    app = undefined;
  });

  async function exitCodeOf(started: AppProcess): Promise<number | null> {
    if (started.child.exitCode === null) await once(started.child, 'exit');
    return started.child.exitCode;
  }

  it('refuses several workers on SQLite at once, naming WEB_CONCURRENCY', async () => {
    app = startAppProcess('sqlite-workers', await freePort(), {
      DATABASE_URL: 'sqlite::memory:',
      WEB_CONCURRENCY: '2',
      JWT_SECRET: secret,
    });
    expect(await exitCodeOf(app)).not.toBe(0);
    expect(app.output()).toContain('WEB_CONCURRENCY must be 1 with SQLite');
  });

  it.skipIf(!isMysql())('stops every worker on a bad setting, naming it, instead of restarting them', async () => {
    app = startAppProcess('bad-port', await freePort(), {
      DATABASE_URL: inject('databaseUrl'),
      WEB_CONCURRENCY: '2',
      JWT_SECRET: secret,
      LOG_LEVEL: 'loud',
    });
    const started = Date.now();
    expect(await exitCodeOf(app)).toBe(1);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(app.output()).toContain('LOG_LEVEL must be one of');
  });

  it.skipIf(!isMysql())('serves from two workers and exits cleanly on SIGTERM', async () => {
    app = startAppProcess('two-workers', await freePort(), {
      DATABASE_URL: inject('databaseUrl'),
      WEB_CONCURRENCY: '2',
      JWT_SECRET: secret,
      NODE_ENV: 'production',
    });
    await waitUntilHealthy(app, client);
    for (let i = 0; i < 20; i++) {
      const res = await client.request(app.baseUrl, 'GET', '/api/health');
      expect(res.status).toBe(200);
    }
    // The second worker may come up a little after the first answered.
    const listening = () =>
      new Set([...app!.output().matchAll(/"pid":(\d+)[^\n]*"msg":"Listening on/g)].map((match) => match[1]));
    const deadline = Date.now() + 30_000;
    while (listening().size < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(listening().size).toBe(2);
    // The workers hash passwords in slots the primary hands out: simultaneous sign-ups and logins all go through.
    const users = Array.from({ length: 6 }, (_, i) => ({
      username: `cluster_${randomBytes(4).toString('hex')}_${i}`,
      password: 'correct horse battery',
    }));
    const signUps = await Promise.all(
      users.map((user) =>
        client.request(app!.baseUrl, 'POST', '/api/register/', {
          body: { ...user, email: `${user.username}@example.com` },
        }),
      ),
    );
    expect(signUps.map((res) => res.status)).toEqual(users.map(() => 201));
    const logins = await Promise.all(
      users.map((user) => client.request(app!.baseUrl, 'POST', '/api/login/', { body: user })),
    );
    expect(logins.map((res) => res.status)).toEqual(users.map(() => 200));
    app.child.kill('SIGTERM');
    expect(await exitCodeOf(app)).toBe(0);
  });
});

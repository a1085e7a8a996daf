import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  type AppProcess,
  freePort,
  HttpClient,
  type HttpResponse,
  startAppProcess,
  stopAppProcess,
  waitUntilHealthy,
} from './support/app-processes.js';
import { unique } from './support/fixtures.js';
import { isMysql } from './support/test-app.js';

/**
 * The app as it runs in production, as real processes: its JSON logs, its
 * graceful shutdown, and metrics summed over the workers of cluster mode.
 */

type LogLine = Record<string, unknown> & { msg: string; level: number };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The database of this run: a file of the process's own on SQLite (its DATA_DIR), else the shared MariaDB. */
const databaseEnv = (): Record<string, string> => (isMysql() ? { DATABASE_URL: inject('databaseUrl') } : {});

describe('operations', () => {
  const client = new HttpClient(64);
  const secret = randomBytes(32).toString('hex');
  let app: AppProcess | undefined;

  afterEach(async () => {
    await stopAppProcess(app);
    app = undefined;
  });

  async function start(name: string, env: Record<string, string>): Promise<AppProcess> {
    app = startAppProcess(name, await freePort(), {
      ...databaseEnv(),
      JWT_SECRET: secret,
      NODE_ENV: 'production',
      RATE_LIMIT: 'off',
      WEB_CONCURRENCY: '1',
      ...env,
    });
    await waitUntilHealthy(app, client);
    return app;
  }

  const call = (method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}) =>
    client.request(app!.baseUrl, method, path, { ...options, timeoutMs: 20_000 });

  async function exitOf(started: AppProcess): Promise<number | null> {
    if (started.child.exitCode === null && started.child.signalCode === null) await once(started.child, 'exit');
    return started.child.exitCode;
  }

  /** The log lines so far; a request's access line is written just after its answer, so wait for `until`. */
  async function logLines(started: AppProcess, until: (lines: LogLine[]) => boolean = () => true): Promise<LogLine[]> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const lines = parseLines(started);
      if (until(lines) || Date.now() > deadline) return lines;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  function parseLines(started: AppProcess): LogLine[] {
    return started
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as LogLine);
  }

  describe('logs', () => {
    it('writes one JSON access line per request, with the request id it returns', async () => {
      // A Redis nobody listens on: the rate-limit guard logs a warning inside each request.
      const started = await start('json-logs', {
        RATE_LIMIT: 'on',
        REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      });
      const requestId = `trace-${randomBytes(6).toString('hex')}`;
      const login = await call('POST', '/api/login/', {
        body: { username: unique('nobody'), password: 'wrong password here' },
        headers: { 'x-request-id': requestId },
      });
      expect(login.status).toBe(401);
      expect(login.headers['x-request-id']).toBe(requestId);

      const unsafe = await call('GET', '/api/events/', { headers: { 'x-request-id': `two words ${'x'.repeat(200)}` } });
      const generated = unsafe.headers['x-request-id'] as string;
      expect(generated).toMatch(UUID);
      const plain = await call('GET', '/api/health');
      expect(plain.headers['x-request-id']).toMatch(UUID);
      expect(plain.headers['x-request-id']).not.toBe(generated);

      const lines = await logLines(started, (all) =>
        [requestId, generated].every((id) => all.some((line) => line.reqId === id && line.res)),
      );
      // Every line is JSON in production (the startup banner included).
      const output = started.output();
      for (const line of output.split('\n').filter((text) => text.trim() !== '' && !text.startsWith('['))) {
        expect(() => JSON.parse(line), `not a JSON log line: ${line}`).not.toThrow();
      }
      const ofLogin = lines.filter((line) => line.reqId === requestId);
      const access = ofLogin.find((line) => line.msg.startsWith('POST /api/login'));
      expect(access, JSON.stringify(ofLogin)).toMatchObject({
        level: 30,
        route: '/api/login',
        req: { id: requestId, method: 'POST' },
        res: { status: 401 },
        latency_ms: expect.any(Number),
      });
      // The warning logged while serving the request carries its id too.
      const warnings = lines.filter((line) => line.msg.includes('Rate limits unavailable'));
      expect(warnings.length).toBeGreaterThan(0);
      expect(warnings.some((line) => line.reqId === requestId)).toBe(true);
      for (const line of warnings) expect(line.reqId, JSON.stringify(line)).toEqual(expect.any(String));

      const ofUnsafe = lines.find((line) => line.reqId === generated && line.msg.startsWith('GET /api/events'));
      expect(ofUnsafe).toMatchObject({ route: '/api/events', res: { status: 200 } });
      expect(output).not.toContain('two words');
    });

    it('names no route for a path that matched none', async () => {
      const started = await start('unmatched-logs', {});
      const res = await call('GET', `/api/${unique('nowhere')}`);
      expect(res.status).toBe(404);
      const byId = (entry: LogLine) => entry.reqId === res.headers['x-request-id'] && entry.res !== undefined;
      const line = (await logLines(started, (all) => all.some(byId))).find(byId);
      expect(line).toMatchObject({ route: null, res: { status: 404 } });
      expect(line?.msg).toMatch(/^GET \(no route\) 404 \d+ ms$/);
    });
  });

  describe('graceful shutdown', () => {
    /**
     * Sign-ups are slow on purpose (argon2id, one at a time per process):
     * 20 of them keep the process busy for a while after SIGTERM.
     */
    async function signUpsAcrossSigterm(started: AppProcess, signalled: AppProcess['child']) {
      const answers: { res?: HttpResponse; error?: string; at: number }[] = [];
      const requests = Array.from({ length: 20 }, async () => {
        const username = unique('bye');
        try {
          const res = await call('POST', '/api/register/', {
            body: { username, email: `${username}@example.com`, password: 'correct horse battery' },
          });
          answers.push({ res, at: Date.now() });
        } catch (error) {
          answers.push({ error: (error as Error).message, at: Date.now() });
        }
      });
      // Once the server is answering them (so every connection has been accepted), ask it to stop.
      const deadline = Date.now() + 10_000;
      while (answers.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      const signalledAt = Date.now();
      signalled.kill('SIGTERM');
      const exitCode = await exitOf(started);
      const exitedAfterMs = Date.now() - signalledAt;
      await Promise.all(requests);
      return { answers, signalledAt, exitCode, exitedAfterMs };
    }

    it('finishes the 20 requests in flight, then exits 0 within 10 s', async () => {
      const started = await start('graceful', {});
      const { answers, signalledAt, exitCode, exitedAfterMs } = await signUpsAcrossSigterm(started, started.child);

      expect(answers.map((answer) => answer.error ?? answer.res?.status)).toEqual(Array(20).fill(201));
      // Some were still being served when the signal came: the shutdown waited for them.
      expect(answers.filter((answer) => answer.at > signalledAt).length).toBeGreaterThan(0);
      expect(exitCode).toBe(0);
      expect(exitedAfterMs).toBeLessThan(10_000);
      expect(started.output()).toContain('SIGTERM: finishing the requests in flight');
      console.log(
        `SHUTDOWN single process: 20 in flight, ${answers.filter((a) => a.at > signalledAt).length} answered after SIGTERM, exit ${exitCode} after ${exitedAfterMs} ms`,
      );
      // Nothing listens any more.
      await expect(call('GET', '/api/health')).rejects.toThrow(/ECONNREFUSED|socket hang up|ECONNRESET/);
    });

    it.each(isMysql() ? ['1', '2'] : ['1'])(
      'exits 1 when requests outlive SHUTDOWN_TIMEOUT (%s worker processes)',
      async (workers) => {
        const started = await start('impatient', { SHUTDOWN_TIMEOUT: '1s', WEB_CONCURRENCY: workers });
        // 100 sign-ups take longer than a second to hash, one after the other.
        const requests = Array.from({ length: 100 }, () => {
          const username = unique('late');
          return call('POST', '/api/register/', {
            body: { username, email: `${username}@example.com`, password: 'correct horse battery' },
          }).catch((error: Error) => error);
        });
        await new Promise((resolve) => setTimeout(resolve, 150));
        started.child.kill('SIGTERM');
        expect(await exitOf(started)).toBe(1);
        expect(started.output()).toContain('still running at the shutdown deadline');
        await Promise.all(requests);
      },
    );

    it.skipIf(!isMysql())('in cluster mode, every worker finishes its requests and the primary exits 0', async () => {
      const started = await start('graceful-cluster', { WEB_CONCURRENCY: '2' });
      const { answers, signalledAt, exitCode, exitedAfterMs } = await signUpsAcrossSigterm(started, started.child);

      expect(answers.map((answer) => answer.error ?? answer.res?.status)).toEqual(Array(20).fill(201));
      expect(exitCode).toBe(0);
      expect(exitedAfterMs).toBeLessThan(10_000);
      const stopped = started.output().match(/"msg":"Stopped"/g) ?? [];
      expect(stopped).toHaveLength(2);
      console.log(
        `SHUTDOWN cluster (2 workers): 20 in flight, ${answers.filter((a) => a.at > signalledAt).length} answered after SIGTERM, exit ${exitCode} after ${exitedAfterMs} ms`,
      );
    });
  });

  it.skipIf(!isMysql())('cluster mode: any worker answers a scrape with the sum over all workers', async () => {
    await start('cluster-metrics', { WEB_CONCURRENCY: '2' });
    const user = unique('org');
    await call('POST', '/api/register/', {
      body: { username: user, email: `${user}@example.com`, password: 'correct horse battery' },
    });
    const tokens = (await call('POST', '/api/login/', { body: { username: user, password: 'correct horse battery' } }))
      .body as { access: string };
    const event = await call('POST', '/api/events/', {
      headers: { authorization: `Bearer ${tokens.access}` },
      body: { title: 'Metrics', date_time: '2099-01-01T10:00:00Z', location: 'Here', capacity: 1000 },
    });
    expect(event.status).toBe(201);
    // Fresh connections for each request: the kernel spreads them over both workers.
    const spread = new HttpClient(64);
    const eventId = (event.body as { id: number }).id;
    await Promise.all(
      Array.from({ length: 40 }, () =>
        spread.request(app!.baseUrl, 'POST', `/api/events/${eventId}/register`, {
          body: { name: 'Someone', email: `${unique('c')}@example.com` },
        }),
      ),
    );
    // Round-robin over the workers: each scrape lands on one of them, and each sees all 40.
    for (let i = 0; i < 10; i++) {
      const scrape = await new HttpClient(1).request(app!.baseUrl, 'GET', '/api/metrics');
      expect(scrape.status).toBe(200);
      expect(scrape.text).toMatch(/^event_registrations_total\{outcome="confirmed"\} 40$/m);
    }
    spread.close();
  });
});

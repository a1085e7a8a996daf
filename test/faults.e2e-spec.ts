import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type AppProcess,
  freePort,
  HttpClient,
  type HttpResponse,
  startAppProcess,
  stopAppProcess,
  waitUntilHealthy,
} from './support/app-processes.js';
import { eventBody, unique } from './support/fixtures.js';
import { TcpProxy } from './support/tcp-proxy.js';
import { isMysql } from './support/test-app.js';

/**
 * The database lost and found again, through a TCP proxy between a real app
 * process and MariaDB: at start, and under a steady stream of registrations
 * while the proxy cuts every connection, then stalls them. Every answer must
 * be a 201 or a 503 (with Retry-After, as problem details) within the
 * request deadline, the app must recover without a restart, and the
 * database must hold every registration answered 201 and nothing half-made.
 */

/** Every answer within 5 s (the default request deadline is 4 s), with room for a loaded test machine. */
const ANSWER_BOUND_MS = 5_000;
const ANSWER_BOUND_SLACK_MS = 750;
/** Registrations sent at once (more than the pool's 10 connections), each client sending its next as soon as the last is answered. */
const CLIENTS = 12;
const CAPACITY = 30;
const EXIT_CODE_DATABASE_UNREACHABLE = 69;

interface RegistrationBody {
  id: number;
  email: string;
  status: 'confirmed' | 'waitlisted';
  position: number | null;
}

interface Outcome {
  email: string;
  sentAt: number;
  answeredAt: number;
  /** 0: no HTTP answer at all (the connection failed, or the client gave up). */
  status: number;
  res?: HttpResponse;
  error?: string;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const ms = (value: number) => Math.round(value);

/** The run's database, reached through the proxy instead of directly. */
function throughProxy(proxy: TcpProxy, password?: string): string {
  const url = new URL(inject('databaseUrl'));
  url.hostname = '127.0.0.1';
  url.port = String(proxy.port);
  if (password !== undefined) url.password = password;
  return url.toString();
}

function databaseServer(): { host: string; port: number } {
  const url = new URL(inject('databaseUrl'));
  return { host: url.hostname, port: Number(url.port || 3306) };
}

async function exitCodeOf(app: AppProcess, timeoutMs: number): Promise<number | null> {
  if (app.child.exitCode === null && app.child.signalCode === null) {
    await Promise.race([once(app.child, 'exit'), sleep(timeoutMs)]);
  }
  return app.child.exitCode;
}

/** Resolves once the process has written `text`; fails with its output if it does not within `timeoutMs`. */
async function waitForOutput(app: AppProcess, text: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!app.output().includes(text)) {
    if (performance.now() > deadline || app.child.exitCode !== null) {
      throw new Error(`${app.name} did not write "${text}" within ${timeoutMs} ms:\n${app.output()}`);
    }
    await sleep(100);
  }
}

function expectRetryableProblem(res: HttpResponse): void {
  expect(res.headers['content-type'], res.text).toMatch(/^application\/problem\+json/);
  expect(res.headers['retry-after'], res.text).toMatch(/^[1-9]\d*$/);
  expect(res.body, res.text).toMatchObject({ status: 503, title: 'Service Unavailable', detail: expect.any(String) });
}

describe.skipIf(!isMysql())(
  'database faults (MySQL/MariaDB only: SQLite is a file, with no connection to lose)',
  () => {
    const client = new HttpClient(64);
    const secret = randomBytes(32).toString('hex');
    const proxies: TcpProxy[] = [];
    const apps: AppProcess[] = [];

    async function newProxy(): Promise<TcpProxy> {
      const proxy = await TcpProxy.start(databaseServer());
      proxies.push(proxy);
      return proxy;
    }

    async function startApp(name: string, env: Record<string, string>): Promise<AppProcess> {
      const app = startAppProcess(name, await freePort(), {
        JWT_SECRET: secret,
        NODE_ENV: 'production',
        RATE_LIMIT: 'off',
        WEB_CONCURRENCY: '1',
        LOG_LEVEL: 'warn',
        ...env,
      });
      apps.push(app);
      return app;
    }

    afterAll(async () => {
      await Promise.all(apps.map((app) => stopAppProcess(app)));
      await Promise.all(proxies.map((proxy) => proxy.close()));
      client.close();
    }, 30_000);

    describe('at start', () => {
      it('keeps trying for DATABASE_START_TIMEOUT, then exits 69 naming the server and not the password, in a cluster too', async () => {
        const password = `pw-${randomBytes(6).toString('hex')}`;
        const cut = await newProxy();
        cut.cut();
        const stalled = await newProxy();
        stalled.stall();
        const started = performance.now();
        const [single, cluster] = await Promise.all([
          startApp('down-at-start', { DATABASE_URL: throughProxy(stalled, password), DATABASE_START_TIMEOUT: '3s' }),
          startApp('down-at-start-cluster', {
            DATABASE_URL: throughProxy(cut, password),
            DATABASE_START_TIMEOUT: '3s',
            WEB_CONCURRENCY: '2',
          }),
        ]);
        const [singleCode, clusterCode] = await Promise.all([exitCodeOf(single, 25_000), exitCodeOf(cluster, 25_000)]);
        const elapsed = performance.now() - started;

        expect(singleCode, single.output()).toBe(EXIT_CODE_DATABASE_UNREACHABLE);
        expect(clusterCode, cluster.output()).toBe(EXIT_CODE_DATABASE_UNREACHABLE);
        expect(single.output()).toContain(`The database at 127.0.0.1:${stalled.port} did not answer within 3 s`);
        expect(cluster.output()).toContain(`The database at 127.0.0.1:${cut.port} did not answer within 3 s`);
        expect(cluster.output()).toContain('A worker could not reach the database (see above); stopping');
        expect(cluster.output(), 'the supervisor does not start other workers').not.toContain('starting another');
        for (const app of [single, cluster]) {
          expect(app.output()).not.toContain(password);
          expect(app.output(), 'one clear line, no stack trace').not.toMatch(/\n\s+at /);
        }
        expect(cut.accepted + stalled.accepted, 'it tried again').toBeGreaterThan(3);
        expect(elapsed, 'it waited for DATABASE_START_TIMEOUT').toBeGreaterThanOrEqual(3_000);
        // Three processes boot at once here, each loading the app before it tries: allow for a busy machine.
        expect(elapsed).toBeLessThan(20_000);
        console.log(`FAULTS down-at-start: exit=${singleCode} cluster-exit=${clusterCode} after=${ms(elapsed)}ms`);
      }, 40_000);

      it('serves once a database that was down at start comes up within DATABASE_START_TIMEOUT', async () => {
        const proxy = await newProxy();
        proxy.cut();
        const app = await startApp('late-database', { DATABASE_URL: throughProxy(proxy) });
        await waitForOutput(app, `The database at 127.0.0.1:${proxy.port} does not answer (ECONNRESET)`, 20_000);
        await sleep(1_500);
        expect(app.child.exitCode, app.output()).toBeNull();
        const restoredAt = performance.now();
        proxy.restore();
        await waitUntilHealthy(app, client, 20_000);
        const healthyAfter = performance.now() - restoredAt;
        console.log(`FAULTS late-database: healthy ${ms(healthyAfter)}ms after the database came`);
        await stopAppProcess(app);
      }, 40_000);
    });

    describe('under a stream of registrations', () => {
      let proxy: TcpProxy;
      let app: AppProcess;
      let token: string;
      const tag = randomBytes(4).toString('hex');

      const call = (method: string, path: string, options: Parameters<HttpClient['request']>[3] = {}) =>
        client.request(app.baseUrl, method, path, { timeoutMs: 15_000, ...options });

      beforeAll(async () => {
        proxy = await newProxy();
        app = await startApp('faults', { DATABASE_URL: throughProxy(proxy) });
        await waitUntilHealthy(app, client, 60_000);
        const account = { username: unique('faults'), password: 'correct horse battery' };
        const signUp = await call('POST', '/api/register/', {
          body: { ...account, email: `${account.username}@example.com` },
        });
        expect(signUp.status, signUp.text).toBe(201);
        const login = await call('POST', '/api/login/', { body: account });
        expect(login.status, login.text).toBe(200);
        token = (login.body as { access: string }).access;
      }, 90_000);

      async function createEvent(): Promise<number> {
        const res = await call('POST', '/api/events/', {
          headers: { authorization: `Bearer ${token}` },
          body: eventBody({ capacity: CAPACITY, title: unique('Faults') }),
        });
        expect(res.status, res.text).toBe(201);
        return (res.body as { id: number }).id;
      }

      async function register(eventId: number, email: string): Promise<Outcome> {
        const sentAt = performance.now();
        try {
          const res = await call('POST', `/api/events/${eventId}/register`, { body: { name: 'Faulty Tower', email } });
          return { email, sentAt, answeredAt: performance.now(), status: res.status, res };
        } catch (error) {
          return { email, sentAt, answeredAt: performance.now(), status: 0, error: (error as Error).message };
        }
      }

      /** Every registration of the event as its organizer sees them; the total comes from the event's counters. */
      async function listAll(eventId: number): Promise<RegistrationBody[]> {
        const rows: RegistrationBody[] = [];
        for (let page = 1; ; page++) {
          const res = await call('GET', `/api/events/${eventId}/registrations/?page=${page}&page_size=200`, {
            headers: { authorization: `Bearer ${token}` },
          });
          expect(res.status, res.text).toBe(200);
          const items = res.body as RegistrationBody[];
          rows.push(...items);
          const total = Number(res.headers['x-total-count']);
          if (items.length === 0 || rows.length >= total) {
            expect(rows.length, 'the counters (X-Total-Count) equal the rows').toBe(total);
            return rows;
          }
        }
      }

      /**
       * Registrations stream in from CLIENTS clients; after 1.5 s the fault
       * starts, after `faultMs` the proxy is restored, and the stream goes on
       * until a registration sent after the restore is answered 201 (and a
       * little longer). /api/health is polled all along.
       */
      async function underLoad(name: string, fault: () => void, faultMs: number) {
        const eventId = await createEvent();
        const outcomes: Outcome[] = [];
        const health: { at: number; status: number }[] = [];
        let running = true;
        let restoredAt = Number.POSITIVE_INFINITY;
        let recoveredAt: number | undefined;

        const clients = range(CLIENTS).map(async (c) => {
          for (let i = 0; running; i++) {
            const outcome = await register(eventId, `${name}.${c}.${i}.${tag}@example.com`);
            outcomes.push(outcome);
            if (outcome.status === 201 && outcome.sentAt >= restoredAt) recoveredAt ??= outcome.answeredAt;
          }
        });
        const healthPoller = (async () => {
          while (running) {
            const at = performance.now();
            const res = await call('GET', '/api/health').catch(() => undefined);
            health.push({ at, status: res?.status ?? 0 });
            await sleep(200);
          }
        })();

        await sleep(1_500);
        const faultAt = performance.now();
        fault();
        await sleep(faultMs);
        restoredAt = performance.now();
        proxy.restore();
        const giveUpAt = restoredAt + 15_000;
        while (recoveredAt === undefined && performance.now() < giveUpAt) await sleep(50);
        await sleep(500);
        running = false;
        await Promise.all([...clients, healthPoller]);

        const count = (status: number) => outcomes.filter((outcome) => outcome.status === status).length;
        const longest = Math.max(...outcomes.map((outcome) => outcome.answeredAt - outcome.sentAt));
        const healthyAgainAt = health.find((probe) => probe.at >= restoredAt && probe.status === 200)?.at;
        return {
          eventId,
          outcomes,
          health,
          faultAt,
          restoredAt,
          figures: {
            sent: outcomes.length,
            created: count(201),
            unavailable: count(503),
            other: outcomes.filter((outcome) => outcome.status !== 201 && outcome.status !== 503),
            longest,
            recovery: recoveredAt === undefined ? undefined : recoveredAt - restoredAt,
            healthRecovery: healthyAgainAt === undefined ? undefined : healthyAgainAt - restoredAt,
          },
        };
      }

      /**
       * Nothing lost, nothing half-made: every 201 is in the database as it
       * was answered; the counters equal the rows; a registration answered 503
       * is either absent or whole (its COMMIT was on its way when the answer
       * went). Retrying every 503 then gives 201 for the absent ones and 409
       * for the whole ones, after which every email sent is registered once.
       */
      async function expectNothingLostNothingHalfMade(eventId: number, outcomes: Outcome[]) {
        const rows = await listAll(eventId);
        const byEmail = new Map(rows.map((row) => [row.email, row]));
        const created = outcomes.filter((outcome) => outcome.status === 201);
        for (const outcome of created) {
          const answered = (outcome.res!.body as { registration: RegistrationBody }).registration;
          expect(byEmail.get(outcome.email)?.id, `${outcome.email} was answered 201 but is missing`).toBe(answered.id);
        }
        const sent = new Set(outcomes.map((outcome) => outcome.email));
        expect(
          rows.filter((row) => !sent.has(row.email)),
          'no registration nobody sent',
        ).toEqual([]);

        const confirmed = rows.filter((row) => row.status === 'confirmed');
        const waitlisted = rows.filter((row) => row.status === 'waitlisted');
        expect(confirmed.length).toBe(Math.min(CAPACITY, rows.length));
        expect(waitlisted.map((row) => row.position)).toEqual(range(waitlisted.length).map((i) => i + 1));
        const capacity = await call('GET', `/api/events/${eventId}/capacity`);
        expect(capacity.body).toMatchObject({
          capacity: CAPACITY,
          attendees_count: confirmed.length,
          waitlist_count: waitlisted.length,
        });

        const refused = outcomes.filter((outcome) => outcome.status === 503);
        const storedAnyway = refused.filter((outcome) => byEmail.has(outcome.email));
        expect(rows.length, 'every row is a 201, or a 503 whose COMMIT was already sent').toBe(
          created.length + storedAnyway.length,
        );
        const retries = await Promise.all(refused.map((outcome) => register(eventId, outcome.email)));
        for (const [i, retry] of retries.entries()) {
          const expected = byEmail.has(refused[i].email) ? 409 : 201;
          expect(retry.status, `retry of ${refused[i].email}: ${retry.res?.text ?? retry.error}`).toBe(expected);
        }
        const afterRetries = await listAll(eventId);
        expect(afterRetries.map((row) => row.email).sort(), 'every email sent is registered once').toEqual(
          [...sent].sort(),
        );
        return { storedAnyway: storedAnyway.length };
      }

      function expectStatusesAndTimings(run: Awaited<ReturnType<typeof underLoad>>) {
        const { figures, outcomes } = run;
        expect(
          figures.other.slice(0, 5).map((outcome) => `${outcome.status} ${outcome.res?.text ?? outcome.error}`),
          'only 201 and 503 answers',
        ).toEqual([]);
        for (const outcome of outcomes.filter((o) => o.status === 503)) expectRetryableProblem(outcome.res!);
        expect(figures.longest, 'every answer within the request deadline').toBeLessThan(
          ANSWER_BOUND_MS + ANSWER_BOUND_SLACK_MS,
        );
        expect(
          outcomes.filter((o) => o.status === 201 && o.answeredAt < run.faultAt).length,
          '201s before the fault',
        ).toBeGreaterThan(0);
        expect(figures.unavailable, '503s during the fault').toBeGreaterThan(0);
        expect(figures.recovery, 'a registration sent after the restore succeeded, without a restart').toBeDefined();
        expect(figures.recovery!).toBeLessThan(5_000);

        const duringFault = run.health.filter((probe) => probe.at > run.faultAt + 500 && probe.at < run.restoredAt);
        expect(
          duringFault.map((probe) => probe.status),
          '/api/health answers 503 while the database is gone',
        ).toContain(503);
        expect(
          duringFault.filter((probe) => probe.status !== 503 && probe.status !== 200),
          '/api/health answers',
        ).toEqual([]);
        expect(figures.healthRecovery, '/api/health answers 200 again after the restore').toBeDefined();
        expect(app.child.exitCode, 'the app kept running').toBeNull();
      }

      function report(name: string, run: Awaited<ReturnType<typeof underLoad>>, storedAnyway: number) {
        const { figures } = run;
        console.log(
          `FAULTS ${name}: sent=${figures.sent} 201=${figures.created} 503=${figures.unavailable} ` +
            `other=${figures.other.length} longest=${ms(figures.longest)}ms recovery=${ms(figures.recovery ?? NaN)}ms ` +
            `health-200-after=${ms(figures.healthRecovery ?? NaN)}ms 503-but-stored=${storedAnyway}`,
        );
      }

      it('cut for 3 s: 503s at once, no 500, no hang; recovers, and nothing is lost or half-made', async () => {
        const run = await underLoad('cut', () => proxy.cut(), 3_000);
        const { storedAnyway } = await expectNothingLostNothingHalfMade(run.eventId, run.outcomes);
        report('cut', run, storedAnyway);
        expectStatusesAndTimings(run);
      }, 60_000);

      it('stalled for 6 s: 503s within 4 s, no 500, no hang; recovers, and nothing is lost or half-made', async () => {
        const run = await underLoad('stall', () => proxy.stall(), 6_000);
        const { storedAnyway } = await expectNothingLostNothingHalfMade(run.eventId, run.outcomes);
        report('stall', run, storedAnyway);
        expectStatusesAndTimings(run);
      }, 60_000);
    });
  },
);

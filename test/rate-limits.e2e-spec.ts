import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type AppProcess, freePort, HttpClient, startHealthy, stopAppProcess } from './support/app-processes.js';
import { eventBody, LEAKS, unique } from './support/fixtures.js';
import { isMysql, startApp, type TestApp } from './support/test-app.js';

/**
 * API.md, "Operations": per-client-address rate limits (login, user
 * registration, event registration, the default one on every other route),
 * the failed-login limit per account, trusted proxies, switching the limits
 * off, and sharing them between instances through Redis (failing open when
 * Redis is gone). The limits are configured small through the environment so
 * that each one is reached in a few requests.
 */

// ---------------------------------------------------------------------------
// HTTP from a chosen source address
// ---------------------------------------------------------------------------

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

interface CallOptions {
  body?: unknown;
  /** The local address the connection comes from (any 127.x.y.z works on loopback). */
  from?: string;
  /** Sent as X-Forwarded-For. */
  forwardedFor?: string;
  token?: string;
  headers?: Record<string, string>;
}

/** One request on a fresh connection (so `from` really is the socket's address). Never hangs. */
function call(baseUrl: string, method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (payload) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(payload.length);
  }
  if (options.forwardedFor !== undefined) headers['x-forwarded-for'] = options.forwardedFor;
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  return new Promise((resolve, reject) => {
    const req = http.request(
      new URL(path, baseUrl),
      { method, headers, agent: false, localAddress: options.from },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
        });
      },
    );
    req.setTimeout(15_000, () => req.destroy(new Error(`${method} ${path} timed out after 15 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** A 429 problem with a numeric Retry-After of at most `maxSeconds` (and at least `minSeconds`). */
function expectRateLimited(res: Reply, maxSeconds: number, minSeconds = 1): void {
  expect(res.status, `expected a 429, got ${res.status} ${res.text}`).toBe(429);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ type: expect.any(String), title: expect.any(String), status: 429 });
  expect(typeof res.body.detail).toBe('string');
  expect(res.body.detail.length).toBeGreaterThan(0);
  for (const word of LEAKS) expect(res.text, `problem body mentions "${word}"`).not.toContain(word);
  const retryAfter = res.headers['retry-after'];
  expect(retryAfter, 'Retry-After header').toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(minSeconds);
  expect(Number(retryAfter)).toBeLessThanOrEqual(maxSeconds);
}

function expectStatus(res: Reply, status: number): void {
  expect(res.status, res.text).toBe(status);
}

/**
 * Documentation-range addresses (RFC 5737), each handed out once in a run:
 * a limit another test left on an address cannot leak into the next one
 * (drawn at random, two tests shared a block about once in a hundred runs).
 */
let addressesGiven = 0;
const freshAddress = () => `198.51.100.${++addressesGiven}`;
let blocksGiven = 0;
const distinctAddresses = (count: number): string[] => {
  const prefix = `203.0.${blocksGiven++}`;
  return Array.from({ length: count }, (_, i) => `${prefix}.${i + 1}`);
};

const PASSWORD = 'correct horse battery';
const WRONG_PASSWORD = 'wrong horse battery';

interface Credentials {
  username: string;
  email: string;
  password: string;
}

const credentials = (prefix = 'rl'): Credentials => {
  const username = unique(prefix);
  return { username, email: `${username}@example.com`, password: PASSWORD };
};

/** Every limit on and far out of reach; each suite lowers the one it tests. */
const GENEROUS = {
  RATE_LIMIT: 'on',
  RATE_LIMIT_DEFAULT: '10000/1m',
  RATE_LIMIT_LOGIN: '10000/1m',
  RATE_LIMIT_SIGNUP: '10000/1h',
  RATE_LIMIT_EVENT_REGISTRATION: '10000/1m',
  RATE_LIMIT_FAILED_LOGINS: '10000/15m',
  TRUSTED_PROXIES: undefined,
  REDIS_URL: undefined,
  CORS_ORIGINS: undefined,
};

/** The real app, in this process, listening on 127.0.0.1 so that requests can come from other loopback addresses. */
async function startListening(env: Record<string, string | undefined>): Promise<{ t: TestApp; baseUrl: string }> {
  const t = await startApp({ ...GENEROUS, ...env });
  await t.app.listen(0, '127.0.0.1');
  const address = t.app.getHttpServer().address() as { port: number };
  return { t, baseUrl: `http://127.0.0.1:${address.port}` };
}

async function signUp(baseUrl: string, options: CallOptions = {}, who = credentials()): Promise<Credentials> {
  const res = await call(baseUrl, 'POST', '/api/register/', { ...options, body: who });
  expectStatus(res, 201);
  return who;
}

function logIn(baseUrl: string, who: { username: string; password: string }, options: CallOptions = {}) {
  return call(baseUrl, 'POST', '/api/login/', { ...options, body: { username: who.username, password: who.password } });
}

// ---------------------------------------------------------------------------
// One instance, limits in memory
// ---------------------------------------------------------------------------

describe('rate limits of one instance', () => {
  describe('login: RATE_LIMIT_LOGIN=3/1m, no trusted proxy', () => {
    let t: TestApp | undefined;
    let baseUrl: string;
    let user: Credentials;

    beforeAll(async () => {
      ({ t, baseUrl } = await startListening({ RATE_LIMIT_LOGIN: '3/1m' }));
      user = await signUp(baseUrl);
    });
    afterAll(() => t?.close());

    it('answers the first 3 logins of an address, right or wrong, and the 4th with a 429 and Retry-After', async () => {
      expectStatus(await logIn(baseUrl, user), 200);
      expectStatus(await logIn(baseUrl, { ...user, password: WRONG_PASSWORD }), 401);
      expectStatus(await logIn(baseUrl, user), 200);
      expectRateLimited(await logIn(baseUrl, user), 60);
      // Refused before the credentials are looked at: a wrong password is a 429 too, not a 401.
      expectRateLimited(await logIn(baseUrl, { ...user, password: WRONG_PASSWORD }), 60);
    });

    it('still serves the other routes to that address (the login limit covers login only)', async () => {
      expectStatus(await call(baseUrl, 'GET', '/api/events/'), 200);
      expectStatus(await call(baseUrl, 'POST', '/api/register/', { body: credentials() }), 201);
    });

    it('does not limit another client address', async () => {
      expectStatus(await logIn(baseUrl, user, { from: '127.0.0.2' }), 200);
      expectStatus(await logIn(baseUrl, user, { from: '127.0.0.3' }), 200);
    });

    it('ignores X-Forwarded-For from an untrusted peer: rotating it does not escape the limit', async () => {
      for (const forwardedFor of distinctAddresses(5)) {
        expectRateLimited(await logIn(baseUrl, user, { forwardedFor }), 60);
      }
      expectRateLimited(await logIn(baseUrl, user, { forwardedFor: '127.0.0.2' }), 60);
    });

    it('counts X-Forwarded-For requests against the socket address', async () => {
      // 127.0.0.4 has a budget of 3; sending X-Forwarded-For does not give it another one.
      for (const forwardedFor of distinctAddresses(3)) {
        expectStatus(await logIn(baseUrl, user, { from: '127.0.0.4', forwardedFor }), 200);
      }
      expectRateLimited(await logIn(baseUrl, user, { from: '127.0.0.4', forwardedFor: freshAddress() }), 60);
    });
  });

  describe('user registration: RATE_LIMIT_SIGNUP=3/1h', () => {
    let t: TestApp | undefined;
    let baseUrl: string;

    beforeAll(async () => {
      ({ t, baseUrl } = await startListening({ RATE_LIMIT_SIGNUP: '3/1h' }));
    });
    afterAll(() => t?.close());

    it('answers the first 3 registrations of an address and the 4th with a 429 that created nobody', async () => {
      for (let i = 0; i < 3; i++) await signUp(baseUrl);
      const refused = credentials();
      const res = await call(baseUrl, 'POST', '/api/register/', { body: refused });
      // An hour's window: the client is told to come back in more than a minute, at most an hour.
      expectRateLimited(res, 3600, 61);

      // Nothing was created: from another address, the same username and email are still free.
      expectStatus(await call(baseUrl, 'POST', '/api/register/', { from: '127.0.0.2', body: refused }), 201);
      // And the refused attempt left no account behind that could log in twice.
      expectStatus(await logIn(baseUrl, refused, { from: '127.0.0.2' }), 200);
    });

    it('keeps refusing that address, even for an invalid body', async () => {
      expectRateLimited(await call(baseUrl, 'POST', '/api/register/', { body: credentials() }), 3600, 61);
      expectRateLimited(await call(baseUrl, 'POST', '/api/register/', { body: { username: 'x' } }), 3600, 61);
    });

    it('does not limit another client address', async () => {
      await signUp(baseUrl, { from: '127.0.0.3' });
    });
  });

  describe('event registration: RATE_LIMIT_EVENT_REGISTRATION=3/1m', () => {
    let t: TestApp | undefined;
    let baseUrl: string;
    let token: string;
    const events: number[] = [];

    const registerFor = (eventId: number, email: string, options: CallOptions = {}) =>
      call(baseUrl, 'POST', `/api/events/${eventId}/register`, {
        ...options,
        body: { name: 'Rate Limited', email },
      });

    beforeAll(async () => {
      ({ t, baseUrl } = await startListening({ RATE_LIMIT_EVENT_REGISTRATION: '3/1m' }));
      const organizer = await signUp(baseUrl);
      const login = await logIn(baseUrl, organizer);
      expectStatus(login, 200);
      token = login.body.access;
      for (let i = 0; i < 5; i++) {
        const created = await call(baseUrl, 'POST', '/api/events/', { token, body: eventBody({ capacity: 10 }) });
        expectStatus(created, 201);
        events.push(created.body.id);
      }
    });
    afterAll(() => t?.close());

    it('counts registrations of one address across events: the 4th, for another event, is a 429', async () => {
      for (const eventId of events.slice(0, 3)) {
        expectStatus(await registerFor(eventId, `${unique('guest')}@example.com`), 201);
      }
      expectRateLimited(await registerFor(events[3], `${unique('guest')}@example.com`), 60);
      expectRateLimited(await registerFor(events[0], `${unique('guest')}@example.com`), 60);
    });

    it('limits a registration carrying a bearer token the same way', async () => {
      expectRateLimited(await registerFor(events[4], `${unique('guest')}@example.com`, { token }), 60);
    });

    it('changed nothing when it refused a registration', async () => {
      const email = `${unique('refused')}@example.com`;
      expectRateLimited(await registerFor(events[3], email), 60);

      const capacity = await call(baseUrl, 'GET', `/api/events/${events[3]}/capacity`);
      expectStatus(capacity, 200);
      expect(capacity.body).toMatchObject({ attendees_count: 0, waitlist_count: 0, available_slots: 10 });
      const listed = await call(baseUrl, 'GET', `/api/events/${events[3]}/registrations/`, { token });
      expectStatus(listed, 200);
      expect(listed.body).toEqual([]);

      // From another address the same email registers: it was never stored (else a 409).
      expectStatus(await registerFor(events[3], email, { from: '127.0.0.2' }), 201);
    });

    it('does not limit another client address', async () => {
      for (const eventId of events.slice(0, 2)) {
        expectStatus(await registerFor(eventId, `${unique('guest')}@example.com`, { from: '127.0.0.3' }), 201);
      }
    });

    it('still serves the other routes to the limited address', async () => {
      expectStatus(await call(baseUrl, 'GET', `/api/events/${events[0]}/capacity`), 200);
    });
  });

  describe('the default limit on every other route: RATE_LIMIT_DEFAULT=5/1m', () => {
    let t: TestApp | undefined;
    let baseUrl: string;

    beforeAll(async () => {
      ({ t, baseUrl } = await startListening({ RATE_LIMIT_DEFAULT: '5/1m' }));
    });
    afterAll(() => t?.close());

    it('answers 5 requests of an address and the 6th with a 429 and Retry-After', async () => {
      for (let i = 0; i < 5; i++) expectStatus(await call(baseUrl, 'GET', '/api/events/'), 200);
      expectRateLimited(await call(baseUrl, 'GET', '/api/events/'), 60);
    });

    it('counts per address across routes, not per route', async () => {
      expectRateLimited(await call(baseUrl, 'GET', '/api/events/?status=active'), 60);
      expectRateLimited(await call(baseUrl, 'GET', '/api/me/'), 60);
      expectRateLimited(await call(baseUrl, 'POST', '/api/login/', { body: { username: 'x', password: 'y' } }), 60);
    });

    it('does not limit another client address', async () => {
      expectStatus(await call(baseUrl, 'GET', '/api/events/', { from: '127.0.0.2' }), 200);
    });

    it('ignores X-Forwarded-For from an untrusted peer', async () => {
      expectRateLimited(await call(baseUrl, 'GET', '/api/events/', { forwardedFor: freshAddress() }), 60);
    });
  });

  describe('behind a trusted proxy: TRUSTED_PROXIES=127.0.0.1, RATE_LIMIT_LOGIN=3/1m', () => {
    let t: TestApp | undefined;
    let baseUrl: string;
    let user: Credentials;
    const [client, other, spoofed] = distinctAddresses(3);

    beforeAll(async () => {
      ({ t, baseUrl } = await startListening({ RATE_LIMIT_LOGIN: '3/1m', TRUSTED_PROXIES: '127.0.0.1' }));
      user = await signUp(baseUrl);
    });
    afterAll(() => t?.close());

    it('limits the forwarded client address', async () => {
      for (let i = 0; i < 3; i++) expectStatus(await logIn(baseUrl, user, { forwardedFor: client }), 200);
      expectRateLimited(await logIn(baseUrl, user, { forwardedFor: client }), 60);
    });

    it('does not limit another forwarded address, nor the proxy itself', async () => {
      expectStatus(await logIn(baseUrl, user, { forwardedFor: other }), 200);
      expectStatus(await logIn(baseUrl, user), 200);
    });

    it('takes the address the proxy saw, so a client cannot escape by prepending addresses of its own', async () => {
      expectRateLimited(await logIn(baseUrl, user, { forwardedFor: `${spoofed}, ${client}` }), 60);
    });

    it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
      // 127.0.0.2 is not trusted: it is the client, whatever it forwards.
      for (let i = 0; i < 3; i++) {
        expectStatus(await logIn(baseUrl, user, { from: '127.0.0.2', forwardedFor: freshAddress() }), 200);
      }
      expectRateLimited(await logIn(baseUrl, user, { from: '127.0.0.2', forwardedFor: freshAddress() }), 60);
    });
  });

  describe('failed logins per account: RATE_LIMIT_FAILED_LOGINS=3/15m, from different addresses', () => {
    let t: TestApp | undefined;
    let baseUrl: string;
    let victim: Credentials;
    let bystander: Credentials;

    beforeAll(async () => {
      ({ t, baseUrl } = await startListening({ RATE_LIMIT_FAILED_LOGINS: '3/15m', TRUSTED_PROXIES: '127.0.0.1' }));
      victim = await signUp(baseUrl);
      bystander = await signUp(baseUrl);
    });
    afterAll(() => t?.close());

    it('answers 3 wrong passwords from 3 addresses with 401, then locks the account with a 429', async () => {
      const addresses = distinctAddresses(6);
      for (const forwardedFor of addresses.slice(0, 3)) {
        expectStatus(await logIn(baseUrl, { ...victim, password: WRONG_PASSWORD }, { forwardedFor }), 401);
      }
      // Locked for the 15 minutes' window: a wrong password from a fresh address is refused before it is checked.
      expectRateLimited(
        await logIn(baseUrl, { ...victim, password: WRONG_PASSWORD }, { forwardedFor: addresses[3] }),
        900,
        61,
      );
    });

    it('refuses the correct password too while the account is locked, from any address', async () => {
      const [first, second] = distinctAddresses(2);
      expectRateLimited(await logIn(baseUrl, victim, { forwardedFor: first }), 900, 61);
      expectRateLimited(await logIn(baseUrl, victim, { forwardedFor: second }), 900, 61);
      expectRateLimited(await logIn(baseUrl, victim, { from: '127.0.0.2' }), 900, 61);
    });

    it('locks the account whatever the letter case of the username', async () => {
      expectRateLimited(
        await logIn(baseUrl, { ...victim, username: victim.username.toUpperCase() }, { forwardedFor: freshAddress() }),
        900,
        61,
      );
    });

    it('leaves other accounts alone, from the same addresses', async () => {
      expectStatus(await logIn(baseUrl, bystander, { forwardedFor: freshAddress() }), 200);
      expectStatus(await logIn(baseUrl, bystander), 200);
    });

    it('counts an unknown username the same way, so the lock tells nothing about which accounts exist', async () => {
      const ghost = { username: unique('ghost'), password: WRONG_PASSWORD };
      for (const forwardedFor of distinctAddresses(3)) {
        expectStatus(await logIn(baseUrl, ghost, { forwardedFor }), 401);
      }
      expectRateLimited(await logIn(baseUrl, ghost, { forwardedFor: freshAddress() }), 900, 61);
    });
  });

  describe('RATE_LIMIT=off, with every limit set to 1', () => {
    let t: TestApp | undefined;
    let baseUrl: string;

    beforeAll(async () => {
      ({ t, baseUrl } = await startListening({
        RATE_LIMIT: 'off',
        RATE_LIMIT_DEFAULT: '1/1m',
        RATE_LIMIT_LOGIN: '1/1m',
        RATE_LIMIT_SIGNUP: '1/1h',
        RATE_LIMIT_EVENT_REGISTRATION: '1/1m',
        RATE_LIMIT_FAILED_LOGINS: '1/15m',
      }));
    });
    afterAll(() => t?.close());

    it('lets every request through', async () => {
      const users: Credentials[] = [];
      for (let i = 0; i < 3; i++) users.push(await signUp(baseUrl));
      const [user] = users;
      for (let i = 0; i < 3; i++) {
        expectStatus(await logIn(baseUrl, { ...user, password: WRONG_PASSWORD }), 401);
      }
      let token = '';
      for (let i = 0; i < 3; i++) {
        const login = await logIn(baseUrl, user);
        expectStatus(login, 200);
        token = login.body.access;
      }
      const created = await call(baseUrl, 'POST', '/api/events/', { token, body: eventBody() });
      expectStatus(created, 201);
      for (let i = 0; i < 3; i++) {
        const res = await call(baseUrl, 'POST', `/api/events/${created.body.id}/register`, {
          body: { name: 'Unlimited', email: `${unique('guest')}@example.com` },
        });
        expectStatus(res, 201);
      }
      for (let i = 0; i < 5; i++) expectStatus(await call(baseUrl, 'GET', '/api/events/'), 200);
    });
  });
});

// ---------------------------------------------------------------------------
// Two instances sharing Redis
// ---------------------------------------------------------------------------

const REDIS_HOST = '127.0.0.1';
const REDIS_PORT = 6379;
/** A database of its own on the shared Redis server, flushed before and after. */
const REDIS_DB = 7;
const REDIS_URL = `redis://${REDIS_HOST}:${REDIS_PORT}/${REDIS_DB}`;

/** Undefined when Redis answers PING within about a second, else why not. */
async function redisProblem(): Promise<string | undefined> {
  const client = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 1_000,
    commandTimeout: 1_000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    const ping = (async () => {
      await client.connect();
      return client.ping();
    })();
    const answer = await Promise.race([ping, sleep(2_000).then(() => 'no answer within 2 s')]);
    return answer === 'PONG' ? undefined : String(answer);
  } catch (error) {
    return (error as Error).message;
  } finally {
    client.disconnect();
  }
}

/** Redis is reachable, or started here with the documented command, or the reason it is neither. */
async function ensureRedis(): Promise<string | undefined> {
  const first = await redisProblem();
  if (first === undefined) return undefined;
  try {
    await promisify(execFile)(
      'redis-server',
      ['--daemonize', 'yes', '--bind', REDIS_HOST, '--port', String(REDIS_PORT), '--save', '', '--appendonly', 'no'],
      { timeout: 5_000 },
    );
  } catch (error) {
    return `Redis at ${REDIS_HOST}:${REDIS_PORT} is unreachable (${first}) and redis-server could not be started (${(error as Error).message})`;
  }
  let last = first;
  for (let attempt = 0; attempt < 10; attempt++) {
    await sleep(300);
    const problem = await redisProblem();
    if (problem === undefined) return undefined;
    last = problem;
  }
  return `Redis at ${REDIS_HOST}:${REDIS_PORT} is unreachable even after starting redis-server (${last})`;
}

const redisUnavailable = await ensureRedis();
if (redisUnavailable) console.warn(`SKIPPING the rate-limit tests that need Redis: ${redisUnavailable}`);

/** A TCP relay to Redis that the test can cut, to take Redis away from running instances. */
async function startRelay(): Promise<{ port: number; cut: () => void }> {
  const sockets = new Set<Socket>();
  const relay: Server = createServer((incoming) => {
    const upstream = connect(REDIS_PORT, REDIS_HOST);
    for (const socket of [incoming, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    incoming.pipe(upstream).pipe(incoming);
    incoming.on('close', () => upstream.destroy());
    upstream.on('close', () => incoming.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  return {
    port: (relay.address() as { port: number }).port,
    cut: () => {
      relay.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}

/** The settings every app process of this file shares; the test adds REDIS_URL and the database. */
const processEnv = (jwtSecret: string) => ({
  JWT_SECRET: jwtSecret,
  NODE_ENV: 'production',
  LOG_LEVEL: 'warn',
  WEB_CONCURRENCY: '1',
  RATE_LIMIT: 'on',
  RATE_LIMIT_DEFAULT: '10000/1m',
  RATE_LIMIT_LOGIN: '3/1m',
  RATE_LIMIT_SIGNUP: '10000/1h',
  RATE_LIMIT_EVENT_REGISTRATION: '10000/1m',
  RATE_LIMIT_FAILED_LOGINS: '3/15m',
  TRUSTED_PROXIES: '127.0.0.1',
});

const SHARED_TITLE = 'rate limits shared by two instances through Redis';
describe.skipIf(redisUnavailable !== undefined)(
  redisUnavailable ? `${SHARED_TITLE} (skipped: ${redisUnavailable})` : SHARED_TITLE,
  () => {
    const health = new HttpClient(4);
    const apps: AppProcess[] = [];
    let redis: Redis;
    let relay: { port: number; cut: () => void } | undefined;
    let sqliteDir: string | undefined;
    /** Users exist in each instance's database (one shared database on MariaDB, a file each on SQLite). */
    let user: Credentials;

    const [a, b] = [0, 1];
    const base = (index: number) => apps[index].baseUrl;

    async function signUpEverywhere(): Promise<Credentials> {
      const who = credentials('shared');
      for (const app of isMysql() ? apps.slice(0, 1) : apps) await signUp(app.baseUrl, {}, who);
      return who;
    }

    beforeAll(async () => {
      redis = new Redis(REDIS_URL, { connectTimeout: 1_000, commandTimeout: 2_000, maxRetriesPerRequest: 1 });
      redis.on('error', () => undefined);
      await redis.flushdb();
      relay = await startRelay();
      sqliteDir = isMysql() ? undefined : mkdtempSync(join(tmpdir(), 'event-api-rate-limits-'));
      const jwtSecret = randomBytes(32).toString('hex');
      try {
        const started = await Promise.allSettled(
          ['a', 'b'].map((name) =>
            startHealthy(
              `rate-limit-${name}`,
              {
                ...processEnv(jwtSecret),
                DATABASE_URL: sqliteDir ? `sqlite:${join(sqliteDir, `${name}.sqlite`)}` : inject('databaseUrl'),
                REDIS_URL: `redis://127.0.0.1:${relay!.port}/${REDIS_DB}`,
              },
              health,
            ),
          ),
        );
        for (const result of started) if (result.status === 'fulfilled') apps.push(result.value);
        const failed = started.find((result) => result.status === 'rejected');
        if (failed) throw failed.reason;
        user = await signUpEverywhere();
      } catch (error) {
        await Promise.all(apps.map((app) => stopAppProcess(app)));
        throw error;
      }
    }, 120_000);

    afterAll(async () => {
      await Promise.all(apps.map((app) => stopAppProcess(app)));
      relay?.cut();
      health.close();
      try {
        await redis?.flushdb();
      } finally {
        redis?.disconnect();
        if (sqliteDir) rmSync(sqliteDir, { recursive: true, force: true });
      }
    }, 30_000);

    it('shares the login limit: sent alternately, the 4th login is a 429 on whichever instance gets it', async () => {
      const [first, second] = distinctAddresses(2);
      // a, b, a pass; the 4th goes to b.
      for (const app of [a, b, a]) expectStatus(await logIn(base(app), user, { forwardedFor: first }), 200);
      expectRateLimited(await logIn(base(b), user, { forwardedFor: first }), 60);
      expectRateLimited(await logIn(base(a), user, { forwardedFor: first }), 60);
      // b, a, b pass; the 4th goes to a.
      for (const app of [b, a, b]) expectStatus(await logIn(base(app), user, { forwardedFor: second }), 200);
      expectRateLimited(await logIn(base(a), user, { forwardedFor: second }), 60);
      expectRateLimited(await logIn(base(b), user, { forwardedFor: second }), 60);

      expect(await redis.keys('*rate-limit:login:*'), 'the counters live in the configured Redis database').not.toEqual(
        [],
      );
    });

    it('keeps the limit per address across instances: another address is not limited', async () => {
      const [limited, fresh] = distinctAddresses(2);
      for (const app of [a, b, a]) expectStatus(await logIn(base(app), user, { forwardedFor: limited }), 200);
      expectRateLimited(await logIn(base(b), user, { forwardedFor: limited }), 60);
      expectStatus(await logIn(base(a), user, { forwardedFor: fresh }), 200);
      expectStatus(await logIn(base(b), user, { forwardedFor: fresh }), 200);
    });

    it('shares the failed-login lock of an account between instances', async () => {
      const victim = await signUpEverywhere();
      const addresses = distinctAddresses(5);
      const wrong = { ...victim, password: WRONG_PASSWORD };
      expectStatus(await logIn(base(a), wrong, { forwardedFor: addresses[0] }), 401);
      expectStatus(await logIn(base(b), wrong, { forwardedFor: addresses[1] }), 401);
      expectStatus(await logIn(base(a), wrong, { forwardedFor: addresses[2] }), 401);
      expectRateLimited(await logIn(base(b), victim, { forwardedFor: addresses[3] }), 900, 61);
      expectRateLimited(await logIn(base(a), victim, { forwardedFor: addresses[4] }), 900, 61);
      expect(await redis.keys('failed-logins:*')).not.toEqual([]);
    });

    it('fails open when Redis goes away: requests still pass, promptly, and a warning is logged', async () => {
      relay!.cut();
      const address = freshAddress();
      for (let i = 0; i < 6; i++) {
        const started = Date.now();
        const res = await logIn(base(i % 2), user, { forwardedFor: address });
        expectStatus(res, 200);
        expect(Date.now() - started, 'answered without waiting on Redis').toBeLessThan(3_000);
      }
      // The failed-login limit fails open too: more wrong passwords than the limit stay 401s.
      const wrong = { ...user, password: WRONG_PASSWORD };
      for (let i = 0; i < 4; i++) expectStatus(await logIn(base(i % 2), wrong, { forwardedFor: freshAddress() }), 401);
      expectStatus(await logIn(base(a), user, { forwardedFor: freshAddress() }), 200);
      expectStatus(await call(base(b), 'GET', '/api/events/'), 200);
      for (const app of apps) expect(app.output()).toMatch(/unavailable/i);
    });
  },
);

describe('rate limits with REDIS_URL pointing at a closed port', () => {
  const health = new HttpClient(4);
  let app: AppProcess | undefined;
  let sqliteDir: string | undefined;

  beforeAll(async () => {
    sqliteDir = isMysql() ? undefined : mkdtempSync(join(tmpdir(), 'event-api-no-redis-'));
    app = await startHealthy(
      'rate-limit-no-redis',
      {
        ...processEnv(randomBytes(32).toString('hex')),
        DATABASE_URL: sqliteDir ? `sqlite:${join(sqliteDir, 'events.sqlite')}` : inject('databaseUrl'),
        REDIS_URL: `redis://127.0.0.1:${await freePort()}/${REDIS_DB}`,
      },
      health,
    );
  }, 120_000);

  afterAll(async () => {
    await stopAppProcess(app);
    health.close();
    if (sqliteDir) rmSync(sqliteDir, { recursive: true, force: true });
  }, 30_000);

  it('starts, and fails open: logins past the limit pass, promptly', async () => {
    const user = await signUp(app!.baseUrl);
    const address = freshAddress();
    for (let i = 0; i < 6; i++) {
      const started = Date.now();
      expectStatus(await logIn(app!.baseUrl, user, { forwardedFor: address }), 200);
      expect(Date.now() - started).toBeLessThan(3_000);
    }
    const wrong = { ...user, password: WRONG_PASSWORD };
    for (let i = 0; i < 4; i++) expectStatus(await logIn(app!.baseUrl, wrong, { forwardedFor: freshAddress() }), 401);
    expectStatus(await logIn(app!.baseUrl, user, { forwardedFor: freshAddress() }), 200);
    expect(app!.output()).toMatch(/Rate limits unavailable/);
  });
});

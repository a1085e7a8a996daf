import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Response } from 'supertest';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AppProcess, HttpClient, startHealthy, stopAppProcess } from './support/app-processes.js';
import { expectProblem, unique } from './support/fixtures.js';
import { isMysql, startApp, type TestApp } from './support/test-app.js';

/**
 * Helmet's headers, CORS (off unless CORS_ORIGINS lists origins, never a
 * reflection of any Origin), the cap on JSON nesting, and the request
 * deadline (REQUEST_TIMEOUT) that turns a request stuck on the database into a 503.
 */

/** The little of better-sqlite3 this suite uses. */
interface SqliteConnection {
  readonly inTransaction: boolean;
  exec(sql: string): void;
  close(): void;
}
const SqliteDatabase = createRequire(import.meta.url)('better-sqlite3') as new (file: string) => SqliteConnection;

const newAccount = () => {
  const username = unique('sec');
  return { username, email: `${username}@example.com`, password: 'correct horse battery' };
};

/** Nothing of the environment this suite cares about leaks in from the shell that started the tests. */
const CLEAN = { CORS_ORIGINS: undefined, TRUSTED_PROXIES: undefined, REDIS_URL: undefined, REQUEST_TIMEOUT: undefined };

function expectHelmetHeaders(res: Response): void {
  const csp = res.headers['content-security-policy'];
  expect(csp, 'Content-Security-Policy').toEqual(expect.any(String));
  expect(csp).toContain("default-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain("object-src 'none'");
  expect(csp).not.toMatch(/upgrade-insecure-requests/i);
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers).not.toHaveProperty('x-powered-by');
}

function expectNoCors(res: Response): void {
  for (const name of Object.keys(res.headers)) expect(name).not.toMatch(/^access-control-/);
}

describe('security headers', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp(CLEAN);
  });
  afterAll(() => t?.close());

  describe('helmet', () => {
    it.each([
      ['a JSON list', '/api/events/'],
      ['the health check', '/api/health'],
      ['the OpenAPI document', '/api/docs-json'],
    ])('sets them on %s (%s)', async (_what, path) => {
      const res = await t.http.get(path);
      expect(res.status, res.text).toBe(200);
      expectHelmetHeaders(res);
    });

    it('sets them on the Swagger UI page', async () => {
      const res = await t.http.get('/api/docs').redirects(2);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expectHelmetHeaders(res);
    });

    it('sets them on the Swagger UI assets', async () => {
      const page = await t.http.get('/api/docs/').redirects(2);
      const script = /<script[^>]+src="([^"]+\.js)"/.exec(page.text)?.[1];
      expect(script, 'the page loads a script').toBeDefined();
      const res = await t.http.get(new URL(script!, 'http://localhost/api/docs/').pathname);
      expect(res.status).toBe(200);
      expectHelmetHeaders(res);
    });

    it.each([
      ['a 404 problem', 'get', '/api/events/999999999/', 404],
      ['a 401 problem', 'get', '/api/me/', 401],
      ['a 404 outside the API', 'get', '/nowhere', 404],
    ] as const)('sets them on %s', async (_what, method, path, status) => {
      const res = await t.http[method](path);
      expectProblem(res, status);
      expectHelmetHeaders(res);
    });

    it('sets them on a 400 problem for a bad body', async () => {
      const res = await t.http.post('/api/login/').set('Content-Type', 'application/json').send('{"username":');
      expectProblem(res, 400);
      expectHelmetHeaders(res);
    });
  });

  describe('CORS with CORS_ORIGINS unset', () => {
    it('sends no Access-Control-Allow-Origin on a request with an Origin', async () => {
      const res = await t.http.get('/api/events/').set('Origin', 'https://evil.example.com');
      expect(res.status).toBe(200);
      expectNoCors(res);
    });

    it('sends no Access-Control-Allow-Origin on a preflight', async () => {
      const res = await t.http
        .options('/api/events/')
        .set('Origin', 'https://evil.example.com')
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'authorization,content-type');
      expectNoCors(res);
      expect(res.status).toBeLessThan(500);
    });

    it('sends no Access-Control-Allow-Origin on a login with an Origin', async () => {
      const res = await t.http
        .post('/api/login/')
        .set('Origin', 'https://evil.example.com')
        .send({ username: 'nobody', password: 'wrong horse battery' });
      expect(res.status).toBe(401);
      expectNoCors(res);
    });
  });

  describe('JSON nesting', () => {
    /** `levels` nested objects: chain(1) is {"v": "x"}. */
    const chain = (levels: number): unknown => (levels === 1 ? { v: 'x' } : { v: chain(levels - 1) });
    /** A login body nested `levels` deep in all, the body itself being the first level. */
    const loginBody = (levels: number) => ({ username: chain(levels - 1), password: 'correct horse battery' });

    it('refuses a body nested 33 levels with a 400 problem about the nesting', async () => {
      const res = await t.http.post('/api/login/').send(loginBody(33));
      expectProblem(res, 400, ['body']);
      expect(res.body.detail).toMatch(/nest/i);
      expect(res.body.errors).not.toHaveProperty('username');
    });

    it('refuses arrays nested 33 levels the same way', async () => {
      let value: unknown = 'x';
      for (let i = 0; i < 32; i++) value = [value];
      const res = await t.http.post('/api/register/').send({ ...newAccount(), username: value });
      expectProblem(res, 400, ['body']);
    });

    it('lets a body nested 20 levels reach validation, which names the bad field', async () => {
      const res = await t.http.post('/api/login/').send(loginBody(20));
      expectProblem(res, 400, ['username']);
      expect(res.body.errors).not.toHaveProperty('body');
    });

    it('lets a body nested exactly 32 levels reach validation', async () => {
      const res = await t.http.post('/api/login/').send(loginBody(32));
      expectProblem(res, 400, ['username']);
      expect(res.body.errors).not.toHaveProperty('body');
    });

    it('refuses 40,000 levels of nesting with a 400 problem, and keeps serving', async () => {
      const body = `{"username":${'['.repeat(40_000)}${']'.repeat(40_000)},"password":"x"}`;
      const res = await t.http.post('/api/login/').set('Content-Type', 'application/json').send(body);
      expectProblem(res, 400);
      expect((await t.http.get('/api/health')).status).toBe(200);
    });
  });
});

describe('CORS with CORS_ORIGINS set', () => {
  const allowed = 'https://app.example.com';
  const alsoAllowed = 'http://localhost:5173';
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp({ ...CLEAN, CORS_ORIGINS: `${allowed}, ${alsoAllowed}` });
  });
  afterAll(() => t?.close());

  it.each([allowed, alsoAllowed])('allows the listed origin %s on a request', async (origin) => {
    const res = await t.http.get('/api/events/').set('Origin', origin);
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(origin);
    expect(res.headers.vary ?? '').toMatch(/origin/i);
    const exposed = (res.headers['access-control-expose-headers'] ?? '').toLowerCase();
    for (const header of ['x-total-count', 'link', 'retry-after']) expect(exposed).toContain(header);
    expectHelmetHeaders(res);
  });

  it('answers a preflight from the listed origin with the methods and headers the API needs', async () => {
    const res = await t.http
      .options('/api/events/')
      .set('Origin', allowed)
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization,content-type');
    expect(res.status).toBeGreaterThanOrEqual(200);
    expect(res.status).toBeLessThan(300);
    expect(res.headers['access-control-allow-origin']).toBe(allowed);
    expect(res.headers['access-control-allow-methods']).toMatch(/POST/);
    const headers = (res.headers['access-control-allow-headers'] ?? '').toLowerCase();
    expect(headers).toContain('authorization');
    expect(headers).toContain('content-type');
  });

  it.each([
    'https://evil.example.com',
    'https://app.example.com.evil.com',
    'https://evil-app.example.com',
    'http://app.example.com',
    'https://app.example.com:8443',
    'null',
  ])('never reflects the unlisted origin %s, on a request or a preflight', async (origin) => {
    const res = await t.http.get('/api/events/').set('Origin', origin);
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).not.toBe(origin);
    expect(res.headers['access-control-allow-origin']).not.toBe('*');

    const preflight = await t.http
      .options('/api/events/')
      .set('Origin', origin)
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization,content-type');
    expect(preflight.headers['access-control-allow-origin']).not.toBe(origin);
    expect(preflight.headers['access-control-allow-origin']).not.toBe('*');
    expect(preflight.status).toBeLessThan(500);
  });
});

/**
 * A real `node dist/src/main.js` process, so that the clock of this test keeps
 * running whatever the app's event loop does while the test holds the lock.
 */
describe.skipIf(isMysql())('the request deadline on an SQLite file: REQUEST_TIMEOUT=1s', () => {
  const client = new HttpClient(8);
  let dir: string;
  let file: string;
  let app: AppProcess | undefined;
  let locker: SqliteConnection | undefined;

  const register = () =>
    client.request(app!.baseUrl, 'POST', '/api/register/', { body: newAccount(), timeoutMs: 20_000 });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'event-api-deadline-'));
    file = join(dir, 'events.sqlite');
    app = await startHealthy(
      'deadline',
      {
        DATABASE_URL: `sqlite:${file}`,
        REQUEST_TIMEOUT: '1s',
        RATE_LIMIT: 'off',
        JWT_SECRET: randomBytes(32).toString('hex'),
        LOG_LEVEL: 'warn',
      },
      client,
    );
  }, 120_000);

  afterEach(() => {
    if (locker?.inTransaction) locker.exec('ROLLBACK');
    locker?.close();
    locker = undefined;
  });

  afterAll(async () => {
    await stopAppProcess(app);
    client.close();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('answers a write blocked by an exclusive lock with a 503 and Retry-After within about 3 s', async () => {
    expect((await register()).status).toBe(201);

    locker = new SqliteDatabase(file);
    locker.exec('BEGIN EXCLUSIVE');
    const started = Date.now();
    const blocked = await register();
    const elapsed = Date.now() - started;
    locker.exec('ROLLBACK');

    expect(blocked.status, blocked.text).toBe(503);
    expect(blocked.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(blocked.body).toMatchObject({ status: 503, detail: expect.any(String) });
    expect(blocked.headers['retry-after']).toMatch(/^\d+$/);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(elapsed, `answered after ${elapsed} ms`).toBeLessThan(3_000);

    const after = await register();
    expect(after.status, after.text).toBe(201);
  });

  it('never makes a write it answered 503, even once the lock is free', async () => {
    const account = newAccount();
    locker = new SqliteDatabase(file);
    locker.exec('BEGIN EXCLUSIVE');
    const blocked = await client.request(app!.baseUrl, 'POST', '/api/register/', { body: account, timeoutMs: 20_000 });
    expect(blocked.status, blocked.text).toBe(503);
    // Freed 0.5 s after the 503: a write used to go on waiting for the lock for 5 s.
    await sleep(500);
    locker.exec('ROLLBACK');
    await sleep(1_000);

    const again = await client.request(app!.baseUrl, 'POST', '/api/register/', { body: account, timeoutMs: 20_000 });
    expect(again.status, 'the account does not exist: the abandoned write never ran').toBe(201);
  });

  it('keeps answering reads, which need no lock, while a write waits for it', async () => {
    locker = new SqliteDatabase(file);
    locker.exec('BEGIN EXCLUSIVE');
    const write = register();
    // Let the write reach the database (its password is hashed first).
    await sleep(500);
    const started = Date.now();
    const read = await client.request(app!.baseUrl, 'GET', '/api/events/?status=cancelled', { timeoutMs: 20_000 });
    const elapsed = Date.now() - started;
    await write;
    locker.exec('ROLLBACK');

    expect(read.status, read.text).toBe(200);
    expect(elapsed, `read answered after ${elapsed} ms`).toBeLessThan(1_000);
  });
});

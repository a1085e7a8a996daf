import { randomBytes } from 'node:crypto';
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
import { isMysql } from './support/test-app.js';

/**
 * API.md: passwords are never logged. Nor are tokens, cancel tokens, the JWT
 * secret or Authorization headers. A real app process runs at the most
 * verbose level (LOG_LEVEL=trace); a whole session and a few error paths go
 * through it; then every byte it wrote to stdout and stderr is searched for
 * each secret it saw.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const signatureOf = (jwt: string) => jwt.split('.')[2];

describe('log hygiene at LOG_LEVEL=trace', () => {
  const client = new HttpClient(8);
  const jwtSecret = randomBytes(32).toString('hex');
  const username = unique('logs');
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const wrongPassword = `wrong-${randomBytes(12).toString('hex')}`;
  const malformedToken = `malformed.${randomBytes(16).toString('hex')}.token`;

  let app: AppProcess | undefined;
  let captured = '';
  /** Each secret the session saw, named for the failure message. */
  const secrets = new Map<string, string>();
  const authorizationValues: string[] = [];

  const call = (method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}) =>
    client.request(app!.baseUrl, method, path, { ...options, timeoutMs: 20_000 });

  const withBearer = (token: string) => {
    authorizationValues.push(`Bearer ${token}`);
    return { authorization: `Bearer ${token}` };
  };

  function expectStatus(res: HttpResponse, status: number): Json {
    expect(res.status, `${status} expected: ${res.text}`).toBe(status);
    return res.body as Json;
  }

  function keepTokens(pair: Json, label: string): void {
    expect(pair).toMatchObject({ access: expect.any(String), refresh: expect.any(String) });
    for (const kind of ['access', 'refresh'] as const) {
      secrets.set(`${label} ${kind} token`, pair[kind]);
      secrets.set(`${label} ${kind} token signature`, signatureOf(pair[kind]));
    }
  }

  /** Starts the app and records everything it writes; a start that lost a race with a concurrent build is retried. */
  async function startCapturing(env: Record<string, string>): Promise<AppProcess> {
    for (let attempt = 1; ; attempt++) {
      captured = '';
      const started = startAppProcess('log-hygiene', await freePort(), env);
      // Listeners added before the event loop turns: not a byte is missed.
      started.child.stdout?.on('data', (chunk: Buffer) => (captured += chunk.toString('utf8')));
      started.child.stderr?.on('data', (chunk: Buffer) => (captured += chunk.toString('utf8')));
      try {
        await waitUntilHealthy(started, client);
        return started;
      } catch (error) {
        await stopAppProcess(started);
        // Another test run's global setup may be rebuilding dist/ (nest build deletes it first).
        if (attempt >= 5 || !/Cannot find module|ERR_MODULE_NOT_FOUND/.test(captured)) throw error;
        await sleep(3_000);
      }
    }
  }

  beforeAll(async () => {
    secrets.set('password', password);
    secrets.set('wrong password', wrongPassword);
    secrets.set('JWT_SECRET', jwtSecret);
    secrets.set('malformed token', malformedToken);
    app = await startCapturing({
      DATABASE_URL: isMysql() ? inject('databaseUrl') : 'sqlite::memory:',
      JWT_SECRET: jwtSecret,
      LOG_LEVEL: 'trace',
    });

    // A whole session.
    expectStatus(
      await call('POST', '/api/register/', { body: { username, email: `${username}@example.com`, password } }),
      201,
    );
    const first = expectStatus(await call('POST', '/api/login/', { body: { username, password } }), 200);
    keepTokens(first, 'login');
    const second = expectStatus(await call('POST', '/api/token/refresh/', { body: { refresh: first.refresh } }), 200);
    keepTokens(second, 'refreshed');
    expectStatus(await call('POST', '/api/login/', { body: { username, password: wrongPassword } }), 401);
    expectStatus(await call('GET', '/api/me/', { headers: withBearer(second.access) }), 200);

    const event = expectStatus(
      await call('POST', '/api/events/', { headers: withBearer(second.access), body: eventBody() }),
      201,
    );
    const registered = expectStatus(
      await call('POST', `/api/events/${event.id}/register`, {
        body: { name: 'Log Reader', email: `${unique('guest')}@example.com` },
      }),
      201,
    );
    const cancelToken: string = registered.cancel_token;
    expect(cancelToken).toEqual(expect.any(String));
    secrets.set('cancel token', cancelToken);
    const registrationPath = `/api/events/${event.id}/registrations/${registered.registration.id}/`;
    expectStatus(await call('GET', registrationPath, { headers: { 'x-registration-token': cancelToken } }), 200);
    expectStatus(await call('DELETE', registrationPath, { headers: { 'x-registration-token': cancelToken } }), 200);
    expectStatus(
      await call('POST', '/api/logout/', { headers: withBearer(second.access), body: { refresh: second.refresh } }),
      200,
    );

    // Error paths: a malformed token, a 404, a revoked token, a reused refresh token, a forged signature,
    // a wrong cancel token, and a malformed body carrying the password.
    expect((await call('GET', '/api/me/', { headers: withBearer(malformedToken) })).status).toBe(401);
    expect((await call('GET', '/api/events/999999999/', { headers: withBearer(malformedToken) })).status).toBe(401);
    expect((await call('GET', '/api/events/999999999/')).status).toBe(404);
    expect((await call('GET', '/api/no-such-route')).status).toBe(404);
    expect((await call('GET', '/api/me/', { headers: withBearer(second.access) })).status).toBe(401);
    expect((await call('POST', '/api/token/refresh/', { body: { refresh: first.refresh } })).status).toBe(401);
    expect((await call('POST', '/api/token/refresh/', { body: { refresh: malformedToken } })).status).toBe(401);
    const forged = `${second.access.split('.').slice(0, 2).join('.')}.${randomBytes(32).toString('base64url')}`;
    secrets.set('forged token signature', signatureOf(forged));
    expect((await call('GET', '/api/me/', { headers: withBearer(forged) })).status).toBe(401);
    const wrongCancelToken = randomBytes(24).toString('base64url');
    secrets.set('wrong cancel token', wrongCancelToken);
    expect(
      (await call('GET', registrationPath, { headers: { 'x-registration-token': wrongCancelToken } })).status,
    ).toBeGreaterThanOrEqual(400);
    const malformed = await fetch(`${app.baseUrl}/api/login/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"username": "${username}", "password": "${password}"`,
    });
    expect(malformed.status).toBe(400);
    await malformed.arrayBuffer();

    // The process flushes everything it has to say before it exits.
    await stopAppProcess(app);
  }, 120_000);

  afterAll(async () => {
    await stopAppProcess(app);
    client.close();
  }, 30_000);

  it('captured the process output', () => {
    expect(captured).toContain('Listening on');
  });

  it('never writes a secret: passwords, tokens and their signatures, the cancel token, the JWT secret', () => {
    const leaked = [...secrets].filter(([, value]) => captured.includes(value)).map(([name]) => name);
    expect(leaked, `secrets found in the output:\n${captured.slice(-5_000)}`).toEqual([]);
  });

  it('never writes an Authorization header value', () => {
    for (const value of authorizationValues) expect(captured).not.toContain(value);
    expect(captured).not.toMatch(/Bearer\s+[A-Za-z0-9\-_.~+/]{8,}/);
    expect(captured).not.toMatch(/authorization["']?\s*[:=]\s*["']?\S/i);
  });

  it('never writes a password hash', () => {
    expect(captured).not.toMatch(/\$argon2/);
  });
});

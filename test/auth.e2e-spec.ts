import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import mysql, { type Connection } from 'mysql2/promise';
import type { Response } from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { DataSource, In } from 'typeorm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LoginSession } from '../src/auth/login-session.entity.js';
import { RevocationsService } from '../src/auth/revocations.service.js';
import { RevokedToken } from '../src/auth/revoked-token.entity.js';
import type { TokenClaims } from '../src/auth/tokens.service.js';
import { bearer, createUser, login, type TestUser, unique, expectProblem } from './support/fixtures.js';
import { isMysql, startApp, TEST_JWT_AUDIENCE, TEST_JWT_ISSUER, type TestApp } from './support/test-app.js';

const DAY_MS = 86_400_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Pair {
  access: string;
  refresh: string;
}

const claimsOf = (token: string) => jwt.decode(token) as TokenClaims;

/** A 401 problem with a Bearer challenge; `invalidToken` also requires `error="invalid_token"`. */
function expectUnauthorized(res: Response, invalidToken = false): void {
  expectProblem(res, 401);
  expect(res.headers['www-authenticate']).toMatch(/^Bearer( |$)/);
  if (invalidToken) expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
}

const me = (http: TestAgent, access: string) => http.get('/api/me/').set(bearer(access));
const refresh = (http: TestAgent, token: string) => http.post('/api/token/refresh/').send({ refresh: token });
const logout = (http: TestAgent, access: string, body?: object) => {
  const req = http.post('/api/logout/').set(bearer(access));
  return body === undefined ? req : req.send(body);
};

async function expectAccessAccepted(http: TestAgent, access: string): Promise<void> {
  const res = await me(http, access);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

async function expectAccessRefused(http: TestAgent, access: string): Promise<void> {
  expectUnauthorized(await me(http, access), true);
}

/** Uses the refresh token (which rotates it) and returns the new pair. */
async function expectRefreshAccepted(http: TestAgent, token: string): Promise<Pair> {
  const res = await refresh(http, token);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as Pair;
}

async function expectRefreshRefused(http: TestAgent, token: string): Promise<void> {
  expectUnauthorized(await refresh(http, token), true);
}

/** Both tokens of a login session still work (the refresh token is used up by the check). */
async function expectSessionAlive(http: TestAgent, pair: Pair): Promise<void> {
  await expectAccessAccepted(http, pair.access);
  await expectRefreshAccepted(http, pair.refresh);
}

async function expectSessionRevoked(http: TestAgent, pair: Pair): Promise<void> {
  await expectAccessRefused(http, pair.access);
  await expectRefreshRefused(http, pair.refresh);
}

describe('POST /api/login/', () => {
  let t: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    t = await startApp();
    user = await createUser(t.http);
  });
  afterAll(() => t.close());

  it('answers 200 with exactly a refresh and an access token', async () => {
    const res = await t.http.post('/api/login/').send({ username: user.username, password: user.password });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(Object.keys(res.body).sort()).toEqual(['access', 'refresh']);
    expect(res.body.access).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(res.body.refresh).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    await expectAccessAccepted(t.http, res.body.access);
  });

  it('answers on the path without a trailing slash too', async () => {
    const res = await t.http.post('/api/login').send({ username: user.username, password: user.password });
    expect(res.status).toBe(200);
    await expectAccessAccepted(t.http, res.body.access);
  });

  it('issues HS256 tokens carrying the claims of the contract, with 5-minute access and 1-day refresh lifetimes', async () => {
    const pair = await login(t.http, user.username, user.password);
    const access = jwt.decode(pair.access, { complete: true })!;
    const refreshToken = jwt.decode(pair.refresh, { complete: true })!;
    expect(access.header.alg).toBe('HS256');
    expect(refreshToken.header.alg).toBe('HS256');
    const [a, r] = [access.payload as TokenClaims, refreshToken.payload as TokenClaims];
    for (const claims of [a, r]) {
      expect(claims).toMatchObject({
        user_id: user.id,
        sub: String(user.id),
        username: user.username,
        iss: TEST_JWT_ISSUER,
        aud: TEST_JWT_AUDIENCE,
      });
      expect(claims.sid).toMatch(UUID);
      expect(claims.jti).toMatch(UUID);
      expect(Number.isInteger(claims.iat)).toBe(true);
    }
    expect(a.token_type).toBe('access');
    expect(r.token_type).toBe('refresh');
    expect(a.sid).toBe(r.sid);
    expect(a.jti).not.toBe(r.jti);
    expect(a.exp - a.iat).toBe(300);
    expect(r.exp - r.iat).toBe(86_400);
  });

  it('starts a new login session, with its own session id, at every login', async () => {
    const first = await login(t.http, user.username, user.password);
    const second = await login(t.http, user.username, user.password);
    expect(claimsOf(first.access).sid).not.toBe(claimsOf(second.access).sid);
  });

  it('matches the username regardless of letter case', async () => {
    for (const username of [user.username.toUpperCase(), user.username.toLowerCase()]) {
      const pair = await login(t.http, username, user.password);
      const res = await me(t.http, pair.access);
      expect(res.body).toMatchObject({ id: user.id, username: user.username });
    }
  });

  it('matches a unicode username regardless of letter case', async () => {
    const greek = await createUser(t.http, {
      username: `Ελένη_${unique('u')}`,
      email: `${unique()}@example.com`,
    });
    const pair = await login(t.http, greek.username.toUpperCase(), greek.password);
    expect(claimsOf(pair.access).user_id).toBe(greek.id);
  });

  it('matches a Greek username with a final sigma typed in capitals', async () => {
    // 'νίκος.gr…'.toUpperCase().toLowerCase() is 'νίκοσ.gr…': Σ lower-cases by context, so toLowerCase() alone is no case fold.
    const greek = await createUser(t.http, {
      username: `νίκος.gr${randomBytes(4).toString('hex')}`,
      email: `${unique()}@example.com`,
    });
    const res = await t.http
      .post('/api/login/')
      .send({ username: greek.username.toUpperCase(), password: greek.password });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(claimsOf(res.body.access).user_id).toBe(greek.id);
  });

  it('does not match the password regardless of letter case', async () => {
    const res = await t.http
      .post('/api/login/')
      .send({ username: user.username, password: user.password.toUpperCase() });
    expectUnauthorized(res);
  });

  it('answers an unknown username and a wrong password alike: same status, detail and headers', async () => {
    const unknown = await t.http.post('/api/login/').send({ username: unique('nobody'), password: user.password });
    const wrong = await t.http.post('/api/login/').send({ username: user.username, password: 'wrong password!' });
    for (const res of [unknown, wrong]) expectUnauthorized(res);
    expect(wrong.status).toBe(unknown.status);
    expect(wrong.body).toEqual(unknown.body);
    expect(wrong.body.detail).toBe(unknown.body.detail);
    // Each answer has its own request id.
    const varying = new Set(['date', 'x-request-id']);
    const headersOf = (res: Response) =>
      Object.fromEntries(Object.entries(res.headers).filter(([name]) => !varying.has(name)));
    expect(headersOf(wrong)).toEqual(headersOf(unknown));
    expect(wrong.headers['www-authenticate']).toBe(unknown.headers['www-authenticate']);
  });

  it('never returns the password or its hash when it refuses credentials', async () => {
    const res = await t.http.post('/api/login/').send({ username: user.username, password: 'wrong password!' });
    expect(res.text).not.toContain('$argon2');
    expect(res.text).not.toContain('wrong password!');
  });

  it.each([
    ['no username', { password: 'correct horse battery' }, ['username']],
    ['no password', { username: 'someone' }, ['password']],
    ['an empty body', {}, ['password', 'username']],
    ['a numeric username', { username: 42, password: 'correct horse battery' }, ['username']],
    ['a numeric password', { username: 'someone', password: 12345678 }, ['password']],
    ['a null password', { username: 'someone', password: null }, ['password']],
  ])('refuses %s with 400 naming the field', async (_case, body, fields) => {
    const res = await t.http.post('/api/login/').send(body);
    expectProblem(res, 400);
    expect(Object.keys(res.body.errors).sort()).toEqual(fields);
  });

  it('refuses an unknown field with 400 naming it', async () => {
    const res = await t.http
      .post('/api/login/')
      .send({ username: user.username, password: user.password, remember_me: true });
    expectProblem(res, 400);
    expect(Object.keys(res.body.errors)).toEqual(['remember_me']);
  });
});

describe('configured token lifetimes', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp({ JWT_ACCESS_TTL: '2m', JWT_REFRESH_TTL: '3h' });
  });
  afterAll(() => t.close());

  it('takes the token lifetimes from JWT_ACCESS_TTL and JWT_REFRESH_TTL', async () => {
    const user = await createUser(t.http);
    const [access, refreshClaims] = [claimsOf(user.access), claimsOf(user.refresh)];
    expect(access.exp - access.iat).toBe(120);
    expect(refreshClaims.exp - refreshClaims.iat).toBe(3 * 3600);
    const rotated = await expectRefreshAccepted(t.http, user.refresh);
    expect(claimsOf(rotated.access).exp - claimsOf(rotated.access).iat).toBe(120);
  });
});

describe('a login flood', () => {
  let t: TestApp;

  beforeAll(async () => {
    // A 1 s request deadline: a login waits half of it at most for a hashing slot.
    t = await startApp({ REQUEST_TIMEOUT: '1s' });
  });
  afterAll(() => t.close());

  it('answers the logins that find no hashing slot in time with 503 and Retry-After, and the rest as usual', async () => {
    const user = await createUser(t.http);
    const attempts = await Promise.all(
      Array.from({ length: 40 }, () =>
        t.http.post('/api/login/').send({ username: user.username, password: user.password }),
      ),
    );
    const statuses = attempts.map((res) => res.status);
    expect(
      statuses.filter((status) => status !== 200 && status !== 503),
      statuses.join(),
    ).toEqual([]);
    expect(statuses).toContain(200);
    const refused = attempts.filter((res) => res.status === 503);
    expect(refused.length).toBeGreaterThan(0);
    for (const res of refused) {
      expectProblem(res, 503);
      expect(res.headers['retry-after']).toBe('1');
    }
    // Nothing is held: once the flood is over, a login goes through.
    expect((await t.http.post('/api/login/').send({ username: user.username, password: user.password })).status).toBe(
      200,
    );
  });
});

describe('POST /api/token/refresh/', () => {
  let t: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    t = await startApp();
    user = await createUser(t.http);
  });
  afterAll(() => t.close());

  const newSession = () => login(t.http, user.username, user.password);

  it('returns a new access and refresh token of the same login session', async () => {
    const first = await newSession();
    const res = await refresh(t.http, first.refresh);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(Object.keys(res.body).sort()).toEqual(['access', 'refresh']);
    expect(res.body.access).not.toBe(first.access);
    expect(res.body.refresh).not.toBe(first.refresh);
    const [access, rotated] = [claimsOf(res.body.access), claimsOf(res.body.refresh)];
    expect(access).toMatchObject({ token_type: 'access', user_id: user.id, sid: claimsOf(first.access).sid });
    expect(rotated).toMatchObject({ token_type: 'refresh', user_id: user.id, sid: claimsOf(first.access).sid });
    expect(rotated.jti).not.toBe(claimsOf(first.refresh).jti);
    await expectAccessAccepted(t.http, res.body.access);
  });

  it('answers on the path without a trailing slash too', async () => {
    const first = await newSession();
    const res = await t.http.post('/api/token/refresh').send({ refresh: first.refresh });
    expect(res.status).toBe(200);
  });

  it('accepts the new refresh token for the next rotation', async () => {
    const first = await newSession();
    const second = await expectRefreshAccepted(t.http, first.refresh);
    const third = await expectRefreshAccepted(t.http, second.refresh);
    await expectAccessAccepted(t.http, third.access);
  });

  it('refuses a refresh token that was already used, with 401', async () => {
    const first = await newSession();
    await expectRefreshAccepted(t.http, first.refresh);
    await expectRefreshRefused(t.http, first.refresh);
  });

  it('revokes the whole session when a rotated refresh token is presented again', async () => {
    const first = await newSession();
    const second = await expectRefreshAccepted(t.http, first.refresh);
    const newest = await expectRefreshAccepted(t.http, second.refresh);
    const otherLogin = await newSession();

    await expectRefreshRefused(t.http, first.refresh);

    await expectAccessRefused(t.http, newest.access);
    await expectRefreshRefused(t.http, newest.refresh);
    await expectSessionAlive(t.http, otherLogin);
  });

  it('lets exactly one of ten simultaneous uses of one refresh token succeed', async () => {
    const session = await newSession();
    const responses = await Promise.all(Array.from({ length: 10 }, () => refresh(t.http, session.refresh)));
    const statuses = responses.map((res) => res.status);
    expect(
      statuses.filter((status) => status === 200),
      statuses.join(','),
    ).toHaveLength(1);
    expect(
      statuses.filter((status) => status === 401),
      statuses.join(','),
    ).toHaveLength(9);
    for (const res of responses.filter((r) => r.status === 401)) expectUnauthorized(res, true);
  });

  it('refuses the refresh token of a logged-out session', async () => {
    const session = await newSession();
    expect((await logout(t.http, session.access)).status).toBe(200);
    await expectRefreshRefused(t.http, session.refresh);
  });

  it.each([
    ['a garbage string', 'not-a-token'],
    ['an empty string', ''],
  ])('refuses %s as a refresh token with 401', async (_case, token) => {
    expectUnauthorized(await refresh(t.http, token), true);
  });

  it.each([
    ['no refresh field', {}],
    ['a numeric refresh', { refresh: 12345 }],
    ['a null refresh', { refresh: null }],
  ])('refuses a body with %s with 400 naming refresh', async (_case, body) => {
    const res = await t.http.post('/api/token/refresh/').send(body);
    expectProblem(res, 400);
    expect(Object.keys(res.body.errors)).toEqual(['refresh']);
  });

  it('refuses an unknown field with 400 naming it', async () => {
    const session = await newSession();
    const res = await t.http.post('/api/token/refresh/').send({ refresh: session.refresh, access: session.access });
    expectProblem(res, 400);
    expect(Object.keys(res.body.errors)).toEqual(['access']);
  });
});

describe('POST /api/logout/ and /api/logout/all/', () => {
  let t: TestApp;
  let alice: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    t = await startApp();
    alice = await createUser(t.http);
    bob = await createUser(t.http);
  });
  afterAll(() => t.close());

  const sessionOf = (user: TestUser) => login(t.http, user.username, user.password);

  it('answers 200 with the confirmation detail', async () => {
    const session = await sessionOf(alice);
    const res = await logout(t.http, session.access);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({ detail: 'Successfully logged out' });
  });

  it('answers on the path without a trailing slash too', async () => {
    const session = await sessionOf(alice);
    const res = await t.http.post('/api/logout').set(bearer(session.access));
    expect(res.status).toBe(200);
    await expectAccessRefused(t.http, session.access);
  });

  it('revokes the access and refresh tokens of the session when called without a body', async () => {
    const session = await sessionOf(alice);
    const otherSession = await sessionOf(alice);
    expect((await logout(t.http, session.access)).status).toBe(200);
    await expectSessionRevoked(t.http, session);
    await expectSessionAlive(t.http, otherSession);
  });

  it('revokes the session when called with its own refresh token', async () => {
    const session = await sessionOf(alice);
    const otherSession = await sessionOf(alice);
    const res = await logout(t.http, session.access, { refresh: session.refresh });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ detail: 'Successfully logged out' });
    await expectSessionRevoked(t.http, session);
    await expectSessionAlive(t.http, otherSession);
  });

  it('revokes a rotated session: the newest refresh token stops working too', async () => {
    const session = await sessionOf(alice);
    const rotated = await expectRefreshAccepted(t.http, session.refresh);
    expect((await logout(t.http, session.access)).status).toBe(200);
    await expectSessionRevoked(t.http, rotated);
  });

  it('revokes both sessions when given the refresh token of another session of the same user', async () => {
    const current = await sessionOf(alice);
    const other = await sessionOf(alice);
    const untouched = await sessionOf(alice);
    const res = await logout(t.http, current.access, { refresh: other.refresh });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    await expectSessionRevoked(t.http, current);
    await expectSessionRevoked(t.http, other);
    await expectSessionAlive(t.http, untouched);
  });

  it("answers 403 to another user's refresh token and revokes nothing", async () => {
    const aliceSession = await sessionOf(alice);
    const bobSession = await sessionOf(bob);
    const res = await logout(t.http, aliceSession.access, { refresh: bobSession.refresh });
    expectProblem(res, 403);
    await expectSessionAlive(t.http, aliceSession);
    await expectSessionAlive(t.http, bobSession);
  });

  it.each([
    ['a garbage refresh token', () => 'not-a-token'],
    ['an access token in place of the refresh token', (session: Pair) => session.access],
  ])('answers 401 to %s and revokes nothing', async (_case, tokenOf) => {
    const session = await sessionOf(alice);
    const res = await logout(t.http, session.access, { refresh: tokenOf(session) });
    expectUnauthorized(res, true);
    await expectSessionAlive(t.http, session);
  });

  it('answers 400 to a non-string refresh and revokes nothing', async () => {
    const session = await sessionOf(alice);
    const res = await logout(t.http, session.access, { refresh: 42 });
    expectProblem(res, 400);
    expect(Object.keys(res.body.errors)).toEqual(['refresh']);
    await expectSessionAlive(t.http, session);
  });

  it('answers 401 without an access token', async () => {
    expectUnauthorized(await t.http.post('/api/logout/'));
    expectUnauthorized(await t.http.post('/api/logout/all/'));
  });

  it('answers 401 to a refresh token used as the bearer token', async () => {
    const session = await sessionOf(alice);
    expectUnauthorized(await logout(t.http, session.refresh), true);
    expectUnauthorized(await t.http.post('/api/logout/all/').set(bearer(session.refresh)), true);
    await expectSessionAlive(t.http, session);
  });

  it("logout/all revokes every session of the user and no other user's", async () => {
    const carol = await createUser(t.http);
    const sessions = [await sessionOf(carol), await sessionOf(carol)];
    const rotated = await expectRefreshAccepted(t.http, (await sessionOf(carol)).refresh);
    const bobSession = await sessionOf(bob);

    const res = await t.http.post('/api/logout/all/').set(bearer(carol.access));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(typeof res.body.detail).toBe('string');

    await expectSessionRevoked(t.http, { access: carol.access, refresh: carol.refresh });
    for (const session of [...sessions, rotated]) await expectSessionRevoked(t.http, session);
    await expectSessionAlive(t.http, bobSession);
  });

  it('logout/all answers on the path without a trailing slash too', async () => {
    const dave = await createUser(t.http);
    const res = await t.http.post('/api/logout/all').set(bearer(dave.access));
    expect(res.status).toBe(200);
    await expectAccessRefused(t.http, dave.access);
  });

  it('lets the user log in again after logout/all', async () => {
    const erin = await createUser(t.http);
    expect((await t.http.post('/api/logout/all/').set(bearer(erin.access))).status).toBe(200);
    await expectSessionAlive(t.http, await sessionOf(erin));
  });
});

describe('revocations across a restart', () => {
  let folder: string | undefined;
  let databaseUrl: string | undefined;

  beforeAll(() => {
    if (isMysql()) return;
    folder = mkdtempSync(join(tmpdir(), 'auth-restart-'));
    databaseUrl = `sqlite:${join(folder, 'events.sqlite')}`;
  });
  afterAll(() => {
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  /** The same database in every app: a file on SQLite, the run's database on MariaDB. */
  const boot = () => startApp(databaseUrl ? { DATABASE_URL: databaseUrl } : {});

  it('keeps logged-out sessions and retired refresh tokens revoked after a restart', async () => {
    const first = await boot();
    let user: TestUser;
    let loggedOut: Pair;
    let usedRefresh: string;
    let rotated: Pair;
    let untouched: Pair;
    try {
      user = await createUser(first.http);
      loggedOut = await login(first.http, user.username, user.password);
      const toRotate = await login(first.http, user.username, user.password);
      untouched = await login(first.http, user.username, user.password);
      expect((await logout(first.http, loggedOut.access)).status).toBe(200);
      usedRefresh = toRotate.refresh;
      rotated = await expectRefreshAccepted(first.http, usedRefresh);
    } finally {
      await first.close();
    }

    const second = await boot();
    try {
      await expectSessionRevoked(second.http, loggedOut);
      await expectSessionAlive(second.http, untouched);
      await expectAccessAccepted(second.http, rotated.access);
      await expectRefreshRefused(second.http, usedRefresh);
      await expectSessionRevoked(second.http, rotated);
    } finally {
      await second.close();
    }
  });

  it('keeps every session ended by logout/all revoked after a restart', async () => {
    const first = await boot();
    let sessions: Pair[];
    let other: Pair;
    try {
      const user = await createUser(first.http);
      const bystander = await createUser(first.http);
      sessions = [
        { access: user.access, refresh: user.refresh },
        await login(first.http, user.username, user.password),
      ];
      other = { access: bystander.access, refresh: bystander.refresh };
      expect((await first.http.post('/api/logout/all/').set(bearer(user.access))).status).toBe(200);
    } finally {
      await first.close();
    }

    const second = await boot();
    try {
      for (const session of sessions) await expectSessionRevoked(second.http, session);
      await expectSessionAlive(second.http, other);
    } finally {
      await second.close();
    }
  });
});

/**
 * passport keeps one strategy registry per process, so while both apps run, every access token is
 * checked by the strategy of the app started last (`two`), against `two`'s own database connection.
 * Writing through `one` and checking through `two` therefore crosses instances both for access
 * tokens and for refresh tokens (which each app's own AuthService checks).
 */
describe('revocations across two instances running at once', () => {
  let folder: string | undefined;
  let one: TestApp;
  let two: TestApp;

  beforeAll(async () => {
    let env = {};
    if (!isMysql()) {
      folder = mkdtempSync(join(tmpdir(), 'auth-instances-'));
      env = { DATABASE_URL: `sqlite:${join(folder, 'events.sqlite')}` };
    }
    one = await startApp(env);
    two = await startApp(env);
  });
  afterAll(async () => {
    await one?.close();
    await two?.close();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it('refuses on one instance the tokens of a session logged out through the other', async () => {
    const user = await createUser(one.http);
    const other = await login(two.http, user.username, user.password);
    await expectAccessAccepted(two.http, user.access);
    expect((await logout(one.http, user.access)).status).toBe(200);
    await expectSessionRevoked(two.http, user);
    await expectSessionAlive(two.http, other);
  });

  it('detects on one instance the reuse of a refresh token rotated on the other', async () => {
    const user = await createUser(two.http);
    const rotated = await expectRefreshAccepted(one.http, user.refresh);
    await expectRefreshRefused(two.http, user.refresh);
    await expectSessionRevoked(one.http, rotated);
  });

  it('refuses on one instance every session ended by logout/all on the other', async () => {
    const user = await createUser(two.http);
    const second = await login(one.http, user.username, user.password);
    expect((await one.http.post('/api/logout/all/').set(bearer(second.access))).status).toBe(200);
    await expectSessionRevoked(two.http, user);
    await expectSessionRevoked(two.http, second);
  });
});

describe('purge of expired revocations', () => {
  let t: TestApp;
  let isolatedDatabase: { name: string; admin: Connection } | undefined;

  beforeAll(async () => {
    // Purging "three days from now" deletes every revocation in the database: on MariaDB, where the
    // run's suites share one database, it gets a database of its own so it cannot touch theirs.
    if (!isMysql()) {
      t = await startApp();
      return;
    }
    const url = new URL(inject('databaseUrl'));
    const name = `${url.pathname.slice(1)}_purge`;
    const admin = await mysql.createConnection({
      host: url.hostname,
      port: Number(url.port || 3306),
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
    });
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    isolatedDatabase = { name, admin };
    url.pathname = `/${name}`;
    t = await startApp({ DATABASE_URL: url.toString() });
  });
  afterAll(async () => {
    await t?.close();
    if (isolatedDatabase) {
      await isolatedDatabase.admin.query(`DROP DATABASE IF EXISTS \`${isolatedDatabase.name}\``);
      await isolatedDatabase.admin.end();
    }
  });

  const revocationRows = (ids: string[]) =>
    t.app
      .get(DataSource)
      .getRepository(RevokedToken)
      .findBy({ id: In(ids) });

  it('deletes revocations and sessions once their tokens would have expired anyway', async () => {
    const user = await createUser(t.http);
    const rotatedFrom = await login(t.http, user.username, user.password);
    await expectRefreshAccepted(t.http, rotatedFrom.refresh);
    expect((await logout(t.http, user.access)).status).toBe(200);
    const ids = [claimsOf(user.access).sid, claimsOf(rotatedFrom.refresh).jti];
    expect((await revocationRows(ids)).map((row) => row.id).sort()).toEqual([...ids].sort());

    const purged = await t.app.get(RevocationsService).purgeExpired(new Date(Date.now() + 3 * DAY_MS));

    expect(purged.revocations).toBeGreaterThanOrEqual(2);
    expect(await revocationRows(ids)).toEqual([]);
    const sessions = await t.app
      .get(DataSource)
      .getRepository(LoginSession)
      .findBy({ id: In([claimsOf(user.access).sid, claimsOf(rotatedFrom.access).sid]) });
    expect(sessions).toEqual([]);
  });

  it('keeps live revocations when purging at the current time', async () => {
    const user = await createUser(t.http);
    const rotatedFrom = await login(t.http, user.username, user.password);
    await expectRefreshAccepted(t.http, rotatedFrom.refresh);
    expect((await logout(t.http, user.access)).status).toBe(200);

    await t.app.get(RevocationsService).purgeExpired(new Date());

    const ids = [claimsOf(user.access).sid, claimsOf(rotatedFrom.refresh).jti];
    expect((await revocationRows(ids)).map((row) => row.id).sort()).toEqual([...ids].sort());
    await expectSessionRevoked(t.http, user);
    await expectRefreshRefused(t.http, rotatedFrom.refresh);
  });
});

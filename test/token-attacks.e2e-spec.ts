import { randomBytes, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createUser, login, type TestUser } from './support/fixtures.js';
import { startApp, TEST_JWT_AUDIENCE, TEST_JWT_ISSUER, TEST_JWT_SECRET, type TestApp } from './support/test-app.js';

type Claims = Record<string, unknown>;

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Every claim the API requires, for an access token of `user` in a fresh session. */
function accessClaims(user: { id: number; username: string }, overrides: Claims = {}): Claims {
  const now = Math.floor(Date.now() / 1000);
  return {
    token_type: 'access',
    user_id: user.id,
    sub: String(user.id),
    username: user.username,
    sid: randomUUID(),
    jti: randomUUID(),
    iat: now,
    exp: now + 300,
    iss: TEST_JWT_ISSUER,
    aud: TEST_JWT_AUDIENCE,
    ...overrides,
  };
}

function without(claims: Claims, name: string): Claims {
  const { [name]: _removed, ...rest } = claims;
  return rest;
}

/** Signs exactly these claims: jsonwebtoken keeps a given `iat` and, told so, adds none when it is missing. */
function sign(claims: Claims, secret: string = TEST_JWT_SECRET, algorithm: jwt.Algorithm = 'HS256'): string {
  return jwt.sign(claims, secret, { algorithm, noTimestamp: !('iat' in claims) });
}

function unsigned(claims: Claims, alg = 'none'): string {
  return `${base64url({ alg, typ: 'JWT' })}.${base64url(claims)}.`;
}

/** Replaces the payload of a signed token, keeping its header and signature. */
function withPayload(token: string, claims: Claims): string {
  const [header, , signature] = token.split('.');
  return `${header}.${base64url(claims)}.${signature}`;
}

function expectInvalidToken(res: Response): void {
  expect(res.status, JSON.stringify(res.body)).toBe(401);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status: 401, detail: expect.any(String) });
  expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
  expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
}

describe('forged and misused tokens on GET /api/me/', () => {
  let t: TestApp;
  let user: TestUser;
  let victim: TestUser;

  beforeAll(async () => {
    t = await startApp();
    user = await createUser(t.http);
    victim = await createUser(t.http);
  });
  afterAll(() => t.close());

  const me = (token: string) => t.http.get('/api/me/').set(bearer(token));

  it('accepts a correctly forged token carrying every required claim (the baseline the attacks below vary)', async () => {
    const res = await me(sign(accessClaims(user)));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ id: user.id, username: user.username });
  });

  it('accepts a correctly forged token that names its issuer and audience through jsonwebtoken options', async () => {
    const claims = without(without(accessClaims(user), 'iss'), 'aud');
    const token = jwt.sign(claims, TEST_JWT_SECRET, {
      algorithm: 'HS256',
      issuer: TEST_JWT_ISSUER,
      audience: TEST_JWT_AUDIENCE,
    });
    expect((await me(token)).status).toBe(200);
  });

  const now = () => Math.floor(Date.now() / 1000);

  it.each<[string, (u: TestUser) => string]>([
    ['an alg none token with an empty signature', (u) => unsigned(accessClaims(u))],
    ['an alg None (mixed case) token with an empty signature', (u) => unsigned(accessClaims(u), 'None')],
    ['a token signed with a wrong key', (u) => sign(accessClaims(u), randomBytes(32).toString('hex'))],
    [
      'a token signed HS512 with the right secret (the algorithm is pinned)',
      (u) => sign(accessClaims(u), TEST_JWT_SECRET, 'HS512'),
    ],
    [
      'a token signed HS384 with the right secret (the algorithm is pinned)',
      (u) => sign(accessClaims(u), TEST_JWT_SECRET, 'HS384'),
    ],
    ['an expired token', (u) => sign(accessClaims(u, { iat: now() - 600, exp: now() - 60 }))],
    ['a token not valid before a future time', (u) => sign(accessClaims(u, { nbf: now() + 3600 }))],
    ['a token with a wrong iss', (u) => sign(accessClaims(u, { iss: 'someone-else' }))],
    ['a token with a wrong aud', (u) => sign(accessClaims(u, { aud: 'another-api' }))],
    ['a token without iss', (u) => sign(without(accessClaims(u), 'iss'))],
    ['a token without aud', (u) => sign(without(accessClaims(u), 'aud'))],
    ['a token without exp', (u) => sign(without(accessClaims(u), 'exp'))],
    ['a token without iat', (u) => sign(without(accessClaims(u), 'iat'))],
    ['a token without jti', (u) => sign(without(accessClaims(u), 'jti'))],
    ['a token without sid', (u) => sign(without(accessClaims(u), 'sid'))],
    ['a token without token_type', (u) => sign(without(accessClaims(u), 'token_type'))],
    ['a token without user_id', (u) => sign(without(accessClaims(u), 'user_id'))],
    ['a token without username', (u) => sign(without(accessClaims(u), 'username'))],
    ['a forged token of token_type refresh', (u) => sign(accessClaims(u, { token_type: 'refresh' }))],
    ['a token with an unknown token_type', (u) => sign(accessClaims(u, { token_type: 'admin' }))],
    ['a token whose sub is not its user_id', (u) => sign(accessClaims(u, { sub: String(u.id + 1) }))],
    ['a token whose user_id is a string', (u) => sign(accessClaims(u, { user_id: String(u.id) }))],
    ['a token whose sid is not a UUID', (u) => sign(accessClaims(u, { sid: 'session-1' }))],
    ['a token whose jti is not a UUID', (u) => sign(accessClaims(u, { jti: '1' }))],
  ])('refuses %s with 401 invalid_token', async (_case, forge) => {
    expectInvalidToken(await me(forge(user)));
  });

  it("refuses a token whose payload was changed to another user's id, keeping the signature", async () => {
    const original = sign(accessClaims(user));
    expect((await me(original)).status).toBe(200);
    const claims = jwt.decode(original) as Claims;
    const tampered = withPayload(original, { ...claims, user_id: victim.id, sub: String(victim.id) });
    expectInvalidToken(await me(tampered));
  });

  it('refuses a real access token whose user_id or exp was changed, keeping the signature', async () => {
    const session = await login(t.http, user.username, user.password);
    const claims = jwt.decode(session.access) as Claims;
    expectInvalidToken(await me(withPayload(session.access, { ...claims, user_id: victim.id })));
    expectInvalidToken(await me(withPayload(session.access, { ...claims, exp: now() + 86_400 })));
  });

  it('refuses a real token re-signed as alg none', async () => {
    const session = await login(t.http, user.username, user.password);
    expectInvalidToken(await me(unsigned(jwt.decode(session.access) as Claims)));
  });

  it('refuses a correctly signed token for a user that does not exist', async () => {
    expectInvalidToken(await me(sign(accessClaims({ id: 2_147_483_000, username: 'ghost' }))));
  });

  it('refuses a refresh token used as an access token', async () => {
    const session = await login(t.http, user.username, user.password);
    expectInvalidToken(await me(session.refresh));
  });

  it.each([
    ['a garbage string', 'garbage'],
    ['three dots of nothing', '..'],
    [
      'random base64url segments',
      `${randomBytes(12).toString('base64url')}.${randomBytes(24).toString('base64url')}.x`,
    ],
  ])('refuses %s as a bearer token', async (_case, token) => {
    expectInvalidToken(await me(token));
  });

  it('answers Authorization: Basic with 401 and a Bearer challenge carrying no error code', async () => {
    const res = await t.http
      .get('/api/me/')
      .set('Authorization', `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`);
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer( |$)/);
    // RFC 6750 §3.1: a request with an unsupported scheme carries no authentication, so no error code.
    expect(res.headers['www-authenticate']).not.toContain('error=');
  });

  it('refuses an access token after its session logged out', async () => {
    const session = await login(t.http, user.username, user.password);
    expect((await me(session.access)).status).toBe(200);
    expect((await t.http.post('/api/logout/').set(bearer(session.access))).status).toBe(200);
    expectInvalidToken(await me(session.access));
  });

  it('refuses a forged token whose session was logged out, though its jti is new', async () => {
    const session = await login(t.http, user.username, user.password);
    expect((await t.http.post('/api/logout/').set(bearer(session.access))).status).toBe(200);
    const sid = (jwt.decode(session.access) as Claims).sid;
    expectInvalidToken(await me(sign(accessClaims(user, { sid }))));
  });
});

describe('forged and misused tokens on POST /api/token/refresh/', () => {
  let t: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    t = await startApp();
    user = await createUser(t.http);
  });
  afterAll(() => t.close());

  const refresh = (token: string) => t.http.post('/api/token/refresh/').send({ refresh: token });

  /** Refresh claims for a real login session of `user`: a forgery of them is otherwise indistinguishable. */
  async function refreshClaims(overrides: Claims = {}): Promise<Claims> {
    const session = await login(t.http, user.username, user.password);
    const now = Math.floor(Date.now() / 1000);
    return accessClaims(user, {
      token_type: 'refresh',
      sid: (jwt.decode(session.refresh) as Claims).sid,
      exp: now + 86_400,
      ...overrides,
    });
  }

  it('accepts a correctly forged refresh token of a live session (the baseline the attacks below vary)', async () => {
    const res = await refresh(sign(await refreshClaims()));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['access', 'refresh']);
  });

  it('refuses an access token used as a refresh token', async () => {
    const session = await login(t.http, user.username, user.password);
    expectInvalidToken(await refresh(session.access));
  });

  it('refuses a reused rotated refresh token', async () => {
    const session = await login(t.http, user.username, user.password);
    expect((await refresh(session.refresh)).status).toBe(200);
    expectInvalidToken(await refresh(session.refresh));
  });

  it('refuses the refresh token of a logged-out session', async () => {
    const session = await login(t.http, user.username, user.password);
    expect((await t.http.post('/api/logout/').set(bearer(session.access))).status).toBe(200);
    expectInvalidToken(await refresh(session.refresh));
  });

  it('refuses a forged refresh token for a session that never existed', async () => {
    expectInvalidToken(await refresh(sign(accessClaims(user, { token_type: 'refresh' }))));
  });

  it.each<[string, (claims: Claims) => string]>([
    ['alg none', (claims) => unsigned(claims)],
    ['a wrong key', (claims) => sign(claims, randomBytes(32).toString('hex'))],
    ['HS512 with the right secret', (claims) => sign(claims, TEST_JWT_SECRET, 'HS512')],
    [
      'an expired token',
      (claims) => sign({ ...claims, iat: Number(claims.iat) - 90_000, exp: Number(claims.iat) - 60 }),
    ],
    ['a wrong iss', (claims) => sign({ ...claims, iss: 'someone-else' })],
    ['a wrong aud', (claims) => sign({ ...claims, aud: 'another-api' })],
    ['no exp claim', (claims) => sign(without(claims, 'exp'))],
    ['no jti claim', (claims) => sign(without(claims, 'jti'))],
    ['no sid claim', (claims) => sign(without(claims, 'sid'))],
    ['no token_type claim', (claims) => sign(without(claims, 'token_type'))],
  ])('refuses a refresh token with %s', async (_case, forge) => {
    expectInvalidToken(await refresh(forge(await refreshClaims())));
  });
});

import { randomBytes } from 'node:crypto';
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createUser, login, unique, expectProblem } from './support/fixtures.js';
import { startApp, type TestApp } from './support/test-app.js';

const PASSWORD = 'correct horse battery';
const ISO_MILLISECONDS_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A valid registration body whose username and email no other test uses. */
function registration(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const username = unique();
  return { username, email: `${username}@example.com`, password: PASSWORD, ...overrides };
}

/** A short username (3 characters) that another test is very unlikely to pick. */
function shortUsername(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return [...randomBytes(3)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

/** An email of exactly `length` characters (a 64-character local part, labels of at most 63), unique per call. */
function emailOfLength(length: number): string {
  const local = `${unique('mail')}${'l'.repeat(64)}`.slice(0, 64);
  const labels: string[] = [];
  let remaining = length - local.length - '@'.length - '.com'.length;
  while (remaining > 0) {
    const size = remaining <= 63 ? remaining : remaining >= 65 ? 63 : remaining - 2;
    labels.push('d'.repeat(size));
    remaining -= size + 1;
  }
  const email = `${local}@${labels.join('.')}.com`;
  expect(email).toHaveLength(length);
  return email;
}

/** A 400 problem whose `errors` names exactly these fields. */
function expectInvalidFields(res: Response, fields: string[]): void {
  expectProblem(res, 400);
  expect(Object.keys(res.body.errors ?? {}).sort()).toEqual([...fields].sort());
  for (const field of fields) {
    expect(res.body.errors[field].length).toBeGreaterThan(0);
    for (const message of res.body.errors[field]) expect(typeof message).toBe('string');
  }
}

function expectNoPasswordLeak(res: Response, password: string): void {
  const text = res.text ?? '';
  expect(text).not.toContain('$argon2');
  expect(text).not.toContain(password);
  expect(text).not.toMatch(/password/i);
}

describe('POST /api/register/', () => {
  let t: TestApp;
  const register = (body: unknown) => t.http.post('/api/register/').send(body as object);

  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it('creates a user and answers 201 with exactly id, username and email', async () => {
    const body = registration();
    const res = await register(body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(Object.keys(res.body).sort()).toEqual(['email', 'id', 'username']);
    expect(res.body).toEqual({ id: expect.any(Number), username: body.username, email: body.email });
    expect(Number.isInteger(res.body.id) && res.body.id > 0).toBe(true);
  });

  it('never returns the password or its hash', async () => {
    const password = `S3cret-${unique('pw')}`;
    const res = await register(registration({ password }));
    expect(res.status).toBe(201);
    expectNoPasswordLeak(res, password);
  });

  it('answers on the path without a trailing slash too', async () => {
    const body = registration();
    const res = await t.http.post('/api/register').send(body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.username).toBe(body.username);
  });

  it('lets the new user log in with the password given', async () => {
    const body = registration();
    expect((await register(body)).status).toBe(201);
    const tokens = await login(t.http, body.username as string, PASSWORD);
    const me = await t.http.get('/api/me/').set(bearer(tokens.access));
    expect(me.status).toBe(200);
    expect(me.body.username).toBe(body.username);
  });

  describe('username', () => {
    it('keeps the letter case the user typed', async () => {
      const username = `MixedCase_${unique('U')}`;
      const res = await register(registration({ username, email: `${unique()}@example.com` }));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.username).toBe(username);
    });

    it('accepts a username of exactly 3 characters', async () => {
      const res = await register(registration({ username: shortUsername() }));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    });

    it('accepts a username of exactly 150 characters', async () => {
      const username = unique().padEnd(150, 'x');
      const res = await register(registration({ username, email: `${unique()}@example.com` }));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.username).toBe(username);
    });

    it('accepts each of the characters @ . + - _ in a username', async () => {
      const username = `a@b.c+d-e_${unique('f')}`;
      const res = await register(registration({ username, email: `${unique()}@example.com` }));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.username).toBe(username);
    });

    it.each([
      ['accented Latin', 'José_Ñúñez'],
      ['Greek', 'Ελένη'],
      ['Cyrillic', 'Дмитрий'],
      ['CJK', '山田太郎'],
      ['Arabic', 'محمد'],
    ])('accepts unicode letters (%s) in a username', async (_script, letters) => {
      const username = `${letters}_${unique('u')}`;
      const res = await register(registration({ username, email: `${unique()}@example.com` }));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.username).toBe(username);
    });

    it('accepts a 150-letter username whose lower-case form is longer (Turkish dotted İ)', async () => {
      // 'İ'.toLowerCase() is two UTF-16 code units ('i' and a combining dot), so the case-folded key doubles in length.
      const username = `${unique('u')}${'İ'.repeat(150)}`.slice(0, 150);
      const res = await register(registration({ username, email: `${unique()}@example.com` }));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.username).toBe(username);
    });

    it.each([
      ['shorter than 3 characters', 'ab'],
      ['empty', ''],
      ['longer than 150 characters', 'u'.repeat(151)],
      ['containing a space', 'john doe'],
      ['containing !', 'john!'],
      ['containing #', 'john#doe'],
      ['containing a slash', 'john/doe'],
      ['containing a quote', "o'brien"],
      ['containing an emoji', 'john😀doe'],
      ['with surrounding spaces', '  johndoe  '],
    ])('refuses a username %s with 400 naming username', async (_case, username) => {
      const res = await register(registration({ username }));
      expectInvalidFields(res, ['username']);
    });
  });

  describe('email', () => {
    it('stores the email trimmed and lower-cased', async () => {
      const username = unique();
      const res = await register(registration({ username, email: `  ${username.toUpperCase()}@Example.COM  ` }));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.email).toBe(`${username}@example.com`);
      const tokens = await login(t.http, username, PASSWORD);
      const me = await t.http.get('/api/me/').set(bearer(tokens.access));
      expect(me.body.email).toBe(`${username}@example.com`);
    });

    it('accepts an email of exactly 254 characters', async () => {
      const email = emailOfLength(254);
      const res = await register(registration({ email }));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.email).toBe(email);
    });

    it('refuses an email of 255 characters with 400 naming email', async () => {
      const res = await register(registration({ email: emailOfLength(255) }));
      expectInvalidFields(res, ['email']);
    });

    it('refuses an email whose lower-cased form is longer than 254 characters', async () => {
      // 'İ'.toLowerCase() is two UTF-16 code units: 254 characters as sent, 314 once lower-cased.
      const local = `${unique('mail')}${'l'.repeat(64)}`.slice(0, 64);
      const email = `${local}@${'İ'.repeat(60)}.${'b'.repeat(63)}.${'c'.repeat(60)}.com`;
      expect(email).toHaveLength(254);
      const res = await register(registration({ email }));
      expectInvalidFields(res, ['email']);
    });

    it.each([
      ['without an @', 'not-an-email'],
      ['without a domain', 'someone@'],
      ['without a local part', '@example.com'],
      ['with two @', 'some@one@example.com'],
      ['with a space inside', 'some one@example.com'],
      ['without a top-level domain', 'someone@localhost'],
      ['empty', ''],
      ['made of spaces only', '   '],
    ])('refuses an email %s with 400 naming email', async (_case, email) => {
      const res = await register(registration({ email }));
      expectInvalidFields(res, ['email']);
    });
  });

  describe('password', () => {
    it('accepts a password of exactly 8 characters', async () => {
      const res = await register(registration({ password: 'abcd1234' }));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    });

    it('accepts a password of exactly 128 characters', async () => {
      const body = registration({ password: 'p4ss'.repeat(32) });
      const res = await register(body);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      await login(t.http, body.username as string, 'p4ss'.repeat(32));
    });

    it.each([
      ['shorter than 8 characters', 'abc1234'],
      ['longer than 128 characters', 'p'.repeat(129)],
      ['made only of digits', '12345678901'],
      ['empty', ''],
    ])('refuses a password %s with 400 naming password', async (_case, password) => {
      const res = await register(registration({ password }));
      expectInvalidFields(res, ['password']);
    });

    it('refuses a password equal to the username with 400 naming password', async () => {
      const username = unique();
      const res = await register(registration({ username, password: username }));
      expectInvalidFields(res, ['password']);
    });

    it('refuses a password equal to the username in another letter case', async () => {
      const username = `Mixed_${unique()}`;
      for (const password of [username.toUpperCase(), username.toLowerCase()]) {
        const res = await register(registration({ username, password }));
        expectInvalidFields(res, ['password']);
      }
    });

    it('refuses a password equal to a Greek username written in capitals', async () => {
      const username = `νίκος.gr${randomBytes(4).toString('hex')}`;
      const res = await register(registration({ username, password: username.toUpperCase() }));
      expectInvalidFields(res, ['password']);
    });
  });

  describe('request shape', () => {
    it('names every missing field at once', async () => {
      const res = await register({});
      expectInvalidFields(res, ['email', 'password', 'username']);
    });

    it('names every bad field at once', async () => {
      const res = await register({ username: 'a b', email: 'nope', password: '123' });
      expectInvalidFields(res, ['email', 'password', 'username']);
    });

    it('names only the bad fields when the others are valid', async () => {
      const res = await register(registration({ email: 'nope', password: '1234567890' }));
      expectInvalidFields(res, ['email', 'password']);
    });

    it('refuses unknown fields with 400 naming each of them', async () => {
      const res = await register(registration({ is_admin: true, first_name: 'Eve' }));
      expectProblem(res, 400);
      expect(Object.keys(res.body.errors)).toEqual(expect.arrayContaining(['is_admin', 'first_name']));
      expect(res.body.errors).not.toHaveProperty('username');
    });

    it.each([
      ['username as a number', { username: 12345678 }, 'username'],
      ['username as an array', { username: ['alice'] }, 'username'],
      ['username as null', { username: null }, 'username'],
      ['email as a number', { email: 42 }, 'email'],
      ['email as an object', { email: { address: 'a@example.com' } }, 'email'],
      ['email as a boolean', { email: true }, 'email'],
      ['password as a number', { password: 1234567890 }, 'password'],
      ['password as null', { password: null }, 'password'],
    ])('refuses %s with 400 naming the field', async (_case, override, field) => {
      const res = await register(registration(override));
      expectInvalidFields(res, [field]);
    });

    it.each([
      ['a JSON array', [registration()]],
      ['a JSON string', 'alice'],
    ])('refuses a body that is %s with 400', async (_case, body) => {
      const res = await t.http
        .post('/api/register/')
        .set('Content-Type', 'application/json')
        .send(JSON.stringify(body));
      expectProblem(res, 400);
    });

    it('refuses malformed JSON with a 400 problem', async () => {
      const res = await t.http
        .post('/api/register/')
        .set('Content-Type', 'application/json')
        .send('{"username": "alice",');
      expectProblem(res, 400);
    });

    it.each([
      [
        'application/x-www-form-urlencoded',
        (body: Record<string, unknown>) => new URLSearchParams(body as never).toString(),
      ],
      ['text/plain', (body: Record<string, unknown>) => JSON.stringify(body)],
    ])('refuses a %s body with 415, even when it encodes a valid registration', async (contentType, encode) => {
      const res = await t.http.post('/api/register/').set('Content-Type', contentType).send(encode(registration()));
      expectProblem(res, 415);
    });
  });

  describe('duplicates', () => {
    it('answers 409 naming username for a username taken in another letter case', async () => {
      const taken = registration({ username: `Taken_${unique()}` });
      expect((await register(taken)).status).toBe(201);
      const res = await register(
        registration({ username: (taken.username as string).toUpperCase(), email: `${unique()}@example.com` }),
      );
      expectProblem(res, 409);
      expect(Object.keys(res.body.errors)).toEqual(['username']);
    });

    it('answers 409 naming email for an email taken in another letter case', async () => {
      const taken = registration();
      expect((await register(taken)).status).toBe(201);
      const res = await register(registration({ email: (taken.email as string).toUpperCase() }));
      expectProblem(res, 409);
      expect(Object.keys(res.body.errors)).toEqual(['email']);
    });

    it('answers 409 naming email for an internationalised email taken in another letter case', async () => {
      const email = `${unique('mail')}@νίκος.gr${randomBytes(3).toString('hex')}.com`;
      expect((await register(registration({ email }))).status).toBe(201);
      const res = await register(registration({ email: email.toUpperCase() }));
      expectProblem(res, 409);
      expect(Object.keys(res.body.errors)).toEqual(['email']);
    });

    it('answers 409 naming both fields when username and email are both taken', async () => {
      const taken = registration();
      expect((await register(taken)).status).toBe(201);
      const res = await register({
        username: (taken.username as string).toUpperCase(),
        email: ` ${(taken.email as string).toUpperCase()} `,
        password: 'another password',
      });
      expectProblem(res, 409);
      expect(Object.keys(res.body.errors).sort()).toEqual(['email', 'username']);
    });

    it('answers 409 naming username for a Greek username taken in another letter case', async () => {
      // Σ lower-cases to ς or σ depending on what follows it, so a naive toLowerCase() is not a case-insensitive key.
      const username = `νίκος.gr${randomBytes(4).toString('hex')}`;
      expect((await register(registration({ username }))).status).toBe(201);
      const res = await register(registration({ username: username.toUpperCase() }));
      expectProblem(res, 409);
      expect(Object.keys(res.body.errors)).toEqual(['username']);
    });

    it('lets one of two simultaneous registrations of a username win and answers 409 to the other', async () => {
      const username = unique();
      const responses = await Promise.all(
        [1, 2].map((n) => register(registration({ username, email: `${username}_${n}@example.com` }))),
      );
      expect(responses.map((res) => res.status).sort()).toEqual([201, 409]);
      const loser = responses.find((res) => res.status === 409)!;
      expectProblem(loser, 409);
      expect(Object.keys(loser.body.errors)).toEqual(['username']);
    });

    it('does not return the password hash in a 409', async () => {
      const taken = registration();
      expect((await register(taken)).status).toBe(201);
      const res = await register(taken);
      expect(res.status).toBe(409);
      expectNoPasswordLeak(res, PASSWORD);
    });
  });
});

describe('GET /api/me/', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it('returns id, username, email and date_joined of the caller', async () => {
    const before = Date.now();
    const user = await createUser(t.http);
    const after = Date.now();
    const res = await t.http.get('/api/me/').set(bearer(user.access));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(Object.keys(res.body).sort()).toEqual(['date_joined', 'email', 'id', 'username']);
    expect(res.body).toMatchObject({ id: user.id, username: user.username, email: user.email });
    expectNoPasswordLeak(res, user.password);
    expect(res.body.date_joined).toMatch(ISO_MILLISECONDS_UTC);
    const joined = Date.parse(res.body.date_joined);
    expect(joined).toBeGreaterThanOrEqual(before - 1000);
    expect(joined).toBeLessThanOrEqual(after + 1000);
  });

  it('answers on the path without a trailing slash too', async () => {
    const user = await createUser(t.http);
    const res = await t.http.get('/api/me').set(bearer(user.access));
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(user.id);
  });

  it('accepts the bearer scheme in any letter case', async () => {
    const user = await createUser(t.http);
    for (const scheme of ['bearer', 'BEARER']) {
      const res = await t.http.get('/api/me/').set('Authorization', `${scheme} ${user.access}`);
      expect(res.status, scheme).toBe(200);
    }
  });

  it('answers each user with their own account', async () => {
    const [alice, bob] = [await createUser(t.http), await createUser(t.http)];
    const [aliceMe, bobMe] = [
      await t.http.get('/api/me/').set(bearer(alice.access)),
      await t.http.get('/api/me/').set(bearer(bob.access)),
    ];
    expect(aliceMe.body.id).toBe(alice.id);
    expect(bobMe.body.id).toBe(bob.id);
  });

  it.each(['/api/me/', '/api/me'])('answers %s without a token with 401 and a Bearer challenge', async (path) => {
    const res = await t.http.get(path);
    expectProblem(res, 401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer( |$)/);
  });

  it('answers 401 with an invalid_token challenge for a malformed token', async () => {
    const res = await t.http.get('/api/me/').set(bearer('not-a-jwt'));
    expectProblem(res, 401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
    expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
  });
});

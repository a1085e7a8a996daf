import { randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RequestMethod } from '@nestjs/common';
import { INTERCEPTORS_METADATA, METHOD_METADATA } from '@nestjs/common/constants.js';
import { ModulesContainer } from '@nestjs/core';
import { IdempotencyInterceptor } from '../src/common/idempotency/idempotency.interceptor.js';
import { IdempotencyStore } from '../src/common/idempotency/idempotency.store.js';
import { toSqlDateTime } from '../src/database/sql.js';
import { EventsService } from '../src/events/events.service.js';
import {
  bearer,
  createEvent,
  createUser,
  eventBody,
  expectProblem,
  type TestUser,
  unique,
} from './support/fixtures.js';
import { startApp, type TestApp } from './support/test-app.js';

/**
 * API.md, "Beyond the seed": `Idempotency-Key` on any POST, PUT, PATCH or
 * DELETE. The app runs with the rate limits on (generous, but one failed
 * login locks an account for 3 s, to provoke a 429 inside a handler), a
 * 2-second request deadline, and 127.0.0.1 as a trusted proxy so that each
 * anonymous test picks its own client address with X-Forwarded-For.
 */

const REPLAYED = 'idempotent-replayed';
const DAY_MS = 24 * 60 * 60 * 1000;

/** An RFC 5737 address nobody else in this run uses. */
let nextAddress = 1;
const address = () => `198.51.100.${nextAddress++}`;

async function until<T>(what: string, attempt: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await attempt();
    if (result !== undefined) return result;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function expectOriginal(res: Response, status: number): void {
  expect(res.status, res.text).toBe(status);
  expect(res.headers[REPLAYED]).toBeUndefined();
}

/** The same status, content type and bytes as the original answer, marked as a replay. */
function expectReplayOf(res: Response, original: Response): void {
  expect(res.status, res.text).toBe(original.status);
  expect(res.headers[REPLAYED]).toBe('true');
  expect(res.headers['content-type']).toBe(original.headers['content-type']);
  expect(res.text).toBe(original.text);
}

describe('Idempotency-Key', () => {
  let t: TestApp;
  let db: DataSource;
  let alice: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    t = await startApp({
      RATE_LIMIT: 'on',
      RATE_LIMIT_DEFAULT: '100000/1m',
      RATE_LIMIT_LOGIN: '100000/1m',
      RATE_LIMIT_SIGNUP: '100000/1h',
      RATE_LIMIT_EVENT_REGISTRATION: '100000/1m',
      RATE_LIMIT_FAILED_LOGINS: '1/3s',
      REQUEST_TIMEOUT: '2s',
      TRUSTED_PROXIES: '127.0.0.1,::1',
    });
    db = t.app.get(DataSource);
    [alice, bob] = await Promise.all([createUser(t.http), createUser(t.http)]);
  });
  afterAll(() => t?.close());
  afterEach(() => vi.restoreAllMocks());

  const countEvents = async (title: unknown) =>
    Number((await db.query('SELECT COUNT(*) AS n FROM events WHERE title = ?', [title]))[0].n);

  const createWithKey = (user: TestUser, key: string, body: Record<string, unknown> | string, path = '/api/events/') =>
    t.http.post(path).set(bearer(user.access)).set('Idempotency-Key', key).type('application/json').send(body);

  /** The newest key row of a caller, to age it as time would. */
  async function newestRowOf(scope: string): Promise<number> {
    const rows = await db.query('SELECT id FROM idempotency_keys WHERE scope = ? ORDER BY id DESC LIMIT 1', [scope]);
    expect(rows.length, `no idempotency key stored for ${scope}`).toBe(1);
    return Number(rows[0].id);
  }

  async function age(id: number, by: number): Promise<void> {
    const created = new Date(Date.now() - by);
    await db.query('UPDATE idempotency_keys SET created_at = ?, expires_at = ? WHERE id = ?', [
      toSqlDateTime(created),
      toSqlDateTime(new Date(created.getTime() + DAY_MS)),
      id,
    ]);
  }

  describe('replays', () => {
    it('replays the creation of an event: same 201, same body and id, and one event', async () => {
      const key = randomUUID();
      const body = eventBody();
      const first = await createWithKey(alice, key, body);
      expectOriginal(first, 201);

      const again = await createWithKey(alice, key, body);
      expectReplayOf(again, first);
      expect(again.body.id).toBe(first.body.id);
      // Without the trailing slash: the same route.
      expectReplayOf(await createWithKey(alice, key, body, '/api/events'), first);
      expect(await countEvents(body.title)).toBe(1);
    });

    it('compares bodies as JSON: key order, whitespace and number spelling do not matter', async () => {
      const key = randomUUID();
      const body = eventBody({ capacity: 100 });
      const first = await createWithKey(alice, key, body);
      expectOriginal(first, 201);

      const reordered = Object.fromEntries(Object.entries(body).reverse());
      const spaced = JSON.stringify(reordered, null, 4).replace('"capacity": 100', '"capacity"  :\n\t1e2');
      expect(spaced).toContain('1e2');
      expectReplayOf(await createWithKey(alice, key, spaced), first);
      expect(await countEvents(body.title)).toBe(1);
    });

    it('replays a registration for the same anonymous client, with the same cancel token', async () => {
      const event = await createEvent(t.http, alice, { capacity: 5 });
      const client = address();
      const key = randomUUID();
      const body = { name: 'Retry Safe', email: `${unique('idem')}@example.com` };
      const register = () =>
        t.http
          .post(`/api/events/${event.id}/register`)
          .set('X-Forwarded-For', client)
          .set('Idempotency-Key', key)
          .send(body);

      const first = await register();
      expectOriginal(first, 201);
      const again = await register();
      expectReplayOf(again, first);
      expect(again.body.cancel_token).toBe(first.body.cancel_token);
      expect(again.body.registration.id).toBe(first.body.registration.id);

      // The /api/v1 twin of the route is the same route.
      const versioned = await t.http
        .post(`/api/v1/events/${event.id}/register`)
        .set('X-Forwarded-For', client)
        .set('Idempotency-Key', key)
        .send(body);
      expectReplayOf(versioned, first);

      const capacity = await t.http.get(`/api/events/${event.id}/capacity`);
      expect(capacity.body).toMatchObject({ attendees_count: 1, waitlist_count: 0 });
    });

    it('replays a DELETE, which deletes once', async () => {
      const event = await createEvent(t.http, alice);
      const key = randomUUID();
      const remove = () =>
        t.http.delete(`/api/events/${event.id}/`).set(bearer(alice.access)).set('Idempotency-Key', key);

      const first = await remove();
      expectOriginal(first, 200);
      expect(first.body).toEqual({ detail: 'Event deleted successfully' });
      expectReplayOf(await remove(), first);
      // Gone: without the key, the same request finds nothing.
      expectProblem(await t.http.delete(`/api/events/${event.id}/`).set(bearer(alice.access)), 404);
    });

    it('stores and replays an answer of 4xx from the handler, byte for byte', async () => {
      const event = await createEvent(t.http, alice);
      const body = { name: 'Twice', email: `${unique('dup')}@example.com` };
      expectOriginal(await t.http.post(`/api/events/${event.id}/register`).send(body), 201);

      const duplicateKey = randomUUID();
      const duplicate = () =>
        t.http.post(`/api/events/${event.id}/register`).set('Idempotency-Key', duplicateKey).send(body);
      const conflict = await duplicate();
      expectProblem(conflict, 409);
      expect(conflict.headers[REPLAYED]).toBeUndefined();
      expectReplayOf(await duplicate(), conflict);

      const forbiddenKey = randomUUID();
      const patch = () =>
        t.http
          .patch(`/api/events/${event.id}/`)
          .set(bearer(bob.access))
          .set('Idempotency-Key', forbiddenKey)
          .send({ capacity: 7 });
      const forbidden = await patch();
      expectProblem(forbidden, 403);
      expectReplayOf(await patch(), forbidden);
    });

    it('does not store a 400: the input was refused before anything ran, so a corrected body may use the key', async () => {
      const key = randomUUID();
      const invalid = await createWithKey(alice, key, eventBody({ capacity: 'ten' }));
      expectProblem(invalid, 400, ['capacity']);
      const corrected = eventBody();
      expectOriginal(await createWithKey(alice, key, corrected), 201);
      expect(await countEvents(corrected.title)).toBe(1);
    });
  });

  describe('scopes and conflicts', () => {
    it('answers 422 for the same key with another body, method or path, and changes nothing', async () => {
      const key = randomUUID();
      const body = eventBody();
      const first = await createWithKey(alice, key, body);
      expectOriginal(first, 201);

      const otherBody = await createWithKey(alice, key, { ...body, title: unique('Other') });
      expectProblem(otherBody, 422);
      expect(otherBody.body.detail).toMatch(/Idempotency-Key/);
      const otherRoute = await t.http
        .patch(`/api/events/${first.body.id}/`)
        .set(bearer(alice.access))
        .set('Idempotency-Key', key)
        .send({ capacity: 50 });
      expectProblem(otherRoute, 422);

      const read = await t.http.get(`/api/events/${first.body.id}/`).set(bearer(alice.access));
      expect(read.body.capacity).toBe(body.capacity);
      expect(await countEvents(body.title)).toBe(1);
    });

    it('keeps each user’s keys apart', async () => {
      const key = randomUUID();
      const [forAlice, forBob] = [eventBody(), eventBody()];
      const a = await createWithKey(alice, key, forAlice);
      const b = await createWithKey(bob, key, forBob);
      expectOriginal(a, 201);
      expectOriginal(b, 201);
      expect(b.body.id).not.toBe(a.body.id);
      expect(b.body.organizer).toBe(bob.username);
    });

    it('keeps anonymous keys apart per client address', async () => {
      const event = await createEvent(t.http, alice);
      const key = randomUUID();
      const send = (client: string, email: string) =>
        t.http
          .post(`/api/events/${event.id}/register`)
          .set('X-Forwarded-For', client)
          .set('Idempotency-Key', key)
          .send({ name: 'Shared Key', email });

      const [here, there] = [address(), address()];
      const first = await send(here, `${unique('here')}@example.com`);
      expectOriginal(first, 201);
      // Another address, the same key and another body: a request of its own, not a 422.
      const elsewhere = await send(there, `${unique('there')}@example.com`);
      expectOriginal(elsewhere, 201);
      expect(elsewhere.body.registration.id).not.toBe(first.body.registration.id);
      const capacity = await t.http.get(`/api/events/${event.id}/capacity`);
      expect(capacity.body.attendees_count).toBe(2);
    });

    it.each([
      ['empty', ''],
      ['256 characters', 'k'.repeat(256)],
      ['a tab', 'tab\there'],
      ['a non-ASCII character', 'caf\u00e9'],
    ])('refuses a key that is %s with a 400 and creates nothing', async (_what, key) => {
      const body = eventBody();
      const res = await createWithKey(alice, key, body);
      expectProblem(res, 400, ['Idempotency-Key']);
      expect(await countEvents(body.title)).toBe(0);
    });

    it('takes a key of 255 printable characters, spaces and symbols included', async () => {
      const key = `${'~ !"#$%&()*+,-./:;<=>?@[\\]^_`{|}'}${'x'.repeat(255)}`.slice(0, 255);
      const body = eventBody();
      const first = await createWithKey(alice, key, body);
      expectOriginal(first, 201);
      expectReplayOf(await createWithKey(alice, key, body), first);
    });
  });

  describe('failures are not stored', () => {
    it('releases the key after a 503, so the retry runs', async () => {
      const events = t.app.get(EventsService);
      vi.spyOn(events, 'create').mockRejectedValueOnce(
        Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3306'), { code: 'ECONNREFUSED' }),
      );
      const key = randomUUID();
      const body = eventBody();
      const unavailable = await createWithKey(alice, key, body);
      expectProblem(unavailable, 503);
      expect(unavailable.headers['retry-after']).toMatch(/^\d+$/);
      expect(unavailable.headers[REPLAYED]).toBeUndefined();

      const retried = await createWithKey(alice, key, body);
      expectOriginal(retried, 201);
      expectReplayOf(await createWithKey(alice, key, body), retried);
      expect(await countEvents(body.title)).toBe(1);
    });

    it('releases the key after a 429 (too many failed logins), and stores the 401 before it', async () => {
      const carol = await createUser(t.http);
      const client = address();
      const logIn = (key: string, password: string) =>
        t.http
          .post('/api/login/')
          .set('X-Forwarded-For', client)
          .set('Idempotency-Key', key)
          .send({ username: carol.username, password });

      const wrongKey = randomUUID();
      const refused = await logIn(wrongKey, 'not the password');
      expectProblem(refused, 401);
      expectReplayOf(await logIn(wrongKey, 'not the password'), refused);
      expect((await logIn(wrongKey, 'not the password')).headers['www-authenticate']).toBe(
        refused.headers['www-authenticate'],
      );

      const key = randomUUID();
      const limited = await logIn(key, carol.password);
      expectProblem(limited, 429);
      expect(limited.headers[REPLAYED]).toBeUndefined();
      // The account opens again within 3 s; the 429 was not stored, so the same key then logs in.
      const opened = await until('the failed-login limit to lapse', async () => {
        const res = await logIn(key, carol.password);
        if (res.status === 429) {
          expect(res.headers[REPLAYED]).toBeUndefined();
          return undefined;
        }
        return res;
      });
      expectOriginal(opened, 200);
      const replay = await logIn(key, carol.password);
      expectReplayOf(replay, opened);
      expect(replay.body.refresh).toBe(opened.body.refresh);
    });
  });

  describe('while the first request runs', () => {
    it('answers 409 with Retry-After while it runs, past the request deadline too, then replays what it did', async () => {
      const events = t.app.get(EventsService);
      const create = events.create.bind(events);
      let started!: () => void;
      const running = new Promise<void>((resolve) => (started = resolve));
      let finish!: () => void;
      const held = new Promise<void>((resolve) => (finish = resolve));
      vi.spyOn(events, 'create').mockImplementationOnce(async (...args) => {
        started();
        await held;
        return create(...args);
      });

      const key = randomUUID();
      const body = eventBody();
      const first = createWithKey(alice, key, body).then((res) => res);
      await running;
      const inFlight = await createWithKey(alice, key, body);
      expectProblem(inFlight, 409);
      expect(inFlight.headers['retry-after']).toBe('1');
      expect(inFlight.headers[REPLAYED]).toBeUndefined();

      // The deadline answers the first request; its handler still holds the key.
      expectProblem(await first, 503);
      expectProblem(await createWithKey(alice, key, body), 409);

      finish();
      const replay = await until('the late answer to be stored', async () => {
        const res = await createWithKey(alice, key, body);
        return res.status === 409 ? undefined : res;
      });
      expect(replay.status, replay.text).toBe(201);
      expect(replay.headers[REPLAYED]).toBe('true');
      expect(replay.body.title).toBe(body.title);
      expect(await countEvents(body.title)).toBe(1);
    });

    it('lets a claim whose request died (its lease run out) be taken over', async () => {
      const key = randomUUID();
      const body = eventBody();
      expectOriginal(await createWithKey(alice, key, body), 201);
      const id = await newestRowOf(`user:${alice.id}`);

      // As if its instance had died mid-request: no answer, the lease still running.
      const soon = toSqlDateTime(new Date(Date.now() + 60_000));
      await db.query(
        'UPDATE idempotency_keys SET response_status = NULL, response = NULL, locked_until = ? WHERE id = ?',
        [soon, id],
      );
      expectProblem(await createWithKey(alice, key, body), 409);

      const past = toSqlDateTime(new Date(Date.now() - 1_000));
      await db.query('UPDATE idempotency_keys SET locked_until = ? WHERE id = ?', [past, id]);
      const rerun = await createWithKey(alice, key, body);
      expectOriginal(rerun, 201);
      expectReplayOf(await createWithKey(alice, key, body), rerun);
    });

    it('gives 20 simultaneous identical registrations with one key one registration and one answer', async () => {
      const event = await createEvent(t.http, alice, { capacity: 50 });
      const client = address();
      const key = randomUUID();
      const body = { name: 'Impatient Client', email: `${unique('race')}@example.com` };
      const register = () =>
        t.http
          .post(`/api/events/${event.id}/register`)
          .set('X-Forwarded-For', client)
          .set('Idempotency-Key', key)
          .send(body)
          .then((res) => res);

      const started = Date.now();
      const answers = await Promise.all(Array.from({ length: 20 }, register));
      const elapsed = Date.now() - started;

      const originals = answers.filter((res) => res.status === 201 && res.headers[REPLAYED] === undefined);
      const replays = answers.filter((res) => res.status === 201 && res.headers[REPLAYED] === 'true');
      const running = answers.filter((res) => res.status === 409);
      console.log(
        `IDEMPOTENCY race: 20 identical registrations, one key: ${originals.length} original 201, ` +
          `${replays.length} replayed 201, ${running.length} 409 in flight, in ${elapsed} ms`,
      );
      expect(originals.length + replays.length + running.length, answers.map((res) => res.text).join('\n')).toBe(20);
      expect(originals).toHaveLength(1);
      const [original] = originals;
      for (const replay of replays) expectReplayOf(replay, original);
      for (const res of running) {
        expectProblem(res, 409);
        expect(res.body.detail).toMatch(/still being processed/);
        expect(res.headers['retry-after']).toBe('1');
      }
      expectReplayOf(await register(), original);

      const capacity = await t.http.get(`/api/events/${event.id}/capacity`);
      expect(capacity.body).toMatchObject({ attendees_count: 1, waitlist_count: 0 });
    });
  });

  describe('expiry', () => {
    it('treats a key past its 24 hours as new', async () => {
      const key = randomUUID();
      const body = eventBody();
      const first = await createWithKey(alice, key, body);
      expectOriginal(first, 201);
      await age(await newestRowOf(`user:${alice.id}`), DAY_MS + 60_000);

      const anew = await createWithKey(alice, key, body);
      expectOriginal(anew, 201);
      expect(anew.body.id).not.toBe(first.body.id);
      expect(await countEvents(body.title)).toBe(2);
      expectReplayOf(await createWithKey(alice, key, body), anew);
    });

    it('purges expired keys in batches and keeps the others', async () => {
      const purger = await createUser(t.http);
      const ids: number[] = [];
      for (let i = 0; i < 4; i++) {
        expectOriginal(await createWithKey(purger, randomUUID(), eventBody()), 201);
        ids.push(await newestRowOf(`user:${purger.id}`));
      }
      const [kept, ...expired] = ids;
      for (const id of expired) await age(id, DAY_MS + 1_000);

      const purged = await t.app.get(IdempotencyStore).purgeExpired(new Date(), 2);
      expect(purged).toBeGreaterThanOrEqual(expired.length);
      const left = await db.query('SELECT id FROM idempotency_keys WHERE scope = ? ORDER BY id', [`user:${purger.id}`]);
      expect(left.map((row: { id: number | string }) => Number(row.id))).toEqual([kept]);
    });
  });

  it('documents Idempotency-Key, Idempotent-Replayed, 409 and 422 on every write operation, and only there', async () => {
    type Operation = { parameters?: { name: string; in: string }[]; responses: Record<string, { headers?: object }> };
    const document = (await t.http.get('/api/docs-json')).body as { paths: Record<string, Record<string, Operation>> };
    let writes = 0;
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const names = (operation.parameters ?? []).filter((p) => p.in === 'header').map((p) => p.name);
        if (!['post', 'put', 'patch', 'delete'].includes(method)) {
          expect(names, `${method} ${path}`).not.toContain('Idempotency-Key');
          continue;
        }
        writes++;
        expect(names, `${method} ${path}`).toContain('Idempotency-Key');
        expect(Object.keys(operation.responses), `${method} ${path}`).toEqual(expect.arrayContaining(['409', '422']));
        const success = Object.entries(operation.responses).find(([status]) => status.startsWith('2'))!;
        expect(success[1].headers, `${method} ${path}`).toHaveProperty(['Idempotent-Replayed']);
      }
    }
    expect(writes).toBeGreaterThanOrEqual(10);
  });

  it('binds the interceptor to every write route, and to no read', () => {
    let writes = 0;
    for (const module of t.app.get(ModulesContainer).values()) {
      for (const controller of module.controllers.values()) {
        const prototype = (controller.metatype as { prototype: object }).prototype;
        for (const name of Object.getOwnPropertyNames(prototype)) {
          const handler = (prototype as Record<string, unknown>)[name];
          if (typeof handler !== 'function') continue;
          const method: unknown = Reflect.getMetadata(METHOD_METADATA, handler);
          if (method === undefined) continue;
          const interceptors = (Reflect.getMetadata(INTERCEPTORS_METADATA, handler) ?? []) as unknown[];
          const isWrite = [RequestMethod.POST, RequestMethod.PUT, RequestMethod.PATCH, RequestMethod.DELETE].includes(
            method as RequestMethod,
          );
          expect(interceptors.includes(IdempotencyInterceptor), `${controller.name}.${name}`).toBe(isWrite);
          if (isWrite) writes++;
        }
      }
    }
    expect(writes).toBeGreaterThanOrEqual(15);
  });
});

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { verifySignature } from '../src/webhooks/signature.js';
import {
  type AppProcess,
  HttpClient,
  type HttpResponse,
  startHealthy,
  stopAppProcess,
} from './support/app-processes.js';
import {
  bearer,
  createEvent,
  createUser,
  eventBody,
  expectProblem,
  type TestUser,
  unique,
} from './support/fixtures.js';
import { isMysql, startApp, type TestApp } from './support/test-app.js';
import { eventually, type ReceivedWebhook, WebhookReceiver } from './support/webhook-receiver.js';

/**
 * Webhooks end to end, against a real HTTP receiver on 127.0.0.1: what each
 * change sends, signatures, order, retries, 410, rollbacks, the SSRF policy,
 * who may see an endpoint, and two app processes sending one outbox.
 */

const ALL_TYPES = [
  'registration.created',
  'registration.cancelled',
  'registration.promoted',
  'registration.checked_in',
  'event.updated',
  'event.cancelled',
  'event.deleted',
];

interface Endpoint {
  id: number;
  url: string;
  events: string[];
  status: string;
  secret: string;
}

interface Delivery {
  id: string;
  type: string;
  event_id: number;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  delivered_at: string | null;
}

/** A received webhook is well-formed and signed with this secret. */
function expectSigned(webhook: ReceivedWebhook, secret: string): void {
  expect(webhook.headers['content-type']).toBe('application/json');
  expect(webhook.headers['user-agent']).toMatch(/^event-api-webhooks\//);
  expect(webhook.headers['x-webhook-id']).toBe(webhook.parsed.id);
  expect(webhook.headers['x-webhook-type']).toBe(webhook.parsed.type);
  expect(Object.keys(webhook.parsed)).toEqual(['id', 'type', 'created_at', 'data']);
  expect(webhook.parsed.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  const signature = webhook.headers['x-webhook-signature'] as string;
  expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
  expect(verifySignature(secret, webhook.body, signature), `signature of ${webhook.body}`).toBe(true);
}

describe('webhooks', () => {
  const receiver = new WebhookReceiver();

  beforeAll(() => receiver.start());
  afterAll(() => receiver.stop());

  describe('with private addresses allowed (a receiver on 127.0.0.1)', () => {
    let t: TestApp;
    let organizer: TestUser;
    let other: TestUser;

    beforeAll(async () => {
      t = await startApp({
        WEBHOOK_WORKER: 'on',
        WEBHOOK_ALLOW_PRIVATE: 'true',
        WEBHOOK_POLL_INTERVAL: '50ms',
        WEBHOOK_RETRY_BASE_MS: '20',
      });
      [organizer, other] = await Promise.all([createUser(t.http), createUser(t.http)]);
    });
    afterAll(() => t?.close());

    async function createEndpoint(user: TestUser, path: string, events = ALL_TYPES): Promise<Endpoint> {
      const res = await t.http
        .post('/api/webhooks/')
        .set(bearer(user.access))
        .send({ url: receiver.url(path), events });
      expect(res.status, res.text).toBe(201);
      return res.body as Endpoint;
    }

    async function deliveriesOf(user: TestUser, endpoint: Endpoint): Promise<Delivery[]> {
      const res = await t.http.get(`/api/webhooks/${endpoint.id}/deliveries/?page_size=200`).set(bearer(user.access));
      expect(res.status, res.text).toBe(200);
      return res.body as Delivery[];
    }

    /** The endpoint's deliveries, oldest first, once none is pending any more and there are `count` of them. */
    function settled(user: TestUser, endpoint: Endpoint, count: number): Promise<Delivery[]> {
      return eventually(`${count} settled deliveries to ${endpoint.url}`, async () => {
        const deliveries = await deliveriesOf(user, endpoint);
        const done = deliveries.length === count && deliveries.every((delivery) => delivery.status !== 'pending');
        return done ? deliveries.reverse() : undefined;
      });
    }

    const register = (eventId: number, email = `${unique('w')}@example.com`) =>
      t.http.post(`/api/events/${eventId}/register`).send({ name: 'Webhook Watcher', email });

    it('sends every event type once, signed, in the order of the changes, to subscribed endpoints only', async () => {
      const all = await createEndpoint(organizer, '/all');
      const updatesOnly = await createEndpoint(organizer, '/updates', ['event.updated']);
      const theirs = await createEndpoint(other, '/theirs');
      const event = await createEvent(t.http, organizer, { capacity: 1 });

      const first = await register(event.id);
      const second = await register(event.id);
      expect([first.status, second.status]).toEqual([201, 201]);
      expect(second.body.registration.status).toBe('waitlisted');
      const cancelled = await t.http
        .delete(`/api/events/${event.id}/registrations/${first.body.registration.id}/`)
        .set('X-Registration-Token', first.body.cancel_token as string);
      expect(cancelled.status, cancelled.text).toBe(200);
      const renamed = await t.http
        .patch(`/api/events/${event.id}/`)
        .set(bearer(organizer.access))
        .send({ title: 'Renamed for webhooks' });
      expect(renamed.status, renamed.text).toBe(200);
      const checkedIn = await t.http
        .post(`/api/events/${event.id}/registrations/${second.body.registration.id}/check-in/`)
        .set(bearer(organizer.access));
      expect(checkedIn.status, checkedIn.text).toBe(200);
      const called = await t.http
        .patch(`/api/events/${event.id}/`)
        .set(bearer(organizer.access))
        .send({ status: 'cancelled' });
      expect(called.status, called.text).toBe(200);
      const deleted = await t.http.delete(`/api/events/${event.id}/`).set(bearer(organizer.access));
      expect(deleted.status, deleted.text).toBe(200);

      const expected = [
        ['registration.created', first.body.registration.id],
        ['registration.created', second.body.registration.id],
        ['registration.cancelled', first.body.registration.id],
        ['registration.promoted', second.body.registration.id],
        ['event.updated', event.id],
        ['registration.checked_in', second.body.registration.id],
        ['event.updated', event.id],
        ['event.cancelled', event.id],
        ['event.deleted', event.id],
      ];
      const log = await settled(organizer, all, expected.length);
      expect(log.map((delivery) => [delivery.type, delivery.status, delivery.attempts])).toEqual(
        expected.map(([type]) => [type, 'delivered', 1]),
      );
      for (const delivery of log) {
        expect(delivery).toMatchObject({ event_id: event.id, last_status_code: 200, last_error: null });
        expect(delivery.next_attempt_at).toBeNull();
        expect(delivery.delivered_at).not.toBeNull();
      }

      // Received exactly once each, in order, signed, with the resource as it was.
      const got = receiver.at('/all');
      expect(got.map((webhook) => [webhook.type, webhook.parsed.data.id])).toEqual(expected);
      expect(got.map((webhook) => webhook.id)).toEqual(log.map((delivery) => delivery.id));
      for (const webhook of got) expectSigned(webhook, all.secret);
      expect(got[0].parsed.data).toEqual(first.body.registration);
      expect(got[1].parsed.data).toMatchObject({ status: 'waitlisted', position: 1 });
      expect(got[2].parsed.data).toEqual(first.body.registration);
      expect(got[3].parsed.data).toMatchObject({
        status: 'confirmed',
        position: null,
        promoted_at: expect.any(String),
      });
      expect(got[4].parsed.data).toMatchObject({ title: 'Renamed for webhooks', attendees_count: 1 });
      expect(got[4].parsed.data).toEqual(renamed.body);
      expect(got[5].parsed.data).toEqual(checkedIn.body);
      expect(got[6].parsed.data).toEqual(called.body);
      expect(got[7].parsed.data).toEqual(called.body);
      expect(got[8].parsed.data).toEqual(called.body);

      const updates = await settled(organizer, updatesOnly, 2);
      expect(updates.map((delivery) => delivery.type)).toEqual(['event.updated', 'event.updated']);
      expect(receiver.at('/updates').map((webhook) => webhook.type)).toEqual(['event.updated', 'event.updated']);
      for (const webhook of receiver.at('/updates')) expectSigned(webhook, updatesOnly.secret);
      // Another user's endpoint hears nothing of events they do not organize.
      expect(await deliveriesOf(other, theirs)).toEqual([]);
      expect(receiver.at('/theirs')).toEqual([]);
    });

    it('retries a failing receiver with backoff: three 500s, then delivered on the fourth attempt', async () => {
      receiver.on('/flaky', ({ attempt }) => ({ status: attempt <= 3 ? 500 : 200 }));
      const endpoint = await createEndpoint(organizer, '/flaky', ['registration.created']);
      const event = await createEvent(t.http, organizer);
      expect((await register(event.id)).status).toBe(201);

      const [delivery] = await settled(organizer, endpoint, 1);
      expect(delivery).toMatchObject({ status: 'delivered', attempts: 4, last_status_code: 200, last_error: null });
      const attempts = receiver.at('/flaky');
      expect(attempts.map((webhook) => [webhook.id, webhook.status])).toEqual([
        [delivery.id, 500],
        [delivery.id, 500],
        [delivery.id, 500],
        [delivery.id, 200],
      ]);
      // The same delivery every time: same id and body, a fresh signature.
      expect(new Set(attempts.map((webhook) => webhook.body)).size).toBe(1);
      for (const webhook of attempts) expectSigned(webhook, endpoint.secret);
    });

    it('records a failed attempt in the log, with its status and the next attempt', async () => {
      receiver.on('/unavailable', () => ({ status: 503 }));
      const endpoint = await createEndpoint(organizer, '/unavailable', ['registration.created']);
      const event = await createEvent(t.http, organizer);
      expect((await register(event.id)).status).toBe(201);
      const delivery = await eventually('a failed attempt', async () => {
        const [first] = await deliveriesOf(organizer, endpoint);
        return first?.attempts > 0 ? first : undefined;
      });
      expect(delivery).toMatchObject({ status: 'pending', last_status_code: 503, delivered_at: null });
      expect(delivery.last_error).toMatch(/503/);
      expect(delivery.next_attempt_at).toEqual(expect.any(String));
      // Stop it here: deleting the endpoint deletes its deliveries.
      expect((await t.http.delete(`/api/webhooks/${endpoint.id}/`).set(bearer(organizer.access))).status).toBe(200);
    });

    it('disables an endpoint that answers 410 Gone, and its pending deliveries stop', async () => {
      receiver.on('/gone', () => ({ status: 410 }));
      const endpoint = await createEndpoint(organizer, '/gone', ['registration.created']);
      const event = await createEvent(t.http, organizer);
      for (let i = 0; i < 3; i++) expect((await register(event.id)).status).toBe(201);

      const disabled = await eventually('the endpoint to be disabled', async () => {
        const res = await t.http.get(`/api/webhooks/${endpoint.id}/`).set(bearer(organizer.access));
        return res.body.status === 'disabled' ? res.body : undefined;
      });
      expect(disabled).toMatchObject({
        disabled_reason: expect.stringMatching(/410/),
        disabled_at: expect.any(String),
      });
      const log = await eventually('no pending delivery left', async () => {
        const deliveries = (await deliveriesOf(organizer, endpoint)).reverse();
        return deliveries.every((delivery) => delivery.status === 'failed') ? deliveries : undefined;
      });
      expect(log[0]).toMatchObject({ attempts: 1, last_status_code: 410 });
      // One request reached the receiver; the deliveries queued behind it were never sent.
      expect(receiver.at('/gone')).toHaveLength(1);
      for (const delivery of log.slice(1)) expect(delivery).toMatchObject({ attempts: 0, last_status_code: null });
      // A disabled endpoint gets no new deliveries.
      expect((await register(event.id)).status).toBe(201);
      expect(await deliveriesOf(organizer, endpoint)).toHaveLength(log.length);
    });

    it('sends nothing for a change that was rolled back (a duplicate 409, a refused capacity change)', async () => {
      const endpoint = await createEndpoint(organizer, '/rollback', ['registration.created', 'event.updated']);
      const event = await createEvent(t.http, organizer, { capacity: 2 });
      const email = `${unique('dup')}@example.com`;
      expect((await register(event.id, email)).status).toBe(201);
      expectProblem(await register(event.id, email.toUpperCase()), 409);
      expect((await register(event.id)).status).toBe(201);
      expectProblem(
        await t.http.patch(`/api/events/${event.id}/`).set(bearer(organizer.access)).send({ capacity: 1 }),
        409,
      );
      // A last change that is delivered after anything the refused ones could have written.
      const marker = await t.http
        .patch(`/api/events/${event.id}/`)
        .set(bearer(organizer.access))
        .send({ title: 'After the refusals' });
      expect(marker.status).toBe(200);

      const log = await settled(organizer, endpoint, 3);
      expect(log.map((delivery) => delivery.type)).toEqual([
        'registration.created',
        'registration.created',
        'event.updated',
      ]);
      expect(receiver.at('/rollback').map((webhook) => webhook.type)).toEqual([
        'registration.created',
        'registration.created',
        'event.updated',
      ]);
      expect(receiver.at('/rollback')[2].parsed.data).toMatchObject({ title: 'After the refusals', capacity: 2 });
    });

    it('shows the secret once: in the 201 answer, never in a later one', async () => {
      const created = await createEndpoint(organizer, '/secret', ['event.deleted']);
      expect(created.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
      expect(created).toMatchObject({ url: receiver.url('/secret'), events: ['event.deleted'], status: 'active' });
      const answers: Response[] = [
        await t.http.get(`/api/webhooks/${created.id}/`).set(bearer(organizer.access)),
        await t.http.get('/api/webhooks/?page_size=200').set(bearer(organizer.access)),
        await t.http.get(`/api/webhooks/${created.id}/deliveries/`).set(bearer(organizer.access)),
      ];
      for (const res of answers) {
        expect(res.status, res.text).toBe(200);
        expect(res.text).not.toContain(created.secret);
        expect(res.text).not.toContain('"secret"');
      }
      const { secret: _secret, ...withoutSecret } = created;
      expect(answers[0].body).toEqual(withoutSecret);
    });

    it("hides one user's endpoints from another: 404 to read, delete or list its deliveries", async () => {
      const endpoint = await createEndpoint(organizer, '/private', ['event.updated']);
      for (const res of [
        await t.http.get(`/api/webhooks/${endpoint.id}/`).set(bearer(other.access)),
        await t.http.get(`/api/webhooks/${endpoint.id}/deliveries/`).set(bearer(other.access)),
        await t.http.delete(`/api/webhooks/${endpoint.id}/`).set(bearer(other.access)),
      ]) {
        expectProblem(res, 404);
      }
      const theirList = await t.http.get('/api/webhooks/?page_size=200').set(bearer(other.access));
      expect((theirList.body as Endpoint[]).map((item) => item.id)).not.toContain(endpoint.id);
      expect((await t.http.get(`/api/webhooks/${endpoint.id}/`).set(bearer(organizer.access))).status).toBe(200);
      const removed = await t.http.delete(`/api/webhooks/${endpoint.id}/`).set(bearer(organizer.access));
      expect(removed.body).toEqual({ detail: 'Webhook endpoint deleted' });
      expectProblem(await t.http.get(`/api/webhooks/${endpoint.id}/`).set(bearer(organizer.access)), 404);
    });

    it('lists the caller’s endpoints, paginated, and caps them at 10 per user', async () => {
      const user = await createUser(t.http);
      for (let i = 0; i < 10; i++) await createEndpoint(user, `/cap/${i}`, ['event.updated']);
      expectProblem(
        await t.http
          .post('/api/webhooks/')
          .set(bearer(user.access))
          .send({ url: receiver.url('/cap/10'), events: ['event.updated'] }),
        409,
      );
      const page = await t.http.get('/api/webhooks/?page=2&page_size=4').set(bearer(user.access));
      expect(page.status).toBe(200);
      expect(page.headers['x-total-count']).toBe('10');
      expect((page.body as Endpoint[]).map((item) => item.url)).toEqual(
        [4, 5, 6, 7].map((i) => receiver.url(`/cap/${i}`)),
      );
    });

    it.each([
      [{ url: 'ftp://hooks.example/x', events: [] }, ['url', 'events']],
      [{ url: 'http://user:secret@127.0.0.1/x', events: ['registration.made'] }, ['url', 'events']],
      [{ url: 'not a url', events: 'event.updated' }, ['url', 'events']],
      [{ url: `http://127.0.0.1/${'a'.repeat(2048)}`, events: ['event.updated', 'event.updated'] }, ['url', 'events']],
      [{ url: 42, events: [1] }, ['url', 'events']],
      [{ events: ['event.updated'] }, ['url']],
      [{ url: 'http://127.0.0.1/x', events: ['event.updated'], secret: 'mine' }, ['secret']],
    ])('refuses %j with a 400 naming %j, creating nothing', async (body, fields) => {
      const before = await t.http.get('/api/webhooks/').set(bearer(other.access));
      const res = await t.http.post('/api/webhooks/').set(bearer(other.access)).send(body);
      expectProblem(res, 400);
      expect(Object.keys(res.body.errors as object).sort()).toEqual([...fields].sort());
      const after = await t.http.get('/api/webhooks/').set(bearer(other.access));
      expect(after.headers['x-total-count']).toBe(before.headers['x-total-count']);
    });
  });

  describe('with private addresses refused (the default)', () => {
    let t: TestApp;
    let user: TestUser;

    beforeAll(async () => {
      t = await startApp({ WEBHOOK_WORKER: 'on', WEBHOOK_ALLOW_PRIVATE: 'false', WEBHOOK_POLL_INTERVAL: '50ms' });
      user = await createUser(t.http);
    });
    afterAll(() => t?.close());

    it.each([
      'http://127.0.0.1:{port}/hook',
      'http://localhost:{port}/hook',
      'http://10.0.0.7/hook',
      'http://172.16.5.4/hook',
      'http://192.168.1.1/hook',
      'http://169.254.169.254/latest/meta-data/',
      'http://[::1]:{port}/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://[fd00::1]/hook',
      'http://2130706433/hook',
      'http://0x7f.1/hook',
      'http://0/hook',
      'https://224.0.0.1/hook',
    ])('refuses %s with a 400 naming url', async (template) => {
      const url = template.replace('{port}', new URL(receiver.url('/')).port);
      const res = await t.http
        .post('/api/webhooks/')
        .set(bearer(user.access))
        .send({ url, events: ['event.updated'] });
      expectProblem(res, 400, ['url']);
      expect(res.body.errors.url[0]).toMatch(/public address/);
      expect((await t.http.get('/api/webhooks/').set(bearer(user.access))).body).toEqual([]);
    });

    it('accepts a public address', async () => {
      const res = await t.http
        .post('/api/webhooks/')
        .set(bearer(user.access))
        .send({ url: 'https://8.8.8.8:9/hook', events: ['event.deleted'] });
      expect(res.status, res.text).toBe(201);
      expect((await t.http.delete(`/api/webhooks/${res.body.id}/`).set(bearer(user.access))).status).toBe(200);
    });

    it('refuses at send time, without connecting, a host that resolves to a private address by then', async () => {
      // As if `localhost` had resolved to a public address when it was saved (DNS rebinding).
      const organizer = await createUser(t.http);
      const url = receiver.url('/rebound', 'localhost');
      await t.app
        .get(DataSource)
        .query(
          "INSERT INTO webhook_endpoints (user_id, url, events, secret, created_at) VALUES (?, ?, 'registration.created', 'whsec_x', '2025-01-01 00:00:00.000')",
          [organizer.id, url],
        );
      const [endpoint] = (await t.http.get('/api/webhooks/').set(bearer(organizer.access))).body as Endpoint[];
      const event = await createEvent(t.http, organizer);
      const registered = await t.http
        .post(`/api/events/${event.id}/register`)
        .send({ name: 'Rebound', email: `${unique('r')}@example.com` });
      expect(registered.status).toBe(201);
      const delivery = await eventually('a refused attempt', async () => {
        const res = await t.http.get(`/api/webhooks/${endpoint.id}/deliveries/`).set(bearer(organizer.access));
        const [first] = res.body as Delivery[];
        return first?.attempts > 0 ? first : undefined;
      });
      expect(delivery).toMatchObject({ status: 'pending', last_status_code: null });
      expect(delivery.last_error).toMatch(/^refused: .*non-public address/);
      expect(receiver.at('/rebound')).toEqual([]);
      expect((await t.http.delete(`/api/webhooks/${endpoint.id}/`).set(bearer(organizer.access))).status).toBe(200);
    });
  });

  describe('two app processes sending one outbox', () => {
    const client = new HttpClient(256);
    const apps: AppProcess[] = [];
    let sqliteDir: string | undefined;
    let next = 0;
    /** Each call goes to the other process than the previous one; the answer says which one it was. */
    const call = async (method: string, path: string, options: Parameters<HttpClient['request']>[3] = {}) => {
      const app = apps[next++ % apps.length];
      return { ...(await client.request(app.baseUrl, method, path, options)), app };
    };

    beforeAll(async () => {
      // Two processes on one database: the run's MariaDB, or an SQLite file both open (WAL; writes take turns).
      sqliteDir = isMysql() ? undefined : mkdtempSync(join(tmpdir(), 'event-api-webhooks-'));
      const env = {
        DATABASE_URL: sqliteDir ? `sqlite:${join(sqliteDir, 'webhooks.sqlite')}` : inject('databaseUrl'),
        JWT_SECRET: randomBytes(32).toString('hex'),
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        RATE_LIMIT: 'off',
        WEB_CONCURRENCY: '1',
        WEBHOOK_WORKER: 'on',
        WEBHOOK_ALLOW_PRIVATE: 'true',
        WEBHOOK_POLL_INTERVAL: '50ms',
        WEBHOOK_RETRY_BASE_MS: '50',
      };
      // One after the other: the first applies the migrations.
      apps.push(await startHealthy('webhooks-1', env, client));
      apps.push(await startHealthy('webhooks-2', env, client));
    }, 120_000);

    afterAll(async () => {
      await Promise.all(apps.map((app) => stopAppProcess(app)));
      client.close();
      if (sqliteDir) rmSync(sqliteDir, { recursive: true, force: true });
    });

    const ok = (res: HttpResponse & { app: AppProcess }, status: number) => {
      expect(res.status, `${res.app.name}: ${res.text}\n--- its output ---\n${res.app.output().slice(-4000)}`).toBe(
        status,
      );
      return res.body as Record<string, unknown>;
    };

    it('sends each delivery by one process at a time, and each exactly once while receivers are healthy', async () => {
      receiver.on('/both/slow', () => ({ status: 200, delayMs: 20 }));
      receiver.on('/both/flaky', ({ attempt }) => ({ status: attempt === 1 ? 503 : 200, delayMs: 5 }));
      const username = unique('hooks');
      ok(
        await call('POST', '/api/register/', {
          body: { username, email: `${username}@example.com`, password: 'correct horse battery' },
        }),
        201,
      );
      const { access } = ok(
        await call('POST', '/api/login/', { body: { username, password: 'correct horse battery' } }),
        200,
      ) as { access: string };
      const auth = { authorization: `Bearer ${access}` };
      const endpoint = async (path: string) =>
        ok(
          await call('POST', '/api/webhooks/', {
            headers: auth,
            body: { url: receiver.url(path), events: ['registration.created'] },
          }),
          201,
        ) as unknown as Endpoint;
      const slow = await endpoint('/both/slow');
      const flaky = await endpoint('/both/flaky');
      const events = await Promise.all(
        [1, 2, 3, 4].map(
          async () =>
            ok(await call('POST', '/api/events/', { headers: auth, body: eventBody({ capacity: 5 }) }), 201) as {
              id: number;
            },
        ),
      );

      const started = performance.now();
      const perEvent = 10;
      const registrations = await Promise.all(
        events.flatMap((event) =>
          Array.from({ length: perEvent }, async (_, i) =>
            ok(
              await call('POST', `/api/events/${event.id}/register`, {
                body: { name: `Runner ${i}`, email: `${unique('both')}@example.com` },
              }),
              201,
            ),
          ),
        ),
      );
      const total = registrations.length;
      const deliveredTo = async (target: Endpoint) => {
        const res = await call('GET', `/api/webhooks/${target.id}/deliveries/?status=delivered&page_size=1`, {
          headers: auth,
        });
        return Number(res.headers['x-total-count']);
      };
      await eventually(
        `${total} deliveries to each endpoint`,
        async () => ((await deliveredTo(slow)) === total && (await deliveredTo(flaky)) === total ? true : undefined),
        60_000,
      );
      const wallMs = performance.now() - started;

      const slowIds = receiver.at('/both/slow').map((webhook) => webhook.id);
      const flakyIds = receiver.at('/both/flaky').map((webhook) => webhook.id);
      // Healthy: each once. Failing once: each twice (the failure, then the success), never more.
      expect(slowIds).toHaveLength(total);
      expect(new Set(slowIds).size).toBe(total);
      expect(flakyIds).toHaveLength(2 * total);
      expect(new Set(flakyIds).size).toBe(total);
      expect(receiver.at('/both/flaky').filter((webhook) => webhook.status === 200)).toHaveLength(total);
      expect(receiver.overlapping, 'requests for one delivery that overlapped').toBe(0);
      // In order per event: the registrations of one event arrive in the order they were made.
      for (const event of events) {
        const ids = receiver
          .at('/both/slow')
          .filter((webhook) => webhook.parsed.data.event_id === event.id)
          .map((webhook) => webhook.parsed.data.id as number);
        expect(ids).toEqual([...ids].sort((a, b) => a - b));
        expect(ids).toHaveLength(perEvent);
      }
      for (const webhook of receiver.at('/both/slow')) expectSigned(webhook, slow.secret);
      console.log(
        `WEBHOOKS ${isMysql() ? 'mariadb' : 'sqlite-file'} instances=${apps.length} deliveries=${2 * total} ` +
          `requests=${slowIds.length + flakyIds.length} retries=${flakyIds.length - total} ` +
          `concurrent_duplicates=${receiver.overlapping} ` +
          `duplicates_after_success=${slowIds.length - new Set(slowIds).size} wall_ms=${Math.round(wallMs)}`,
      );

      // Both stop cleanly on SIGTERM.
      await Promise.all(apps.map((app) => stopAppProcess(app)));
      expect(apps.map((app) => app.child.exitCode)).toEqual([0, 0]);
    }, 120_000);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createEvent, createUser, expectProblem, type TestUser, unique } from './support/fixtures.js';
import { startApp, type TestApp } from './support/test-app.js';

/**
 * /api/metrics in Prometheus' text format. The registry is per process and
 * the suites of one worker share it, so every check compares a value before
 * and after the requests that should change it.
 */

/** The value of one series, e.g. `event_registrations_total{outcome="confirmed"}`; 0 when absent. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

const registrations = (outcome: string) => `event_registrations_total{outcome="${outcome}"}`;
const PROMOTIONS = 'waitlist_promotions_total';

describe('metrics', () => {
  let t: TestApp;
  let organizer: TestUser;

  const scrape = async () => {
    const res = await t.http.get('/api/metrics');
    expect(res.status, res.text).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text;
  };
  const register = (eventId: number, email = `${unique('m')}@example.com`) =>
    t.http.post(`/api/events/${eventId}/register`).send({ name: 'Metric Person', email });

  beforeAll(async () => {
    t = await startApp();
    organizer = await createUser(t.http);
  });
  afterAll(() => t?.close());

  it('counts registrations by outcome: confirmed, waitlisted, duplicate and closed', async () => {
    const event = await createEvent(t.http, organizer, { capacity: 1 });
    const before = await scrape();

    expect((await register(event.id, 'first@example.com')).status).toBe(201);
    expect((await register(event.id)).status).toBe(201);
    expect((await register(event.id)).status).toBe(201);
    expect((await register(event.id, 'FIRST@example.com')).status).toBe(409);
    await t.http.patch(`/api/events/${event.id}/`).set(bearer(organizer.access)).send({ status: 'cancelled' });
    expect((await register(event.id)).status).toBe(409);

    const after = await scrape();
    const delta = (outcome: string) => sample(after, registrations(outcome)) - sample(before, registrations(outcome));
    expect({
      confirmed: delta('confirmed'),
      waitlisted: delta('waitlisted'),
      duplicate: delta('duplicate'),
      closed: delta('closed'),
    }).toEqual({ confirmed: 1, waitlisted: 2, duplicate: 1, closed: 1 });
  });

  it('counts waitlist promotions after a cancellation and after a capacity raise', async () => {
    const event = await createEvent(t.http, organizer, { capacity: 1 });
    const seated = await register(event.id);
    for (let i = 0; i < 3; i++) expect((await register(event.id)).status).toBe(201);
    const before = sample(await scrape(), PROMOTIONS);

    const cancelled = await t.http
      .delete(`/api/events/${event.id}/registrations/${seated.body.registration.id}/`)
      .set('X-Registration-Token', seated.body.cancel_token);
    expect(cancelled.status).toBe(200);
    expect(sample(await scrape(), PROMOTIONS) - before).toBe(1);

    const raised = await t.http.patch(`/api/events/${event.id}/`).set(bearer(organizer.access)).send({ capacity: 10 });
    expect(raised.status).toBe(200);
    expect(sample(await scrape(), PROMOTIONS) - before).toBe(3);
  });

  it('times requests by method, route template and status, unknown paths under one label', async () => {
    const event = await createEvent(t.http, organizer);
    const series = (route: string, status: number) =>
      `http_request_duration_seconds_count{method="GET",route="${route}",status="${status}"}`;
    const before = await scrape();

    await t.http.get(`/api/events/${event.id}/`).expect(200);
    await t.http.get(`/api/events/${event.id}/`).expect(200);
    await t.http.get('/api/events/999999999/').expect(404);
    await t.http.get(`/api/${unique('nowhere')}`).expect(404);

    const after = await scrape();
    const delta = (name: string) => sample(after, name) - sample(before, name);
    expect(delta(series('/api/events/:id', 200))).toBe(2);
    expect(delta(series('/api/events/:id', 404))).toBe(1);
    expect(delta(series('unmatched', 404))).toBe(1);
    expect(after).toContain('http_request_duration_seconds_bucket{le="0.005",method="GET",route="/api/events/:id"');
  });

  it('reports the database pool and the process defaults', async () => {
    const text = await scrape();
    expect(sample(text, 'database_pool_connections{state="max"}')).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^database_pool_connections\{state="in_use"\} \d+$/m);
    expect(text).toMatch(/^database_pool_connections\{state="idle"\} \d+$/m);
    expect(text).toMatch(/^database_pool_waiting_requests \d+$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });

  it('ignores an access token: metrics are not per user', async () => {
    const res = await t.http.get('/api/metrics').set(bearer('not-a-jwt'));
    expect(res.status).toBe(200);
  });

  describe('with METRICS_TOKEN set', () => {
    const token = 'metrics-scraper-secret-0123456789';
    let guarded: TestApp;
    beforeAll(async () => {
      guarded = await startApp({ METRICS_TOKEN: token });
    });
    afterAll(() => guarded?.close());

    it('answers only the metrics token', async () => {
      const anonymous = await guarded.http.get('/api/metrics');
      expectProblem(anonymous, 401);
      expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer/);
      expectProblem(await guarded.http.get('/api/metrics').set(bearer(`${token}x`)), 401);
      expectProblem(await guarded.http.get('/api/metrics').set(bearer(token.slice(1))), 401);
      const user = await createUser(guarded.http);
      expectProblem(await guarded.http.get('/api/metrics').set(bearer(user.access)), 401);

      const res = await guarded.http.get('/api/metrics').set(bearer(token));
      expect(res.status).toBe(200);
      expect(res.text).toContain('event_registrations_total');
    });
  });

  describe('with METRICS=off', () => {
    let off: TestApp;
    beforeAll(async () => {
      off = await startApp({ METRICS: 'off' });
    });
    afterAll(() => off?.close());

    it('has no metrics route', async () => {
      expectProblem(await off.http.get('/api/metrics'), 404);
    });
  });

  it('refuses an invalid metrics setting at start, naming the variable', async () => {
    await expect(startApp({ METRICS: 'maybe' })).rejects.toThrow(/METRICS must be on or off/);
    await expect(startApp({ METRICS_TOKEN: 'short' })).rejects.toThrow(/METRICS_TOKEN must be at least 16/);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createEvent, createUser, eventBody, expectProblem, type TestUser } from './support/fixtures.js';
import { startApp, type TestApp } from './support/test-app.js';

/** The URLs of an RFC 8288 `Link` header. */
const linkUrls = (header: string | undefined): string[] =>
  [...(header ?? '').matchAll(/<([^>]*)>/g)].map(([, url]) => url);

describe('versioned paths: /api/v1/… beside /api/…', () => {
  let t: TestApp;
  let organizer: TestUser;

  beforeAll(async () => {
    t = await startApp();
    organizer = await createUser(t.http);
  });

  afterAll(async () => {
    await t?.close();
  });

  it('documents version 1 only: every path of the OpenAPI document is under /api/v1/', async () => {
    const res = await t.http.get('/api/docs-json');
    const paths = Object.keys(res.body.paths as Record<string, unknown>);
    expect(paths.length).toBeGreaterThan(10);
    expect(paths.filter((path) => !path.startsWith('/api/v1/'))).toEqual([]);
    expect(res.body.info.description).toContain('/api/v1/');
  });

  it('serves one account, one event and one registration through either path', async () => {
    const username = `v1_${Date.now().toString(36)}`;
    const signUp = await t.http
      .post('/api/v1/register/')
      .send({ username, email: `${username}@example.com`, password: 'correct horse battery' });
    expect(signUp.status).toBe(201);
    const login = await t.http.post('/api/v1/login/').send({ username, password: 'correct horse battery' });
    expect(login.status).toBe(200);
    const me = await t.http.get('/api/me/').set(bearer(login.body.access));
    expect(me.body).toMatchObject({ id: signUp.body.id, username });

    const created = await t.http.post('/api/v1/events/').set(bearer(login.body.access)).send(eventBody());
    expect(created.status).toBe(201);
    const versioned = await t.http.get(`/api/v1/events/${created.body.id}/`);
    const original = await t.http.get(`/api/events/${created.body.id}`);
    expect(versioned.status).toBe(200);
    expect(versioned.body).toEqual(original.body);

    const registered = await t.http
      .post(`/api/v1/events/${created.body.id}/register`)
      .send({ name: 'Ada', email: 'ada@example.com' });
    expect(registered.status).toBe(201);
    const again = await t.http
      .post(`/api/events/${created.body.id}/register`)
      .send({ name: 'Ada', email: 'ada@example.com' });
    expectProblem(again, 409, ['email']);
    const capacity = await t.http.get(`/api/v1/events/${created.body.id}/capacity`);
    expect(capacity.body).toMatchObject({ attendees_count: 1 });
  });

  it('applies the same access rules under /api/v1/', async () => {
    const event = await createEvent(t.http, organizer);
    expectProblem(await t.http.delete(`/api/v1/events/${event.id}/`), 401);
    const stranger = await createUser(t.http);
    expectProblem(await t.http.delete(`/api/v1/events/${event.id}/`).set(bearer(stranger.access)), 403);
    expect((await t.http.get(`/api/v1/events/${event.id}/`)).status).toBe(200);
  });

  it('keeps the version the client used in pagination links', async () => {
    await createEvent(t.http, organizer);
    await createEvent(t.http, organizer);
    const versioned = await t.http.get('/api/v1/events/?page_size=1');
    expect(versioned.status).toBe(200);
    const links = linkUrls(versioned.headers['link'] as string);
    expect(links.length).toBeGreaterThan(0);
    for (const url of links) expect(new URL(url, 'http://localhost').pathname).toBe('/api/v1/events/');
    const original = await t.http.get('/api/events/?page_size=1');
    for (const url of linkUrls(original.headers['link'] as string)) {
      expect(new URL(url, 'http://localhost').pathname).toBe('/api/events/');
    }
  });

  it('answers an unknown version with a 404 problem, and keeps the docs at /api/docs', async () => {
    expectProblem(await t.http.get('/api/v2/events/'), 404);
    expectProblem(await t.http.get('/api/v1/docs-json'), 404);
    expect((await t.http.get('/api/docs-json')).status).toBe(200);
    expect((await t.http.get('/api/v1/health')).status).toBe(200);
  });
});

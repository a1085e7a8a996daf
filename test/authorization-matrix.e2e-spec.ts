import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Response, Test } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bearer,
  createEvent,
  createUser,
  eventBody,
  expectProblem,
  login,
  type TestUser,
  unique,
} from './support/fixtures.js';
import { startApp, TEST_JWT_AUDIENCE, TEST_JWT_ISSUER, TEST_JWT_SECRET, type TestApp } from './support/test-app.js';

/**
 * Who may call what: every endpoint of API.md against six callers, with the
 * status each must get. "organizer" is the owner of the resource the request
 * acts on (the event's organizer, the account, the login session); the three
 * broken credentials are all the organizer's own, so a cell that wrongly
 * accepted them would act with the organizer's full rights.
 *
 * Rules the expectations follow (API.md, README):
 * - a route that needs a token answers 401 without one, 403 to another user, 404 for another user's draft;
 * - every API route verifies a bearer token it is sent, public ones included: a revoked, expired or
 *   refresh token is a 401 (`error="invalid_token"`), never "anonymous" — except the routes that
 *   obtain credentials (sign-up, login, refresh), the health check and the metrics, which ignore the header as
 *   SimpleJWT's views do, so a client holding a stale access token can still get a new one;
 * - the OpenAPI document is static documentation, outside the API's authentication;
 * - a refused write (401, 403, 404, 409) changes nothing.
 */

const CALLERS = ['anonymous', 'other user', 'organizer', 'revoked', 'expired', 'refresh as bearer'] as const;
type Caller = (typeof CALLERS)[number];
/** The callers that send a token the API must refuse as invalid. */
const BROKEN_TOKENS: readonly Caller[] = ['revoked', 'expired', 'refresh as bearer'];
const WRITE = /^(POST|PUT|PATCH|DELETE) /;

type Claims = Record<string, unknown>;

interface Scenario {
  /** The owner of every resource the request acts on. */
  owner: TestUser;
  other: TestUser;
}

interface Event {
  id: number;
  title: string;
  status: string;
  organizer: string;
  organizer_id: number;
}

interface Registration {
  id: number;
  event_id: number;
  email: string;
  status: 'confirmed' | 'waitlisted';
  position: number | null;
}

interface Registered {
  registration: Registration;
  cancel_token: string;
}

/** How one endpoint is exercised; `C` is the data it acts on, built fresh for every cell. */
interface Target<C> {
  arrange: (s: Scenario) => Promise<C>;
  send: (c: C, token: string | undefined) => Test;
  /** What a refused write must leave as it was, read with the organizer's token before and after. */
  state?: (c: C) => Promise<unknown>;
  /** Checks, after a refused write, what cannot be read without being used (a refresh token, say). */
  intact?: (c: C) => Promise<void>;
  /** What a success must have done; `who` is the calling account (none for anonymous). */
  succeeded?: (res: Response, c: C, who: TestUser | undefined) => Promise<void> | void;
}

type Cell = (label: string, caller: Caller, expected: number) => Promise<void>;

let t: TestApp;

const now = () => Math.floor(Date.now() / 1000);

/** A request with the caller's token, or none. */
function call(method: 'get' | 'post' | 'put' | 'patch' | 'delete', path: string, token: string | undefined): Test {
  const req = t.http[method](path);
  return token === undefined ? req : req.set(bearer(token));
}

async function scenario(): Promise<Scenario> {
  const [owner, other] = await Promise.all([createUser(t.http), createUser(t.http)]);
  return { owner, other };
}

/** The owner's access token, re-signed with an expiry in the past (every other claim, the live session included, is right). */
function expiredAccess(owner: TestUser): string {
  const claims = jwt.decode(owner.access) as Claims;
  return jwt.sign({ ...claims, jti: randomUUID(), iat: now() - 600, exp: now() - 60 }, TEST_JWT_SECRET, {
    algorithm: 'HS256',
  });
}

async function tokenOf(s: Scenario, caller: Caller): Promise<string | undefined> {
  switch (caller) {
    case 'anonymous':
      return undefined;
    case 'other user':
      return s.other.access;
    case 'organizer':
      return s.owner.access;
    case 'revoked': {
      const session = await login(t.http, s.owner.username, s.owner.password);
      expect((await t.http.post('/api/logout/').set(bearer(session.access))).status).toBe(200);
      return session.access;
    }
    case 'expired':
      return expiredAccess(s.owner);
    case 'refresh as bearer':
      return (await login(t.http, s.owner.username, s.owner.password)).refresh;
  }
}

function who(s: Scenario, caller: Caller): TestUser | undefined {
  return caller === 'organizer' ? s.owner : caller === 'other user' ? s.other : undefined;
}

/** Runs one cell: arrange, call, check the status, then what a refusal left or what a success did. */
function target<C>(spec: Target<C>): Cell {
  return async (label, caller, expected) => {
    const s = await scenario();
    const c = await spec.arrange(s);
    const token = await tokenOf(s, caller);
    if (WRITE.test(label)) expect(spec.state ?? spec.intact, `${label} must say what a refusal keeps`).toBeDefined();
    const before = spec.state ? await spec.state(c) : undefined;
    const res = await spec.send(c, token);
    expect(res.status, res.text).toBe(expected);
    if (expected < 400) {
      await spec.succeeded?.(res, c, who(s, caller));
      return;
    }
    expectProblem(res, expected);
    if (expected === 401) {
      expect(res.headers['www-authenticate']).toMatch(/^Bearer\b/);
      if (BROKEN_TOKENS.includes(caller)) expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
    }
    if (spec.state) expect(await spec.state(c), 'a refused write changed the state').toEqual(before);
    await spec.intact?.(c);
  };
}

// ---- reading state with the organizer's token ----

const statusOf = async (req: Test) => (await req).status;

async function readEvent(s: Scenario, id: number) {
  const res = await call('get', `/api/events/${id}/`, s.owner.access);
  return { status: res.status, body: res.body as unknown };
}

async function readCapacity(s: Scenario, id: number) {
  const res = await call('get', `/api/events/${id}/capacity`, s.owner.access);
  return { status: res.status, body: res.body as unknown };
}

async function readRegistrations(s: Scenario, id: number) {
  const res = await call('get', `/api/events/${id}/registrations/?page_size=200`, s.owner.access);
  return { status: res.status, body: res.body as unknown };
}

/** An event's detail, counters and registrations, as its organizer reads them. */
async function eventState(s: Scenario, id: number) {
  const state = {
    event: await readEvent(s, id),
    capacity: await readCapacity(s, id),
    registrations: await readRegistrations(s, id),
  };
  // The organizer reads it all, or a before/after comparison would prove nothing.
  expect([state.event.status, state.capacity.status, state.registrations.status]).toEqual([200, 200, 200]);
  return state;
}

/** The ids of the caller's events (drafts included) whose title or location holds `search`. */
async function mine(s: Scenario, search: string): Promise<number[]> {
  const res = await call('get', `/api/events/?mine=true&search=${encodeURIComponent(search)}`, s.owner.access);
  expect(res.status, res.text).toBe(200);
  return (res.body as Event[]).map((event) => event.id);
}

/** A register body; `n…@mail.com` so its masked form is `n***@mail.com`. */
function person(): { name: string; email: string } {
  const id = unique('n');
  return { name: `Person ${id}`, email: `${id}@mail.com` };
}

async function registerFor(eventId: number, token?: string, body = person()): Promise<Registered> {
  const res = await call('post', `/api/events/${eventId}/register`, token).send(body);
  expect(res.status, res.text).toBe(201);
  return res.body as Registered;
}

async function published(s: Scenario, overrides: Record<string, unknown> = {}): Promise<Event> {
  return (await createEvent(t.http, s.owner, { status: 'active', ...overrides })) as unknown as Event;
}

async function draft(s: Scenario, overrides: Record<string, unknown> = {}): Promise<Event> {
  return (await createEvent(t.http, s.owner, { status: 'draft', ...overrides })) as unknown as Event;
}

/** A one-seat event with a confirmed and a waitlisted registration. */
async function fullEvent(s: Scenario) {
  const event = await published(s, { capacity: 1 });
  const confirmed = await registerFor(event.id);
  const waitlisted = await registerFor(event.id);
  expect(confirmed.registration.status).toBe('confirmed');
  expect(waitlisted.registration.status).toBe('waitlisted');
  return { s, event, confirmed, waitlisted };
}

/** GET /api/me/ with each of these tokens: 200 while the token works, 401 once revoked. */
const meStatuses = (...tokens: string[]) =>
  Promise.all(tokens.map((token) => statusOf(call('get', '/api/me/', token))));

const idsOf = (res: Response) => (res.body as { id: number }[]).map((item) => item.id);

// ---- the endpoints ----

const eventRead = (which: 'published' | 'draft') =>
  target({
    arrange: async (s) => ({ s, event: which === 'draft' ? await draft(s) : await published(s) }),
    send: ({ event }, token) => call('get', `/api/events/${event.id}/`, token),
    succeeded: (res, { event }) => {
      expect(res.body).toMatchObject({ id: event.id, status: event.status });
    },
  });

const eventWrite = (method: 'put' | 'patch' | 'delete', which: 'published' | 'draft') =>
  target({
    arrange: async (s) => {
      const event = which === 'draft' ? await draft(s) : await published(s, { capacity: 5 });
      if (which === 'published') await registerFor(event.id);
      const title = unique(method === 'put' ? 'Replaced' : 'Patched');
      const body =
        method === 'put'
          ? eventBody({ title, status: event.status, capacity: 9 })
          : method === 'patch'
            ? { title }
            : undefined;
      return { s, event, body, title };
    },
    send: ({ event, body }, token) => {
      const req = call(method, `/api/events/${event.id}/`, token);
      return body === undefined ? req : req.send(body);
    },
    state: ({ s, event }) => eventState(s, event.id),
    succeeded: async (res, { s, event, title }) => {
      if (method === 'delete') {
        expect(res.body).toEqual({ detail: 'Event deleted successfully' });
        expect((await readEvent(s, event.id)).status).toBe(404);
        return;
      }
      expect(res.body).toMatchObject({ id: event.id, title, status: event.status });
      expect((await readEvent(s, event.id)).body).toMatchObject({ title });
    },
  });

const registerForEvent = (which: 'published' | 'draft') =>
  target({
    arrange: async (s) => ({ s, event: which === 'draft' ? await draft(s) : await published(s), body: person() }),
    send: ({ event, body }, token) => call('post', `/api/events/${event.id}/register`, token).send(body),
    state: ({ s, event }) => Promise.all([readCapacity(s, event.id), readRegistrations(s, event.id)]),
    succeeded: async (res, { s, event, body }, caller) => {
      const { registration, cancel_token } = res.body as Registered;
      expect(registration).toMatchObject({ event_id: event.id, email: body.email, status: 'confirmed' });
      expect(cancel_token).toEqual(expect.any(String));
      expect((await readCapacity(s, event.id)).body).toMatchObject({ attendees_count: 1 });
      if (caller) {
        // Sent with a token, the registration is the caller's.
        const listed = await call('get', '/api/me/registrations/', caller.access);
        expect(idsOf(listed)).toEqual([registration.id]);
      }
    },
  });

const capacityRead = (which: 'published' | 'draft') =>
  target({
    arrange: async (s) => ({
      s,
      event: which === 'draft' ? await draft(s, { capacity: 3 }) : await published(s, { capacity: 3 }),
    }),
    send: ({ event }, token) => call('get', `/api/events/${event.id}/capacity`, token),
    succeeded: (res) => {
      expect(res.body).toEqual({
        capacity: 3,
        attendees_count: 0,
        available_slots: 3,
        waitlist_count: 0,
        checked_in_count: 0,
      });
    },
  });

const waitlistRead = (which: 'published' | 'draft') =>
  target({
    arrange: async (s) => (which === 'draft' ? { s, event: await draft(s), waitlisted: undefined } : fullEvent(s)),
    send: ({ event }, token) => call('get', `/api/events/${event.id}/waitlist`, token),
    succeeded: (res, { s, waitlisted }, caller) => {
      const body = res.body as { waitlist: { name: string; email: string }[]; count: number };
      if (!waitlisted) {
        expect(body).toEqual({ waitlist: [], count: 0 });
        return;
      }
      const email = waitlisted.registration.email;
      expect(body.count).toBe(1);
      // The organizer sees the email; anyone else sees it masked.
      expect(body.waitlist[0].email).toBe(caller?.id === s.owner.id ? email : `n***@${email.split('@')[1]}`);
    },
  });

const registrationsRead = (which: 'published' | 'draft', format: 'json' | 'csv') =>
  target({
    arrange: async (s) =>
      which === 'draft' ? { s, event: await draft(s), confirmed: undefined, waitlisted: undefined } : fullEvent(s),
    send: ({ event }, token) => {
      const req = call('get', `/api/events/${event.id}/registrations/`, token);
      return format === 'csv' ? req.set('Accept', 'text/csv') : req;
    },
    succeeded: (res, { confirmed, waitlisted }) => {
      const registrations = [confirmed, waitlisted].flatMap((r) => (r ? [r.registration] : []));
      if (format === 'json') {
        expect(idsOf(res)).toEqual(registrations.map((r) => r.id));
        return;
      }
      expect(res.headers['content-type']).toMatch(/^text\/csv/);
      const lines = res.text.trim().split(/\r?\n/);
      expect(lines[0]).toBe('id,name,email,status,position,created_at,promoted_at,checked_in_at');
      expect(lines.slice(1).map((line) => Number(line.split(',')[0]))).toEqual(registrations.map((r) => r.id));
    },
  });

const registrationPath = (c: { event: Event; confirmed: Registered }) =>
  `/api/events/${c.event.id}/registrations/${c.confirmed.registration.id}/`;

const checkInPath = (eventId: number, registrationId: number) =>
  `/api/events/${eventId}/registrations/${registrationId}/check-in/`;

/** A registration's detail and its event's counters and list, as the organizer reads them. */
async function registrationState(c: { s: Scenario; event: Event; confirmed: Registered }) {
  const res = await call('get', registrationPath(c), c.s.owner.access);
  return { registration: { status: res.status, body: res.body as unknown }, ...(await eventState(c.s, c.event.id)) };
}

/** Check-in of the confirmed registration of `fullEvent` (published), or of a draft with that registration's id. */
const checkInTarget = (method: 'post' | 'delete', which: 'published' | 'draft') =>
  target({
    arrange: async (s) => {
      const full = await fullEvent(s);
      const id = full.confirmed.registration.id;
      // Undoing needs a check-in to undo.
      if (method === 'delete')
        expect((await call('post', checkInPath(full.event.id, id), s.owner.access)).status).toBe(200);
      return { ...full, eventId: which === 'draft' ? (await draft(s)).id : full.event.id };
    },
    send: (c, token) => call(method, checkInPath(c.eventId, c.confirmed.registration.id), token),
    state: async (c) => ({ ...(await registrationState(c)), target: await eventState(c.s, c.eventId) }),
    succeeded: async (res, c) => {
      expect(res.body).toMatchObject({ id: c.confirmed.registration.id, status: 'confirmed' });
      expect(res.body.checked_in_at === null).toBe(method === 'delete');
      const after = await registrationState(c);
      expect(after.registration.body).toEqual(res.body);
      expect(after.capacity.body).toMatchObject({ checked_in_count: method === 'post' ? 1 : 0 });
    },
  });

/** The owner's webhook endpoints, as they read them. */
async function webhooksOf(user: TestUser) {
  const res = await call('get', '/api/webhooks/?page_size=200', user.access);
  expect(res.status, res.text).toBe(200);
  return res.body as { id: number }[];
}

/** An endpoint of the owner's (at a closed local port: the test app sends nothing). */
async function ownWebhook(s: Scenario, events = ['event.updated']): Promise<{ id: number; secret: string }> {
  const res = await call('post', '/api/webhooks/', s.owner.access).send({
    url: `http://127.0.0.1:9/${unique('hook')}`,
    events,
  });
  expect(res.status, res.text).toBe(201);
  return res.body as { id: number; secret: string };
}

const webhookRead = (suffix: '' | 'deliveries/') =>
  target({
    arrange: async (s) => {
      const webhook = await ownWebhook(s, ['registration.created']);
      if (suffix) await registerFor((await published(s)).id);
      return { s, webhook };
    },
    send: ({ webhook }, token) => call('get', `/api/webhooks/${webhook.id}/${suffix}`, token),
    succeeded: (res, { webhook }) => {
      expect(res.text).not.toContain(webhook.secret);
      if (suffix) expect(res.body).toMatchObject([{ type: 'registration.created', status: 'pending' }]);
      else expect(res.body).toMatchObject({ id: webhook.id, events: ['registration.created'] });
    },
  });

const TARGETS = {
  'POST /api/register/': target({
    arrange: async (s) => {
      const username = unique();
      return { s, body: { username, email: `${username}@example.com`, password: 'correct horse battery' } };
    },
    send: ({ body }, token) => call('post', '/api/register/', token).send(body),
    // Whether the account exists: its credentials log in (200) or not (401).
    state: ({ body }) =>
      statusOf(t.http.post('/api/login/').send({ username: body.username, password: body.password })),
    succeeded: async (res, { body }) => {
      expect(res.body).toEqual({ id: expect.any(Number), username: body.username, email: body.email });
      expect(
        await statusOf(t.http.post('/api/login/').send({ username: body.username, password: body.password })),
      ).toBe(200);
    },
  }),

  'POST /api/login/': target({
    arrange: async (s) => ({ s }),
    send: ({ s }, token) =>
      call('post', '/api/login/', token).send({ username: s.owner.username, password: s.owner.password }),
    state: async ({ s }) => {
      const res = await call('get', '/api/me/', s.owner.access);
      return { status: res.status, body: res.body as unknown };
    },
    succeeded: async (res, { s }) => {
      expect(Object.keys(res.body as object).sort()).toEqual(['access', 'refresh']);
      // The new tokens are the account's whose credentials were sent, whoever sent them.
      const me = await call('get', '/api/me/', (res.body as { access: string }).access);
      expect(me.body).toMatchObject({ id: s.owner.id });
    },
  }),

  'POST /api/token/refresh/': target({
    arrange: async (s) => ({ s, session: await login(t.http, s.owner.username, s.owner.password) }),
    send: ({ session }, token) => call('post', '/api/token/refresh/', token).send({ refresh: session.refresh }),
    state: ({ s, session }) => meStatuses(s.owner.access, session.access),
    intact: async ({ session }) => {
      // Neither retired nor revoked: it still refreshes (a retired one would be a reuse, 401).
      expect(await statusOf(t.http.post('/api/token/refresh/').send({ refresh: session.refresh }))).toBe(200);
    },
    succeeded: async (res, { s, session }) => {
      const next = res.body as { access: string; refresh: string };
      expect(Object.keys(next).sort()).toEqual(['access', 'refresh']);
      expect((await call('get', '/api/me/', next.access)).body).toMatchObject({ id: s.owner.id });
      // Rotated: the refresh token sent is retired.
      expectProblem(await t.http.post('/api/token/refresh/').send({ refresh: session.refresh }), 401);
    },
  }),

  // The body names a second login of the organizer: only the organizer may end it.
  'POST /api/logout/': target({
    arrange: async (s) => ({ s, session: await login(t.http, s.owner.username, s.owner.password) }),
    send: ({ session }, token) => call('post', '/api/logout/', token).send({ refresh: session.refresh }),
    state: ({ s, session }) => meStatuses(s.owner.access, session.access, s.other.access),
    intact: async ({ session }) => {
      expect(await statusOf(t.http.post('/api/token/refresh/').send({ refresh: session.refresh }))).toBe(200);
    },
    succeeded: async (res, { s, session }) => {
      expect(res.body).toEqual({ detail: 'Successfully logged out' });
      // Both of the organizer's sessions end; the other user's login is untouched.
      expect(await meStatuses(s.owner.access, session.access, s.other.access)).toEqual([401, 401, 200]);
      expectProblem(await t.http.post('/api/token/refresh/').send({ refresh: session.refresh }), 401);
    },
  }),

  'POST /api/logout/all/': target({
    arrange: async (s) => ({ s, session: await login(t.http, s.owner.username, s.owner.password) }),
    send: (_c, token) => call('post', '/api/logout/all/', token),
    state: ({ s, session }) => meStatuses(s.owner.access, session.access, s.other.access),
    succeeded: async (res, { s, session }, caller) => {
      expect(res.body).toEqual({ detail: expect.any(String) });
      // Every session of the caller ends, and no one else's.
      const expected = caller?.id === s.owner.id ? [401, 401, 200] : [200, 200, 401];
      expect(await meStatuses(s.owner.access, session.access, s.other.access)).toEqual(expected);
    },
  }),

  'GET /api/me/': target({
    arrange: async (s) => ({ s }),
    send: (_c, token) => call('get', '/api/me/', token),
    succeeded: (res, _c, caller) => {
      expect(res.body).toEqual({
        id: caller?.id,
        username: caller?.username,
        email: caller?.email,
        date_joined: expect.any(String),
      });
    },
  }),

  'GET /api/me/registrations/': target({
    arrange: async (s) => {
      const event = await published(s);
      return { s, mine: await registerFor(event.id, s.owner.access) };
    },
    send: (_c, token) => call('get', '/api/me/registrations/', token),
    succeeded: (res, { s, mine }, caller) => {
      expect(idsOf(res)).toEqual(caller?.id === s.owner.id ? [mine.registration.id] : []);
    },
  }),

  'GET /api/events/': target({
    arrange: async (s) => {
      const tag = unique('Listed');
      return {
        s,
        tag,
        published: await published(s, { title: `${tag} published` }),
        draft: await draft(s, { title: `${tag} draft` }),
      };
    },
    send: ({ tag }, token) => call('get', `/api/events/?search=${tag}`, token),
    succeeded: (res, c) => {
      // The plain list never shows drafts, not even to their organizer.
      expect(idsOf(res)).toEqual([c.published.id]);
    },
  }),

  'GET /api/events/?mine=true': target({
    arrange: async (s) => {
      const tag = unique('Mine');
      const event = await published(s, { title: `${tag} published` });
      return { s, tag, ids: [event.id, (await draft(s, { title: `${tag} draft` })).id] };
    },
    send: ({ tag }, token) => call('get', `/api/events/?mine=true&search=${tag}&ordering=created_at`, token),
    succeeded: (res, { s, ids }, caller) => {
      expect(idsOf(res)).toEqual(caller?.id === s.owner.id ? ids : []);
    },
  }),

  'POST /api/events/': target({
    arrange: async (s) => ({ s, body: eventBody({ title: unique('Created') }) }),
    send: ({ body }, token) => call('post', '/api/events/', token).send(body),
    state: ({ s, body }) => mine(s, body.title as string),
    succeeded: (res, { body }, caller) => {
      // The organizer is the caller.
      expect(res.body).toMatchObject({ title: body.title, organizer: caller?.username, organizer_id: caller?.id });
    },
  }),

  'GET /api/events/:id/ (published)': eventRead('published'),
  'GET /api/events/:id/ (draft)': eventRead('draft'),
  'PUT /api/events/:id/ (published)': eventWrite('put', 'published'),
  'PUT /api/events/:id/ (draft)': eventWrite('put', 'draft'),
  'PATCH /api/events/:id/ (published)': eventWrite('patch', 'published'),
  'PATCH /api/events/:id/ (draft)': eventWrite('patch', 'draft'),
  'DELETE /api/events/:id/ (published)': eventWrite('delete', 'published'),
  'DELETE /api/events/:id/ (draft)': eventWrite('delete', 'draft'),
  'POST /api/events/:id/register (published)': registerForEvent('published'),
  'POST /api/events/:id/register (draft)': registerForEvent('draft'),
  'GET /api/events/:id/capacity (published)': capacityRead('published'),
  'GET /api/events/:id/capacity (draft)': capacityRead('draft'),
  'GET /api/events/:id/waitlist (published)': waitlistRead('published'),
  'GET /api/events/:id/waitlist (draft)': waitlistRead('draft'),
  'GET /api/events/:id/registrations/ (published, JSON)': registrationsRead('published', 'json'),
  'GET /api/events/:id/registrations/ (draft, JSON)': registrationsRead('draft', 'json'),
  'GET /api/events/:id/registrations/ (published, CSV)': registrationsRead('published', 'csv'),
  'GET /api/events/:id/registrations/ (draft, CSV)': registrationsRead('draft', 'csv'),

  'GET /api/events/:id/registrations/:rid/': target({
    arrange: fullEvent,
    send: (c, token) => call('get', registrationPath(c), token),
    succeeded: (res, { confirmed }) => {
      expect(res.body).toMatchObject({ id: confirmed.registration.id, status: 'confirmed' });
    },
  }),

  'DELETE /api/events/:id/registrations/:rid/': target({
    arrange: fullEvent,
    send: (c, token) => call('delete', registrationPath(c), token),
    state: registrationState,
    succeeded: async (res, c) => {
      expect(res.body).toEqual({ detail: 'Registration cancelled' });
      const after = await registrationState(c);
      expect(after.registration.status).toBe(404);
      // The freed seat went to the waitlisted registration.
      expect(after.capacity.body).toMatchObject({ attendees_count: 1, waitlist_count: 0 });
      expect(after.registrations.body).toMatchObject([{ id: c.waitlisted.registration.id, status: 'confirmed' }]);
    },
  }),

  'POST /api/events/:id/registrations/:rid/check-in/ (published)': checkInTarget('post', 'published'),
  'POST /api/events/:id/registrations/:rid/check-in/ (draft)': checkInTarget('post', 'draft'),
  'DELETE /api/events/:id/registrations/:rid/check-in/ (published)': checkInTarget('delete', 'published'),
  'DELETE /api/events/:id/registrations/:rid/check-in/ (draft)': checkInTarget('delete', 'draft'),

  'POST /api/webhooks/': target({
    arrange: async (s) => ({ s, body: { url: `http://127.0.0.1:9/${unique('hook')}`, events: ['event.updated'] } }),
    send: ({ body }, token) => call('post', '/api/webhooks/', token).send(body),
    state: ({ s }) => webhooksOf(s.owner),
    succeeded: async (res, { body }, caller) => {
      expect(res.body).toMatchObject({ ...body, status: 'active', secret: expect.stringMatching(/^whsec_/) });
      // Any user may create one; it is the caller's.
      expect((await webhooksOf(caller!)).map((webhook) => webhook.id)).toEqual([res.body.id]);
    },
  }),

  'GET /api/webhooks/': target({
    arrange: async (s) => ({ s, webhook: await ownWebhook(s) }),
    send: (_c, token) => call('get', '/api/webhooks/', token),
    succeeded: (res, { s, webhook }, caller) => {
      expect(idsOf(res)).toEqual(caller?.id === s.owner.id ? [webhook.id] : []);
    },
  }),

  'GET /api/webhooks/:id/': webhookRead(''),
  'GET /api/webhooks/:id/deliveries/': webhookRead('deliveries/'),

  'DELETE /api/webhooks/:id/': target({
    arrange: async (s) => ({ s, webhook: await ownWebhook(s) }),
    send: ({ webhook }, token) => call('delete', `/api/webhooks/${webhook.id}/`, token),
    state: ({ s }) => webhooksOf(s.owner),
    succeeded: async (res, { s }) => {
      expect(res.body).toEqual({ detail: 'Webhook endpoint deleted' });
      expect(await webhooksOf(s.owner)).toEqual([]);
    },
  }),

  'GET /api/health': target({
    arrange: async (s) => ({ s }),
    send: (_c, token) => call('get', '/api/health', token),
    succeeded: (res) => {
      expect(res.body).toMatchObject({ status: 'ok' });
    },
  }),

  'GET /api/metrics': target({
    arrange: async (s) => ({ s }),
    send: (_c, token) => call('get', '/api/metrics', token),
    succeeded: (res) => {
      expect(res.text).toContain('event_registrations_total');
    },
  }),

  'GET /api/docs-json': target({
    arrange: async (s) => ({ s }),
    send: (_c, token) => call('get', '/api/docs-json', token),
    succeeded: (res) => {
      expect(res.body).toMatchObject({ openapi: expect.any(String), paths: expect.any(Object) });
    },
  }),
} satisfies Record<string, Cell>;

/** An endpoint and the status each caller gets, in the order of CALLERS. */
type Row = [keyof typeof TARGETS, number, number, number, number, number, number];

// prettier-ignore
const MATRIX: Row[] = [
  // endpoint                                              anonymous  other user  organizer  revoked  expired  refresh as bearer
  ['POST /api/register/',                                  201,       201,        201,       201,     201,     201],
  ['POST /api/login/',                                     200,       200,        200,       200,     200,     200],
  ['POST /api/token/refresh/',                             200,       200,        200,       200,     200,     200],
  ['POST /api/logout/',                                    401,       403,        200,       401,     401,     401],
  ['POST /api/logout/all/',                                401,       200,        200,       401,     401,     401],
  ['GET /api/me/',                                         401,       200,        200,       401,     401,     401],
  ['GET /api/me/registrations/',                           401,       200,        200,       401,     401,     401],
  ['GET /api/events/',                                     200,       200,        200,       401,     401,     401],
  ['GET /api/events/?mine=true',                           401,       200,        200,       401,     401,     401],
  ['POST /api/events/',                                    401,       201,        201,       401,     401,     401],
  ['GET /api/events/:id/ (published)',                     200,       200,        200,       401,     401,     401],
  ['GET /api/events/:id/ (draft)',                         404,       404,        200,       401,     401,     401],
  ['PUT /api/events/:id/ (published)',                     401,       403,        200,       401,     401,     401],
  ['PUT /api/events/:id/ (draft)',                         401,       404,        200,       401,     401,     401],
  ['PATCH /api/events/:id/ (published)',                   401,       403,        200,       401,     401,     401],
  ['PATCH /api/events/:id/ (draft)',                       401,       404,        200,       401,     401,     401],
  ['DELETE /api/events/:id/ (published)',                  401,       403,        200,       401,     401,     401],
  ['DELETE /api/events/:id/ (draft)',                      401,       404,        200,       401,     401,     401],
  ['POST /api/events/:id/register (published)',            201,       201,        201,       401,     401,     401],
  ['POST /api/events/:id/register (draft)',                404,       404,        409,       401,     401,     401],
  ['GET /api/events/:id/capacity (published)',             200,       200,        200,       401,     401,     401],
  ['GET /api/events/:id/capacity (draft)',                 404,       404,        200,       401,     401,     401],
  ['GET /api/events/:id/waitlist (published)',             401,       200,        200,       401,     401,     401],
  ['GET /api/events/:id/waitlist (draft)',                 401,       404,        200,       401,     401,     401],
  ['GET /api/events/:id/registrations/ (published, JSON)', 401,       403,        200,       401,     401,     401],
  ['GET /api/events/:id/registrations/ (draft, JSON)',     401,       404,        200,       401,     401,     401],
  ['GET /api/events/:id/registrations/ (published, CSV)',  401,       403,        200,       401,     401,     401],
  ['GET /api/events/:id/registrations/ (draft, CSV)',      401,       404,        200,       401,     401,     401],
  ['GET /api/events/:id/registrations/:rid/',              401,       403,        200,       401,     401,     401],
  ['DELETE /api/events/:id/registrations/:rid/',           401,       403,        200,       401,     401,     401],
  ['POST /api/events/:id/registrations/:rid/check-in/ (published)',    401,       403,        200,       401,     401,     401],
  ['POST /api/events/:id/registrations/:rid/check-in/ (draft)',        401,       404,        404,       401,     401,     401],
  ['DELETE /api/events/:id/registrations/:rid/check-in/ (published)',  401,       403,        200,       401,     401,     401],
  ['DELETE /api/events/:id/registrations/:rid/check-in/ (draft)',      401,       404,        404,       401,     401,     401],

  ['POST /api/webhooks/',                                  401,       201,        201,       401,     401,     401],
  ['GET /api/webhooks/',                                   401,       200,        200,       401,     401,     401],
  ['GET /api/webhooks/:id/',                               401,       404,        200,       401,     401,     401],
  ['DELETE /api/webhooks/:id/',                            401,       404,        200,       401,     401,     401],
  ['GET /api/webhooks/:id/deliveries/',                    401,       404,        200,       401,     401,     401],
  ['GET /api/health',                                      200,       200,        200,       200,     200,     200],
  ['GET /api/metrics',                                     200,       200,        200,       200,     200,     200],
  ['GET /api/docs-json',                                   200,       200,        200,       200,     200,     200],
];

beforeAll(async () => {
  // Webhook URLs at a closed local port: accepted, and never called (the test app runs no webhook worker).
  t = await startApp({ WEBHOOK_ALLOW_PRIVATE: 'true' });
});
afterAll(() => t?.close());

describe('authorization matrix', () => {
  describe.each(MATRIX)('%s', (label, ...statuses) => {
    it.each(CALLERS.map((caller, i) => [caller, statuses[i]] as const))('%s → %i', (caller, expected) =>
      TARGETS[label](label, caller, expected),
    );
  });
});

/** Who may read or cancel one registration besides its organizer (README: "Registrations, capacity and the waitlist"). */
type Credentials =
  | 'its cancel token'
  | 'registrant account'
  | 'another user with its cancel token'
  | 'cancel token of another registration'
  | 'a wrong cancel token'
  | 'organizer of another event'
  | 'its cancel token on another event'
  | 'revoked token with its cancel token'
  | 'expired token with its cancel token'
  | 'refresh token with its cancel token';

// prettier-ignore
const REGISTRATION_ACCESS: [Credentials, number, number][] = [
  // credentials                              GET  DELETE
  ['its cancel token',                        200, 200],
  ['registrant account',                      200, 200],
  ['another user with its cancel token',      200, 200],
  ['cancel token of another registration',    403, 403],
  ['a wrong cancel token',                    403, 403],
  ['organizer of another event',              403, 403],
  ['its cancel token on another event',       404, 404],
  ['revoked token with its cancel token',     401, 401],
  ['expired token with its cancel token',     401, 401],
  ['refresh token with its cancel token',     401, 401],
];

describe('who may read or cancel one registration', () => {
  /** The organizer's one-seat event: the other user's registration (made with their token), and an anonymous one waitlisted. */
  async function arrange() {
    const s = await scenario();
    const stranger = await createUser(t.http);
    const event = await published(s, { capacity: 1 });
    const theirs = await registerFor(event.id, s.other.access);
    const anonymous = await registerFor(event.id);
    const elsewhere = await createEvent(t.http, stranger);
    return { s, stranger, event, theirs, anonymous, elsewhere };
  }

  type Arranged = Awaited<ReturnType<typeof arrange>>;

  async function credentials(
    a: Arranged,
    which: Credentials,
  ): Promise<{ path: string; headers: Record<string, string> }> {
    const path = `/api/events/${a.event.id}/registrations/${a.theirs.registration.id}/`;
    const token = { 'X-Registration-Token': a.theirs.cancel_token };
    switch (which) {
      case 'its cancel token':
        return { path, headers: token };
      case 'registrant account':
        return { path, headers: bearer(a.s.other.access) };
      case 'another user with its cancel token':
        return { path, headers: { ...bearer(a.stranger.access), ...token } };
      case 'cancel token of another registration':
        return { path, headers: { 'X-Registration-Token': a.anonymous.cancel_token } };
      case 'a wrong cancel token':
        return { path, headers: { 'X-Registration-Token': unique('wrong') } };
      case 'organizer of another event':
        return { path, headers: bearer(a.stranger.access) };
      case 'its cancel token on another event':
        return { path: `/api/events/${a.elsewhere.id}/registrations/${a.theirs.registration.id}/`, headers: token };
      case 'revoked token with its cancel token': {
        const session = await login(t.http, a.s.other.username, a.s.other.password);
        expect((await t.http.post('/api/logout/').set(bearer(session.access))).status).toBe(200);
        return { path, headers: { ...bearer(session.access), ...token } };
      }
      case 'expired token with its cancel token':
        return { path, headers: { ...bearer(expiredAccess(a.s.other)), ...token } };
      case 'refresh token with its cancel token':
        return { path, headers: { ...bearer(a.s.other.refresh), ...token } };
    }
  }

  const organizerView = (a: Arranged) => registrationState({ s: a.s, event: a.event, confirmed: a.theirs });

  it.each(REGISTRATION_ACCESS)('%s: GET → %i, DELETE → %i', async (which, getStatus, deleteStatus) => {
    const a = await arrange();
    const read = await credentials(a, which);
    const got = await t.http.get(read.path).set(read.headers);
    expect(got.status, got.text).toBe(getStatus);
    if (getStatus === 200) expect(got.body).toMatchObject({ id: a.theirs.registration.id, status: 'confirmed' });
    else expectProblem(got, getStatus);

    const before = await organizerView(a);
    const cancel = await credentials(a, which);
    const deleted = await t.http.delete(cancel.path).set(cancel.headers);
    expect(deleted.status, deleted.text).toBe(deleteStatus);
    const after = await organizerView(a);
    if (deleteStatus === 200) {
      expect(after.registration.status).toBe(404);
      expect(after.registrations.body).toMatchObject([{ id: a.anonymous.registration.id, status: 'confirmed' }]);
    } else {
      expectProblem(deleted, deleteStatus);
      expect(after, 'a refused cancellation changed the state').toEqual(before);
    }
  });
});

describe('the matrix itself', () => {
  it('has a row for every operation of the OpenAPI document', async () => {
    const res = await t.http.get('/api/docs-json');
    expect(res.status).toBe(200);
    // Rows name the unversioned paths; the document describes their /api/v1 twins.
    const normalise = (path: string) =>
      path
        .replace(/^\/api\/v1\//, '/api/')
        .replace(/\{(\w+)\}/g, ':$1')
        .replace(/\/$/, '');
    const documented = Object.entries(res.body.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, operations]) =>
        Object.keys(operations)
          .filter((method) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
          .map((method) => `${method.toUpperCase()} ${normalise(path)}`),
    );
    const covered = new Set(MATRIX.map(([label]) => normalise(label.replace(/ \(.*\)$/, '').replace(/\?.*$/, ''))));
    expect(documented.length).toBeGreaterThan(0);
    expect(documented.filter((operation) => !covered.has(operation))).toEqual([]);
  });

  it('forges its expired token right: the same token in date is accepted', async () => {
    const owner = await createUser(t.http);
    const claims = jwt.decode(expiredAccess(owner)) as Claims;
    const inDate = jwt.sign({ ...claims, iat: now(), exp: now() + 300 }, TEST_JWT_SECRET, { algorithm: 'HS256' });
    expect((jwt.decode(inDate) as Claims).iss).toBe(TEST_JWT_ISSUER);
    expect((jwt.decode(inDate) as Claims).aud).toBe(TEST_JWT_AUDIENCE);
    const res = await t.http.get('/api/me/').set(bearer(inDate));
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ id: owner.id });
  });
});

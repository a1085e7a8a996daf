import type { Response, Test } from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  bearer,
  createEvent,
  createUser,
  expectProblem,
  type Registration,
  type TestUser,
  unique,
} from './support/fixtures.js';
import { startApp, type TestApp } from './support/test-app.js';

/** The fields API.md shows for a registration. */
const REGISTRATION_FIELDS = [
  'id',
  'event_id',
  'name',
  'email',
  'status',
  'position',
  'created_at',
  'promoted_at',
  'checked_in_at',
];
const WAITLIST_ENTRY_FIELDS = ['position', 'name', 'email', 'created_at'];
const CAPACITY_FIELDS = ['capacity', 'attendees_count', 'available_slots', 'waitlist_count', 'checked_in_count'];
const CSV_HEADER = ['id', 'name', 'email', 'status', 'position', 'created_at', 'promoted_at', 'checked_in_at'];
const TO_THE_MILLISECOND = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const CLOSED = 'Registration is closed for this event';
const CONFIRMED = 'Registered for event successfully';
const WAITLISTED = 'Event is full; added to the waitlist';
/** An id no event or registration has (well inside a 32-bit INT). */
const UNKNOWN_ID = 2_000_000_000;
const PAST = '2020-01-01T10:00:00Z';

/** A registration as its registrant knows it: what they sent, what came back and the cancel token. */
interface Registrant {
  name: string;
  email: string;
  registration: Registration;
  token: string;
}

interface Capacity {
  capacity: number;
  attendees_count: number;
  available_slots: number;
  waitlist_count: number;
  checked_in_count: number;
}

/** Who asks for one registration: an account's access token, a cancel token, both or neither. */
interface Credentials {
  user?: TestUser;
  token?: string;
}

/** A register body no other test uses; `n…@mail.com` so its masked form is `n***@mail.com`. */
function person(label = 'n'): { name: string; email: string } {
  const id = unique(label);
  return { name: `Person ${id}`, email: `${id}@mail.com` };
}

/** Rows of RFC 4180 CSV text (quoted cells, doubled quotes, CRLF or LF line ends). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char !== '"') cell += char;
      else if (text[i + 1] === '"') {
        cell += '"';
        i++;
      } else quoted = false;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(cell);
      cell = '';
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += char;
  }
  if (cell !== '' || row.length > 0) rows.push([...row, cell]);
  return rows;
}

/** A registration as a CSV row shows it, before formula neutralisation. */
function csvRowOf(registration: Registration): string[] {
  return [
    String(registration.id),
    registration.name,
    registration.email,
    registration.status,
    registration.position === null ? '' : String(registration.position),
    registration.created_at,
    registration.promoted_at ?? '',
    registration.checked_in_at ?? '',
  ];
}

function expectUnauthenticated(res: Response): void {
  expectProblem(res, 401);
  expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
}

describe('registrations, capacity and waitlist', () => {
  let t: TestApp;
  /** Organizes the events. */
  let alice: TestUser;
  /** Another signed-in user. */
  let bob: TestUser;

  beforeAll(async () => {
    t = await startApp();
    alice = await createUser(t.http);
    bob = await createUser(t.http);
  });
  afterAll(() => t.close());

  /** Every event the running test created, checked after it (see expectCountersMatchRows). */
  const eventsOfThisTest = new Set<number>();
  async function newEvent(overrides: Record<string, unknown> = {}) {
    const event = await createEvent(t.http, alice, overrides);
    eventsOfThisTest.add(event.id);
    return event;
  }
  afterEach(async () => {
    const ids = [...eventsOfThisTest];
    eventsOfThisTest.clear();
    for (const id of ids) {
      // An event the test deleted has no rows left to check.
      if ((await t.http.get(`/api/events/${id}/`).set(bearer(alice.access))).status === 404) continue;
      await expectCountersMatchRows(id);
    }
  });

  const withCredentials = (request: Test, { user, token }: Credentials = {}): Test => {
    if (user) request.set(bearer(user.access));
    if (token !== undefined) request.set('X-Registration-Token', token);
    return request;
  };
  const register = (eventId: number | string, body: unknown, user?: TestUser) =>
    withCredentials(t.http.post(`/api/events/${eventId}/register`), { user }).send(body as object);
  const getCapacity = (eventId: number | string, user?: TestUser) =>
    withCredentials(t.http.get(`/api/events/${eventId}/capacity`), { user });
  const getWaitlist = (eventId: number | string, user?: TestUser, query = '') =>
    withCredentials(t.http.get(`/api/events/${eventId}/waitlist${query}`), { user });
  const listRegistrations = (eventId: number | string, user?: TestUser, query = '') =>
    withCredentials(t.http.get(`/api/events/${eventId}/registrations/${query}`), { user });
  const exportCsv = (eventId: number | string, user?: TestUser, query = '') =>
    listRegistrations(eventId, user, query).set('Accept', 'text/csv');
  const getRegistration = (eventId: number | string, registrationId: number | string, credentials?: Credentials) =>
    withCredentials(t.http.get(`/api/events/${eventId}/registrations/${registrationId}/`), credentials);
  const cancel = (eventId: number | string, registrationId: number | string, credentials?: Credentials) =>
    withCredentials(t.http.delete(`/api/events/${eventId}/registrations/${registrationId}/`), credentials);
  const myRegistrations = (user: TestUser, query = '') =>
    t.http.get(`/api/me/registrations/${query}`).set(bearer(user.access));
  const patchEvent = (eventId: number, body: unknown, user: TestUser = alice) =>
    t.http
      .patch(`/api/events/${eventId}/`)
      .set(bearer(user.access))
      .send(body as object);
  const putEvent = (eventId: number, body: unknown, user: TestUser = alice) =>
    t.http
      .put(`/api/events/${eventId}/`)
      .set(bearer(user.access))
      .send(body as object);

  /** Registers someone new (or `who`) and checks the outcome is `status`. */
  async function registered(
    eventId: number,
    status: Registration['status'],
    { user, who = person() }: { user?: TestUser; who?: { name: string; email: string } } = {},
  ): Promise<Registrant> {
    const res = await register(eventId, who, user);
    expect(res.status, res.text).toBe(201);
    expect(res.body.registration.status, res.text).toBe(status);
    return { ...who, registration: res.body.registration, token: res.body.cancel_token };
  }

  /** An active event with `capacity` seats, `confirmed` of them taken and `waitlisted` people waiting, in that order. */
  async function eventWith(capacity: number, confirmed: number, waitlisted: number) {
    const event = await newEvent({ capacity });
    const seated: Registrant[] = [];
    const waiting: Registrant[] = [];
    for (let i = 0; i < confirmed; i++) seated.push(await registered(event.id, 'confirmed'));
    for (let i = 0; i < waitlisted; i++) waiting.push(await registered(event.id, 'waitlisted'));
    return { event, seated, waiting };
  }

  async function capacityOf(eventId: number, user?: TestUser): Promise<Capacity> {
    const res = await getCapacity(eventId, user);
    expect(res.status, res.text).toBe(200);
    return res.body;
  }

  /** Every registration of the event, as its organizer lists them. */
  async function rowsOf(eventId: number, organizer: TestUser = alice): Promise<Registration[]> {
    const res = await listRegistrations(eventId, organizer, '?page_size=200');
    expect(res.status, res.text).toBe(200);
    expect(Number(res.headers['x-total-count'])).toBe(res.body.length);
    return res.body;
  }

  /** The registration as its cancel token reads it now. */
  async function current(registrant: Registrant): Promise<Registration> {
    const res = await getRegistration(registrant.registration.event_id, registrant.registration.id, {
      token: registrant.token,
    });
    expect(res.status, res.text).toBe(200);
    return res.body;
  }

  /**
   * The counters agree with the rows: attendees_count + waitlist_count is the
   * number of rows, the confirmed rows never exceed capacity, and the
   * waitlisted rows (in id order) hold positions 1..n.
   */
  async function expectCountersMatchRows(eventId: number, organizer: TestUser = alice): Promise<Capacity> {
    const capacity = await capacityOf(eventId, organizer);
    const rows = await rowsOf(eventId, organizer);
    const confirmed = rows.filter((row) => row.status === 'confirmed');
    const waitlisted = rows.filter((row) => row.status === 'waitlisted');
    expect(capacity.attendees_count + capacity.waitlist_count).toBe(rows.length);
    expect(confirmed).toHaveLength(capacity.attendees_count);
    expect(waitlisted).toHaveLength(capacity.waitlist_count);
    expect(capacity.attendees_count).toBeLessThanOrEqual(capacity.capacity);
    expect(capacity.available_slots).toBe(capacity.capacity - capacity.attendees_count);
    expect(rows.map((row) => row.id)).toEqual([...rows.map((row) => row.id)].sort((a, b) => a - b));
    expect(confirmed.every((row) => row.position === null)).toBe(true);
    expect(waitlisted.map((row) => row.position)).toEqual(waitlisted.map((_row, index) => index + 1));
    // A free seat and a waitlist at once would mean someone was left waiting for nothing.
    if (capacity.waitlist_count > 0) expect(capacity.available_slots).toBe(0);
    return capacity;
  }

  async function eventState(eventId: number) {
    const event = await t.http.get(`/api/events/${eventId}/`).set(bearer(alice.access));
    expect(event.status, event.text).toBe(200);
    return { event: event.body, capacity: await capacityOf(eventId), rows: await rowsOf(eventId) };
  }

  describe('POST /api/events/:id/register', () => {
    it('confirms a registration while seats remain, anonymously, with the full shape and a cancel token', async () => {
      const event = await newEvent({ capacity: 3 });
      const who = person();
      const res = await register(event.id, who);
      expect(res.status, res.text).toBe(201);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(Object.keys(res.body).sort()).toEqual(['cancel_token', 'detail', 'registration']);
      expect(res.body.detail).toBe(CONFIRMED);
      expect(Object.keys(res.body.registration).sort()).toEqual([...REGISTRATION_FIELDS].sort());
      expect(res.body.registration).toEqual({
        id: expect.any(Number),
        event_id: event.id,
        name: who.name,
        email: who.email,
        status: 'confirmed',
        position: null,
        created_at: expect.stringMatching(TO_THE_MILLISECOND),
        promoted_at: null,
        checked_in_at: null,
      });
      expect(res.body.cancel_token).toEqual(expect.any(String));
      expect(await capacityOf(event.id)).toEqual({
        capacity: 3,
        attendees_count: 1,
        available_slots: 2,
        waitlist_count: 0,
        checked_in_count: 0,
      });
      await expectCountersMatchRows(event.id);
    });

    it('waitlists registrants of a full event with 1-based positions 1, 2, 3', async () => {
      const event = await newEvent({ capacity: 2 });
      await registered(event.id, 'confirmed');
      await registered(event.id, 'confirmed');
      for (const position of [1, 2, 3]) {
        const who = person();
        const res = await register(event.id, who);
        expect(res.status, res.text).toBe(201);
        expect(res.body.detail).toBe(WAITLISTED);
        expect(res.body.registration).toEqual({
          id: expect.any(Number),
          event_id: event.id,
          name: who.name,
          email: who.email,
          status: 'waitlisted',
          position,
          created_at: expect.stringMatching(TO_THE_MILLISECOND),
          promoted_at: null,
          checked_in_at: null,
        });
        expect(res.body.cancel_token).toEqual(expect.any(String));
      }
      expect(await capacityOf(event.id)).toEqual({
        capacity: 2,
        attendees_count: 2,
        available_slots: 0,
        waitlist_count: 3,
        checked_in_count: 0,
      });
      await expectCountersMatchRows(event.id);
    });

    it("links a registration made with a bearer token to that user's /api/me/registrations/", async () => {
      const carol = await createUser(t.http);
      const { event, seated } = await eventWith(1, 1, 0);
      const mine = await registered(event.id, 'waitlisted', { user: carol });
      await registered(event.id, 'waitlisted');

      const res = await myRegistrations(carol);
      expect(res.status, res.text).toBe(200);
      expect(res.body).toEqual([mine.registration]);
      expect(res.headers['x-total-count']).toBe('1');
      expect(res.headers.link).toContain('rel="first"');
      expect(res.headers.link).toContain('rel="last"');
      const others = await myRegistrations(bob);
      expect(others.body.map((row: Registration) => row.event_id)).not.toContain(event.id);
      expect(seated[0].registration.event_id).toBe(event.id);
      await expectCountersMatchRows(event.id);
    });

    it('lists only the registrations made with a token, not an anonymous one with the same email', async () => {
      const carol = await createUser(t.http);
      const first = await newEvent();
      const second = await newEvent();
      const linked = await registered(first.id, 'confirmed', {
        user: carol,
        who: { name: 'Carol', email: carol.email },
      });
      await registered(second.id, 'confirmed', { who: { name: 'Carol', email: carol.email } });
      const res = await myRegistrations(carol);
      expect(res.status, res.text).toBe(200);
      expect(res.body).toEqual([linked.registration]);
    });

    it('refuses an invalid bearer token with 401 instead of registering anonymously', async () => {
      const event = await newEvent();
      const res = await t.http.post(`/api/events/${event.id}/register`).set(bearer('not.a.token')).send(person());
      expectUnauthenticated(res);
      expect((await capacityOf(event.id)).attendees_count).toBe(0);
    });

    it('stores the name trimmed and the email trimmed and lower-cased', async () => {
      const event = await newEvent();
      const id = unique('mixed');
      const res = await register(event.id, { name: '  \t Padded Name  ', email: `  ${id.toUpperCase()}@Mail.COM  ` });
      expect(res.status, res.text).toBe(201);
      expect(res.body.registration).toMatchObject({ name: 'Padded Name', email: `${id}@mail.com` });
      const rows = await rowsOf(event.id);
      expect(rows).toEqual([res.body.registration]);
    });

    it('accepts a name of exactly 200 characters, counted after trimming', async () => {
      const event = await newEvent();
      const name = 'x'.repeat(200);
      const res = await register(event.id, { name: `  ${name}  `, email: person().email });
      expect(res.status, res.text).toBe(201);
      expect(res.body.registration.name).toBe(name);
    });

    it('accepts a one-character name and an email of exactly 254 characters', async () => {
      const event = await newEvent();
      const local = `${unique('mail')}${'l'.repeat(64)}`.slice(0, 64);
      const email = `${local}@${'d'.repeat(63)}.${'e'.repeat(63)}.${'f'.repeat(57)}.com`;
      expect(email).toHaveLength(254);
      const res = await register(event.id, { name: 'X', email });
      expect(res.status, res.text).toBe(201);
      expect(res.body.registration).toMatchObject({ name: 'X', email });
    });

    it.each([
      ['an empty name', { name: '' }, 'name'],
      ['a blank name', { name: ' \t\n ' }, 'name'],
      ['a name of 201 characters', { name: 'x'.repeat(201) }, 'name'],
      ['a name sent as a number', { name: 123 }, 'name'],
      ['a name sent as null', { name: null }, 'name'],
      ['a name sent as an array', { name: ['Ann'] }, 'name'],
      ['an email without an @', { email: 'not-an-email' }, 'email'],
      ['an email without a domain', { email: 'someone@' }, 'email'],
      ['an empty email', { email: '' }, 'email'],
      ['an email sent as a number', { email: 42 }, 'email'],
      ['an email sent as an object', { email: { address: 'a@mail.com' } }, 'email'],
      ['an unknown field', { phone: '555-0100' }, 'phone'],
    ])('rejects %s with 400 naming the field and registers nobody', async (_case, override, field) => {
      const event = await newEvent();
      expectProblem(await register(event.id, { ...person(), ...override }), 400, [field]);
      expect((await capacityOf(event.id)).attendees_count).toBe(0);
      expect(await rowsOf(event.id)).toEqual([]);
    });

    it('rejects an email of 255 characters with 400', async () => {
      const event = await newEvent();
      const local = `${unique('mail')}${'l'.repeat(64)}`.slice(0, 64);
      const email = `${local}@${'d'.repeat(63)}.${'e'.repeat(63)}.${'f'.repeat(58)}.com`;
      expect(email).toHaveLength(255);
      expectProblem(await register(event.id, { name: 'Long', email }), 400, ['email']);
    });

    it('names both missing fields at once', async () => {
      const event = await newEvent();
      expectProblem(await register(event.id, {}), 400, ['name', 'email']);
    });

    it.each([
      ['an array', JSON.stringify([{ name: 'Ann', email: 'ann@mail.com' }])],
      ['a string', JSON.stringify('Ann')],
      ['a number', '42'],
      ['null', 'null'],
    ])('rejects a body that is %s rather than a JSON object', async (_case, raw) => {
      const event = await newEvent();
      const res = await t.http
        .post(`/api/events/${event.id}/register`)
        .set('Content-Type', 'application/json')
        .send(raw);
      expectProblem(res, 400);
      expect(await rowsOf(event.id)).toEqual([]);
    });

    it.each([
      ['confirmed', 5],
      ['waitlisted', 1],
    ] as const)(
      'refuses the email of a %s registration again in another letter case with 409 and changes nothing',
      async (status, capacity) => {
        const event = await newEvent({ capacity });
        if (status === 'waitlisted') await registered(event.id, 'confirmed');
        const first = await registered(event.id, status);
        const before = await eventState(event.id);

        const res = await register(event.id, { name: 'Someone Else', email: `  ${first.email.toUpperCase()} ` });
        expectProblem(res, 409);
        expect(res.text).not.toContain(first.token);
        expect(await eventState(event.id)).toEqual(before);
        await expectCountersMatchRows(event.id);
      },
    );

    it('accepts the same email for two different events', async () => {
      const who = person();
      const first = await newEvent();
      const second = await newEvent();
      await registered(first.id, 'confirmed', { who });
      await registered(second.id, 'confirmed', { who });
    });

    it.each(['cancelled', 'completed'])(
      'refuses a %s event with 409 "Registration is closed for this event"',
      async (status) => {
        const event = await newEvent({ status });
        const res = await register(event.id, person());
        expectProblem(res, 409);
        expect(res.body.detail).toBe(CLOSED);
        expect(await expectCountersMatchRows(event.id)).toMatchObject({ attendees_count: 0, waitlist_count: 0 });
      },
    );

    it('refuses an active event whose date_time is past with 409', async () => {
      const event = await newEvent({ date_time: PAST });
      const res = await register(event.id, person());
      expectProblem(res, 409);
      expect(res.body.detail).toBe(CLOSED);
      expect(await expectCountersMatchRows(event.id)).toMatchObject({ attendees_count: 0, waitlist_count: 0 });
    });

    it('refuses a full event that has been cancelled with 409, not a place on the waitlist', async () => {
      const { event } = await eventWith(1, 1, 0);
      expect((await patchEvent(event.id, { status: 'cancelled' })).status).toBe(200);
      const res = await register(event.id, person());
      expectProblem(res, 409);
      expect(res.body.detail).toBe(CLOSED);
      expect(await expectCountersMatchRows(event.id)).toMatchObject({ attendees_count: 1, waitlist_count: 0 });
    });

    it('answers 404 for a draft to anyone but its organizer, and 409 closed to the organizer', async () => {
      const draft = await newEvent({ status: 'draft' });
      expectProblem(await register(draft.id, person()), 404);
      expectProblem(await register(draft.id, person(), bob), 404);
      const own = await register(draft.id, person(), alice);
      expectProblem(own, 409);
      expect(own.body.detail).toBe(CLOSED);
      expect(await capacityOf(draft.id, alice)).toEqual({
        capacity: 100,
        attendees_count: 0,
        available_slots: 100,
        waitlist_count: 0,
        checked_in_count: 0,
      });
    });

    it('answers 404 for an unknown event', async () => {
      expectProblem(await register(UNKNOWN_ID, person()), 404);
    });

    it.each(['0', '-1', '2147483648', '4294967296', '99999999999999999999', '-2147483649'])(
      'answers 404, not a 500, for the event id %s outside the ids',
      async (id) => {
        expectProblem(await register(id, person()), 404);
      },
    );

    it.each(['abc', '12abc', '1.5'])('answers 400 for the non-numeric event id %j', async (id) => {
      expectProblem(await register(id, person()), 400);
    });

    it.each(['', '/'])('answers at /api/events/:id/register%s', async (slash) => {
      const event = await newEvent();
      const res = await t.http.post(`/api/events/${event.id}/register${slash}`).send(person());
      expect(res.status, res.text).toBe(201);
    });
  });

  describe('cancel_token', () => {
    it('is at least 128 random bits of base64url and differs per registration', async () => {
      const event = await newEvent({ capacity: 3 });
      const tokens: string[] = [];
      for (let i = 0; i < 6; i++) {
        const res = await register(event.id, person());
        expect(res.status, res.text).toBe(201);
        tokens.push(res.body.cancel_token);
      }
      for (const token of tokens) {
        expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(Buffer.from(token, 'base64url').length).toBeGreaterThanOrEqual(16);
      }
      expect(new Set(tokens).size).toBe(tokens.length);
    });

    it('never appears again in any other response', async () => {
      const carol = await createUser(t.http);
      const event = await newEvent({ capacity: 1 });
      const seated = await registered(event.id, 'confirmed', { user: carol });
      const waiting = await registered(event.id, 'waitlisted', { user: carol });
      const responses = [
        await getRegistration(event.id, seated.registration.id, { token: seated.token }),
        await getRegistration(event.id, waiting.registration.id, { token: waiting.token }),
        await getRegistration(event.id, seated.registration.id, { user: alice }),
        await getRegistration(event.id, waiting.registration.id, { user: carol }),
        await myRegistrations(carol),
        await listRegistrations(event.id, alice),
        await exportCsv(event.id, alice),
        await getWaitlist(event.id, alice),
        await getWaitlist(event.id, bob),
        await getCapacity(event.id),
        await t.http.get(`/api/events/${event.id}/`),
        await t.http.get(`/api/events/?mine=true&page_size=200`).set(bearer(alice.access)),
      ];
      for (const res of responses) {
        expect(res.status, res.text).toBe(200);
        expect(res.text).not.toContain(seated.token);
        expect(res.text).not.toContain(waiting.token);
        expect(res.text).not.toMatch(/cancel_token|token_hash/i);
      }
    });
  });

  describe('GET /api/events/:id/capacity', () => {
    it('reports capacity, attendees, free seats and the waitlist after each step', async () => {
      const event = await newEvent({ capacity: 2 });
      const expectCapacity = async (attendees: number, waitlist: number) => {
        const res = await getCapacity(event.id);
        expect(res.status, res.text).toBe(200);
        expect(Object.keys(res.body).sort()).toEqual([...CAPACITY_FIELDS].sort());
        expect(res.body).toEqual({
          capacity: 2,
          attendees_count: attendees,
          available_slots: 2 - attendees,
          waitlist_count: waitlist,
          checked_in_count: 0,
        });
        await expectCountersMatchRows(event.id);
      };
      await expectCapacity(0, 0);
      const first = await registered(event.id, 'confirmed');
      await expectCapacity(1, 0);
      await registered(event.id, 'confirmed');
      await expectCapacity(2, 0);
      const waiting = await registered(event.id, 'waitlisted');
      await expectCapacity(2, 1);
      await registered(event.id, 'waitlisted');
      await expectCapacity(2, 2);
      expect((await cancel(event.id, waiting.registration.id, { token: waiting.token })).status).toBe(200);
      await expectCapacity(2, 1);
      expect((await cancel(event.id, first.registration.id, { token: first.token })).status).toBe(200);
      await expectCapacity(2, 0);
    });

    it('needs no token and answers the same with one', async () => {
      const { event } = await eventWith(3, 1, 0);
      const anonymous = await getCapacity(event.id);
      const signedIn = await getCapacity(event.id, bob);
      expect(anonymous.status).toBe(200);
      expect(signedIn.body).toEqual(anonymous.body);
    });

    it("answers 404 for another user's draft, anonymous or signed in, and 200 to its organizer", async () => {
      const draft = await newEvent({ status: 'draft', capacity: 7 });
      expectProblem(await getCapacity(draft.id), 404);
      expectProblem(await getCapacity(draft.id, bob), 404);
      expect(await capacityOf(draft.id, alice)).toEqual({
        capacity: 7,
        attendees_count: 0,
        available_slots: 7,
        waitlist_count: 0,
        checked_in_count: 0,
      });
    });

    it('answers 404 for an unknown event and 400 for a non-numeric id', async () => {
      expectProblem(await getCapacity(UNKNOWN_ID), 404);
      expectProblem(await getCapacity('abc'), 400);
    });
  });

  describe('GET /api/events/:id/waitlist', () => {
    it('lists the waitlist first come first served, with emails for the organizer', async () => {
      const { event, waiting } = await eventWith(1, 1, 3);
      const res = await getWaitlist(event.id, alice);
      expect(res.status, res.text).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(['count', 'waitlist']);
      expect(res.body.count).toBe(3);
      for (const entry of res.body.waitlist) {
        expect(Object.keys(entry).sort()).toEqual([...WAITLIST_ENTRY_FIELDS].sort());
      }
      expect(res.body.waitlist).toEqual(
        waiting.map((registrant, index) => ({
          position: index + 1,
          name: registrant.name,
          email: registrant.email,
          created_at: registrant.registration.created_at,
        })),
      );
    });

    it('masks the emails for another signed-in user, keeping the names', async () => {
      const { event, waiting } = await eventWith(1, 1, 2);
      const res = await getWaitlist(event.id, bob);
      expect(res.status, res.text).toBe(200);
      expect(res.body).toEqual({
        waitlist: waiting.map((registrant, index) => ({
          position: index + 1,
          name: registrant.name,
          email: 'n***@mail.com',
          created_at: registrant.registration.created_at,
        })),
        count: 2,
      });
      for (const registrant of waiting) expect(res.text).not.toContain(registrant.email);
    });

    it('masks the emails for a waitlisted registrant too', async () => {
      const carol = await createUser(t.http);
      const { event } = await eventWith(1, 1, 1);
      const own = await registered(event.id, 'waitlisted', { user: carol });
      const res = await getWaitlist(event.id, carol);
      expect(res.status, res.text).toBe(200);
      expect(res.body.waitlist[1]).toMatchObject({ position: 2, name: own.name, email: 'n***@mail.com' });
    });

    it('paginates with page and page_size; count is the total, not the page length', async () => {
      const { event, waiting } = await eventWith(1, 1, 5);
      const page = async (query: string) => {
        const res = await getWaitlist(event.id, alice, query);
        expect(res.status, res.text).toBe(200);
        expect(res.body.count).toBe(5);
        return res.body.waitlist.map((entry: { position: number; email: string }) => [entry.position, entry.email]);
      };
      const expected = waiting.map((registrant, index) => [index + 1, registrant.email]);
      expect(await page('?page=1&page_size=2')).toEqual(expected.slice(0, 2));
      expect(await page('?page=2&page_size=2')).toEqual(expected.slice(2, 4));
      expect(await page('?page=3&page_size=2')).toEqual(expected.slice(4));
      expect(await page('?page=4&page_size=2')).toEqual([]);
      expect(await page('?page_size=200')).toEqual(expected);
      expect(await page('')).toEqual(expected);
    });

    it.each(['?page=0', '?page_size=0', '?page_size=201', '?page=abc', '?page_size=-1'])(
      'rejects the pagination %s with 400',
      async (query) => {
        const event = await newEvent();
        expectProblem(await getWaitlist(event.id, alice, query), 400);
      },
    );

    it('is empty, with count 0, while seats remain', async () => {
      const { event } = await eventWith(3, 2, 0);
      const res = await getWaitlist(event.id, bob);
      expect(res.status, res.text).toBe(200);
      expect(res.body).toEqual({ waitlist: [], count: 0 });
    });

    it('needs a token: 401 with a Bearer challenge', async () => {
      const { event } = await eventWith(1, 1, 1);
      expectUnauthenticated(await getWaitlist(event.id));
    });

    it("answers 404 for another user's draft and 200 to its organizer", async () => {
      const draft = await newEvent({ status: 'draft' });
      expectProblem(await getWaitlist(draft.id, bob), 404);
      const own = await getWaitlist(draft.id, alice);
      expect(own.status, own.text).toBe(200);
      expect(own.body).toEqual({ waitlist: [], count: 0 });
    });

    it('answers 404 for an unknown event and 400 for a non-numeric id', async () => {
      expectProblem(await getWaitlist(UNKNOWN_ID, bob), 404);
      expectProblem(await getWaitlist('abc', bob), 400);
    });
  });

  describe('GET /api/events/:id/registrations/:rid/', () => {
    it('shows the registration to the organizer', async () => {
      const { event, seated } = await eventWith(2, 1, 0);
      const res = await getRegistration(event.id, seated[0].registration.id, { user: alice });
      expect(res.status, res.text).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual([...REGISTRATION_FIELDS].sort());
      expect(res.body).toEqual(seated[0].registration);
    });

    it('shows it to the holder of its cancel token, without any account', async () => {
      const { event, waiting } = await eventWith(1, 1, 2);
      const res = await getRegistration(event.id, waiting[1].registration.id, { token: waiting[1].token });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toEqual(waiting[1].registration);
      expect(res.body.position).toBe(2);
    });

    it('shows it to the account that made it', async () => {
      const carol = await createUser(t.http);
      const event = await newEvent();
      const mine = await registered(event.id, 'confirmed', { user: carol });
      const res = await getRegistration(event.id, mine.registration.id, { user: carol });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toEqual(mine.registration);
    });

    it('needs credentials: 401 with a Bearer challenge', async () => {
      const { event, seated } = await eventWith(2, 1, 0);
      expectUnauthenticated(await getRegistration(event.id, seated[0].registration.id));
    });

    it('refuses an invalid access token with 401', async () => {
      const { event, seated } = await eventWith(2, 1, 0);
      const res = await t.http
        .get(`/api/events/${event.id}/registrations/${seated[0].registration.id}/`)
        .set(bearer('not.a.token'));
      expectUnauthenticated(res);
    });

    it('forbids another signed-in user with 403', async () => {
      const { event, seated } = await eventWith(2, 1, 0);
      expectProblem(await getRegistration(event.id, seated[0].registration.id, { user: bob }), 403);
    });

    it('forbids a wrong registration token with 403', async () => {
      const { event, seated } = await eventWith(2, 1, 0);
      const wrong = Buffer.alloc(32, 7).toString('base64url');
      expectProblem(await getRegistration(event.id, seated[0].registration.id, { token: wrong }), 403);
    });

    it("refuses the token of another registration of the same event (403 or 404, never the other's data)", async () => {
      const { event, seated } = await eventWith(3, 2, 0);
      const res = await getRegistration(event.id, seated[0].registration.id, { token: seated[1].token });
      expect([403, 404]).toContain(res.status);
      expectProblem(res, res.status);
      expect(res.text).not.toContain(seated[0].email);
    });

    it('refuses the token of a registration of another event (403 or 404)', async () => {
      const { event, seated } = await eventWith(3, 1, 0);
      const other = await eventWith(3, 1, 0);
      const res = await getRegistration(event.id, seated[0].registration.id, { token: other.seated[0].token });
      expect([403, 404]).toContain(res.status);
      expectProblem(res, res.status);
      expect(res.text).not.toContain(seated[0].email);
    });

    it('answers 404 for a registration id that belongs to another event, whatever the credentials', async () => {
      const { event } = await eventWith(3, 1, 0);
      const other = await eventWith(3, 1, 0);
      const foreign = other.seated[0];
      expectProblem(await getRegistration(event.id, foreign.registration.id, { user: alice }), 404);
      expectProblem(await getRegistration(event.id, foreign.registration.id, { token: foreign.token }), 404);
    });

    it('answers 404 for an unknown registration or event, and 400 for non-numeric ids', async () => {
      const { event, seated } = await eventWith(3, 1, 0);
      expectProblem(await getRegistration(event.id, UNKNOWN_ID, { user: alice }), 404);
      expectProblem(await getRegistration(UNKNOWN_ID, seated[0].registration.id, { token: seated[0].token }), 404);
      expectProblem(await getRegistration(event.id, 'abc', { user: alice }), 400);
      expectProblem(await getRegistration('abc', seated[0].registration.id, { user: alice }), 400);
    });

    it.each(['', '/'])('answers at /api/events/:id/registrations/:rid%s', async (slash) => {
      const { event, seated } = await eventWith(3, 1, 0);
      const res = await t.http
        .get(`/api/events/${event.id}/registrations/${seated[0].registration.id}${slash}`)
        .set('X-Registration-Token', seated[0].token);
      expect(res.status, res.text).toBe(200);
    });
  });

  describe('DELETE /api/events/:id/registrations/:rid/', () => {
    it('cancels with the cancel token; a second DELETE and a GET are then 404', async () => {
      const { event, seated } = await eventWith(3, 2, 0);
      const [gone, kept] = seated;
      const res = await cancel(event.id, gone.registration.id, { token: gone.token });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toEqual({ detail: 'Registration cancelled' });
      expectProblem(await cancel(event.id, gone.registration.id, { token: gone.token }), 404);
      expectProblem(await getRegistration(event.id, gone.registration.id, { token: gone.token }), 404);
      expect(await rowsOf(event.id)).toEqual([kept.registration]);
      expect(await expectCountersMatchRows(event.id)).toMatchObject({ attendees_count: 1, available_slots: 2 });
    });

    it('lets the organizer cancel any registration of the event', async () => {
      const { event, seated } = await eventWith(3, 1, 0);
      const res = await cancel(event.id, seated[0].registration.id, { user: alice });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toEqual({ detail: 'Registration cancelled' });
      expect(await rowsOf(event.id)).toEqual([]);
    });

    it('lets the account that made a registration cancel it, and it leaves /api/me/registrations/', async () => {
      const carol = await createUser(t.http);
      const event = await newEvent();
      const mine = await registered(event.id, 'confirmed', { user: carol });
      const res = await cancel(event.id, mine.registration.id, { user: carol });
      expect(res.status, res.text).toBe(200);
      const list = await myRegistrations(carol);
      expect(list.body).toEqual([]);
      expect(list.headers['x-total-count']).toBe('0');
    });

    it('needs credentials: 401 with a Bearer challenge, and keeps the registration', async () => {
      const { event, seated } = await eventWith(3, 1, 0);
      expectUnauthenticated(await cancel(event.id, seated[0].registration.id));
      expect(await current(seated[0])).toEqual(seated[0].registration);
    });

    it('forbids another user and a wrong token with 403, and keeps the registration', async () => {
      const { event, seated } = await eventWith(3, 1, 0);
      expectProblem(await cancel(event.id, seated[0].registration.id, { user: bob }), 403);
      const wrong = Buffer.alloc(32, 9).toString('base64url');
      expectProblem(await cancel(event.id, seated[0].registration.id, { token: wrong }), 403);
      expect(await current(seated[0])).toEqual(seated[0].registration);
    });

    it('refuses the token of another registration, of this or another event, and keeps the registration', async () => {
      const { event, seated } = await eventWith(3, 2, 0);
      const other = await eventWith(3, 1, 0);
      for (const token of [seated[1].token, other.seated[0].token]) {
        const res = await cancel(event.id, seated[0].registration.id, { token });
        expect([403, 404]).toContain(res.status);
        expectProblem(res, res.status);
      }
      expect(await current(seated[0])).toEqual(seated[0].registration);
      await expectCountersMatchRows(event.id);
    });

    it('answers 404 for a registration of another event and keeps it', async () => {
      const { event } = await eventWith(3, 1, 0);
      const other = await eventWith(3, 1, 0);
      const foreign = other.seated[0];
      expectProblem(await cancel(event.id, foreign.registration.id, { token: foreign.token }), 404);
      expectProblem(await cancel(event.id, foreign.registration.id, { user: alice }), 404);
      expect(await current(foreign)).toEqual(foreign.registration);
    });

    it('promotes the oldest waitlisted registration when a confirmed one is cancelled', async () => {
      const { event, seated, waiting } = await eventWith(2, 2, 3);
      const res = await cancel(event.id, seated[0].registration.id, { token: seated[0].token });
      expect(res.status, res.text).toBe(200);

      const promoted = await current(waiting[0]);
      expect(promoted).toMatchObject({ id: waiting[0].registration.id, status: 'confirmed', position: null });
      expect(promoted.promoted_at).toMatch(TO_THE_MILLISECOND);
      expect(Date.parse(promoted.promoted_at!)).toBeGreaterThanOrEqual(Date.parse(promoted.created_at));
      expect(await current(waiting[1])).toMatchObject({ status: 'waitlisted', position: 1, promoted_at: null });
      expect(await current(waiting[2])).toMatchObject({ status: 'waitlisted', position: 2, promoted_at: null });
      expect(await current(seated[1])).toEqual(seated[1].registration);

      const list = await getWaitlist(event.id, alice);
      expect(list.body).toMatchObject({
        count: 2,
        waitlist: [
          { position: 1, email: waiting[1].email },
          { position: 2, email: waiting[2].email },
        ],
      });
      expect(await expectCountersMatchRows(event.id)).toEqual({
        capacity: 2,
        attendees_count: 2,
        available_slots: 0,
        waitlist_count: 2,
        checked_in_count: 0,
      });
    });

    it('frees the seat when a confirmed registration is cancelled and nobody waits', async () => {
      const { event, seated } = await eventWith(2, 2, 0);
      expect((await cancel(event.id, seated[1].registration.id, { token: seated[1].token })).status).toBe(200);
      expect(await expectCountersMatchRows(event.id)).toEqual({
        capacity: 2,
        attendees_count: 1,
        available_slots: 1,
        waitlist_count: 0,
        checked_in_count: 0,
      });
      await registered(event.id, 'confirmed');
    });

    it('shifts the positions behind a cancelled waitlisted registration and promotes nobody', async () => {
      const { event, seated, waiting } = await eventWith(1, 1, 4);
      const res = await cancel(event.id, waiting[1].registration.id, { token: waiting[1].token });
      expect(res.status, res.text).toBe(200);
      expect(await current(waiting[0])).toMatchObject({ status: 'waitlisted', position: 1 });
      expect(await current(waiting[2])).toMatchObject({ status: 'waitlisted', position: 2 });
      expect(await current(waiting[3])).toMatchObject({ status: 'waitlisted', position: 3 });
      expect(await current(seated[0])).toEqual(seated[0].registration);
      const rows = await rowsOf(event.id);
      expect(rows.every((row) => row.promoted_at === null)).toBe(true);
      expect(await expectCountersMatchRows(event.id)).toEqual({
        capacity: 1,
        attendees_count: 1,
        available_slots: 0,
        waitlist_count: 3,
        checked_in_count: 0,
      });
    });

    it('lets a cancelled email register again, at the end of the queue', async () => {
      const { event, seated, waiting } = await eventWith(1, 1, 2);
      const who = { name: seated[0].name, email: seated[0].email };
      expect((await cancel(event.id, seated[0].registration.id, { token: seated[0].token })).status).toBe(200);
      // waiting[0] took the seat; the returning registrant queues behind waiting[1].
      const again = await registered(event.id, 'waitlisted', { who });
      expect(again.registration.position).toBe(2);
      expect(again.registration.id).not.toBe(seated[0].registration.id);
      expect(again.token).not.toBe(seated[0].token);

      const waitingWho = { name: waiting[1].name, email: waiting[1].email.toUpperCase() };
      expect((await cancel(event.id, waiting[1].registration.id, { token: waiting[1].token })).status).toBe(200);
      const back = await registered(event.id, 'waitlisted', { who: waitingWho });
      expect(back.registration).toMatchObject({ email: waiting[1].email, position: 2 });
      expect(await current(again)).toMatchObject({ position: 1 });
      await expectCountersMatchRows(event.id);
    });

    it('answers 404 for an unknown registration and 400 for a non-numeric id', async () => {
      const event = await newEvent();
      expectProblem(await cancel(event.id, UNKNOWN_ID, { user: alice }), 404);
      expectProblem(await cancel(event.id, 'abc', { user: alice }), 400);
    });
  });

  describe('capacity changes on the event', () => {
    it('promotes the oldest waitlisted into the new seats when PATCH raises capacity, exactly as many as seats', async () => {
      const { event, waiting } = await eventWith(2, 2, 4);
      const res = await patchEvent(event.id, { capacity: 4 });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({ capacity: 4, attendees_count: 4, waitlist_count: 2, available_slots: 0 });

      for (const promoted of waiting.slice(0, 2)) {
        const now = await current(promoted);
        expect(now).toMatchObject({ status: 'confirmed', position: null });
        expect(now.promoted_at).toMatch(TO_THE_MILLISECOND);
      }
      expect(await current(waiting[2])).toMatchObject({ status: 'waitlisted', position: 1, promoted_at: null });
      expect(await current(waiting[3])).toMatchObject({ status: 'waitlisted', position: 2, promoted_at: null });
      const reread = await t.http.get(`/api/events/${event.id}/`);
      expect(reread.body).toMatchObject({ capacity: 4, attendees_count: 4, waitlist_count: 2, available_slots: 0 });
      expect(await expectCountersMatchRows(event.id)).toEqual({
        capacity: 4,
        attendees_count: 4,
        available_slots: 0,
        waitlist_count: 2,
        checked_in_count: 0,
      });
    });

    it('promotes the whole waitlist and leaves the rest of the seats free when capacity rises by more', async () => {
      const { event, waiting } = await eventWith(1, 1, 2);
      const res = await patchEvent(event.id, { capacity: 10 });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({ capacity: 10, attendees_count: 3, waitlist_count: 0, available_slots: 7 });
      for (const promoted of waiting) expect(await current(promoted)).toMatchObject({ status: 'confirmed' });
      expect((await getWaitlist(event.id, alice)).body).toEqual({ waitlist: [], count: 0 });
      expect(await expectCountersMatchRows(event.id)).toEqual({
        capacity: 10,
        attendees_count: 3,
        available_slots: 7,
        waitlist_count: 0,
        checked_in_count: 0,
      });
      await registered(event.id, 'confirmed');
    });

    it('promotes the same way when PUT with the six fields raises capacity', async () => {
      const { event, waiting } = await eventWith(1, 1, 3);
      const { title, description, date_time, location, status } = event;
      const res = await putEvent(event.id, { title, description, date_time, location, status, capacity: 2 });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({ capacity: 2, attendees_count: 2, waitlist_count: 2, available_slots: 0 });
      expect(await current(waiting[0])).toMatchObject({ status: 'confirmed', position: null });
      expect((await current(waiting[0])).promoted_at).toMatch(TO_THE_MILLISECOND);
      expect(await current(waiting[1])).toMatchObject({ status: 'waitlisted', position: 1 });
      expect(await current(waiting[2])).toMatchObject({ status: 'waitlisted', position: 2 });
      await expectCountersMatchRows(event.id);
    });

    it('promotes nobody when a PATCH leaves capacity alone', async () => {
      const { event } = await eventWith(1, 1, 1);
      const res = await patchEvent(event.id, { title: 'Renamed' });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({ capacity: 1, attendees_count: 1, waitlist_count: 1, available_slots: 0 });
      await expectCountersMatchRows(event.id);
    });

    it('refuses to lower capacity below attendees_count with 409 and changes nothing (PATCH and PUT)', async () => {
      const { event } = await eventWith(5, 3, 0);
      const before = await eventState(event.id);
      expectProblem(await patchEvent(event.id, { capacity: 2 }), 409);
      const { title, description, date_time, location, status } = event;
      expectProblem(await putEvent(event.id, { title, description, date_time, location, status, capacity: 2 }), 409);
      expect(await eventState(event.id)).toEqual(before);
      await expectCountersMatchRows(event.id);
    });

    it('refuses to lower capacity below attendees_count while people wait, and keeps the waitlist', async () => {
      const { event } = await eventWith(2, 2, 2);
      const before = await eventState(event.id);
      expectProblem(await patchEvent(event.id, { capacity: 1 }), 409);
      expect(await eventState(event.id)).toEqual(before);
    });

    it('lets capacity go down to exactly attendees_count; the next registrant waits', async () => {
      const { event } = await eventWith(5, 3, 0);
      const res = await patchEvent(event.id, { capacity: 3 });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({ capacity: 3, attendees_count: 3, waitlist_count: 0, available_slots: 0 });
      const next = await registered(event.id, 'waitlisted');
      expect(next.registration.position).toBe(1);
      await expectCountersMatchRows(event.id);
    });

    it('refuses to turn an event with registrations back into a draft (PATCH and PUT) with 409', async () => {
      const { event } = await eventWith(1, 1, 1);
      const before = await eventState(event.id);
      expectProblem(await patchEvent(event.id, { status: 'draft' }), 409);
      const { title, description, date_time, location, capacity } = event;
      expectProblem(
        await putEvent(event.id, { title, description, date_time, location, capacity, status: 'draft' }),
        409,
      );
      expect(await eventState(event.id)).toEqual(before);
      expect((await getCapacity(event.id)).status).toBe(200);
    });

    it('refuses to turn an event with only waitlisted registrations back into a draft', async () => {
      const { event, seated } = await eventWith(1, 1, 1);
      // Cancelling the seat promotes the waitlisted one: still one registration.
      expect((await cancel(event.id, seated[0].registration.id, { user: alice })).status).toBe(200);
      expectProblem(await patchEvent(event.id, { status: 'draft' }), 409);
    });
  });

  describe('deleting an event', () => {
    it('deletes its registrations: their token GET and DELETE are 404 and /api/me/registrations/ drops them', async () => {
      const carol = await createUser(t.http);
      const keep = await newEvent();
      const kept = await registered(keep.id, 'confirmed', { user: carol });
      const event = await newEvent({ capacity: 1 });
      const seated = await registered(event.id, 'confirmed', { user: carol });
      const waiting = await registered(event.id, 'waitlisted');
      expect((await myRegistrations(carol)).body).toHaveLength(2);

      const res = await t.http.delete(`/api/events/${event.id}/`).set(bearer(alice.access));
      expect(res.status, res.text).toBe(200);

      for (const registrant of [seated, waiting]) {
        const credentials = { token: registrant.token };
        expectProblem(await getRegistration(event.id, registrant.registration.id, credentials), 404);
        expectProblem(await cancel(event.id, registrant.registration.id, credentials), 404);
      }
      expectProblem(await getRegistration(event.id, seated.registration.id, { user: carol }), 404);
      const mine = await myRegistrations(carol);
      expect(mine.body).toEqual([kept.registration]);
      expect(mine.headers['x-total-count']).toBe('1');
      expectProblem(await getCapacity(event.id), 404);
      expectProblem(await getWaitlist(event.id, alice), 404);
      expectProblem(await listRegistrations(event.id, alice), 404);
    });
  });

  describe('GET /api/me/registrations/', () => {
    it('paginates the caller’s registrations as a bare array with X-Total-Count and Link', async () => {
      const carol = await createUser(t.http);
      const made: Registration[] = [];
      for (let i = 0; i < 3; i++) {
        const event = await newEvent({ capacity: 1 });
        await registered(event.id, 'confirmed');
        made.push((await registered(event.id, 'waitlisted', { user: carol })).registration);
      }
      const first = await myRegistrations(carol, '?page=1&page_size=2');
      expect(first.status, first.text).toBe(200);
      expect(first.body).toEqual(made.slice(0, 2));
      expect(first.headers['x-total-count']).toBe('3');
      expect(first.headers.link).toContain('rel="next"');
      const second = await myRegistrations(carol, '?page=2&page_size=2');
      expect(second.body).toEqual(made.slice(2));
      expect(second.headers.link).toContain('rel="prev"');
      expect(second.headers.link).not.toContain('rel="next"');
    });

    it('needs a token: 401 with a Bearer challenge', async () => {
      expectUnauthenticated(await t.http.get('/api/me/registrations/'));
    });

    it('rejects page_size 201 with 400', async () => {
      expectProblem(await myRegistrations(bob, '?page_size=201'), 400);
    });
  });

  describe('GET /api/events/:id/registrations/ (organizer)', () => {
    it('lists every registration in id order as a bare array with X-Total-Count and Link', async () => {
      const { event, seated, waiting } = await eventWith(2, 2, 2);
      const res = await listRegistrations(event.id, alice);
      expect(res.status, res.text).toBe(200);
      expect(Array.isArray(res.body)).toBe(true);
      expect(res.body).toEqual([...seated, ...waiting].map((registrant) => registrant.registration));
      expect(res.headers['x-total-count']).toBe('4');
      expect(res.headers.link).toContain('rel="first"');
      expect(res.headers.link).toContain('rel="last"');
      await expectCountersMatchRows(event.id);
    });

    it('filters by status', async () => {
      const { event, seated, waiting } = await eventWith(2, 2, 3);
      const confirmed = await listRegistrations(event.id, alice, '?status=confirmed');
      expect(confirmed.status, confirmed.text).toBe(200);
      expect(confirmed.body).toEqual(seated.map((registrant) => registrant.registration));
      expect(confirmed.headers['x-total-count']).toBe('2');
      const waitlisted = await listRegistrations(event.id, alice, '?status=waitlisted');
      expect(waitlisted.body).toEqual(waiting.map((registrant) => registrant.registration));
      expect(waitlisted.headers['x-total-count']).toBe('3');
    });

    it('paginates, keeping the status filter in the links', async () => {
      const { event, waiting } = await eventWith(1, 1, 5);
      const page = (n: number) => listRegistrations(event.id, alice, `?status=waitlisted&page=${n}&page_size=2`);
      const first = await page(1);
      expect(first.body).toEqual(waiting.slice(0, 2).map((registrant) => registrant.registration));
      expect(first.headers['x-total-count']).toBe('5');
      expect(first.headers.link).toMatch(/status=waitlisted/);
      expect(first.headers.link).toContain('rel="next"');
      expect((await page(2)).body).toEqual(waiting.slice(2, 4).map((registrant) => registrant.registration));
      const last = await page(3);
      expect(last.body).toEqual([waiting[4].registration]);
      expect(last.headers.link).not.toContain('rel="next"');
      expect((await page(4)).body).toEqual([]);
    });

    it.each(['?status=cancelled', '?status=', '?page=0', '?page_size=201'])(
      'rejects the query %s with 400',
      async (query) => {
        const event = await newEvent();
        expectProblem(await listRegistrations(event.id, alice, query), 400);
      },
    );

    it('forbids another user with 403 and needs a token (401)', async () => {
      const { event } = await eventWith(2, 1, 0);
      expectProblem(await listRegistrations(event.id, bob), 403);
      expectUnauthenticated(await listRegistrations(event.id));
    });

    it("answers 404 for an unknown event and for another user's draft", async () => {
      const draft = await newEvent({ status: 'draft' });
      expectProblem(await listRegistrations(UNKNOWN_ID, alice), 404);
      expectProblem(await listRegistrations(draft.id, bob), 404);
      expect((await listRegistrations(draft.id, alice)).body).toEqual([]);
    });
  });

  describe('CSV export (Accept: text/csv)', () => {
    it('exports every registration, ignoring pagination, as an attachment with a header row', async () => {
      const { event, seated, waiting } = await eventWith(2, 2, 3);
      const res = await exportCsv(event.id, alice, '?page=2&page_size=1');
      expect(res.status, res.text).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/csv/);
      expect(res.headers['content-disposition']).toMatch(/^attachment/);
      const rows = parseCsv(res.text);
      expect(rows[0]).toEqual(CSV_HEADER);
      expect(rows.slice(1)).toEqual([...seated, ...waiting].map((registrant) => csvRowOf(registrant.registration)));
    });

    it('honours the status filter', async () => {
      const { event, seated, waiting } = await eventWith(1, 1, 2);
      const waitlisted = parseCsv((await exportCsv(event.id, alice, '?status=waitlisted')).text);
      expect(waitlisted).toEqual([CSV_HEADER, ...waiting.map((registrant) => csvRowOf(registrant.registration))]);
      const confirmed = parseCsv((await exportCsv(event.id, alice, '?status=confirmed')).text);
      expect(confirmed).toEqual([CSV_HEADER, csvRowOf(seated[0].registration)]);
    });

    it('shows promotions and current positions', async () => {
      const { event, seated, waiting } = await eventWith(1, 1, 2);
      expect((await cancel(event.id, seated[0].registration.id, { user: alice })).status).toBe(200);
      const rows = parseCsv((await exportCsv(event.id, alice)).text);
      expect(rows.slice(1)).toEqual([csvRowOf(await current(waiting[0])), csvRowOf(await current(waiting[1]))]);
      expect(rows[1][6]).toMatch(TO_THE_MILLISECOND);
      expect(rows[2][4]).toBe('1');
    });

    it('prefixes an apostrophe to cells a spreadsheet would run as formulas', async () => {
      const event = await newEvent();
      const id = unique('csv');
      const names = ['=HYPERLINK(1)', '+1', '-2', '@x', 'Plain, "quoted" name', 'Middle=1'];
      const made: Registration[] = [];
      for (const [index, name] of names.entries()) {
        made.push(
          (await registered(event.id, 'confirmed', { who: { name, email: `${id}.${index}@mail.com` } })).registration,
        );
      }
      const formulaEmail = `=${id}@mail.com`;
      made.push((await registered(event.id, 'confirmed', { who: { name: 'Eve', email: formulaEmail } })).registration);

      const rows = parseCsv((await exportCsv(event.id, alice)).text);
      expect(rows.slice(1).map((row) => row[1])).toEqual([
        "'=HYPERLINK(1)",
        "'+1",
        "'-2",
        "'@x",
        'Plain, "quoted" name',
        'Middle=1',
        'Eve',
      ]);
      expect(rows[7][2]).toBe(`'${formulaEmail}`);
      // The JSON list keeps the names as they were given.
      expect((await rowsOf(event.id)).map((row) => row.name)).toEqual([...names, 'Eve']);
      expect(made.map((row) => row.name)).toEqual([...names, 'Eve']);
    });

    it('gives only the header row for an event without registrations', async () => {
      const event = await newEvent();
      const res = await exportCsv(event.id, alice);
      expect(res.status, res.text).toBe(200);
      expect(parseCsv(res.text)).toEqual([CSV_HEADER]);
    });

    it('forbids another user with 403 and needs a token (401)', async () => {
      const { event, seated } = await eventWith(2, 1, 0);
      const forbidden = await exportCsv(event.id, bob);
      expectProblem(forbidden, 403);
      expect(forbidden.text).not.toContain(seated[0].email);
      expectUnauthenticated(await exportCsv(event.id));
    });
  });

  describe('concurrency', () => {
    it('seats exactly 10 of 60 simultaneous registrants of a 10-seat event and queues 50 at positions 1..50', async () => {
      const event = await newEvent({ capacity: 10 });
      const responses = await Promise.all(Array.from({ length: 60 }, () => register(event.id, person())));
      for (const res of responses) expect(res.status, res.text).toBe(201);
      const created = responses.map((res) => res.body.registration as Registration);
      expect(created.filter((row) => row.status === 'confirmed')).toHaveLength(10);
      const waitlisted = created.filter((row) => row.status === 'waitlisted');
      expect(waitlisted).toHaveLength(50);
      expect(waitlisted.map((row) => row.position).sort((a, b) => a! - b!)).toEqual(
        Array.from({ length: 50 }, (_, index) => index + 1),
      );
      expect(new Set(responses.map((res) => res.body.cancel_token)).size).toBe(60);

      expect(await expectCountersMatchRows(event.id)).toEqual({
        capacity: 10,
        attendees_count: 10,
        available_slots: 0,
        waitlist_count: 50,
        checked_in_count: 0,
      });
      // Each response's position is the one the list shows, in arrival (id) order.
      const rows = await rowsOf(event.id);
      expect(rows).toHaveLength(60);
      expect([...created].sort((a, b) => a.id - b.id)).toEqual(rows);
    });

    it('accepts one of 20 simultaneous registrations with one email and refuses the other 19 with 409', async () => {
      const event = await newEvent({ capacity: 5 });
      const who = person();
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          register(event.id, { name: who.name, email: index % 2 ? who.email.toUpperCase() : who.email }),
        ),
      );
      const accepted = responses.filter((res) => res.status === 201);
      expect(accepted).toHaveLength(1);
      const refused = responses.filter((res) => res.status !== 201);
      expect(refused).toHaveLength(19);
      for (const res of refused) expectProblem(res, 409);
      expect(await expectCountersMatchRows(event.id)).toMatchObject({ attendees_count: 1, waitlist_count: 0 });
      expect(await rowsOf(event.id)).toEqual([accepted[0].body.registration]);
    });

    it('cancels a confirmed registration once under 10 simultaneous DELETEs and promotes exactly one', async () => {
      const { event, seated, waiting } = await eventWith(1, 1, 3);
      const target = seated[0];
      const responses = await Promise.all(
        Array.from({ length: 10 }, () => cancel(event.id, target.registration.id, { token: target.token })),
      );
      const succeeded = responses.filter((res) => res.status === 200);
      expect(succeeded).toHaveLength(1);
      expect(succeeded[0].body).toEqual({ detail: 'Registration cancelled' });
      const refused = responses.filter((res) => res.status !== 200);
      expect(refused).toHaveLength(9);
      for (const res of refused) expectProblem(res, 404);

      const rows = await rowsOf(event.id);
      expect(rows.filter((row) => row.promoted_at !== null).map((row) => row.id)).toEqual([waiting[0].registration.id]);
      expect(await current(waiting[1])).toMatchObject({ status: 'waitlisted', position: 1 });
      expect(await current(waiting[2])).toMatchObject({ status: 'waitlisted', position: 2 });
      expect(await expectCountersMatchRows(event.id)).toEqual({
        capacity: 1,
        attendees_count: 1,
        available_slots: 0,
        waitlist_count: 2,
        checked_in_count: 0,
      });
    });
  });
});

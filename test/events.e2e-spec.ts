import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createEvent, createUser, eventBody, type TestUser, expectProblem } from './support/fixtures.js';
import { startApp, type TestApp } from './support/test-app.js';

/** The fields API.md shows for an event. */
const EVENT_FIELDS = [
  'id',
  'title',
  'description',
  'date_time',
  'timezone',
  'local_date_time',
  'location',
  'status',
  'capacity',
  'attendees_count',
  'waitlist_count',
  'available_slots',
  'created_at',
  'updated_at',
  'organizer',
  'organizer_id',
];
const SEED_FIELDS = ['title', 'description', 'date_time', 'location', 'status', 'capacity'] as const;
const TO_THE_SECOND = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const TO_THE_MILLISECOND = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** An id no event has (well inside a 32-bit INT, so both databases compare it as a plain number). */
const UNKNOWN_ID = 2_000_000_000;

/** The seed's six writable fields of an event as the API returned it. */
function seedFieldsOf(event: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(SEED_FIELDS.map((field) => [field, event[field]]));
}

function withoutUpdatedAt(event: Record<string, unknown>): Record<string, unknown> {
  const { updated_at: _updatedAt, ...rest } = event;
  return rest;
}

describe('events', () => {
  let t: TestApp;
  let alice: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    t = await startApp();
    alice = await createUser(t.http);
    bob = await createUser(t.http);
  });
  afterAll(() => t.close());

  const post = (body: unknown, user: TestUser = alice) =>
    t.http
      .post('/api/events/')
      .set(bearer(user.access))
      .send(body as object);
  const getEvent = (id: number, user?: TestUser) => {
    const request = t.http.get(`/api/events/${id}/`);
    return user ? request.set(bearer(user.access)) : request;
  };
  const put = (id: number, body: unknown, user: TestUser = alice) =>
    t.http
      .put(`/api/events/${id}/`)
      .set(bearer(user.access))
      .send(body as object);
  const patch = (id: number, body: unknown, user: TestUser = alice) =>
    t.http
      .patch(`/api/events/${id}/`)
      .set(bearer(user.access))
      .send(body as object);
  const remove = (id: number, user: TestUser = alice) => t.http.delete(`/api/events/${id}/`).set(bearer(user.access));
  const setAttendeesCount = (id: number, count: number) =>
    t.app.get(DataSource).query('UPDATE events SET attendees_count = ? WHERE id = ?', [count, id]);

  /** The event as its organizer reads it now. */
  async function current(id: number): Promise<Record<string, unknown>> {
    const res = await getEvent(id, alice);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  }

  describe('POST /api/events/', () => {
    it('creates an event with the full shape, the caller as organizer and empty counters', async () => {
      const body = eventBody({ capacity: 42, date_time: '2031-02-15T10:00:00Z' });
      const res = await post(body);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(Object.keys(res.body)).toEqual(expect.arrayContaining(EVENT_FIELDS));
      expect(res.body).toMatchObject({
        id: expect.any(Number),
        title: body.title,
        description: 'A test event',
        date_time: '2031-02-15T10:00:00Z',
        location: 'New York',
        status: 'active',
        capacity: 42,
        attendees_count: 0,
        waitlist_count: 0,
        available_slots: 42,
        organizer: alice.username,
        organizer_id: alice.id,
      });
      expect(res.body.created_at).toMatch(TO_THE_MILLISECOND);
      expect(res.body.updated_at).toMatch(TO_THE_MILLISECOND);
    });

    it('stores the event exactly as the create response shows it', async () => {
      const created = await createEvent(t.http, alice, { date_time: '2031-06-01T08:30:00Z' });
      const res = await getEvent(created.id);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(created);
    });

    it.each([
      ['a positive offset', '2031-03-10T15:30:00+05:30'],
      ['a negative offset', '2031-03-10T05:00:00-05:00'],
      ['fractional seconds', '2031-03-10T10:00:00.987654Z'],
      ['an offset and fractional seconds', '2031-03-10T11:00:00.5+01:00'],
    ])('normalises a date_time with %s to UTC to the second', async (_case, dateTime) => {
      const res = await post(eventBody({ date_time: dateTime }));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.date_time).toBe('2031-03-10T10:00:00Z');
      expect(res.body.date_time).toMatch(TO_THE_SECOND);
      expect((await getEvent(res.body.id)).body.date_time).toBe('2031-03-10T10:00:00Z');
    });

    it('defaults description to empty and status to active', async () => {
      const { description: _description, status: _status, ...body } = eventBody();
      const res = await post(body);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body).toMatchObject({ description: '', status: 'active' });
    });

    it.each(['draft', 'active', 'cancelled', 'completed'])('accepts status %s', async (status) => {
      const res = await post(eventBody({ status }));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.status).toBe(status);
    });

    it('trims the title and the location', async () => {
      const res = await post(eventBody({ title: '  Padded title \t', location: '\n  Berlin  ' }));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body).toMatchObject({ title: 'Padded title', location: 'Berlin' });
    });

    it.each([
      ['an empty title', { title: '' }, 'title'],
      ['a blank title', { title: '   \t ' }, 'title'],
      ['an empty location', { location: '' }, 'location'],
      ['a blank location', { location: '   ' }, 'location'],
    ])('rejects %s', async (_case, override, field) => {
      expectProblem(await post(eventBody(override)), 400, [field]);
    });

    it.each([
      ['title', 200],
      ['location', 255],
      ['description', 10_000],
    ])('accepts a %s of exactly %i characters', async (field, limit) => {
      const value = 'x'.repeat(limit);
      const res = await post(eventBody({ [field]: value }));
      expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(201);
      expect(res.body[field]).toBe(value);
      expect((await getEvent(res.body.id)).body[field]).toBe(value);
    });

    it.each([
      ['title', 201],
      ['location', 256],
      ['description', 10_001],
    ])('rejects a %s of %i characters', async (field, length) => {
      expectProblem(await post(eventBody({ [field]: 'x'.repeat(length) })), 400, [field]);
    });

    it('counts characters, not bytes: a 200-character non-ASCII title fits', async () => {
      const title = 'é'.repeat(150) + '日本'.repeat(25);
      const res = await post(eventBody({ title }));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect((await getEvent(res.body.id)).body.title).toBe(title);
    });

    it('counts code points as the database does: variation selectors and astral characters count', async () => {
      const fits = '❤️'.repeat(100);
      const res = await post(eventBody({ title: fits, location: '🎉'.repeat(255) }));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect((await getEvent(res.body.id)).body).toMatchObject({ title: fits, location: '🎉'.repeat(255) });

      // 202 code points, though a grapheme count (101) would let it through to overflow a VARCHAR(200).
      expectProblem(await post(eventBody({ title: '❤️'.repeat(101) })), 400, ['title']);
    });

    it('applies the title limit after trimming', async () => {
      const title = 'y'.repeat(200);
      const res = await post(eventBody({ title: `  ${title}  ` }));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.title).toBe(title);
    });

    it.each([1, 1_000_000])('accepts a capacity of %i', async (capacity) => {
      const res = await post(eventBody({ capacity }));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body).toMatchObject({ capacity, available_slots: capacity, attendees_count: 0 });
    });

    it.each([
      ['0', 0],
      ['-1', -1],
      ['1,000,001', 1_000_001],
      ['10.5', 10.5],
      ['the string "10"', '10'],
      ['true', true],
      ['null', null],
    ])('rejects a capacity of %s', async (_case, capacity) => {
      expectProblem(await post(eventBody({ capacity })), 400, ['capacity']);
    });

    it.each([
      ['title', 123],
      ['description', 5],
      ['location', true],
      ['status', 1],
      ['date_time', 1_920_000_000],
      ['description', null],
      ['status', null],
      ['title', null],
      ['date_time', null],
      ['location', ['New York']],
    ])('rejects %s sent as %j', async (field, value) => {
      expectProblem(await post(eventBody({ [field]: value })), 400, [field]);
    });

    it.each(['open', 'ACTIVE', 'deleted', ''])('rejects status %j, which is not in the enum', async (status) => {
      expectProblem(await post(eventBody({ status })), 400, ['status']);
    });

    it.each([
      ['a naive time', '2031-02-15T10:00:00'],
      ['a date without a time', '2031-02-15'],
      ['February 30th', '2031-02-30T10:00:00Z'],
      ['month 13', '2031-13-01T00:00:00Z'],
      ['hour 24', '2031-02-15T24:00:00Z'],
      ['February 29th of a common year', '2030-02-29T00:00:00Z'],
      ['an offset without a colon', '2031-02-15T10:00:00+0530'],
      ['free text', 'next tuesday'],
      ['an empty string', ''],
    ])('rejects a date_time with %s', async (_case, dateTime) => {
      expectProblem(await post(eventBody({ date_time: dateTime })), 400, ['date_time']);
    });

    it('accepts February 29th of a leap year', async () => {
      const res = await post(eventBody({ date_time: '2032-02-29T00:00:00Z' }));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.date_time).toBe('2032-02-29T00:00:00Z');
    });

    it('accepts a date_time in the past', async () => {
      const res = await post(eventBody({ date_time: '2001-09-08T07:06:05Z' }));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.date_time).toBe('2001-09-08T07:06:05Z');
    });

    it('rejects an unknown field and names it', async () => {
      const res = await post(eventBody({ venue: 'Hall 1' }));
      expectProblem(res, 400, ['venue']);
    });

    it('ignores the read-only fields in the body instead of applying them', async () => {
      const res = await post(
        eventBody({
          capacity: 10,
          id: UNKNOWN_ID,
          organizer: bob.username,
          organizer_id: bob.id,
          created_at: '2000-01-01T00:00:00.000Z',
          updated_at: '2000-01-01T00:00:00.000Z',
          attendees_count: 7,
          waitlist_count: 3,
          available_slots: 1,
          local_date_time: '2000-01-01T00:00:00-05:00',
        }),
      );
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.id).not.toBe(UNKNOWN_ID);
      expect(res.body).toMatchObject({
        organizer: alice.username,
        organizer_id: alice.id,
        attendees_count: 0,
        waitlist_count: 0,
        available_slots: 10,
      });
      expect(res.body.created_at).not.toBe('2000-01-01T00:00:00.000Z');
      expect(res.body.updated_at).not.toBe('2000-01-01T00:00:00.000Z');
      expect(await current(res.body.id)).toEqual(res.body);
    });

    it('reports every bad field at once', async () => {
      const res = await post({
        title: ' ',
        date_time: '2031-02-15T10:00:00',
        location: 'x'.repeat(256),
        capacity: '10',
        status: 'open',
        description: 7,
        colour: 'red',
      });
      expectProblem(res, 400, ['title', 'date_time', 'location', 'capacity', 'status', 'description', 'colour']);
    });

    it('names every missing required field', async () => {
      expectProblem(await post({}), 400, ['title', 'date_time', 'location', 'capacity']);
    });

    it('needs a token: 401 with a Bearer challenge', async () => {
      const res = await t.http.post('/api/events/').send(eventBody());
      expectProblem(res, 401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    });

    it('refuses an invalid token with 401', async () => {
      const res = await t.http.post('/api/events/').set(bearer('not.a.token')).send(eventBody());
      expectProblem(res, 401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    });

    it.each([
      ['an array', JSON.stringify([eventBody()])],
      ['a string', JSON.stringify('an event')],
      ['a number', '42'],
      ['null', 'null'],
    ])('rejects a body that is %s rather than a JSON object', async (_case, raw) => {
      const res = await t.http
        .post('/api/events/')
        .set(bearer(alice.access))
        .set('Content-Type', 'application/json')
        .send(raw);
      expectProblem(res, 400);
    });

    it('rejects malformed JSON with 400', async () => {
      const res = await t.http
        .post('/api/events/')
        .set(bearer(alice.access))
        .set('Content-Type', 'application/json')
        .send('{"title": "Broken",');
      expectProblem(res, 400);
    });

    it('rejects a body over 100 KiB with 413', async () => {
      expectProblem(await post(eventBody({ description: 'x'.repeat(110 * 1024) })), 413);
    });

    it('rejects a body that is not application/json with 415', async () => {
      const res = await t.http
        .post('/api/events/')
        .set(bearer(alice.access))
        .set('Content-Type', 'text/plain')
        .send(JSON.stringify(eventBody()));
      expectProblem(res, 415);
    });
  });

  describe('GET /api/events/:id/', () => {
    it('returns an active event to an anonymous caller', async () => {
      const created = await createEvent(t.http, alice);
      const res = await getEvent(created.id);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toEqual(created);
    });

    it.each(['cancelled', 'completed'])('returns a %s event to anyone', async (status) => {
      const created = await createEvent(t.http, alice, { status });
      expect((await getEvent(created.id)).status).toBe(200);
      expect((await getEvent(created.id, bob)).status).toBe(200);
    });

    it('answers 404 for an unknown id', async () => {
      expectProblem(await getEvent(UNKNOWN_ID), 404);
    });

    it('answers 404, not a 500, for an id beyond the integer range', async () => {
      expectProblem(await t.http.get('/api/events/99999999999/'), 404);
    });

    it.each(['abc', '1.5', '12abc', '-'])('rejects the non-numeric id %s with 400 naming id', async (id) => {
      expectProblem(await t.http.get(`/api/events/${id}/`), 400, ['id']);
    });

    it.each([
      ['hexadecimal', (id: number) => `0x${id.toString(16)}`],
      ['exponent', (id: number) => `${id}e0`],
      ['space-padded', (id: number) => `%20${id}`],
    ])('reads an id only as a plain decimal integer, not in %s notation', async (_case, spell) => {
      const created = await createEvent(t.http, alice);
      expectProblem(await t.http.get(`/api/events/${spell(created.id)}/`), 400, ['id']);
    });

    it("hides another user's draft behind a 404", async () => {
      const draft = await createEvent(t.http, alice, { status: 'draft' });
      expectProblem(await getEvent(draft.id, bob), 404);
      expectProblem(await getEvent(draft.id), 404);
    });

    it('shows a draft to its organizer', async () => {
      const draft = await createEvent(t.http, alice, { status: 'draft' });
      const res = await getEvent(draft.id, alice);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(draft);
    });

    it('refuses an invalid token on this public route with 401', async () => {
      const created = await createEvent(t.http, alice);
      expectProblem(await t.http.get(`/api/events/${created.id}/`).set(bearer('garbage')), 401);
    });
  });

  describe('PUT /api/events/:id/', () => {
    it('replaces the six fields and keeps the rest', async () => {
      const created = await createEvent(t.http, alice, { status: 'draft' });
      const replacement = {
        title: '  Replaced title ',
        description: 'Replaced description',
        date_time: '2032-01-01T09:00:00+01:00',
        location: 'Lisbon',
        status: 'active',
        capacity: 7,
      };
      const res = await put(created.id, replacement);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({
        id: created.id,
        title: 'Replaced title',
        description: 'Replaced description',
        date_time: '2032-01-01T08:00:00Z',
        location: 'Lisbon',
        status: 'active',
        capacity: 7,
        available_slots: 7,
        attendees_count: 0,
        waitlist_count: 0,
        organizer: alice.username,
        organizer_id: alice.id,
        created_at: created.created_at,
      });
      expect(res.body.updated_at).toMatch(TO_THE_MILLISECOND);
      expect(Date.parse(res.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(String(created.updated_at)));
      expect(await current(created.id)).toEqual(res.body);
    });

    it.each(SEED_FIELDS)('requires %s and names it when missing', async (field) => {
      const created = await createEvent(t.http, alice);
      const body: Record<string, unknown> = seedFieldsOf(created);
      delete body[field];
      expectProblem(await put(created.id, body), 400, [field]);
      expect(await current(created.id)).toEqual(created);
    });

    it('accepts back exactly the body a GET returned', async () => {
      const created = await createEvent(t.http, alice, { date_time: '2031-07-04T12:00:00+02:00' });
      const fetched = (await getEvent(created.id)).body;
      const res = await put(created.id, fetched);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(withoutUpdatedAt(res.body)).toEqual(withoutUpdatedAt(fetched));
      expect(withoutUpdatedAt(await current(created.id))).toEqual(withoutUpdatedAt(fetched));
    });

    it('ignores read-only fields such as organizer_id and the counters', async () => {
      const created = await createEvent(t.http, alice, { capacity: 20 });
      const res = await put(created.id, {
        ...seedFieldsOf(created),
        organizer: bob.username,
        organizer_id: bob.id,
        attendees_count: 15,
        waitlist_count: 2,
        available_slots: 5,
        created_at: '2000-01-01T00:00:00.000Z',
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({
        organizer: alice.username,
        organizer_id: alice.id,
        attendees_count: 0,
        waitlist_count: 0,
        available_slots: 20,
        created_at: created.created_at,
      });
    });

    it('validates like create', async () => {
      const created = await createEvent(t.http, alice);
      const res = await put(created.id, {
        ...seedFieldsOf(created),
        capacity: '10',
        date_time: '2031-02-30T10:00:00Z',
        extra: 1,
      });
      expectProblem(res, 400, ['capacity', 'date_time', 'extra']);
      expect(await current(created.id)).toEqual(created);
    });

    it('forbids another user with 403 and changes nothing', async () => {
      const created = await createEvent(t.http, alice);
      const res = await put(created.id, { ...seedFieldsOf(created), title: 'Hijacked' }, bob);
      expectProblem(res, 403);
      expect(await current(created.id)).toEqual(created);
    });

    it("answers 404 for another user's draft and changes nothing", async () => {
      const draft = await createEvent(t.http, alice, { status: 'draft' });
      expectProblem(await put(draft.id, { ...seedFieldsOf(draft), title: 'Hijacked' }, bob), 404);
      expect(await current(draft.id)).toEqual(draft);
    });

    it('answers 404 for an unknown id', async () => {
      expectProblem(await put(UNKNOWN_ID, seedFieldsOf(eventBody())), 404);
    });

    it('needs a token', async () => {
      const created = await createEvent(t.http, alice);
      expectProblem(await t.http.put(`/api/events/${created.id}/`).send(seedFieldsOf(created)), 401);
      expect(await current(created.id)).toEqual(created);
    });
  });

  describe('PATCH /api/events/:id/', () => {
    it('changes only the fields sent', async () => {
      const created = await createEvent(t.http, alice);
      const res = await patch(created.id, { title: ' Renamed ' });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(withoutUpdatedAt(res.body)).toEqual({ ...withoutUpdatedAt(created), title: 'Renamed' });
      expect(await current(created.id)).toEqual(res.body);
    });

    it('changes several fields at once and normalises date_time', async () => {
      const created = await createEvent(t.http, alice);
      const res = await patch(created.id, {
        date_time: '2033-05-05T05:05:05.555-03:00',
        capacity: 3,
        description: '',
        location: 'Paris',
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({
        title: created.title,
        date_time: '2033-05-05T08:05:05Z',
        capacity: 3,
        available_slots: 3,
        description: '',
        location: 'Paris',
      });
      expect(await current(created.id)).toEqual(res.body);
    });

    it('accepts an empty object and changes nothing but updated_at', async () => {
      const created = await createEvent(t.http, alice);
      const res = await patch(created.id, {});
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(withoutUpdatedAt(res.body)).toEqual(withoutUpdatedAt(created));
      expect(res.body.updated_at).toMatch(TO_THE_MILLISECOND);
      expect(Date.parse(res.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(String(created.updated_at)));
      expect(withoutUpdatedAt(await current(created.id))).toEqual(withoutUpdatedAt(created));
    });

    it.each(SEED_FIELDS)('rejects null for %s and changes nothing', async (field) => {
      const created = await createEvent(t.http, alice);
      expectProblem(await patch(created.id, { [field]: null }), 400, [field]);
      expect(await current(created.id)).toEqual(created);
    });

    it('rejects invalid values with the same rules as create', async () => {
      const created = await createEvent(t.http, alice);
      const res = await patch(created.id, { title: '  ', capacity: 0, status: 'open', date_time: '2031-02-15T10:00' });
      expectProblem(res, 400, ['title', 'capacity', 'status', 'date_time']);
      expect(await current(created.id)).toEqual(created);
    });

    it('rejects an unknown field, names it, and changes nothing', async () => {
      const created = await createEvent(t.http, alice);
      expectProblem(await patch(created.id, { title: 'New', organiser: 'me' }), 400, ['organiser']);
      expect(await current(created.id)).toEqual(created);
    });

    it.each([
      ['an array', '[]'],
      ['a string', '"title"'],
      ['null', 'null'],
    ])('rejects a body that is %s and changes nothing', async (_case, raw) => {
      const created = await createEvent(t.http, alice);
      const res = await t.http
        .patch(`/api/events/${created.id}/`)
        .set(bearer(alice.access))
        .set('Content-Type', 'application/json')
        .send(raw);
      expectProblem(res, 400);
      expect(await current(created.id)).toEqual(created);
    });

    it('publishes a draft: draft to active makes it public', async () => {
      const draft = await createEvent(t.http, alice, { status: 'draft' });
      const res = await patch(draft.id, { status: 'active' });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.status).toBe('active');
      const anonymous = await getEvent(draft.id);
      expect(anonymous.status).toBe(200);
      expect(anonymous.body.status).toBe('active');
    });

    it('turning an event back into a draft hides it from everyone else', async () => {
      const created = await createEvent(t.http, alice);
      expect((await patch(created.id, { status: 'draft' })).status).toBe(200);
      expectProblem(await getEvent(created.id), 404);
      expectProblem(await getEvent(created.id, bob), 404);
    });

    it('forbids another user with 403 and changes nothing', async () => {
      const created = await createEvent(t.http, alice);
      expectProblem(await patch(created.id, { capacity: 1 }, bob), 403);
      expect(await current(created.id)).toEqual(created);
    });

    it("answers 404 for another user's draft and changes nothing", async () => {
      const draft = await createEvent(t.http, alice, { status: 'draft' });
      expectProblem(await patch(draft.id, { status: 'active' }, bob), 404);
      expect(await current(draft.id)).toEqual(draft);
    });

    it('answers 404 for an unknown id', async () => {
      expectProblem(await patch(UNKNOWN_ID, { title: 'Ghost' }), 404);
    });

    it('answers 400 for a non-numeric id', async () => {
      expectProblem(await t.http.patch('/api/events/abc/').set(bearer(alice.access)).send({}), 400, ['id']);
    });

    it('needs a token', async () => {
      const created = await createEvent(t.http, alice);
      expectProblem(await t.http.patch(`/api/events/${created.id}/`).send({ title: 'Anonymous' }), 401);
      expect(await current(created.id)).toEqual(created);
    });
  });

  describe('capacity and confirmed attendees', () => {
    it('refuses to lower capacity below attendees_count with 409 and changes nothing', async () => {
      const created = await createEvent(t.http, alice, { capacity: 10 });
      await setAttendeesCount(created.id, 5);
      const before = await current(created.id);
      expect(before).toMatchObject({ capacity: 10, attendees_count: 5, available_slots: 5 });

      expectProblem(await patch(created.id, { capacity: 4 }), 409);
      expect(await current(created.id)).toEqual(before);
    });

    it('lets capacity go down to exactly attendees_count', async () => {
      const created = await createEvent(t.http, alice, { capacity: 10 });
      await setAttendeesCount(created.id, 5);
      const res = await patch(created.id, { capacity: 5 });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({ capacity: 5, attendees_count: 5, available_slots: 0 });
      expect(await current(created.id)).toEqual(res.body);
    });

    it('applies none of the other fields of a PATCH refused for capacity', async () => {
      const created = await createEvent(t.http, alice, { capacity: 10 });
      await setAttendeesCount(created.id, 5);
      const before = await current(created.id);
      expectProblem(await patch(created.id, { title: 'Should not stick', capacity: 4 }), 409);
      expect(await current(created.id)).toEqual(before);
    });

    it('refuses a PUT that lowers capacity below attendees_count and changes nothing', async () => {
      const created = await createEvent(t.http, alice, { capacity: 10 });
      await setAttendeesCount(created.id, 5);
      const before = await current(created.id);
      expectProblem(await put(created.id, { ...seedFieldsOf(before), title: 'Should not stick', capacity: 4 }), 409);
      expect(await current(created.id)).toEqual(before);
    });

    it('raises capacity above attendees_count and recomputes available_slots', async () => {
      const created = await createEvent(t.http, alice, { capacity: 10 });
      await setAttendeesCount(created.id, 5);
      const res = await patch(created.id, { capacity: 50 });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({ capacity: 50, attendees_count: 5, available_slots: 45 });
    });
  });

  describe('DELETE /api/events/:id/', () => {
    it('deletes the event: 200 with a detail, then 404', async () => {
      const created = await createEvent(t.http, alice);
      const res = await remove(created.id);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toEqual({ detail: 'Event deleted successfully' });
      expectProblem(await getEvent(created.id, alice), 404);
      expectProblem(await remove(created.id), 404);
    });

    it('lets the organizer delete their own draft', async () => {
      const draft = await createEvent(t.http, alice, { status: 'draft' });
      expect((await remove(draft.id)).status).toBe(200);
      expectProblem(await getEvent(draft.id, alice), 404);
    });

    it('forbids another user with 403 and keeps the event', async () => {
      const created = await createEvent(t.http, alice);
      expectProblem(await remove(created.id, bob), 403);
      expect(await current(created.id)).toEqual(created);
    });

    it("answers 404 for another user's draft and keeps it", async () => {
      const draft = await createEvent(t.http, alice, { status: 'draft' });
      expectProblem(await remove(draft.id, bob), 404);
      expect(await current(draft.id)).toEqual(draft);
    });

    it('answers 404 for an unknown id', async () => {
      expectProblem(await remove(UNKNOWN_ID), 404);
    });

    it('needs a token and keeps the event', async () => {
      const created = await createEvent(t.http, alice);
      const res = await t.http.delete(`/api/events/${created.id}/`);
      expectProblem(res, 401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(await current(created.id)).toEqual(created);
    });
  });

  describe('paths with and without a trailing slash', () => {
    it.each(['/api/events', '/api/events/'])('creates at %s', async (path) => {
      const res = await t.http.post(path).set(bearer(alice.access)).send(eventBody());
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    });

    it.each(['', '/'])('reads, replaces, patches and deletes at /api/events/:id%s', async (slash) => {
      const created = await createEvent(t.http, alice);
      const path = `/api/events/${created.id}${slash}`;

      const read = await t.http.get(path);
      expect(read.status).toBe(200);
      expect(read.body).toEqual(created);

      const replaced = await t.http
        .put(path)
        .set(bearer(alice.access))
        .send({ ...seedFieldsOf(created), title: 'Replaced' });
      expect(replaced.status, JSON.stringify(replaced.body)).toBe(200);
      expect(replaced.body.title).toBe('Replaced');

      const patched = await t.http.patch(path).set(bearer(alice.access)).send({ title: 'Patched' });
      expect(patched.status, JSON.stringify(patched.body)).toBe(200);
      expect(patched.body.title).toBe('Patched');

      const deleted = await t.http.delete(path).set(bearer(alice.access));
      expect(deleted.status).toBe(200);
      expect(deleted.body).toEqual({ detail: 'Event deleted successfully' });
      expect((await t.http.get(path)).status).toBe(404);
    });
  });
});

import type { Response, Test } from 'supertest';
import { DataSource } from 'typeorm';
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

/**
 * Check-in (README, "Check-in"): the organizer checks confirmed registrations
 * in at the door and can undo it; `checked_in_at` shows wherever a
 * registration does, the capacity view counts them, and the organizer's list
 * and CSV export filter on them.
 */

const TO_THE_MILLISECOND = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UNKNOWN_ID = 2_000_000_000;
const CSV_HEADER = 'id,name,email,status,position,created_at,promoted_at,checked_in_at';

interface Registrant {
  registration: Registration;
  token: string;
}

describe('check-in', () => {
  let t: TestApp;
  let db: DataSource;
  /** Organizes the events. */
  let alice: TestUser;
  /** Another signed-in user. */
  let bob: TestUser;
  /** Registers with her account. */
  let carol: TestUser;

  beforeAll(async () => {
    t = await startApp();
    db = t.app.get(DataSource);
    [alice, bob, carol] = await Promise.all([createUser(t.http), createUser(t.http), createUser(t.http)]);
  });
  afterAll(() => t?.close());

  const eventsOfThisTest = new Set<number>();
  async function newEvent(overrides: Record<string, unknown> = {}, organizer = alice) {
    const event = await createEvent(t.http, organizer, overrides);
    eventsOfThisTest.add(event.id);
    return event;
  }
  afterEach(async () => {
    const ids = [...eventsOfThisTest];
    eventsOfThisTest.clear();
    for (const id of ids) await expectCountersMatchRows(id);
  });

  const path = (eventId: number | string, registrationId: number | string, slash = '/') =>
    `/api/events/${eventId}/registrations/${registrationId}/check-in${slash}`;
  /** The request with the user's access token; `null` sends none. */
  const as = (request: Test, user: TestUser | null | undefined) => (user ? request.set(bearer(user.access)) : request);
  const checkIn = (eventId: number | string, registrationId: number | string, user: TestUser | null = alice) =>
    as(t.http.post(path(eventId, registrationId)), user);
  const undo = (eventId: number | string, registrationId: number | string, user: TestUser | null = alice) =>
    as(t.http.delete(path(eventId, registrationId)), user);
  const list = (eventId: number, query = '') =>
    t.http.get(`/api/events/${eventId}/registrations/${query}`).set(bearer(alice.access));
  const csv = (eventId: number, query = '') => list(eventId, query).set('Accept', 'text/csv');

  async function register(eventId: number, user?: TestUser): Promise<Registrant> {
    const id = unique('n');
    const res = await as(t.http.post(`/api/events/${eventId}/register`), user).send({
      name: `Person ${id}`,
      email: `${id}@mail.com`,
    });
    expect(res.status, res.text).toBe(201);
    return { registration: res.body.registration, token: res.body.cancel_token };
  }

  /** An event with `capacity` seats, all taken, and `waiting` more on the waitlist. */
  async function fullEvent(capacity: number, waiting: number, overrides: Record<string, unknown> = {}) {
    const event = await newEvent({ capacity, ...overrides });
    const seated: Registrant[] = [];
    const waitlisted: Registrant[] = [];
    for (let i = 0; i < capacity; i++) seated.push(await register(event.id));
    for (let i = 0; i < waiting; i++) waitlisted.push(await register(event.id));
    expect(seated.every((r) => r.registration.status === 'confirmed')).toBe(true);
    expect(waitlisted.every((r) => r.registration.status === 'waitlisted')).toBe(true);
    return { event, seated, waitlisted };
  }

  async function checkedIn(eventId: number, registrationId: number): Promise<Registration> {
    const res = await checkIn(eventId, registrationId);
    expect(res.status, res.text).toBe(200);
    return res.body;
  }

  async function capacityOf(eventId: number) {
    const res = await t.http.get(`/api/events/${eventId}/capacity`).set(bearer(alice.access));
    expect(res.status, res.text).toBe(200);
    return res.body as Record<string, number>;
  }

  async function rowsOf(eventId: number): Promise<Registration[]> {
    const res = await list(eventId, '?page_size=200');
    expect(res.status, res.text).toBe(200);
    return res.body;
  }

  async function countInDatabase(eventId: number): Promise<number> {
    const [{ n }] = (await db.query(
      'SELECT COUNT(*) AS n FROM registrations WHERE event_id = ? AND checked_in_at IS NOT NULL',
      [eventId],
    )) as { n: number | string }[];
    return Number(n);
  }

  /** `checked_in_count` equals the checked-in rows, read by the API and straight from the table; all of them confirmed. */
  async function expectCountersMatchRows(eventId: number): Promise<number> {
    const capacity = await capacityOf(eventId);
    const rows = await rowsOf(eventId);
    const checked = rows.filter((row) => row.checked_in_at !== null);
    expect(checked.every((row) => row.status === 'confirmed')).toBe(true);
    expect(capacity.checked_in_count).toBe(checked.length);
    expect(await countInDatabase(eventId)).toBe(checked.length);
    expect(capacity.checked_in_count).toBeLessThanOrEqual(capacity.attendees_count);
    return capacity.checked_in_count;
  }

  /** Everything a check-in could change, as the organizer reads it. */
  async function stateOf(eventId: number) {
    const event = await t.http.get(`/api/events/${eventId}/`).set(bearer(alice.access));
    expect(event.status, event.text).toBe(200);
    return { event: event.body, capacity: await capacityOf(eventId), rows: await rowsOf(eventId) };
  }

  function expectRefused(res: Response, status: number): void {
    expectProblem(res, status);
    if (status === 401) expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
  }

  describe('POST /api/events/:id/registrations/:rid/check-in/', () => {
    it('checks in a confirmed registration: 200 with the registration and its checked_in_at, shown everywhere', async () => {
      const event = await newEvent({ capacity: 2 });
      const mine = await register(event.id, carol);
      const other = await register(event.id);
      const before = Date.now();
      const res = await checkIn(event.id, mine.registration.id);
      const after = Date.now();
      expect(res.status, res.text).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toEqual({ ...mine.registration, checked_in_at: expect.stringMatching(TO_THE_MILLISECOND) });
      const at = Date.parse(res.body.checked_in_at);
      expect(at).toBeGreaterThanOrEqual(before - 1);
      expect(at).toBeLessThanOrEqual(after + 1);
      const registration: Registration = res.body;

      // Every representation of the registration carries it; the others stay null.
      const detail = `/api/events/${event.id}/registrations/${mine.registration.id}/`;
      expect((await t.http.get(detail).set(bearer(alice.access))).body).toEqual(registration);
      expect((await t.http.get(detail).set('X-Registration-Token', mine.token)).body).toEqual(registration);
      expect((await t.http.get('/api/me/registrations/').set(bearer(carol.access))).body).toContainEqual(registration);
      expect(await rowsOf(event.id)).toEqual([registration, { ...other.registration, checked_in_at: null }]);
      expect(await capacityOf(event.id)).toEqual({
        capacity: 2,
        attendees_count: 2,
        available_slots: 0,
        waitlist_count: 0,
        checked_in_count: 1,
      });
      const exported = await csv(event.id);
      expect(exported.status, exported.text).toBe(200);
      const lines = exported.text.trim().split(/\r?\n/);
      expect(lines[0]).toBe(CSV_HEADER);
      expect(lines[1].endsWith(`,${registration.checked_in_at}`)).toBe(true);
      expect(lines[2].endsWith(',')).toBe(true);
    });

    it('answers with and without the trailing slash, and ignores a JSON body', async () => {
      const { event, seated } = await fullEvent(2, 0);
      const bare = await t.http.post(path(event.id, seated[0].registration.id, '')).set(bearer(alice.access));
      expect(bare.status, bare.text).toBe(200);
      const withBody = await checkIn(event.id, seated[1].registration.id).send({
        checked_in_at: '2001-01-01T00:00:00Z',
      });
      expect(withBody.status, withBody.text).toBe(200);
      expect(withBody.body.checked_in_at.startsWith('2001')).toBe(false);
    });

    it('refuses a second check-in with 409 and keeps the first time', async () => {
      const { event, seated } = await fullEvent(1, 0);
      const first = await checkedIn(event.id, seated[0].registration.id);
      const before = await stateOf(event.id);
      const again = await checkIn(event.id, seated[0].registration.id);
      expectRefused(again, 409);
      expect(again.body.detail).toBe('This registration is already checked in.');
      expect(await stateOf(event.id)).toEqual(before);
      expect(before.rows[0].checked_in_at).toBe(first.checked_in_at);
    });

    it('refuses a waitlisted registration with 409 and changes nothing', async () => {
      const { event, waitlisted } = await fullEvent(1, 1);
      const before = await stateOf(event.id);
      const res = await checkIn(event.id, waitlisted[0].registration.id);
      expectRefused(res, 409);
      expect(res.body.detail).toMatch(/waitlisted/);
      expect(await stateOf(event.id)).toEqual(before);
    });

    it('answers 404 for an unknown event or registration, or one of another event, and 400 for a non-numeric id', async () => {
      const { event, seated } = await fullEvent(1, 0);
      const elsewhere = await fullEvent(1, 0);
      const before = await stateOf(event.id);
      expectRefused(await checkIn(UNKNOWN_ID, seated[0].registration.id), 404);
      expectRefused(await checkIn(event.id, UNKNOWN_ID), 404);
      expectRefused(await checkIn(event.id, elsewhere.seated[0].registration.id), 404);
      expectRefused(await checkIn(elsewhere.event.id, seated[0].registration.id), 404);
      expectRefused(await checkIn('abc', seated[0].registration.id), 400);
      expectRefused(await checkIn(event.id, '1.5'), 400);
      expect(await stateOf(event.id)).toEqual(before);
    });

    it('is for the organizer only: 401 without a token or with a cancel token, 403 to other accounts, 404 for their drafts', async () => {
      const event = await newEvent({ capacity: 2 });
      const mine = await register(event.id, carol);
      const before = await stateOf(event.id);
      const id = mine.registration.id;
      expectRefused(await checkIn(event.id, id, null), 401);
      expectRefused(await checkIn(event.id, id, null).set('X-Registration-Token', mine.token), 401);
      expectRefused(await checkIn(event.id, id).set(bearer('not.a.token')), 401);
      expectRefused(await checkIn(event.id, id, bob), 403);
      // Not even the account that made the registration.
      expectRefused(await checkIn(event.id, id, carol), 403);
      expectRefused(await checkIn(event.id, UNKNOWN_ID, bob), 403);
      expect(await stateOf(event.id)).toEqual(before);

      const draft = await newEvent({ status: 'draft' });
      expectRefused(await checkIn(draft.id, id, bob), 404);
      expectRefused(await checkIn(draft.id, id), 404);
    });

    it('refuses a check-in for a cancelled event (409), not for a completed or past one', async () => {
      const { event, seated } = await fullEvent(2, 0);
      await checkedIn(event.id, seated[0].registration.id);
      const cancelled = await t.http
        .patch(`/api/events/${event.id}/`)
        .set(bearer(alice.access))
        .send({ status: 'cancelled' });
      expect(cancelled.status, cancelled.text).toBe(200);
      const before = await stateOf(event.id);
      const res = await checkIn(event.id, seated[1].registration.id);
      expectRefused(res, 409);
      expect(res.body.detail).toMatch(/cancelled/);
      expectRefused(await checkIn(event.id, UNKNOWN_ID), 404);
      expect(await stateOf(event.id)).toEqual(before);
      // A mistaken check-in can still be undone.
      expect((await undo(event.id, seated[0].registration.id)).status).toBe(200);

      const done = await fullEvent(1, 0);
      const completed = await t.http
        .patch(`/api/events/${done.event.id}/`)
        .set(bearer(alice.access))
        .send({ status: 'completed', date_time: '2020-01-01T10:00:00Z' });
      expect(completed.status, completed.text).toBe(200);
      await checkedIn(done.event.id, done.seated[0].registration.id);
    });
  });

  describe('DELETE /api/events/:id/registrations/:rid/check-in/', () => {
    it('undoes a check-in: 200 with checked_in_at null, the count back, and it can be checked in again', async () => {
      const { event, seated } = await fullEvent(2, 0);
      await checkedIn(event.id, seated[0].registration.id);
      await checkedIn(event.id, seated[1].registration.id);
      const res = await undo(event.id, seated[0].registration.id);
      expect(res.status, res.text).toBe(200);
      expect(res.body).toEqual({ ...seated[0].registration, checked_in_at: null });
      expect((await capacityOf(event.id)).checked_in_count).toBe(1);
      const bare = await t.http.delete(path(event.id, seated[1].registration.id, '')).set(bearer(alice.access));
      expect(bare.status, bare.text).toBe(200);
      expect((await capacityOf(event.id)).checked_in_count).toBe(0);
      expect((await checkedIn(event.id, seated[0].registration.id)).checked_in_at).toMatch(TO_THE_MILLISECOND);
    });

    it('refuses to undo one not checked in, or waitlisted, with 409 and changes nothing', async () => {
      const { event, seated, waitlisted } = await fullEvent(1, 1);
      const before = await stateOf(event.id);
      const res = await undo(event.id, seated[0].registration.id);
      expectRefused(res, 409);
      expect(res.body.detail).toBe('This registration is not checked in.');
      expectRefused(await undo(event.id, waitlisted[0].registration.id), 409);
      expect(await stateOf(event.id)).toEqual(before);
    });

    it('has the access rules of the check-in, and refusals change nothing', async () => {
      const event = await newEvent({ capacity: 2 });
      const mine = await register(event.id, carol);
      await checkedIn(event.id, mine.registration.id);
      const before = await stateOf(event.id);
      const id = mine.registration.id;
      expectRefused(await undo(event.id, id, null), 401);
      expectRefused(await undo(event.id, id, null).set('X-Registration-Token', mine.token), 401);
      expectRefused(await undo(event.id, id, bob), 403);
      expectRefused(await undo(event.id, id, carol), 403);
      expectRefused(await undo(UNKNOWN_ID, id), 404);
      expectRefused(await undo(event.id, UNKNOWN_ID), 404);
      expectRefused(await undo(event.id, 'abc'), 400);
      expect(await stateOf(event.id)).toEqual(before);
    });
  });

  describe('with the rest of the registration rules', () => {
    it('cancelling a checked-in registration takes it off the count; the promoted registration is not checked in', async () => {
      const { event, seated, waitlisted } = await fullEvent(2, 1);
      await checkedIn(event.id, seated[0].registration.id);
      await checkedIn(event.id, seated[1].registration.id);
      const cancelled = await t.http
        .delete(`/api/events/${event.id}/registrations/${seated[0].registration.id}/`)
        .set('X-Registration-Token', seated[0].token);
      expect(cancelled.status, cancelled.text).toBe(200);
      expect(await capacityOf(event.id)).toMatchObject({ attendees_count: 2, waitlist_count: 0, checked_in_count: 1 });
      const promoted = (await rowsOf(event.id)).find((row) => row.id === waitlisted[0].registration.id);
      expect(promoted).toMatchObject({ status: 'confirmed', promoted_at: expect.any(String), checked_in_at: null });

      // The organizer cancels the other checked-in one; then the promoted one can be checked in.
      const byOrganizer = await t.http
        .delete(`/api/events/${event.id}/registrations/${seated[1].registration.id}/`)
        .set(bearer(alice.access));
      expect(byOrganizer.status, byOrganizer.text).toBe(200);
      expect((await capacityOf(event.id)).checked_in_count).toBe(0);
      await checkedIn(event.id, waitlisted[0].registration.id);
      expect((await capacityOf(event.id)).checked_in_count).toBe(1);
    });

    it('cancelling a registration not checked in leaves the count', async () => {
      const { event, seated } = await fullEvent(2, 0);
      await checkedIn(event.id, seated[0].registration.id);
      const cancelled = await t.http
        .delete(`/api/events/${event.id}/registrations/${seated[1].registration.id}/`)
        .set('X-Registration-Token', seated[1].token);
      expect(cancelled.status, cancelled.text).toBe(200);
      expect(await capacityOf(event.id)).toMatchObject({ attendees_count: 1, checked_in_count: 1 });
    });

    it('a capacity raise promotes without checking anyone in, and a capacity cut keeps the check-ins', async () => {
      const { event, seated, waitlisted } = await fullEvent(1, 2);
      await checkedIn(event.id, seated[0].registration.id);
      const raised = await t.http.patch(`/api/events/${event.id}/`).set(bearer(alice.access)).send({ capacity: 3 });
      expect(raised.status, raised.text).toBe(200);
      const rows = await rowsOf(event.id);
      expect(rows.map((row) => [row.id, row.status, row.checked_in_at !== null])).toEqual([
        [seated[0].registration.id, 'confirmed', true],
        [waitlisted[0].registration.id, 'confirmed', false],
        [waitlisted[1].registration.id, 'confirmed', false],
      ]);
      expect((await capacityOf(event.id)).checked_in_count).toBe(1);
      // Below the attendees is refused as before; the check-ins do not count against anything else.
      const cut = await t.http.patch(`/api/events/${event.id}/`).set(bearer(alice.access)).send({ capacity: 2 });
      expectRefused(cut, 409);
      expect((await capacityOf(event.id)).checked_in_count).toBe(1);
    });

    it('deleting the event deletes its check-ins with it', async () => {
      const { event, seated } = await fullEvent(1, 0);
      await checkedIn(event.id, seated[0].registration.id);
      const deleted = await t.http.delete(`/api/events/${event.id}/`).set(bearer(alice.access));
      expect(deleted.status, deleted.text).toBe(200);
      eventsOfThisTest.delete(event.id);
      expect(await countInDatabase(event.id)).toBe(0);
      expectRefused(await checkIn(event.id, seated[0].registration.id), 404);
    });
  });

  describe('at the same time', () => {
    it('of six simultaneous check-ins of one registration, one is a 200 and the others 409s', async () => {
      const { event, seated } = await fullEvent(1, 0);
      const answers = await Promise.all(Array.from({ length: 6 }, () => checkIn(event.id, seated[0].registration.id)));
      const statuses = answers.map((res) => res.status).sort();
      expect(statuses, answers.map((res) => res.text).join('\n')).toEqual([200, 409, 409, 409, 409, 409]);
      for (const res of answers.filter((res) => res.status === 409)) expectProblem(res, 409);
      expect(await expectCountersMatchRows(event.id)).toBe(1);
    });

    it('simultaneous check-ins, undos and cancellations keep the count equal to the rows', async () => {
      const { event, seated, waitlisted } = await fullEvent(6, 2);
      const [a, b, c, d, e, f] = seated.map((r) => r.registration.id);
      await checkedIn(event.id, c);
      await checkedIn(event.id, d);
      const cancel = (r: Registrant) =>
        t.http
          .delete(`/api/events/${event.id}/registrations/${r.registration.id}/`)
          .set('X-Registration-Token', r.token);
      const answers = await Promise.all([
        checkIn(event.id, a),
        checkIn(event.id, a),
        checkIn(event.id, b),
        cancel(seated[1]),
        undo(event.id, c),
        undo(event.id, c),
        cancel(seated[3]),
        checkIn(event.id, e),
        checkIn(event.id, f),
        undo(event.id, f),
        checkIn(event.id, waitlisted[0].registration.id),
      ]);
      const statuses = answers.map((res) => res.status);
      // a: one of two; b: checked in then cancelled, or cancelled first (404); c: one undo of two.
      expect([statuses[0], statuses[1]].sort()).toEqual([200, 409]);
      expect([
        [200, 200],
        [404, 200],
      ]).toContainEqual([statuses[2], statuses[3]]);
      expect([statuses[4], statuses[5]].sort()).toEqual([200, 409]);
      expect(statuses[6]).toBe(200);
      expect(statuses[7]).toBe(200);
      expect([
        [200, 200],
        [200, 409],
      ]).toContainEqual([statuses[8], statuses[9]]);
      // Waitlisted, unless a cancellation promoted it first.
      expect([200, 409]).toContain(statuses[10]);
      const count = await expectCountersMatchRows(event.id);
      const rows = await rowsOf(event.id);
      const expected = [
        a,
        e,
        ...(statuses[9] === 409 ? [f] : []),
        ...(statuses[10] === 200 ? [waitlisted[0].registration.id] : []),
      ];
      expect(
        rows
          .filter((row) => row.checked_in_at !== null)
          .map((row) => row.id)
          .sort(),
      ).toEqual(expected.sort());
      expect(count).toBe(expected.length);
    });
  });

  describe('the checked_in filter of the registration list and its CSV', () => {
    /** Three seats: the first and third checked in; two waitlisted. */
    async function mixedEvent() {
      const { event, seated, waitlisted } = await fullEvent(3, 2);
      await checkedIn(event.id, seated[0].registration.id);
      await checkedIn(event.id, seated[2].registration.id);
      const rows = await rowsOf(event.id);
      return { event, rows, seated, waitlisted };
    }

    it.each([
      ['', (r: Registration) => r !== undefined],
      ['?checked_in=true', (r: Registration) => r.checked_in_at !== null],
      ['?checked_in=false', (r: Registration) => r.checked_in_at === null],
      ['?checked_in=true&status=confirmed', (r: Registration) => r.checked_in_at !== null],
      ['?checked_in=false&status=confirmed', (r: Registration) => r.checked_in_at === null && r.status === 'confirmed'],
      ['?checked_in=true&status=waitlisted', () => false],
      ['?checked_in=false&status=waitlisted', (r: Registration) => r.status === 'waitlisted'],
    ])('lists %s with the right X-Total-Count, paginated, and exports the same as CSV', async (query, keeps) => {
      const { event, rows } = await mixedEvent();
      const expected = rows.filter(keeps);
      const all = await list(event.id, query);
      expect(all.status, all.text).toBe(200);
      expect(all.body).toEqual(expected);
      expect(all.headers['x-total-count']).toBe(String(expected.length));
      // Page by page, the totals stay the filter's.
      const join = query ? '&' : '?';
      const second = await list(event.id, `${query}${join}page=2&page_size=1`);
      expect(second.status, second.text).toBe(200);
      expect(second.headers['x-total-count']).toBe(String(expected.length));
      expect(second.body).toEqual(expected.slice(1, 2));

      const exported = await csv(event.id, query);
      expect(exported.status, exported.text).toBe(200);
      expect(exported.headers['content-type']).toMatch(/^text\/csv/);
      const lines = exported.text.trim().split(/\r?\n/);
      expect(lines[0]).toBe(CSV_HEADER);
      expect(lines.slice(1).map((line) => Number(line.split(',')[0]))).toEqual(expected.map((r) => r.id));
      for (const [index, line] of lines.slice(1).entries()) {
        expect(line.split(',').at(-1)).toBe(expected[index].checked_in_at ?? '');
      }
    });

    it.each(['yes', '1', 'TRUE', 'True', '', 'null', 'true&checked_in=false'])(
      'rejects checked_in=%s with 400 naming checked_in, as a list and as CSV',
      async (value) => {
        const event = await newEvent();
        expectProblem(await list(event.id, `?checked_in=${value}`), 400, ['checked_in']);
        expectProblem(await csv(event.id, `?checked_in=${value}`), 400, ['checked_in']);
      },
    );

    it('follows undos and cancellations in its totals', async () => {
      const { event, seated } = await mixedEvent();
      expect((await list(event.id, '?checked_in=true')).headers['x-total-count']).toBe('2');
      expect((await undo(event.id, seated[0].registration.id)).status).toBe(200);
      const cancelled = await t.http
        .delete(`/api/events/${event.id}/registrations/${seated[2].registration.id}/`)
        .set(bearer(alice.access));
      expect(cancelled.status, cancelled.text).toBe(200);
      const checked = await list(event.id, '?checked_in=true');
      expect(checked.headers['x-total-count']).toBe('0');
      expect(checked.body).toEqual([]);
      const waiting = await list(event.id, '?checked_in=false&status=confirmed');
      expect(Number(waiting.headers['x-total-count'])).toBe(3);
      expect(waiting.body).toHaveLength(3);
    });
  });
});

import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

type Event = Record<string, unknown> & { id: number };

const TO_THE_MILLISECOND = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** Long ago, so that any write made by a test moves `updated_at` past it. */
const LONG_AGO = '2001-01-01 00:00:00.000';

function idsOf(res: Response): number[] {
  expect(res.status, res.text).toBe(200);
  return (res.body as Event[]).map((event) => event.id);
}

describe('event time zones and sync', () => {
  let t: TestApp;
  let db: DataSource;
  let alice: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    t = await startApp();
    db = t.app.get(DataSource);
    alice = await createUser(t.http);
    bob = await createUser(t.http);
  });
  afterAll(() => t.close());

  const post = (body: Record<string, unknown>) => t.http.post('/api/events/').set(bearer(alice.access)).send(body);
  const put = (id: number, body: Record<string, unknown>) =>
    t.http.put(`/api/events/${id}/`).set(bearer(alice.access)).send(body);
  const patch = (id: number, body: Record<string, unknown>) =>
    t.http.patch(`/api/events/${id}/`).set(bearer(alice.access)).send(body);
  const register = (id: number, email = `${unique('r')}@example.com`) =>
    t.http.post(`/api/events/${id}/register`).send({ name: 'Sync Reader', email });

  async function read(id: number): Promise<Event> {
    const res = await t.http.get(`/api/events/${id}/`).set(bearer(alice.access));
    expect(res.status, res.text).toBe(200);
    return res.body as Event;
  }

  async function eventCount(): Promise<number> {
    const [{ n }] = (await db.query('SELECT COUNT(*) AS n FROM events WHERE organizer_id = ?', [alice.id])) as {
      n: number | string;
    }[];
    return Number(n);
  }

  const setUpdatedAt = (id: number, at: string) =>
    db.query('UPDATE events SET updated_at = ? WHERE id = ?', [at, id]) as Promise<unknown>;

  describe('timezone and local_date_time', () => {
    it('puts an event in UTC unless told otherwise, and writes its local time with +00:00', async () => {
      const created = await createEvent(t.http, alice, { date_time: '2031-02-15T10:00:00Z' });
      expect(created).toMatchObject({
        date_time: '2031-02-15T10:00:00Z',
        timezone: 'UTC',
        local_date_time: '2031-02-15T10:00:00+00:00',
      });
      expect(await read(created.id)).toEqual(created);
    });

    it.each([
      ['America/New_York', 'winter', '2031-01-15T15:00:00Z', '2031-01-15T10:00:00-05:00'],
      ['America/New_York', 'summer', '2031-07-15T15:00:00Z', '2031-07-15T11:00:00-04:00'],
      ['Europe/Lisbon', 'summer', '2031-07-15T15:00:00Z', '2031-07-15T16:00:00+01:00'],
      ['Asia/Kolkata', 'all year', '2031-07-15T15:00:00Z', '2031-07-15T20:30:00+05:30'],
      ['Australia/Sydney', 'southern summer', '2031-01-15T15:00:00Z', '2031-01-16T02:00:00+11:00'],
    ])('shows an event in %s (%s) on its wall clock with the offset of that day', async (zone, _when, utc, local) => {
      const created = await createEvent(t.http, alice, { date_time: utc, timezone: zone });
      expect(created).toMatchObject({ date_time: utc, timezone: zone, local_date_time: local });
      expect(Date.parse(created.local_date_time as string)).toBe(Date.parse(utc));
      expect(await read(created.id)).toEqual(created);
    });

    it('still needs an explicit offset on date_time, and reads it in UTC whatever the zone', async () => {
      expectProblem(await post(eventBody({ date_time: '2031-07-15T11:00:00', timezone: 'America/New_York' })), 400, [
        'date_time',
      ]);
      const created = await createEvent(t.http, alice, {
        date_time: '2031-07-15T11:00:00+02:00',
        timezone: 'America/New_York',
      });
      expect(created).toMatchObject({
        date_time: '2031-07-15T09:00:00Z',
        local_date_time: '2031-07-15T05:00:00-04:00',
      });
    });

    it('spells a zone as the zone database does, and keeps an alias as sent', async () => {
      const lower = await createEvent(t.http, alice, { timezone: 'america/new_york' });
      expect(lower.timezone).toBe('America/New_York');
      const utc = await createEvent(t.http, alice, { timezone: 'utc' });
      expect(utc.timezone).toBe('UTC');
      const alias = await createEvent(t.http, alice, { date_time: '2031-01-15T15:00:00Z', timezone: 'US/Eastern' });
      expect(alias).toMatchObject({ timezone: 'US/Eastern', local_date_time: '2031-01-15T10:00:00-05:00' });
    });

    it.each([
      ['an unknown zone', 'Mars/Olympus_Mons'],
      ['an offset', '+05:00'],
      ['an abbreviation that is no zone', 'CEST'],
      ['a padded name', ' UTC'],
      ['a name with a space', 'America/New York'],
      ['an empty string', ''],
      ['an over-long name', `America/${'X'.repeat(60)}`],
      ['a number', -5],
      ['null', null],
      ['an array', ['UTC']],
    ])('refuses %s with a 400 naming timezone, and creates nothing', async (_what, timezone) => {
      const before = await eventCount();
      const res = await post(eventBody({ timezone }));
      expectProblem(res, 400, ['timezone']);
      expect(res.body.errors.timezone).toEqual([
        'timezone must be an IANA time zone name, such as America/New_York or UTC',
      ]);
      expect(await eventCount()).toBe(before);
    });

    it('names timezone among the other bad fields at once', async () => {
      expectProblem(await post({ ...eventBody({ capacity: 0 }), timezone: 'Nowhere' }), 400, ['capacity', 'timezone']);
    });

    it('keeps the zone on a PUT without it, and changes it on a PUT with it', async () => {
      const created = await createEvent(t.http, alice, {
        date_time: '2031-01-15T15:00:00Z',
        timezone: 'America/New_York',
      });
      const { title, description, location, status, capacity } = created;
      const kept = await put(created.id, {
        title,
        description,
        location,
        status,
        capacity,
        date_time: '2031-07-15T15:00:00Z',
      });
      expect(kept.status, kept.text).toBe(200);
      expect(kept.body).toMatchObject({ timezone: 'America/New_York', local_date_time: '2031-07-15T11:00:00-04:00' });
      const changed = await put(created.id, {
        title,
        description,
        location,
        status,
        capacity,
        date_time: '2031-07-15T15:00:00Z',
        timezone: 'Asia/Tokyo',
      });
      expect(changed.status, changed.text).toBe(200);
      expect(changed.body).toMatchObject({ timezone: 'Asia/Tokyo', local_date_time: '2031-07-16T00:00:00+09:00' });
      expect(await read(created.id)).toEqual(changed.body);
    });

    it('takes back on a PUT what a GET returned, local_date_time included', async () => {
      const created = await createEvent(t.http, alice, { timezone: 'Europe/Paris' });
      const res = await put(created.id, await read(created.id));
      expect(res.status, res.text).toBe(200);
      expect({ ...res.body, updated_at: undefined }).toEqual({ ...created, updated_at: undefined });
    });

    it('changes only the zone on a PATCH of timezone: the same instant on another wall clock', async () => {
      const created = await createEvent(t.http, alice, { date_time: '2031-01-15T15:00:00Z' });
      await setUpdatedAt(created.id, LONG_AGO);
      const res = await patch(created.id, { timezone: 'America/Los_Angeles' });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({
        date_time: '2031-01-15T15:00:00Z',
        timezone: 'America/Los_Angeles',
        local_date_time: '2031-01-15T07:00:00-08:00',
        title: created.title,
        capacity: created.capacity,
      });
      expect(res.body.updated_at > '2001-01-01T00:00:00.000Z').toBe(true);
      expect(await read(created.id)).toEqual(res.body);
    });

    it('changes nothing, updated_at included, when a PUT or PATCH is refused', async () => {
      const created = await createEvent(t.http, alice, { capacity: 1, timezone: 'Europe/Berlin' });
      expect((await register(created.id)).status).toBe(201);
      await setUpdatedAt(created.id, LONG_AGO);
      const before = await read(created.id);
      // A bad zone beside good fields.
      expectProblem(await patch(created.id, { title: 'Renamed', timezone: 'Europe/Atlantis' }), 400, ['timezone']);
      expectProblem(await put(created.id, { ...before, title: 'Renamed', timezone: 'GMT+25' }), 400, ['timezone']);
      // A good zone beside a conflict: back to draft with a registration.
      expect((await patch(created.id, { timezone: 'Asia/Tokyo', capacity: 1, status: 'draft' })).status).toBe(409);
      // Not the organizer.
      const foreign = await t.http
        .patch(`/api/events/${created.id}/`)
        .set(bearer(bob.access))
        .send({ timezone: 'Asia/Tokyo' });
      expectProblem(foreign, 403);
      expect(await read(created.id)).toEqual(before);
    });

    it('refuses a date_time and zone whose wall clock would pass the year 9999, changing nothing', async () => {
      expectProblem(await post(eventBody({ date_time: '9999-12-31T20:00:00Z', timezone: 'Asia/Tokyo' })), 400, [
        'date_time',
      ]);
      const created = await createEvent(t.http, alice, { date_time: '9999-12-31T20:00:00Z' });
      expect(created.local_date_time).toBe('9999-12-31T20:00:00+00:00');
      const before = await read(created.id);
      expectProblem(await patch(created.id, { timezone: 'Asia/Tokyo' }), 400, ['timezone']);
      expect(await read(created.id)).toEqual(before);
      const west = await patch(created.id, { timezone: 'America/New_York' });
      expect(west.status, west.text).toBe(200);
      expect(west.body.local_date_time).toBe('9999-12-31T15:00:00-05:00');
    });

    it('shows timezone and local_date_time in the list too', async () => {
      const tag = unique('tz');
      const event = await createEvent(t.http, alice, {
        title: tag,
        date_time: '2031-07-15T15:00:00Z',
        timezone: 'America/Sao_Paulo',
      });
      const res = await t.http.get('/api/events/').query({ organizer: alice.username, search: tag });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toEqual([event]);
      expect(event.local_date_time).toBe('2031-07-15T12:00:00-03:00');
    });
  });

  describe('updated_since and the updated_at orderings', () => {
    let tag: string;
    let a: Event;
    let b: Event;
    let c: Event;
    let d: Event;
    const list = (query: Record<string, string>) =>
      t.http.get('/api/events/').query({ organizer: alice.username, search: tag, ...query });

    beforeAll(async () => {
      tag = unique('sync');
      a = await createEvent(t.http, alice, { title: `${tag} a` });
      b = await createEvent(t.http, alice, { title: `${tag} b` });
      c = await createEvent(t.http, alice, { title: `${tag} c` });
      d = await createEvent(t.http, alice, { title: `${tag} d` });
      // b and d tie; c, created third, was updated first.
      await setUpdatedAt(c.id, '2030-01-01 00:00:00.100');
      await setUpdatedAt(a.id, '2030-01-01 00:00:00.200');
      await setUpdatedAt(b.id, '2030-01-01 00:00:00.300');
      await setUpdatedAt(d.id, '2030-01-01 00:00:00.300');
    });

    it.each([
      ['updated_at', () => [c, a, b, d]],
      ['-updated_at', () => [d, b, a, c]],
    ])('orders by %s, breaking ties by id in the same direction', async (ordering, expected) => {
      expect(idsOf(await list({ ordering }))).toEqual(expected().map((event) => event.id));
    });

    it.each([
      ['2030-01-01T00:00:00.200Z', () => [a, b, d]],
      ['2030-01-01T00:00:00.201Z', () => [b, d]],
      ['2030-01-01T01:00:00.3+01:00', () => [b, d]],
      ['2030-01-01T00:00:00.300999Z', () => [b, d]],
      ['2030-01-01T00:00:00.301Z', () => []],
      ['2030-01-01T00:00:00Z', () => [c, a, b, d]],
    ])('lists the events updated at or after %s, to the millisecond', async (since, expected) => {
      const res = await list({ updated_since: since, ordering: 'updated_at' });
      expect(idsOf(res)).toEqual(expected().map((event) => event.id));
      expect(res.headers['x-total-count']).toBe(String(expected().length));
    });

    it('pages a sync list with its total, the last page short', async () => {
      const first = await list({ updated_since: '2030-01-01T00:00:00Z', ordering: 'updated_at', page_size: '3' });
      expect(idsOf(first)).toEqual([c.id, a.id, b.id]);
      expect(first.headers['x-total-count']).toBe('4');
      const second = await list({
        updated_since: '2030-01-01T00:00:00Z',
        ordering: 'updated_at',
        page_size: '3',
        page: '2',
      });
      expect(idsOf(second)).toEqual([d.id]);
      expect(second.headers['x-total-count']).toBe('4');
    });

    it('reads an offset whose + arrived as a space', async () => {
      const query = new URLSearchParams({ organizer: alice.username, search: tag, ordering: 'updated_at' });
      const res = await t.http.get(`/api/events/?${query}&updated_since=2030-01-01T01:00:00.201+01:00`);
      expect(idsOf(res)).toEqual([b.id, d.id]);
    });

    it('combines updated_since with the other filters and orderings', async () => {
      expect(idsOf(await list({ updated_since: '2030-01-01T00:00:00.150Z', ordering: '-title' }))).toEqual([
        d.id,
        b.id,
        a.id,
      ]);
    });

    it.each([
      ['updated_since', '2030-01-01T00:00:00'],
      ['updated_since', '2030-02-30T00:00:00Z'],
      ['updated_since', 'yesterday'],
      ['updated_since', '1735689600'],
      ['updated_since', ''],
      ['ordering', 'updated'],
      ['ordering', 'UPDATED_AT'],
      ['ordering', '+updated_at'],
    ])('rejects %s=%j with a 400 naming it', async (param, value) => {
      expectProblem(await list({ [param]: value }), 400, [param]);
    });

    it('rejects a repeated updated_since', async () => {
      const res = await t.http.get(
        '/api/events/?updated_since=2030-01-01T00:00:00Z&updated_since=2031-01-01T00:00:00Z',
      );
      expectProblem(res, 400, ['updated_since']);
    });
  });

  describe('what moves updated_at', () => {
    /** The event, after `updated_at` was set long ago, and a list of what changed since. */
    async function staleEvent(overrides: Record<string, unknown> = {}) {
      const tag = unique('moved');
      const event = await createEvent(t.http, alice, { title: tag, ...overrides });
      await setUpdatedAt(event.id, LONG_AGO);
      const changedSince = (since: string) =>
        t.http.get('/api/events/').query({ search: tag, mine: 'true', updated_since: since }).set(bearer(alice.access));
      return { event, changedSince };
    }
    const SINCE = '2001-01-01T00:00:00.001Z';

    it('a registration, a cancellation and a promotion from the waitlist, each in its own write', async () => {
      const { event, changedSince } = await staleEvent({ capacity: 1 });
      // Read through the list first: the answer is not cached for a sync client.
      expect(idsOf(await changedSince(SINCE))).toEqual([]);

      const confirmed = await register(event.id);
      expect(confirmed.status, confirmed.text).toBe(201);
      expect(idsOf(await changedSince(SINCE))).toEqual([event.id]);
      const afterRegistration = await read(event.id);
      expect(afterRegistration.updated_at).toMatch(TO_THE_MILLISECOND);
      expect(afterRegistration.attendees_count).toBe(1);

      await setUpdatedAt(event.id, LONG_AGO);
      expect((await register(event.id)).status).toBe(201);
      expect(await read(event.id)).toMatchObject({ waitlist_count: 1 });
      expect(idsOf(await changedSince(SINCE))).toEqual([event.id]);

      // Cancelling the confirmed registration promotes the waitlisted one.
      await setUpdatedAt(event.id, LONG_AGO);
      const cancelled = await t.http
        .delete(`/api/events/${event.id}/registrations/${confirmed.body.registration.id}/`)
        .set('X-Registration-Token', confirmed.body.cancel_token);
      expect(cancelled.status, cancelled.text).toBe(200);
      const afterCancel = await read(event.id);
      expect(afterCancel).toMatchObject({ attendees_count: 1, waitlist_count: 0 });
      expect((afterCancel.updated_at as string) > '2001-01-01T00:00:00.000Z').toBe(true);
      expect(idsOf(await changedSince(SINCE))).toEqual([event.id]);
    });

    it('a raised capacity that promotes the waitlist, and a PATCH', async () => {
      const { event, changedSince } = await staleEvent({ capacity: 1 });
      await register(event.id);
      await register(event.id);
      await setUpdatedAt(event.id, LONG_AGO);
      const raised = await patch(event.id, { capacity: 2 });
      expect(raised.status, raised.text).toBe(200);
      expect(raised.body).toMatchObject({ attendees_count: 2, waitlist_count: 0 });
      expect(idsOf(await changedSince(raised.body.updated_at))).toEqual([event.id]);
      expect(await read(event.id)).toEqual(raised.body);
    });

    it('not a refused registration: a duplicate email or a closed event', async () => {
      const email = `${unique('dup')}@example.com`;
      const { event, changedSince } = await staleEvent({ capacity: 5 });
      expect((await register(event.id, email)).status).toBe(201);
      await setUpdatedAt(event.id, LONG_AGO);
      const before = await read(event.id);
      expectProblem(await register(event.id, email), 409);
      expect(await read(event.id)).toEqual(before);

      const { event: cancelled, changedSince: cancelledSince } = await staleEvent({ status: 'cancelled' });
      expectProblem(await register(cancelled.id), 409);
      expect(idsOf(await cancelledSince(SINCE))).toEqual([]);
      expect(idsOf(await changedSince(SINCE))).toEqual([]);
    });
  });
});

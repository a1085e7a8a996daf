import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createEvent, createUser, type TestUser, unique, expectProblem } from './support/fixtures.js';
import { startApp, type TestApp } from './support/test-app.js';

type Query = Record<string, string | number | boolean>;
type Event = Record<string, unknown> & { id: number };

/** The ids of a successful list response, in order. */
function idsOf(res: Response): number[] {
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(Array.isArray(res.body)).toBe(true);
  return (res.body as Event[]).map((event) => event.id);
}

/** The RFC 8288 `Link` header as relation → URL. */
function linksOf(res: Response): Record<string, string> {
  const header = res.headers['link'] as string | undefined;
  expect(header, 'Link header').toBeDefined();
  const links: Record<string, string> = {};
  for (const [, url, rel] of header!.matchAll(/<([^>]*)>\s*;\s*rel="([^"]+)"/g)) links[rel] = url;
  return links;
}

/** The query parameters of a link as a plain object. */
function paramsOf(link: string): Record<string, string> {
  return Object.fromEntries(new URL(link, 'http://localhost').searchParams);
}

/** A marker no other test's titles or locations contain, so `search` finds only this test's events. */
const newTag = () => unique('tag');

describe('GET /api/events/', () => {
  let t: TestApp;
  let alice: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    t = await startApp();
    alice = await createUser(t.http);
    bob = await createUser(t.http);
  });
  afterAll(() => t.close());

  const list = (query: Query = {}, user?: TestUser) => {
    const request = t.http.get('/api/events/').query(query);
    return user ? request.set(bearer(user.access)) : request;
  };
  const create = (user: TestUser, overrides: Record<string, unknown>) => createEvent(t.http, user, overrides);
  const setCreatedAt = (id: number, createdAt: string) =>
    t.app.get(DataSource).query('UPDATE events SET created_at = ? WHERE id = ?', [createdAt, id]);

  describe('response', () => {
    it('is a bare JSON array with X-Total-Count and Link headers', async () => {
      const tag = newTag();
      const first = await create(alice, { title: `${tag} one`, date_time: '2031-01-01T10:00:00Z' });
      const second = await create(alice, { title: `${tag} two`, date_time: '2031-01-02T10:00:00Z' });
      const res = await list({ organizer: alice.username, search: tag });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(Array.isArray(res.body)).toBe(true);
      expect(res.body).toEqual([first, second]);
      expect(res.headers['x-total-count']).toBe('2');
      expect(Object.keys(linksOf(res))).toEqual(expect.arrayContaining(['first', 'last']));
    });

    it('answers anonymous callers without filters', async () => {
      const res = await t.http.get('/api/events/');
      expect(res.status).toBe(200);
      expect(Array.isArray(res.body)).toBe(true);
      expect(Number(res.headers['x-total-count'])).toBeGreaterThanOrEqual(0);
    });

    it('works without a trailing slash', async () => {
      const tag = newTag();
      const event = await create(alice, { title: tag });
      const res = await t.http.get('/api/events').query({ organizer: alice.username, search: tag });
      expect(idsOf(res)).toEqual([event.id]);
    });

    it('answers an empty page with [] and a zero total', async () => {
      const res = await list({ organizer: alice.username, search: newTag() });
      expect(idsOf(res)).toEqual([]);
      expect(res.headers['x-total-count']).toBe('0');
    });
  });

  describe('drafts and mine=true', () => {
    it('never lists drafts without mine=true, not even to their organizer', async () => {
      const tag = newTag();
      const active = await create(alice, { title: `${tag} active` });
      await create(alice, { title: `${tag} draft`, status: 'draft' });
      const scope = { organizer: alice.username, search: tag };

      expect(idsOf(await list(scope))).toEqual([active.id]);
      expect(idsOf(await list(scope, alice))).toEqual([active.id]);
      expect(idsOf(await list({ ...scope, mine: false }, alice))).toEqual([active.id]);
      expect(idsOf(await list({ ...scope, status: 'draft' }))).toEqual([]);
      expect(idsOf(await list({ ...scope, status: 'draft' }, alice))).toEqual([]);
    });

    it('answers mine=true without a token with 401', async () => {
      const res = await list({ mine: true });
      expectProblem(res, 401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    });

    it("lists only the caller's events with mine=true, drafts included", async () => {
      const tag = newTag();
      const active = await create(alice, { title: `${tag} a`, date_time: '2031-02-01T10:00:00Z' });
      const draft = await create(alice, { title: `${tag} b`, status: 'draft', date_time: '2031-02-02T10:00:00Z' });
      const cancelled = await create(alice, {
        title: `${tag} c`,
        status: 'cancelled',
        date_time: '2031-02-03T10:00:00Z',
      });
      const bobs = await create(bob, { title: `${tag} d`, date_time: '2031-02-04T10:00:00Z' });

      const mine = await list({ mine: true, search: tag }, alice);
      expect(idsOf(mine)).toEqual([active.id, draft.id, cancelled.id]);
      expect(mine.body[1]).toEqual(draft);
      expect(idsOf(await list({ mine: true, search: tag }, bob))).toEqual([bobs.id]);

      const everything = await list({ mine: true, page_size: 200 }, alice);
      expect(idsOf(everything)).toContain(draft.id);
      for (const event of everything.body as Event[]) expect(event.organizer_id).toBe(alice.id);
    });
  });

  describe('filters', () => {
    it('filters by status', async () => {
      const tag = newTag();
      const byStatus: Record<string, number> = {};
      for (const status of ['active', 'cancelled', 'completed']) {
        byStatus[status] = (await create(alice, { title: `${tag} ${status}`, status })).id;
      }
      for (const status of ['active', 'cancelled', 'completed']) {
        expect(idsOf(await list({ organizer: alice.username, search: tag, status }))).toEqual([byStatus[status]]);
      }
    });

    describe('from and to', () => {
      let tag: string;
      let justBefore: Event;
      let atFrom: Event;
      let between: Event;
      let atTo: Event;

      beforeAll(async () => {
        tag = newTag();
        justBefore = await create(alice, { title: `${tag} 1`, date_time: '2031-04-10T11:59:59Z' });
        atFrom = await create(alice, { title: `${tag} 2`, date_time: '2031-04-10T12:00:00Z' });
        between = await create(alice, { title: `${tag} 3`, date_time: '2031-04-10T13:00:00Z' });
        atTo = await create(alice, { title: `${tag} 4`, date_time: '2031-04-10T14:00:00Z' });
      });

      const scoped = (query: Query) => list({ organizer: alice.username, search: tag, ...query });

      it('includes from and excludes to', async () => {
        const res = await scoped({ from: '2031-04-10T12:00:00Z', to: '2031-04-10T14:00:00Z' });
        expect(idsOf(res)).toEqual([atFrom.id, between.id]);
      });

      it('takes from alone and to alone', async () => {
        expect(idsOf(await scoped({ from: '2031-04-10T12:00:00Z' }))).toEqual([atFrom.id, between.id, atTo.id]);
        expect(idsOf(await scoped({ to: '2031-04-10T14:00:00Z' }))).toEqual([justBefore.id, atFrom.id, between.id]);
      });

      it('honours the offsets of from and to', async () => {
        const res = await scoped({ from: '2031-04-10T17:30:00+05:30', to: '2031-04-10T09:00:00-05:00' });
        expect(idsOf(res)).toEqual([atFrom.id, between.id]);
      });

      it('reads a +hh:mm offset sent unencoded (arriving as a space) as a plus', async () => {
        const query = new URLSearchParams({ organizer: alice.username, search: tag }).toString();
        const res = await t.http.get(
          `/api/events/?${query}&from=2031-04-10T17:30:00+05:30&to=2031-04-10T15:00:00+01:00`,
        );
        expect(idsOf(res)).toEqual([atFrom.id, between.id]);
      });

      it.each([
        ['from', 'yesterday'],
        ['from', '2031-04-10T12:00:00'],
        ['from', '2031-02-30T00:00:00Z'],
        ['to', '2031-13-01T00:00:00Z'],
        ['to', '2031-04-10'],
        ['to', '2031-04-10T12:00:00+0530'],
      ])('rejects %s=%s with 400', async (param, value) => {
        expectProblem(await scoped({ [param]: value }), 400, [param]);
      });
    });

    it('lists only future events with upcoming=true and only past ones with upcoming=false', async () => {
      const tag = newTag();
      const past = await create(alice, { title: `${tag} past`, date_time: '2001-01-01T00:00:00Z' });
      const future = await create(alice, { title: `${tag} future`, date_time: '2031-01-01T00:00:00Z' });
      const scope = { organizer: alice.username, search: tag };
      expect(idsOf(await list(scope))).toEqual([past.id, future.id]);
      expect(idsOf(await list({ ...scope, upcoming: true }))).toEqual([future.id]);
      expect(idsOf(await list({ ...scope, upcoming: false }))).toEqual([past.id]);
    });

    describe('search', () => {
      it('finds text in the title regardless of letter case', async () => {
        const tag = newTag();
        const event = await create(alice, { title: `${tag} Jazz Night` });
        const res = await list({ organizer: alice.username, search: `${tag} jAZZ nIGHT`.toUpperCase() });
        expect(idsOf(res)).toEqual([event.id]);
      });

      it('finds text in the location regardless of letter case', async () => {
        const tag = newTag();
        const event = await create(alice, { title: 'Somewhere', location: `Main Hall ${tag}` });
        const res = await list({ organizer: alice.username, search: `HALL ${tag.toUpperCase()}` });
        expect(idsOf(res)).toEqual([event.id]);
      });

      it('matches the title or the location', async () => {
        const tag = newTag();
        const inTitle = await create(alice, { title: `Talk ${tag}`, date_time: '2031-03-01T10:00:00Z' });
        const inLocation = await create(alice, { location: `Room ${tag}`, date_time: '2031-03-02T10:00:00Z' });
        expect(idsOf(await list({ organizer: alice.username, search: tag }))).toEqual([inTitle.id, inLocation.id]);
      });

      it.each([
        ['ÉCOLE', 'école d’été', 'ÉCOLE D’ÉTÉ'],
        ['МОСКВА', 'Москва', 'МОСКВА'],
        ['ÆRØ', 'ærø', 'ÆRØ'],
      ])('folds the case of non-ASCII letters: %s', async (_case, stored, searched) => {
        const tag = newTag();
        const event = await create(alice, { title: `${tag} ${stored}` });
        expect(idsOf(await list({ organizer: alice.username, search: `${tag} ${searched}` }))).toEqual([event.id]);
      });

      it('matches % literally, not as a wildcard', async () => {
        const tag = newTag();
        const percent = await create(alice, { title: `${tag} 100% fun` });
        await create(alice, { title: `${tag} 100 ways to have fun` });
        expect(idsOf(await list({ organizer: alice.username, search: `${tag} 100%` }))).toEqual([percent.id]);
      });

      it('matches _ literally, not as a wildcard', async () => {
        const tag = newTag();
        const underscore = await create(alice, { title: `${tag} a_b` });
        await create(alice, { title: `${tag} axb` });
        expect(idsOf(await list({ organizer: alice.username, search: `${tag} a_b` }))).toEqual([underscore.id]);
      });

      it('matches other pattern and escape characters literally', async () => {
        const tag = newTag();
        const bang = await create(alice, { title: `${tag} wow!%` });
        const backslash = await create(alice, { title: `${tag} C:\\temp\\_x` });
        await create(alice, { title: `${tag} wow!!` });
        expect(idsOf(await list({ organizer: alice.username, search: `${tag} wow!%` }))).toEqual([bang.id]);
        expect(idsOf(await list({ organizer: alice.username, search: `${tag} c:\\temp\\_` }))).toEqual([backslash.id]);
      });
    });

    it('filters by organizer username in any letter case', async () => {
      const tag = newTag();
      const alices = await create(alice, { title: `${tag} alice` });
      await create(bob, { title: `${tag} bob` });
      expect(idsOf(await list({ organizer: alice.username, search: tag }))).toEqual([alices.id]);
      expect(idsOf(await list({ organizer: alice.username.toUpperCase(), search: tag }))).toEqual([alices.id]);
      expect(idsOf(await list({ organizer: unique('nobody'), search: tag }))).toEqual([]);
    });

    it('combines every filter', async () => {
      const tag = newTag();
      const make = (user: TestUser, title: string, date_time: string, status = 'active') =>
        create(user, { title: `${tag} ${title}`, date_time, status });
      const early = await make(alice, 'match early', '2031-05-01T00:00:00Z');
      const late = await make(alice, 'match late', '2031-05-03T00:00:00Z');
      await make(alice, 'match cancelled', '2031-05-02T00:00:00Z', 'cancelled');
      await make(alice, 'match after to', '2031-07-01T00:00:00Z');
      await make(alice, 'other', '2031-05-02T00:00:00Z');
      await make(alice, 'match past', '2001-05-02T00:00:00Z');
      await make(alice, 'match draft', '2031-05-02T00:00:00Z', 'draft');
      await make(bob, 'match bob', '2031-05-02T00:00:00Z');
      const query = {
        status: 'active',
        from: '2001-01-01T00:00:00Z',
        to: '2031-06-01T00:00:00+00:00',
        upcoming: true,
        search: `${tag} MATCH`,
        organizer: alice.username.toUpperCase(),
        ordering: '-date_time',
        page_size: 1,
      };

      const first = await list(query);
      expect(idsOf(first)).toEqual([late.id]);
      expect(first.headers['x-total-count']).toBe('2');
      expect(idsOf(await list({ ...query, page: 2 }))).toEqual([early.id]);
    });

    it("combines mine=true with other filters to find the caller's drafts", async () => {
      const tag = newTag();
      const draft = await create(alice, { title: `${tag} draft`, status: 'draft' });
      await create(alice, { title: `${tag} active` });
      expect(idsOf(await list({ mine: true, status: 'draft', search: tag }, alice))).toEqual([draft.id]);
    });

    it('ignores unknown query parameters', async () => {
      const tag = newTag();
      const event = await create(alice, { title: tag });
      const res = await list({ organizer: alice.username, search: tag, colour: 'red', utm_source: 'newsletter' });
      expect(idsOf(res)).toEqual([event.id]);
    });
  });

  describe('ordering', () => {
    let tag: string;
    let b: Event;
    let c: Event;
    let a: Event;

    beforeAll(async () => {
      tag = newTag();
      // Each ordering gives a different permutation of the three events.
      b = await create(alice, { title: `${tag} b`, date_time: '2031-08-02T00:00:00Z' });
      c = await create(alice, { title: `${tag} c`, date_time: '2031-08-01T00:00:00Z' });
      a = await create(alice, { title: `${tag} a`, date_time: '2031-08-03T00:00:00Z' });
      await setCreatedAt(b.id, '2030-01-03 00:00:00.000');
      await setCreatedAt(c.id, '2030-01-01 00:00:00.000');
      await setCreatedAt(a.id, '2030-01-02 00:00:00.000');
    });

    it.each([
      ['date_time', ['c', 'b', 'a']],
      ['-date_time', ['a', 'b', 'c']],
      ['created_at', ['c', 'a', 'b']],
      ['-created_at', ['b', 'a', 'c']],
      ['title', ['a', 'b', 'c']],
      ['-title', ['c', 'b', 'a']],
    ])('orders by %s', async (ordering, expected) => {
      const byName: Record<string, Event> = { a, b, c };
      const res = await list({ organizer: alice.username, search: tag, ordering });
      expect(idsOf(res)).toEqual(expected.map((name) => byName[name].id));
    });

    it('orders by date_time by default', async () => {
      expect(idsOf(await list({ organizer: alice.username, search: tag }))).toEqual([c.id, b.id, a.id]);
    });

    it.each([
      ['date_time', 'asc'],
      ['-date_time', 'desc'],
      ['created_at', 'asc'],
      ['-created_at', 'desc'],
      ['title', 'asc'],
      ['-title', 'desc'],
    ])('breaks ties under %s by id, %s', async (ordering, direction) => {
      const tieTag = newTag();
      const tied: number[] = [];
      for (let i = 0; i < 3; i += 1) {
        const event = await create(alice, { title: `${tieTag} same`, date_time: '2031-09-09T09:00:00Z' });
        await setCreatedAt(event.id, '2030-02-02 02:02:02.222');
        tied.push(event.id);
      }
      const ascending = [...tied].sort((x, y) => x - y);
      const res = await list({ organizer: alice.username, search: tieTag, ordering });
      expect(idsOf(res)).toEqual(direction === 'asc' ? ascending : ascending.reverse());
    });
  });

  describe('bad query values', () => {
    it.each([
      ['ordering', 'name'],
      ['ordering', '-id'],
      ['ordering', 'DATE_TIME'],
      ['ordering', 'date_time,title'],
      ['status', 'open'],
      ['status', 'ACTIVE'],
      ['upcoming', 'yes'],
      ['upcoming', '1'],
      ['mine', 'yes'],
      ['page', '0'],
      ['page', '-1'],
      ['page', 'abc'],
      ['page', '1.5'],
      ['page', '1e2'],
      ['page_size', '0'],
      ['page_size', '201'],
      ['page_size', 'ten'],
      ['page_size', '2.5'],
    ])('rejects %s=%s with 400 naming it', async (param, value) => {
      expectProblem(await list({ [param]: value }), 400, [param]);
    });

    it('rejects a repeated parameter with 400', async () => {
      expectProblem(await t.http.get('/api/events/?status=active&status=draft'), 400, ['status']);
    });

    it('reports every bad parameter at once', async () => {
      const res = await list({ ordering: 'name', status: 'open', page: 0, page_size: 201, upcoming: 'maybe' });
      expectProblem(res, 400, ['ordering', 'status', 'page', 'page_size', 'upcoming']);
    });
  });

  describe('pagination', () => {
    it('serves 50 per page by default and page_size up to 200', async () => {
      const tag = newTag();
      const created: number[] = [];
      for (let i = 0; i < 51; i += 1) {
        const day = String(1 + (i % 28)).padStart(2, '0');
        const hour = String(Math.floor(i / 28)).padStart(2, '0');
        created.push((await create(alice, { title: `${tag} ${i}`, date_time: `2031-10-${day}T${hour}:00:00Z` })).id);
      }
      const scope = { organizer: alice.username, search: tag };

      const first = await list(scope);
      expect(idsOf(first)).toHaveLength(50);
      expect(first.headers['x-total-count']).toBe('51');
      const links = linksOf(first);
      expect(paramsOf(links.first)).toMatchObject({ page: '1', page_size: '50' });
      expect(paramsOf(links.next)).toMatchObject({ page: '2', page_size: '50' });
      expect(paramsOf(links.last)).toMatchObject({ page: '2', page_size: '50' });
      expect(links.prev).toBeUndefined();

      const second = await list({ ...scope, page: 2 });
      expect(idsOf(second)).toHaveLength(1);
      expect(new Set([...idsOf(first), ...idsOf(second)])).toEqual(new Set(created));

      const all = await list({ ...scope, page_size: 200 });
      expect(idsOf(all)).toHaveLength(51);
      expect(paramsOf(linksOf(all).last)).toMatchObject({ page: '1', page_size: '200' });
    });

    describe('Link header', () => {
      let tag: string;
      let newestFirst: number[];
      let query: Query;

      beforeAll(async () => {
        tag = newTag();
        const ids: number[] = [];
        for (let day = 1; day <= 5; day += 1) {
          ids.push((await create(alice, { title: `${tag} évent ${day}`, date_time: `2031-11-0${day}T10:00:00Z` })).id);
        }
        newestFirst = ids.reverse();
        query = { organizer: alice.username, search: `${tag} ÉVENT`, ordering: '-date_time', page_size: 2 };
      });

      /** The other query parameters, as each link must keep them. */
      const kept = () => ({
        organizer: alice.username,
        search: `${tag} ÉVENT`,
        ordering: '-date_time',
        page_size: '2',
      });

      it('has first, next and last but no prev on page 1', async () => {
        const res = await list(query);
        expect(idsOf(res)).toEqual(newestFirst.slice(0, 2));
        expect(res.headers['x-total-count']).toBe('5');
        const links = linksOf(res);
        expect(Object.keys(links).sort()).toEqual(['first', 'last', 'next']);
        expect(paramsOf(links.first)).toEqual({ ...kept(), page: '1' });
        expect(paramsOf(links.next)).toEqual({ ...kept(), page: '2' });
        expect(paramsOf(links.last)).toEqual({ ...kept(), page: '3' });
        for (const link of Object.values(links)) expect(link).toMatch(/^\/api\/events\/?\?/);
      });

      it('has first, prev, next and last on a middle page', async () => {
        const res = await list({ ...query, page: 2 });
        expect(idsOf(res)).toEqual(newestFirst.slice(2, 4));
        const links = linksOf(res);
        expect(Object.keys(links).sort()).toEqual(['first', 'last', 'next', 'prev']);
        expect(paramsOf(links.prev)).toEqual({ ...kept(), page: '1' });
        expect(paramsOf(links.next)).toEqual({ ...kept(), page: '3' });
      });

      it('has no next on the last page', async () => {
        const res = await list({ ...query, page: 3 });
        expect(idsOf(res)).toEqual(newestFirst.slice(4));
        const links = linksOf(res);
        expect(Object.keys(links).sort()).toEqual(['first', 'last', 'prev']);
        expect(paramsOf(links.prev)).toEqual({ ...kept(), page: '2' });
        expect(paramsOf(links.last)).toEqual({ ...kept(), page: '3' });
      });

      it('walks every page by following next links', async () => {
        const seen: number[] = [];
        let res = await list(query);
        for (let hops = 0; hops < 10; hops += 1) {
          seen.push(...idsOf(res));
          const next = linksOf(res).next;
          if (!next) break;
          res = await t.http.get(next);
        }
        expect(seen).toEqual(newestFirst);
      });

      it('answers a page past the end with [] and 200', async () => {
        const res = await list({ ...query, page: 4 });
        expect(idsOf(res)).toEqual([]);
        expect(res.headers['x-total-count']).toBe('5');
        const links = linksOf(res);
        expect(links.next).toBeUndefined();
        expect(paramsOf(links.last)).toEqual({ ...kept(), page: '3' });
      });

      it('has only first and last, both page 1, when everything fits on one page', async () => {
        const res = await list({ ...query, page_size: 200 });
        expect(idsOf(res)).toEqual(newestFirst);
        const links = linksOf(res);
        expect(Object.keys(links).sort()).toEqual(['first', 'last']);
        expect(paramsOf(links.first)).toMatchObject({ page: '1', page_size: '200' });
        expect(paramsOf(links.last)).toMatchObject({ page: '1', page_size: '200' });
      });
    });
  });

  describe('authentication on this public route', () => {
    it('refuses an invalid token with 401 instead of treating the caller as anonymous', async () => {
      const res = await t.http.get('/api/events/').set(bearer('not-a-jwt'));
      expectProblem(res, 401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    });

    it('refuses a refresh token used as an access token with 401', async () => {
      expectProblem(await t.http.get('/api/events/').set(bearer(alice.refresh)), 401);
    });

    it('refuses a malformed Authorization header with 401', async () => {
      expectProblem(await t.http.get('/api/events/').set('Authorization', 'Basic dXNlcjpwYXNz'), 401);
    });
  });
});

import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type AppProcess,
  freePort,
  HttpClient,
  type HttpResponse,
  startAppProcess,
  stopAppProcess,
  waitUntilHealthy,
} from './support/app-processes.js';
import { eventBody, unique } from './support/fixtures.js';
import { isMysql } from './support/test-app.js';

/**
 * Capacity and waitlist under real concurrency: on MariaDB/MySQL two
 * `node dist/src/main.js` processes share the run's database, and hundreds of
 * requests are in flight at once, spread alternately over both. On SQLite
 * (one process per database file) the same floods hit one process.
 */

interface RegistrationBody {
  id: number;
  event_id: number;
  name: string;
  email: string;
  status: 'confirmed' | 'waitlisted';
  position: number | null;
  created_at: string;
  promoted_at: string | null;
}

interface CreatedBody {
  detail: string;
  registration: RegistrationBody;
  cancel_token: string;
}

interface CapacityBody {
  capacity: number;
  attendees_count: number;
  available_slots: number;
  waitlist_count: number;
}

interface Tally {
  requests: number;
  created: number;
  conflicts: number;
  other: Record<string, number>;
}

/** Several instances share one MySQL database; an SQLite file belongs to one process. */
const INSTANCES = isMysql() ? 2 : 1;

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** Fisher–Yates with a cryptographic source; the order is printed when a test fails. */
function shuffle<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

function tally(responses: HttpResponse[]): Tally {
  const result: Tally = { requests: responses.length, created: 0, conflicts: 0, other: {} };
  for (const { status } of responses) {
    if (status === 201) result.created++;
    else if (status === 409) result.conflicts++;
    else result.other[status] = (result.other[status] ?? 0) + 1;
  }
  return result;
}

/** The first few answers that are not one of these statuses, for assertion messages. */
function unexpected(responses: HttpResponse[], allowed: number[]): string {
  return responses
    .filter((res) => !allowed.includes(res.status))
    .slice(0, 5)
    .map((res) => `${res.status} ${res.text.slice(0, 300)}`)
    .join('\n');
}

describe(`registration races across ${INSTANCES} app process(es)`, () => {
  const client = new HttpClient(1024);
  const apps: AppProcess[] = [];
  let organizerCredentials: { username: string; password: string };
  let next = 0;
  let cleanUp: () => void = () => undefined;

  /** Each call goes to the other instance than the previous one. */
  const call = (method: string, path: string, options: Parameters<HttpClient['request']>[3] = {}) =>
    client.request(apps[next++ % apps.length].baseUrl, method, path, options);

  async function organizerToken(): Promise<string> {
    const res = await call('POST', '/api/login/', { body: organizerCredentials });
    expect(res.status, res.text).toBe(200);
    return (res.body as { access: string }).access;
  }

  async function createEvent(token: string, capacity: number): Promise<number> {
    const res = await call('POST', '/api/events/', {
      headers: { authorization: `Bearer ${token}` },
      body: eventBody({ capacity, title: unique('Race') }),
    });
    expect(res.status, res.text).toBe(201);
    return (res.body as { id: number }).id;
  }

  const register = (eventId: number, email: string) =>
    call('POST', `/api/events/${eventId}/register`, { body: { name: `Racer ${email}`, email } });

  const cancel = (eventId: number, registrationId: number, token: string) =>
    call('DELETE', `/api/events/${eventId}/registrations/${registrationId}/`, {
      headers: { 'x-registration-token': token },
    });

  async function capacityOf(eventId: number): Promise<CapacityBody> {
    const res = await call('GET', `/api/events/${eventId}/capacity`);
    expect(res.status, res.text).toBe(200);
    return res.body as CapacityBody;
  }

  /** Every registration of the event, all pages, in id order, as the organizer sees them. */
  async function listAll(eventId: number, token: string): Promise<RegistrationBody[]> {
    const rows: RegistrationBody[] = [];
    for (let page = 1; ; page++) {
      const res = await call('GET', `/api/events/${eventId}/registrations/?page=${page}&page_size=200`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status, res.text).toBe(200);
      const items = res.body as RegistrationBody[];
      rows.push(...items);
      const total = Number(res.headers['x-total-count']);
      if (items.length === 0 || rows.length >= total) {
        expect(rows.length, 'X-Total-Count').toBe(total);
        return rows;
      }
    }
  }

  /** A sequential registration that must succeed; returns its 201 body. */
  async function registered(eventId: number, email: string): Promise<CreatedBody> {
    const res = await register(eventId, email);
    expect(res.status, res.text).toBe(201);
    return res.body as CreatedBody;
  }

  /**
   * API.md's invariants over the final state of one event: never above
   * capacity, no free seat while someone waits, positions 1..n in FIFO order,
   * promotions oldest first, and the counters equal to the rows.
   */
  function expectConsistent(rows: RegistrationBody[], capacity: CapacityBody, expectedCapacity: number): void {
    const ids = rows.map((row) => row.id);
    expect(new Set(ids).size, 'registration ids are unique').toBe(ids.length);
    expect(
      ids.every((id, i) => i === 0 || ids[i - 1] < id),
      'the list is in id order',
    ).toBe(true);
    const confirmed = rows.filter((row) => row.status === 'confirmed');
    const waitlisted = rows.filter((row) => row.status === 'waitlisted');
    expect(confirmed.length + waitlisted.length, 'every row is confirmed or waitlisted').toBe(rows.length);

    expect(capacity.capacity, 'final capacity').toBe(expectedCapacity);
    expect(confirmed.length, 'confirmed never above capacity').toBeLessThanOrEqual(expectedCapacity);
    expect(confirmed.length, 'confirmed == min(capacity, rows): no free seat while someone waits').toBe(
      Math.min(expectedCapacity, rows.length),
    );

    expect(
      waitlisted.map((row) => row.position),
      'waitlist positions are 1..n in id order',
    ).toEqual(range(waitlisted.length).map((i) => i + 1));
    expect(
      confirmed.filter((row) => row.position !== null).map((row) => row.id),
      'confirmed rows have no position',
    ).toEqual([]);

    const oldestWaiting = Math.min(...waitlisted.map((row) => row.id));
    const promoted = confirmed.filter((row) => row.promoted_at !== null);
    expect(
      promoted.filter((row) => row.id > oldestWaiting).map((row) => row.id),
      `promoted registrations younger than the oldest still waiting (${oldestWaiting}): FIFO broken`,
    ).toEqual([]);
    expect(
      confirmed.filter((row) => row.id > oldestWaiting).map((row) => row.id),
      `confirmed registrations younger than the oldest still waiting (${oldestWaiting}): someone jumped the queue`,
    ).toEqual([]);

    expect(capacity.attendees_count, 'attendees_count equals the confirmed rows').toBe(confirmed.length);
    expect(capacity.waitlist_count, 'waitlist_count equals the waitlisted rows').toBe(waitlisted.length);
    expect(capacity.attendees_count + capacity.waitlist_count, 'counters equal the rows that exist').toBe(rows.length);
    expect(capacity.available_slots, 'available_slots').toBe(capacity.capacity - capacity.attendees_count);
  }

  function report(scenario: string, counts: Tally, rows: RegistrationBody[], wallMs: number, extra = ''): void {
    const confirmed = rows.filter((row) => row.status === 'confirmed').length;
    const waitlisted = rows.length - confirmed;
    console.log(
      `RACE ${isMysql() ? 'mariadb' : 'sqlite'} ${scenario}: requests=${counts.requests} 201=${counts.created} 409=${counts.conflicts} ` +
        `other=${JSON.stringify(counts.other)} confirmed=${confirmed} waitlisted=${waitlisted} ` +
        `wall_ms=${Math.round(wallMs)}${extra ? ` ${extra}` : ''}`,
    );
  }

  beforeAll(async () => {
    const sqliteDir = isMysql() ? undefined : mkdtempSync(join(tmpdir(), 'event-api-races-'));
    cleanUp = () => sqliteDir && rmSync(sqliteDir, { recursive: true, force: true });
    const env = {
      DATABASE_URL: sqliteDir ? `sqlite:${join(sqliteDir, 'races.sqlite')}` : inject('databaseUrl'),
      JWT_SECRET: randomBytes(32).toString('hex'),
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      // API.md's per-IP limits (60 event registrations a minute) would refuse a flood from one client.
      RATE_LIMIT: 'off',
      // 400 registrations queue for one event's row lock; on a busy machine the last wait near the
      // default 4 s deadline, and a 503 would hide what is tested here: who gets a seat.
      REQUEST_TIMEOUT: '15s',
    };
    const ports = new Set<number>();
    while (ports.size < INSTANCES) ports.add(await freePort());
    try {
      apps.push(...[...ports].map((port, i) => startAppProcess(`app-${i + 1}`, port, env)));
      await Promise.all(apps.map((app) => waitUntilHealthy(app, client)));
      organizerCredentials = { username: unique('racer'), password: 'correct horse battery' };
      const res = await call('POST', '/api/register/', {
        body: { ...organizerCredentials, email: `${organizerCredentials.username}@example.com` },
      });
      expect(res.status, res.text).toBe(201);
    } catch (error) {
      await Promise.all(apps.map((app) => stopAppProcess(app)));
      throw error;
    }
  }, 300_000);

  afterAll(async () => {
    await Promise.all(apps.map((app) => stopAppProcess(app)));
    client.close();
    cleanUp();
  }, 30_000);

  it('400 simultaneous registrations for 25 seats: 25 confirmed, 375 waitlisted at positions 1..375', async () => {
    const token = await organizerToken();
    const eventId = await createEvent(token, 25);
    const tag = randomBytes(4).toString('hex');

    const started = performance.now();
    const responses = await Promise.all(range(400).map((i) => register(eventId, `seat${i}.${tag}@example.com`)));
    const wallMs = performance.now() - started;

    const rows = await listAll(eventId, token);
    const capacity = await capacityOf(eventId);
    const counts = tally(responses);
    report('400-registrations-25-seats', counts, rows, wallMs);

    expect(
      responses.filter((res) => res.status >= 500).length,
      `5xx answers:\n${unexpected(responses, [201, 409])}`,
    ).toBe(0);
    expect(counts.created, unexpected(responses, [201])).toBe(400);
    const bodies = responses.map((res) => res.body as CreatedBody);
    const confirmed = bodies.filter((body) => body.registration.status === 'confirmed');
    const waitlisted = bodies.filter((body) => body.registration.status === 'waitlisted');
    expect(confirmed.length, 'confirmed in the 201 answers').toBe(25);
    expect(waitlisted.length, 'waitlisted in the 201 answers').toBe(375);
    expect(confirmed.every((body) => body.detail === 'Registered for event successfully')).toBe(true);
    expect(waitlisted.every((body) => body.detail === 'Event is full; added to the waitlist')).toBe(true);
    expect(
      waitlisted.map((body) => body.registration.position).sort((a, b) => a! - b!),
      'each waitlist position 1..375 reported exactly once',
    ).toEqual(range(375).map((i) => i + 1));

    expect(rows.filter((row) => row.status === 'confirmed')).toHaveLength(25);
    expect(rows.filter((row) => row.status === 'waitlisted')).toHaveLength(375);
    expectConsistent(rows, capacity, 25);
    expect(capacity).toMatchObject({ attendees_count: 25, waitlist_count: 375, available_slots: 0 });
    // Nothing moved since: each registration still has the place its 201 reported.
    const reported = new Map(bodies.map((body) => [body.registration.id, body.registration]));
    expect(rows.map((row) => [row.id, row.status, row.position])).toEqual(
      rows.map((row) => [row.id, reported.get(row.id)?.status, reported.get(row.id)?.position]),
    );
  }, 180_000);

  it('100 simultaneous registrations with one email in various letter cases: one 201, 99 × 409', async () => {
    const token = await organizerToken();
    const eventId = await createEvent(token, 5);
    const email = `dup.${randomBytes(4).toString('hex')}@example.com`;
    const variant = (i: number) =>
      i === 0
        ? email
        : [...email].map((c) => (randomInt(2) === 1 || i === 1 ? c.toUpperCase() : c.toLowerCase())).join('');

    const started = performance.now();
    const responses = await Promise.all(range(100).map((i) => register(eventId, variant(i))));
    const wallMs = performance.now() - started;

    const rows = await listAll(eventId, token);
    const capacity = await capacityOf(eventId);
    const counts = tally(responses);
    report('100-same-email', counts, rows, wallMs);

    expect(counts.created, unexpected(responses, [409])).toBe(1);
    expect(counts.conflicts, unexpected(responses, [201, 409])).toBe(99);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ email, status: 'confirmed', position: null });
    expect(capacity).toMatchObject({ capacity: 5, attendees_count: 1, waitlist_count: 0, available_slots: 4 });
  }, 120_000);

  it('cancellations racing new registrations keep the seats full, the waitlist FIFO and the counters exact', async () => {
    const token = await organizerToken();
    const eventId = await createEvent(token, 20);
    const tag = randomBytes(4).toString('hex');
    const initial: CreatedBody[] = [];
    for (const i of range(50)) initial.push(await registered(eventId, `early${i}.${tag}@example.com`));
    expect(initial.filter((body) => body.registration.status === 'confirmed')).toHaveLength(20);
    expect(initial.filter((body) => body.registration.status === 'waitlisted')).toHaveLength(30);

    const cancelled = [
      ...shuffle(initial.filter((body) => body.registration.status === 'confirmed')).slice(0, 15),
      ...shuffle(initial.filter((body) => body.registration.status === 'waitlisted')).slice(0, 10),
    ];
    const jobs = shuffle([
      ...cancelled.map((body) => () => cancel(eventId, body.registration.id, body.cancel_token)),
      ...range(40).map((i) => () => register(eventId, `late${i}.${tag}@example.com`)),
    ]);

    const started = performance.now();
    const responses = await Promise.all(jobs.map((job) => job()));
    const wallMs = performance.now() - started;

    const rows = await listAll(eventId, token);
    const capacity = await capacityOf(eventId);
    const counts = tally(responses);
    const promotions = rows.filter((row) => row.promoted_at !== null).length;
    report('cancel-vs-register', counts, rows, wallMs, `promoted=${promotions}`);

    expect(counts.created, unexpected(responses, [200, 201])).toBe(40);
    expect(counts.other, unexpected(responses, [200, 201])).toEqual({ 200: 25 });
    const cancelledIds = new Set(cancelled.map((body) => body.registration.id));
    const created = responses.filter((res) => res.status === 201).map((res) => (res.body as CreatedBody).registration);
    const expectedIds = [
      ...initial.map((body) => body.registration.id).filter((id) => !cancelledIds.has(id)),
      ...created.map((registration) => registration.id),
    ].sort((a, b) => a - b);
    expect(
      rows.map((row) => row.id),
      'exactly the registrations not cancelled remain (none lost, none resurrected)',
    ).toEqual(expectedIds);
    expect(rows).toHaveLength(65);
    expectConsistent(rows, capacity, 20);
  }, 120_000);

  it('capacity raises racing a flood of 200 registrations promote FIFO into every new seat', async () => {
    const token = await organizerToken();
    const eventId = await createEvent(token, 10);
    const tag = randomBytes(4).toString('hex');
    // Each raise adds more seats than the waitlist then holds, so it promotes everyone waiting and
    // leaves seats that the registrations in flight must take directly.
    const raises = [40, 100, 150];
    let sent = 0;
    let answered = 0;
    const answeredAtRaise: number[] = [];
    const registrations: Promise<HttpResponse>[] = [];
    const sendRegistrations = (count: number) => {
      for (const _ of range(count)) {
        registrations.push(
          register(eventId, `flood${sent++}.${tag}@example.com`).then((res) => {
            answered++;
            return res;
          }),
        );
      }
    };

    // Four waves of 50 registrations; each of the first three has a capacity raise in its
    // middle, and the next wave starts once that raise is answered, so every raise lands
    // while registrations are in flight on both instances and the final capacity is known.
    const started = performance.now();
    const patchResponses: HttpResponse[] = [];
    for (const capacity of raises) {
      sendRegistrations(25);
      const patch = call('PATCH', `/api/events/${eventId}/`, {
        headers: { authorization: `Bearer ${token}` },
        body: { capacity },
      });
      sendRegistrations(25);
      patchResponses.push(await patch);
      answeredAtRaise.push(answered);
    }
    sendRegistrations(50);
    const responses = await Promise.all(registrations);
    const wallMs = performance.now() - started;

    const rows = await listAll(eventId, token);
    const capacity = await capacityOf(eventId);
    const counts = tally([...responses, ...patchResponses]);
    report(
      'capacity-raises-vs-flood',
      counts,
      rows,
      wallMs,
      `raises=${raises.join('/')} registrations_answered_when_each_raise_answered=${answeredAtRaise.join('/')} ` +
        `promoted=${rows.filter((row) => row.promoted_at !== null).length}`,
    );

    expect(
      patchResponses.map((res) => res.status),
      unexpected(patchResponses, [200]),
    ).toEqual([200, 200, 200]);
    expect(
      responses.filter((res) => res.status === 201),
      unexpected(responses, [201]),
    ).toHaveLength(200);
    expect(rows).toHaveLength(200);
    expectConsistent(rows, capacity, 150);
    expect(capacity).toMatchObject({ attendees_count: 150, waitlist_count: 50 });
  }, 180_000);

  it('one registration cancelled 10 times at once: one 200, nine 404, exactly one promotion (the oldest waiting)', async () => {
    const token = await organizerToken();
    const eventId = await createEvent(token, 2);
    const tag = randomBytes(4).toString('hex');
    const initial: CreatedBody[] = [];
    for (const i of range(5)) initial.push(await registered(eventId, `twice${i}.${tag}@example.com`));
    expect(initial.map((body) => body.registration.status)).toEqual([
      'confirmed',
      'confirmed',
      'waitlisted',
      'waitlisted',
      'waitlisted',
    ]);
    const [victim, , oldestWaiting] = initial;

    const started = performance.now();
    const responses = await Promise.all(
      range(10).map(() => cancel(eventId, victim.registration.id, victim.cancel_token)),
    );
    const wallMs = performance.now() - started;

    const rows = await listAll(eventId, token);
    const capacity = await capacityOf(eventId);
    const counts = tally(responses);
    report('same-cancel-10x', counts, rows, wallMs);

    expect(counts.other, unexpected(responses, [200, 404])).toEqual({ 200: 1, 404: 9 });
    expect(rows.map((row) => row.id)).toEqual(initial.slice(1).map((body) => body.registration.id));
    const promoted = rows.filter((row) => row.promoted_at !== null);
    expect(
      promoted.map((row) => row.id),
      'exactly one promotion, the oldest waitlisted',
    ).toEqual([oldestWaiting.registration.id]);
    expect(rows.map((row) => [row.status, row.position])).toEqual([
      ['confirmed', null],
      ['confirmed', null],
      ['waitlisted', 1],
      ['waitlisted', 2],
    ]);
    expectConsistent(rows, capacity, 2);
    expect(capacity).toMatchObject({ attendees_count: 2, waitlist_count: 2 });
  }, 120_000);
});

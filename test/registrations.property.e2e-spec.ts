import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createEvent, createUser, type TestUser } from './support/fixtures.js';
import { startApp, type TestApp } from './support/test-app.js';

/**
 * A model-based property test of API.md's capacity, waitlist and check-in
 * rules: random sequences of registrations, cancellations, capacity changes,
 * check-ins and their undoing run against a fresh event and against a small
 * in-memory model, and after every step the event's capacity view and the
 * organizer's registration list must equal the model.
 */

const EMAILS = ['ann@example.com', 'bob@example.com', 'cleo@example.org', 'dev@example.net', 'eve@mail.example.com'];
const NUM_RUNS = 100;
const MAX_STEPS = 25;

type Status = 'confirmed' | 'waitlisted';

type Step =
  | { kind: 'register'; email: number; caseMask: number }
  | { kind: 'cancel'; pick: number }
  | { kind: 'setCapacity'; capacity: number }
  | { kind: 'checkIn'; pick: number }
  | { kind: 'undoCheckIn'; pick: number };

interface ModelRegistration {
  id: number;
  email: string;
  status: Status;
  promoted: boolean;
  checkedIn: boolean;
}

interface Model {
  capacity: number;
  /** The registrations that exist, in arrival (id) order. */
  rows: ModelRegistration[];
}

/** Every registration a run made, cancelled ones included: what `cancel` picks from. */
interface Created {
  id: number;
  token: string;
  email: string;
}

/** What a step did: the rule it exercised (for the log and coverage line) and its details. */
interface Outcome {
  rule: string;
  detail: string;
}

interface RegistrationBody {
  id: number;
  event_id: number;
  email: string;
  status: Status;
  position: number | null;
  promoted_at: string | null;
  checked_in_at: string | null;
}

/** The email with the letters whose bit is set in the mask upper-cased. */
function withCase(email: string, mask: number): string {
  return [...email].map((c, i) => ((mask >> (i % 30)) & 1 ? c.toUpperCase() : c)).join('');
}

function describeStep(step: Step): string {
  switch (step.kind) {
    case 'register':
      return `register(${withCase(EMAILS[step.email], step.caseMask)})`;
    case 'cancel':
      return `cancel(#${step.pick})`;
    case 'setCapacity':
      return `setCapacity(${step.capacity})`;
    case 'checkIn':
      return `checkIn(#${step.pick})`;
    case 'undoCheckIn':
      return `undoCheckIn(#${step.pick})`;
  }
}

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('register' as const),
      email: fc.integer({ min: 0, max: EMAILS.length - 1 }),
      caseMask: fc.nat({ max: 2 ** 30 - 1 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat({ max: 1000 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('setCapacity' as const), capacity: fc.integer({ min: 1, max: 8 }) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('checkIn' as const), pick: fc.nat({ max: 1000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('undoCheckIn' as const), pick: fc.nat({ max: 1000 }) }) },
);

const confirmedIn = (model: Model) => model.rows.filter((row) => row.status === 'confirmed').length;
const checkedInIn = (model: Model) => model.rows.filter((row) => row.checkedIn).length;

/** Moves the oldest waitlisted registrations into free seats, as API.md requires after a cancel or a raise. */
function promoteInto(model: Model): number {
  let free = model.capacity - confirmedIn(model);
  let promoted = 0;
  for (const row of model.rows) {
    if (free <= 0) break;
    if (row.status === 'waitlisted') {
      row.status = 'confirmed';
      row.promoted = true;
      free--;
      promoted++;
    }
  }
  return promoted;
}

/** The list the organizer should see: each row with its status, position and whether it was promoted and checked in. */
function expectedList(model: Model) {
  let position = 0;
  return model.rows.map((row) => ({
    id: row.id,
    email: row.email,
    status: row.status,
    position: row.status === 'waitlisted' ? ++position : null,
    promoted: row.promoted,
    checkedIn: row.checkedIn,
  }));
}

describe('registrations against a model of the capacity and waitlist rules', () => {
  let t: TestApp;
  let organizer: TestUser;

  beforeAll(async () => {
    // A long-lived access token: the organizer's token must outlive every run and every shrink.
    t = await startApp({ JWT_ACCESS_TTL: '2h' });
    organizer = await createUser(t.http);
  });
  afterAll(() => t.close());

  async function listAll(eventId: number): Promise<RegistrationBody[]> {
    const rows: RegistrationBody[] = [];
    for (let page = 1; ; page++) {
      const res = await t.http
        .get(`/api/events/${eventId}/registrations/`)
        .query({ page, page_size: 200 })
        .set(bearer(organizer.access));
      expect(res.status, res.text).toBe(200);
      rows.push(...(res.body as RegistrationBody[]));
      const total = Number(res.headers['x-total-count']);
      if ((res.body as unknown[]).length === 0 || rows.length >= total) {
        expect(rows.length, 'X-Total-Count').toBe(total);
        return rows;
      }
    }
  }

  /** The real state equals the model, and API.md's invariants hold. */
  async function expectMatchesModel(eventId: number, model: Model): Promise<void> {
    const capacityRes = await t.http.get(`/api/events/${eventId}/capacity`);
    expect(capacityRes.status, capacityRes.text).toBe(200);
    const rows = await listAll(eventId);

    const real = rows.map((row) => ({
      id: row.id,
      email: row.email,
      status: row.status,
      position: row.position,
      promoted: row.promoted_at !== null,
      checkedIn: row.checked_in_at !== null,
    }));
    expect(real, 'the organizer list (ids, emails, statuses, positions, promotions, check-ins)').toEqual(
      expectedList(model),
    );

    const confirmed = rows.filter((row) => row.status === 'confirmed').length;
    const waitlisted = rows.filter((row) => row.status === 'waitlisted');
    expect(capacityRes.body, 'the capacity view').toEqual({
      capacity: model.capacity,
      attendees_count: confirmedIn(model),
      available_slots: model.capacity - confirmedIn(model),
      waitlist_count: model.rows.length - confirmedIn(model),
      checked_in_count: checkedInIn(model),
    });

    // The invariants, on the real state alone.
    const { capacity, attendees_count, waitlist_count, checked_in_count } = capacityRes.body as Record<string, number>;
    expect(confirmed, 'confirmed ≤ capacity').toBeLessThanOrEqual(capacity);
    if (waitlisted.length > 0) expect(confirmed, 'no free seat while someone waits').toBe(capacity);
    expect(
      waitlisted.map((row) => row.position),
      'positions 1..n',
    ).toEqual(waitlisted.map((_, i) => i + 1));
    expect(attendees_count, 'attendees_count equals the confirmed rows').toBe(confirmed);
    expect(attendees_count + waitlist_count, 'the counters equal the rows').toBe(rows.length);
    const checkedIn = rows.filter((row) => row.checked_in_at !== null);
    expect(checked_in_count, 'checked_in_count equals the checked-in rows').toBe(checkedIn.length);
    expect(
      checkedIn.every((row) => row.status === 'confirmed'),
      'only confirmed registrations are checked in',
    ).toBe(true);
  }

  /** Runs one step against the API and the model, checking the answer. */
  async function apply(step: Step, eventId: number, model: Model, created: Created[]): Promise<Outcome> {
    switch (step.kind) {
      case 'register': {
        const email = withCase(EMAILS[step.email], step.caseMask);
        const res = await t.http.post(`/api/events/${eventId}/register`).send({ name: 'Model Runner', email });
        const folded = email.toLowerCase();
        if (model.rows.some((row) => row.email === folded)) {
          expect(res.status, `a duplicate email is a 409: ${res.text}`).toBe(409);
          return { rule: '409 duplicate email', detail: '' };
        }
        expect(res.status, res.text).toBe(201);
        const registration = res.body.registration as RegistrationBody;
        const status: Status = confirmedIn(model) < model.capacity ? 'confirmed' : 'waitlisted';
        const position = status === 'waitlisted' ? model.rows.length - confirmedIn(model) + 1 : null;
        expect(
          { status: registration.status, position: registration.position, email: registration.email },
          'the 201 body',
        ).toEqual({ status, position, email: folded });
        expect(typeof res.body.cancel_token, 'a cancel token').toBe('string');
        const lastId = model.rows.length > 0 ? model.rows[model.rows.length - 1].id : 0;
        expect(registration.id, 'ids grow with arrival').toBeGreaterThan(lastId);
        model.rows.push({ id: registration.id, email: folded, status, promoted: false, checkedIn: false });
        const again = created.some((entry) => entry.email === folded);
        created.push({ id: registration.id, token: res.body.cancel_token as string, email: folded });
        return {
          rule: `201 ${status}${again ? ' (email registered again after a cancel)' : ''}`,
          detail: `id=${registration.id}${position ? ` position=${position}` : ''}`,
        };
      }
      case 'cancel': {
        if (created.length === 0) return { rule: 'cancel skipped (nothing registered yet)', detail: '' };
        const target = created[step.pick % created.length];
        const res = await t.http
          .delete(`/api/events/${eventId}/registrations/${target.id}/`)
          .set('X-Registration-Token', target.token);
        const index = model.rows.findIndex((row) => row.id === target.id);
        if (index < 0) {
          expect(res.status, `an already cancelled registration is a 404: ${res.text}`).toBe(404);
          return { rule: '404 already cancelled', detail: `id=${target.id}` };
        }
        expect(res.status, res.text).toBe(200);
        expect(res.body).toEqual({ detail: 'Registration cancelled' });
        const [removed] = model.rows.splice(index, 1);
        const promoted = removed.status === 'confirmed' ? promoteInto(model) : 0;
        return {
          rule: `200 cancelled ${removed.status}${promoted ? ' (promoted the oldest waiting)' : ''}`,
          detail: `id=${target.id}`,
        };
      }
      case 'setCapacity': {
        const res = await t.http
          .patch(`/api/events/${eventId}/`)
          .set(bearer(organizer.access))
          .send({ capacity: step.capacity });
        if (step.capacity < confirmedIn(model)) {
          expect(res.status, `capacity below the confirmed count is a 409: ${res.text}`).toBe(409);
          return { rule: '409 capacity below confirmed', detail: `(confirmed ${confirmedIn(model)})` };
        }
        expect(res.status, res.text).toBe(200);
        const lowered = step.capacity < model.capacity;
        model.capacity = step.capacity;
        const promoted = promoteInto(model);
        expect(
          {
            capacity: res.body.capacity,
            attendees_count: res.body.attendees_count,
            waitlist_count: res.body.waitlist_count,
            available_slots: res.body.available_slots,
          },
          'the PATCH answer',
        ).toEqual({
          capacity: model.capacity,
          attendees_count: confirmedIn(model),
          waitlist_count: model.rows.length - confirmedIn(model),
          available_slots: model.capacity - confirmedIn(model),
        });
        return {
          rule: `200 capacity ${lowered ? 'lowered' : 'kept or raised'}${promoted ? ' (promoted FIFO)' : ''}`,
          detail: `promoted=${promoted}`,
        };
      }
      case 'checkIn':
      case 'undoCheckIn': {
        if (created.length === 0) return { rule: `${step.kind} skipped (nothing registered yet)`, detail: '' };
        const target = created[step.pick % created.length];
        const path = `/api/events/${eventId}/registrations/${target.id}/check-in/`;
        const undo = step.kind === 'undoCheckIn';
        const res = await (undo ? t.http.delete(path) : t.http.post(path)).set(bearer(organizer.access));
        const row = model.rows.find((entry) => entry.id === target.id);
        if (!row) {
          expect(res.status, `a cancelled registration is a 404: ${res.text}`).toBe(404);
          return { rule: `404 ${step.kind} of a cancelled registration`, detail: `id=${target.id}` };
        }
        const refusal = undo
          ? !row.checkedIn && 'not checked in'
          : row.status === 'waitlisted'
            ? 'waitlisted'
            : row.checkedIn && 'already checked in';
        if (refusal) {
          expect(res.status, `${step.kind} of one ${refusal} is a 409: ${res.text}`).toBe(409);
          return { rule: `409 ${step.kind} of one ${refusal}`, detail: `id=${target.id}` };
        }
        expect(res.status, res.text).toBe(200);
        row.checkedIn = !undo;
        expect(
          { id: res.body.id, status: res.body.status, checked_in: res.body.checked_in_at !== null },
          'the 200 body',
        ).toEqual({ id: row.id, status: 'confirmed', checked_in: row.checkedIn });
        return { rule: `200 ${step.kind}${row.promoted ? ' of a promoted registration' : ''}`, detail: `id=${row.id}` };
      }
    }
  }

  it('every sequence of register, cancel, capacity changes and check-ins keeps the event equal to the model', async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(stepArbitrary, { minLength: 1, maxLength: MAX_STEPS }),
        async (initialCapacity, steps) => {
          const event = await createEvent(t.http, organizer, { capacity: initialCapacity });
          const model: Model = { capacity: initialCapacity, rows: [] };
          const created: Created[] = [];
          const log = [`event ${event.id} with capacity ${initialCapacity}`];
          for (const [index, step] of steps.entries()) {
            const label = `${index + 1}. ${describeStep(step)}`;
            let outcome: Outcome | undefined;
            try {
              outcome = await apply(step, event.id, model, created);
              seen.add(outcome.rule);
              log.push(`${label} -> ${outcome.rule} ${outcome.detail}`.trimEnd());
              await expectMatchesModel(event.id, model);
            } catch (error) {
              if (outcome === undefined) log.push(`${label} -> FAILED (unexpected answer)`);
              else log.push(`   FAILED: the state after step ${index + 1} differs from the model`);
              const reason = error instanceof Error ? error.message : String(error);
              throw new Error(
                `model and API disagree after step ${index + 1}.\nSteps:\n  ${log.join('\n  ')}\n${reason}`,
                {
                  cause: error,
                },
              );
            }
          }
        },
      ),
      { numRuns: NUM_RUNS },
    );
    // Which kinds of answers the runs went through, so a CI log shows the generator reached every rule.
    console.log(`PROPERTY rules exercised: ${[...seen].sort().join('; ')}`);
  }, 180_000);
});

import { randomBytes } from 'node:crypto';
import type { Response } from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { expect } from 'vitest';

export interface TestUser {
  id: number;
  username: string;
  email: string;
  password: string;
  access: string;
  refresh: string;
}

/** A name no other test (or run on a shared database) uses. */
export function unique(prefix = 'user'): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/** Registers a fresh user and logs them in. */
export async function createUser(
  http: TestAgent,
  overrides: Partial<Pick<TestUser, 'username' | 'email' | 'password'>> = {},
): Promise<TestUser> {
  const username = overrides.username ?? unique();
  const email = overrides.email ?? `${username}@example.com`;
  const password = overrides.password ?? 'correct horse battery';
  const registered = await http.post('/api/register/').send({ username, email, password });
  expect(registered.status, JSON.stringify(registered.body)).toBe(201);
  const tokens = await login(http, username, password);
  return { id: registered.body.id, username, email: registered.body.email, password, ...tokens };
}

export async function login(
  http: TestAgent,
  username: string,
  password: string,
): Promise<{ access: string; refresh: string }> {
  const response = await http.post('/api/login/').send({ username, password });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return { access: response.body.access, refresh: response.body.refresh };
}

/** A registration as the API represents it. */
export interface Registration {
  id: number;
  event_id: number;
  name: string;
  email: string;
  status: 'confirmed' | 'waitlisted';
  position: number | null;
  created_at: string;
  promoted_at: string | null;
  checked_in_at: string | null;
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** A valid event body; the date is a year ahead unless overridden. */
export function eventBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const nextYear = new Date(Date.now() + 365 * 86_400_000);
  nextYear.setUTCMilliseconds(0);
  return {
    title: unique('Event'),
    description: 'A test event',
    date_time: nextYear.toISOString().replace('.000Z', 'Z'),
    location: 'New York',
    status: 'active',
    capacity: 100,
    ...overrides,
  };
}

export async function createEvent(http: TestAgent, user: TestUser, overrides: Record<string, unknown> = {}) {
  const response = await http.post('/api/events/').set(bearer(user.access)).send(eventBody(overrides));
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body as Record<string, unknown> & { id: number };
}

/** Words that would mean a framework, driver or stack trace leaked into a problem body. */
export const LEAKS = ['Fastify', 'Nest', 'stack', 'SQL', 'QueryFailedError'];

/**
 * An RFC 9457 problem with this status, a non-empty `detail`, nothing leaked
 * from the framework or the database, and (for validation errors) these fields named in `errors`.
 */
export function expectProblem(res: Response, status: number, fields: string[] = []): void {
  expect(res.status, res.text).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(res.text) as Record<string, unknown>;
  expect(body).toMatchObject({
    type: expect.any(String),
    title: expect.any(String),
    status,
    detail: expect.any(String),
  });
  expect((body.detail as string).length).toBeGreaterThan(0);
  for (const word of LEAKS) expect(res.text, `problem body mentions "${word}"`).not.toContain(word);
  for (const field of fields) expect(body.errors, res.text).toHaveProperty([field]);
}

import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkEveryResponse,
  ContractViolation,
  type ObservedResponse,
  OpenApiContract,
  type OpenApiDocument,
} from './support/openapi-contract.js';
import { startApp, type TestApp } from './support/test-app.js';

/**
 * The check every end-to-end response goes through must itself be able to
 * fail: fed responses that drift from the app's real OpenAPI document, it
 * throws, naming what drifted.
 */

const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' };
const PROBLEM_TYPE = { 'content-type': 'application/problem+json; charset=utf-8' };

const EVENT = {
  id: 7,
  title: 'New Event',
  description: 'This is a new event',
  date_time: '2031-02-15T15:00:00Z',
  timezone: 'America/New_York',
  local_date_time: '2031-02-15T10:00:00-05:00',
  location: 'New York',
  status: 'active',
  capacity: 100,
  attendees_count: 0,
  waitlist_count: 0,
  available_slots: 100,
  created_at: '2030-01-09T14:21:56.113Z',
  updated_at: '2030-01-09T14:21:56.113Z',
  organizer: 'alice',
  organizer_id: 1,
};

const REGISTRATION = {
  id: 17,
  event_id: 7,
  name: 'NEW USER',
  email: 'newuser@mail.com',
  status: 'waitlisted',
  position: 3,
  created_at: '2030-01-09T14:21:56.113Z',
  promoted_at: null,
  checked_in_at: null,
};

const problem = (status: number) => ({ type: 'about:blank', title: 'Some Title', status, detail: 'Something.' });

function response(overrides: Partial<ObservedResponse> & { json?: unknown }): ObservedResponse {
  const { json, ...rest } = overrides;
  return {
    method: 'GET',
    path: '/api/events/7/',
    status: 200,
    headers: JSON_TYPE,
    body: json === undefined ? '' : JSON.stringify(json),
    ...rest,
  };
}

describe('the OpenAPI contract check', () => {
  let t: TestApp;
  let contract: OpenApiContract;
  const check = (observed: ObservedResponse) => () => contract.check(observed);

  beforeAll(async () => {
    t = await startApp();
    contract = t.contract;
  });
  afterAll(() => t?.close());

  it('passes a response that matches its operation, with or without a trailing slash', () => {
    expect(check(response({ json: EVENT }))).not.toThrow();
    expect(check(response({ path: '/api/events/7', json: EVENT }))).not.toThrow();
  });

  it('fails a field of the wrong type, naming the field', () => {
    expect(check(response({ json: { ...EVENT, capacity: '100' } }))).toThrow(
      /GET \/api\/events\/7\/ → 200 \(documented as GET \/api\/v1\/events\/\{id\}\).*\n.*body\/capacity must be integer/,
    );
  });

  it('fails a field the document does not name', () => {
    expect(check(response({ json: { ...EVENT, secret: 'x' } }))).toThrow(
      /must NOT have additional properties \("secret"\)/,
    );
  });

  it('fails a missing required field', () => {
    const { organizer: _, ...withoutOrganizer } = EVENT;
    expect(check(response({ json: withoutOrganizer }))).toThrow(/must have required property 'organizer'/);
  });

  it('fails a value outside the documented enum', () => {
    expect(check(response({ json: { ...EVENT, status: 'archived' } }))).toThrow(/body\/status must be equal to one of/);
  });

  it('fails a time that is not a date-time', () => {
    expect(check(response({ json: { ...EVENT, created_at: 'yesterday' } }))).toThrow(
      /body\/created_at must match format/,
    );
  });

  it('reads OpenAPI 3.0 nullable: null passes where documented, and nowhere else', () => {
    const path = '/api/events/7/registrations/17/';
    expect(check(response({ path, json: REGISTRATION }))).not.toThrow();
    expect(check(response({ path, json: { ...REGISTRATION, position: null } }))).not.toThrow();
    expect(check(response({ path, json: { ...REGISTRATION, position: 'third' } }))).toThrow(/body\/position/);
    expect(check(response({ path, json: { ...REGISTRATION, name: null } }))).toThrow(/body\/name must be string/);
  });

  it('fails a status the operation does not document', () => {
    expect(check(response({ status: 418, json: EVENT }))).toThrow(
      /GET \/api\/events\/7\/ → 418 .*status 418 is not documented \(documented: 200, 400, 401, 404, 414, 429, 503\)/,
    );
  });

  it('fails an error answered as application/json instead of a problem', () => {
    expect(check(response({ status: 404, json: problem(404) }))).toThrow(
      /answered application\/json, which this status does not document \(documented: application\/problem\+json\)/,
    );
  });

  it('fails a problem without its detail', () => {
    const { detail: _, ...withoutDetail } = problem(404);
    expect(check(response({ status: 404, headers: PROBLEM_TYPE, json: withoutDetail }))).toThrow(
      /must have required property 'detail'/,
    );
  });

  it('fails a body that is not JSON at all', () => {
    expect(check(response({ body: '<html></html>' }))).toThrow(/the application\/json body is not JSON/);
  });

  it('fails a 401 without its WWW-Authenticate challenge, and passes it with one', () => {
    const unauthorized = { path: '/api/me/', status: 401, json: problem(401) };
    expect(check(response({ ...unauthorized, headers: PROBLEM_TYPE }))).toThrow(
      /the required www-authenticate header is missing/,
    );
    const challenged = { ...PROBLEM_TYPE, 'www-authenticate': 'Bearer realm="api"' };
    expect(check(response({ ...unauthorized, headers: challenged }))).not.toThrow();
  });

  it('fails a Retry-After that is not a number of seconds', () => {
    const headers = { ...PROBLEM_TYPE, 'retry-after': 'soon' };
    expect(check(response({ status: 503, headers, json: problem(503) }))).toThrow(
      /the retry-after header "soon" does not match its schema/,
    );
  });

  it('fails a pagination header on a response that does not document it', () => {
    const headers = { ...JSON_TYPE, 'x-total-count': '1' };
    expect(check(response({ headers, json: EVENT }))).toThrow(/sends the x-total-count header/);
    expect(check(response({ path: '/api/events/', headers, json: [EVENT] }))).not.toThrow();
  });

  it('fails a route the document does not describe unless it is a 404 problem', () => {
    const unknown = { method: 'GET', path: '/api/nowhere' };
    expect(check(response({ ...unknown, json: {} }))).toThrow(
      /GET \/api\/nowhere → 200: no operation in the OpenAPI document matches/,
    );
    expect(check(response({ ...unknown, status: 404, headers: PROBLEM_TYPE, json: problem(404) }))).not.toThrow();
    expect(check(response({ ...unknown, status: 404, json: { message: 'Cannot GET' } }))).toThrow(
      /answered application\/json, not application\/problem\+json/,
    );
    expect(check(response({ method: 'PUT', path: '/api/me/', json: {} }))).toThrow(/no operation .* matches PUT/);
  });

  it('lets the documentation pages through, but not their errors', () => {
    const html = { 'content-type': 'text/html; charset=utf-8' };
    expect(check(response({ path: '/api/docs', headers: html, body: '<html></html>' }))).not.toThrow();
    expect(check(response({ path: '/api/docs-json', json: {} }))).not.toThrow();
    expect(check(response({ path: '/api/docs/nope.js', status: 500, headers: html, body: 'x' }))).toThrow(
      /only a 404 problem/,
    );
  });

  it('accepts the CSV export by its content type', () => {
    const csv = { path: '/api/events/7/registrations/', body: 'id,name\n' };
    expect(check(response({ ...csv, headers: { 'content-type': 'text/csv; charset=utf-8' } }))).not.toThrow();
    expect(check(response({ ...csv, headers: { 'content-type': 'text/plain' } }))).toThrow(
      /answered text\/plain, which this status does not document \(documented: application\/json, text\/csv\)/,
    );
  });

  it('throws ContractViolation, so the message reaches the test that made the request', () => {
    expect(check(response({ status: 418 }))).toThrow(ContractViolation);
  });

  it('fails the request itself when the agent receives a response its document does not describe', async () => {
    const published = (await t.http.get('/api/docs-json')).body as OpenApiDocument;
    const withoutOk = structuredClone(published);
    delete withoutOk.paths['/api/v1/health'].get.responses['200'];
    const agent = checkEveryResponse(request(t.app.getHttpServer()), new OpenApiContract(withoutOk));
    await expect(agent.get('/api/health')).rejects.toThrow(/GET \/api\/health → 200 .*status 200 is not documented/);
    await expect(agent.post('/api/login/').send({})).resolves.toMatchObject({ status: 400 });
  });

  it('finds every example in the document valid against its own schema', () => {
    expect(contract.exampleViolations()).toEqual([]);
  });

  it('reports an example that its own schema refuses', async () => {
    const published = (await t.http.get('/api/docs-json')).body as OpenApiDocument;
    const misleading = structuredClone(published);
    (misleading.components!.schemas!.EventDto.properties as Record<string, { example: unknown }>).capacity.example =
      'many';
    expect(new OpenApiContract(misleading).exampleViolations()).toEqual([
      expect.stringMatching(
        /^#\/components\/schemas\/EventDto\/properties\/capacity: example "many": example must be integer/,
      ),
    ]);
  });
});

import {
  type ArgumentsHost,
  BadRequestException,
  ForbiddenException,
  HttpException,
  Logger,
  NotFoundException,
  ServiceUnavailableException,
} from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import { QueryFailedError } from 'typeorm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Problem, ProblemDetailsFilter } from './problem-details.filter.js';
import { databaseTimeLimitError } from '../../database/database-errors.js';
import { DuplicateValueException, InvalidInputException, UnauthenticatedException } from './problem.exceptions.js';

interface Captured {
  status: number;
  body: Problem;
  headers: Record<string, string>;
}

const FORBIDDEN_WORDS = /Fastify|Nest|stack|SQL|QueryFailedError|INSERT|ECONNREFUSED|ER_DUP_ENTRY|at .*\.ts/;

function fastifyError(code: string, message: string, statusCode: number): Error {
  return Object.assign(new Error(message), { code, statusCode, name: 'FastifyError' });
}

describe('ProblemDetailsFilter', () => {
  let filter: ProblemDetailsFilter;
  let captured: Captured;
  const response = { raw: 'the reply' };
  const host = {
    switchToHttp: () => ({ getResponse: () => response, getRequest: () => ({ url: '/api/x' }) }),
  } as unknown as ArgumentsHost;

  beforeEach(() => {
    captured = { status: 0, body: undefined as unknown as Problem, headers: {} };
    const httpAdapter = {
      setHeader: vi.fn((reply: unknown, name: string, value: string) => {
        expect(reply).toBe(response);
        captured.headers[name.toLowerCase()] = value;
      }),
      reply: vi.fn((reply: unknown, body: Problem, status: number) => {
        expect(reply).toBe(response);
        captured.body = body;
        captured.status = status;
      }),
    };
    filter = new ProblemDetailsFilter({ httpAdapter } as unknown as HttpAdapterHost);
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  function handle(exception: unknown): Captured {
    filter.catch(exception, host);
    expect(captured.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(captured.body).toMatchObject({
      type: expect.any(String),
      title: expect.any(String),
      status: captured.status,
      detail: expect.any(String),
    });
    expect(captured.body.detail.length).toBeGreaterThan(0);
    expect(JSON.stringify(captured.body)).not.toMatch(FORBIDDEN_WORDS);
    return captured;
  }

  it('answers every problem as application/problem+json', () => {
    handle(new NotFoundException());
    expect(captured.headers['content-type']).toBe('application/problem+json; charset=utf-8');
  });

  it('maps InvalidInputException to a 400 naming every bad field in errors', () => {
    const { status, body } = handle(
      new InvalidInputException({ title: ['title must not be blank'], capacity: ['capacity must be an integer'] }),
    );
    expect(status).toBe(400);
    expect(body).toEqual({
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      detail: 'Invalid input: title, capacity.',
      errors: { title: ['title must not be blank'], capacity: ['capacity must be an integer'] },
    });
  });

  it('maps DuplicateValueException to a 409 naming the field', () => {
    const { status, body } = handle(new DuplicateValueException({ email: 'A user with that email already exists.' }));
    expect(status).toBe(409);
    expect(body.errors).toEqual({ email: ['A user with that email already exists.'] });
    expect(body.detail).toBe('A user with that email already exists.');
  });

  it('maps UnauthenticatedException to a 401 with a Bearer challenge', () => {
    const { status, body, headers } = handle(
      new UnauthenticatedException('Authentication credentials were not provided.'),
    );
    expect(status).toBe(401);
    expect(body.detail).toBe('Authentication credentials were not provided.');
    expect(headers['www-authenticate']).toBe('Bearer realm="api"');
  });

  it('adds error="invalid_token" to the challenge for a token error', () => {
    const { headers } = handle(new UnauthenticatedException('The token is invalid or expired.', true));
    expect(headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"');
  });

  it("gives Nest's own 401 a Bearer challenge too", () => {
    const { status, headers } = handle(new HttpException('Unauthorized', 401));
    expect(status).toBe(401);
    expect(headers['www-authenticate']).toBe('Bearer realm="api"');
  });

  it("maps Fastify's body-too-large error to a 413 with our detail, never Fastify's message", () => {
    const cause = fastifyError('FST_ERR_CTP_BODY_TOO_LARGE', 'Request body is too large', 413);
    const { status, body } = handle(new HttpException(cause.message, 413, { cause }));
    expect(status).toBe(413);
    expect(body.detail).toBe('The request body is larger than the 100 KiB limit.');
    expect(JSON.stringify(body)).not.toContain('Request body is too large');
  });

  it.each([
    ['FST_ERR_CTP_INVALID_MEDIA_TYPE', 'Unsupported Media Type: text/plain', 415],
    ['FST_ERR_CTP_EMPTY_JSON_BODY', "Body cannot be empty when content-type is set to 'application/json'", 400],
    ['FST_ERR_CTP_INVALID_JSON_BODY', 'Body is not valid JSON but content-type is set to application/json', 400],
  ])("maps Fastify's %s to a %i in our words", (code, message, statusCode) => {
    const cause = fastifyError(code, message, statusCode);
    const { status, body } = handle(new HttpException(message, statusCode, { cause }));
    expect(status).toBe(statusCode);
    expect(body.detail).not.toContain(message);
  });

  it('keeps the sentence of a Nest exception thrown by our code', () => {
    const { status, body } = handle(new ForbiddenException('Only the organizer can change or delete this event.'));
    expect(status).toBe(403);
    expect(body.detail).toBe('Only the organizer can change or delete this event.');
  });

  it('gives a generic sentence to a Nest exception without a message', () => {
    const { status, body } = handle(new BadRequestException({ statusCode: 400 }));
    expect(status).toBe(400);
    expect(body.detail).toBe('The request is invalid.');
  });

  it('maps a unique violation (ER_DUP_ENTRY) from the database to a 409', () => {
    const driverError = Object.assign(
      new Error("Duplicate entry 'alice' for key 'users.uq_users_username_normalized'"),
      {
        code: 'ER_DUP_ENTRY',
        errno: 1062,
        sqlMessage: "Duplicate entry 'alice' for key 'users.uq_users_username_normalized'",
      },
    );
    const error = new QueryFailedError('INSERT INTO `users` (`username`) VALUES (?)', ['alice'], driverError);
    const { status, body } = handle(error);
    expect(status).toBe(409);
    expect(JSON.stringify(body)).not.toContain('alice');
  });

  it('maps an SQLite unique violation to a 409', () => {
    const driverError = Object.assign(new Error('UNIQUE constraint failed: users.email'), {
      code: 'SQLITE_CONSTRAINT_UNIQUE',
    });
    expect(handle(new QueryFailedError('INSERT INTO "users" ...', [], driverError)).status).toBe(409);
  });

  it('maps a refused database connection (ECONNREFUSED) to a 503 with Retry-After', () => {
    const error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3306'), {
      code: 'ECONNREFUSED',
      errno: -111,
    });
    const { status, headers, body } = handle(error);
    expect(status).toBe(503);
    expect(Number(headers['retry-after'])).toBeGreaterThan(0);
    expect(body.detail).not.toContain('127.0.0.1');
  });

  it.each([
    ['a connection reset mid-query', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', fatal: true })],
    [
      'a connection mysql2 has closed',
      Object.assign(new Error("Can't add new command when connection is in closed state"), { fatal: true }),
    ],
    ['any error that ended the connection', Object.assign(new Error('Unexpected packet'), { fatal: true })],
    ['a full queue for pooled connections', new Error('Queue limit reached.')],
    ['database work past its time limit', databaseTimeLimitError()],
  ])('maps %s to a 503 with Retry-After, without logging it', (_what, error) => {
    const { status, headers } = handle(new QueryFailedError('SELECT 1', [], error));
    expect(status).toBe(503);
    expect(Number(headers['retry-after'])).toBeGreaterThan(0);
    expect(Logger.prototype.error).not.toHaveBeenCalled();
  });

  it('maps a busy SQLite database to a 503 with Retry-After', () => {
    const driverError = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    const { status, headers } = handle(new QueryFailedError('INSERT INTO "users" ...', [], driverError));
    expect(status).toBe(503);
    expect(Number(headers['retry-after'])).toBeGreaterThan(0);
  });

  it("gives any 503 HttpException (such as the health check's) a Retry-After", () => {
    const { status, headers } = handle(new ServiceUnavailableException({ status: 'error', details: {} }));
    expect(status).toBe(503);
    expect(Number(headers['retry-after'])).toBeGreaterThan(0);
  });

  it('maps an unknown error to a plain 500, with neither its stack nor its message, and logs it', () => {
    const error = new Error('Cannot read properties of undefined (reading secretThing)');
    const { status, body } = handle(error);
    expect(status).toBe(500);
    expect(Object.keys(body).sort()).toEqual(['detail', 'status', 'title', 'type']);
    expect(JSON.stringify(body)).not.toContain('secretThing');
    expect(JSON.stringify(body)).not.toContain('Cannot read');
    expect(Logger.prototype.error).toHaveBeenCalled();
  });

  it('maps a thrown non-error value to a 500', () => {
    expect(handle('a string was thrown').status).toBe(500);
    expect(JSON.stringify(captured.body)).not.toContain('a string was thrown');
  });

  it('does not log the expected 503 of an unavailable database as an error', () => {
    handle(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    expect(Logger.prototype.error).not.toHaveBeenCalled();
  });
});

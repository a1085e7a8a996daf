import { STATUS_CODES } from 'node:http';
import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, getSchemaPath, type HeadersObject } from '@nestjs/swagger';
import { ProblemDto } from './problem.dto.js';

const WHEN: Record<number, string> = {
  400: 'Invalid input: every bad field is named in `errors`',
  401: 'No valid access token (or bad credentials); see `WWW-Authenticate`',
  403: 'Authenticated, but not allowed to do this',
  404: 'No such resource (other users’ drafts included)',
  409: 'Conflicts with the current state',
  413: 'Body over 100 KiB',
  414: 'A path parameter over 100 characters',
  415: 'Body not sent as application/json',
  429: 'Over a rate limit; see `Retry-After`',
  503: 'Database unavailable, or too many logins at once; see `Retry-After`',
};

const EXAMPLE_DETAIL: Record<number, string> = {
  400: 'Invalid input: capacity.',
  401: 'Authentication credentials were not provided.',
  403: 'You do not have permission to perform this action.',
  404: 'Not found.',
  409: 'The request conflicts with the current state of the resource.',
  413: 'The request body is larger than the 100 KiB limit.',
  414: 'The URL is too long: a path parameter is over 100 characters.',
  415: 'Requests with a body must be sent as application/json.',
  429: 'Too many requests from this address; retry in 42 s.',
  503: 'The database is unavailable; retry shortly.',
};

/** The headers the problem-details filter adds to these statuses. */
const HEADERS: Record<number, HeadersObject> = {
  401: {
    'WWW-Authenticate': {
      required: true,
      description: 'RFC 6750 Bearer challenge; `error="invalid_token"` when a token was sent and refused',
      schema: { type: 'string', example: 'Bearer realm="api", error="invalid_token"' },
    },
  },
  429: {
    'Retry-After': {
      required: true,
      description: 'Seconds until the rate limit lets this client in again',
      schema: { type: 'integer', minimum: 1, example: 42 },
    },
  },
  503: {
    'Retry-After': {
      required: true,
      description: 'Seconds to wait before trying again',
      schema: { type: 'integer', minimum: 1, example: 5 },
    },
  },
};

/**
 * Documents the problem-details responses a route can give. Every route can
 * also answer 429 (rate limits) and 503 (the database is down), so those are
 * always added.
 */
export function ApiProblems(...statuses: number[]): MethodDecorator & ClassDecorator {
  const all = [...new Set([...statuses, 429, 503])].sort();
  return applyDecorators(
    ApiExtraModels(ProblemDto),
    ...all.map((status) =>
      ApiResponse({
        status,
        description: WHEN[status] ?? STATUS_CODES[status],
        headers: HEADERS[status],
        content: {
          'application/problem+json': {
            schema: { $ref: getSchemaPath(ProblemDto) },
            example: {
              type: 'about:blank',
              title: STATUS_CODES[status],
              status,
              detail: EXAMPLE_DETAIL[status] ?? STATUS_CODES[status],
              ...(status === 400 && { errors: { capacity: ['capacity must be an integer number'] } }),
            },
          },
        },
      }),
    ),
  );
}

import type { HeaderObject, OpenAPIObject, OperationObject, ParameterObject, ResponseObject } from '@nestjs/swagger';
import { IDEMPOTENCY_KEY_HEADER, REPLAYED_HEADER } from './request-identity.js';

const WRITE_METHODS = ['post', 'put', 'patch', 'delete'] as const;
const PROBLEM = { $ref: '#/components/schemas/ProblemDto' };

const KEY_PARAMETER: ParameterObject = {
  name: IDEMPOTENCY_KEY_HEADER,
  in: 'header',
  required: false,
  description:
    'Makes a retry safe: the same key from the same caller (the user; for anonymous calls, the client address ' +
    'with the method and path) with the same body (equal as JSON) within 24 hours replays the first answer, ' +
    'with `Idempotent-Replayed: true`, and changes nothing. Use a new random value (a UUID) per operation.',
  schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[ -~]+$' },
  example: '6f1c2a9e-3b7d-4e2f-9a41-0c8d5e7b9f12',
};

const REPLAYED: HeaderObject = {
  description: 'Sent, as `true`, only on a replay of the first answer to this `Idempotency-Key`',
  schema: { type: 'string', enum: ['true'], example: 'true' },
};

const RETRY_AFTER: HeaderObject = {
  description: 'With a request of this `Idempotency-Key` still running: seconds to wait before retrying',
  schema: { type: 'integer', minimum: 1, example: 1 },
};

const IN_FLIGHT = 'request with this `Idempotency-Key` is still being processed; see `Retry-After`';
/** Answers given before the key is looked at, or never kept: they are never replayed. */
const NEVER_REPLAYED = ['400', '413', '414', '415', '429'];

function problem(status: number, title: string, detail: string, description: string): ResponseObject {
  return {
    description,
    content: {
      'application/problem+json': {
        schema: PROBLEM,
        example: { type: 'about:blank', title, status, detail },
      },
    },
  };
}

/**
 * Adds `Idempotency-Key` to every write operation of the OpenAPI document:
 * the header parameter, `Idempotent-Replayed` on every answer that can be
 * replayed (any but a 400, 413, 414, 415, 429 or 5xx), the 409 of a key
 * still in use and the 422 of a key used for another request. Done on the
 * whole document, as the interceptor applies to every route.
 */
export function documentIdempotency(document: OpenAPIObject): OpenAPIObject {
  document.info.description = [
    document.info.description,
    'Any POST, PUT, PATCH or DELETE may carry an `Idempotency-Key`, so that a retry never does it twice.',
  ]
    .filter(Boolean)
    .join(' ');
  for (const item of Object.values(document.paths)) {
    for (const method of WRITE_METHODS) {
      const operation = item[method] as OperationObject | undefined;
      if (operation) documentOperation(operation);
    }
  }
  return document;
}

function documentOperation(operation: OperationObject): void {
  operation.parameters = [...(operation.parameters ?? []), KEY_PARAMETER];
  const responses = operation.responses as Record<string, ResponseObject>;
  for (const [status, response] of Object.entries(responses)) {
    if (NEVER_REPLAYED.includes(status) || status.startsWith('5')) continue;
    response.headers = { ...response.headers, [REPLAYED_HEADER]: REPLAYED };
  }
  const conflict = responses['409'];
  responses['409'] = conflict
    ? { ...conflict, description: `${conflict.description}; or a ${IN_FLIGHT}` }
    : problem(
        409,
        'Conflict',
        'A request with this Idempotency-Key is still being processed; retry shortly.',
        `A ${IN_FLIGHT}`,
      );
  responses['409'].headers = { ...responses['409'].headers, 'Retry-After': RETRY_AFTER, [REPLAYED_HEADER]: REPLAYED };
  responses['400'] ??= problem(400, 'Bad Request', 'The request is invalid.', 'Invalid input');
  responses['400'].description += '; or an `Idempotency-Key` that is not 1–255 printable ASCII characters';
  responses['422'] = problem(
    422,
    'Unprocessable Entity',
    'This Idempotency-Key was already used for a different request (another method, path or body).',
    'The `Idempotency-Key` was already used, within 24 hours, for a different request (method, path or body)',
  );
}

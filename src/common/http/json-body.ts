import type { FastifyInstance } from 'fastify';
import { InvalidInputException } from '../problems/problem.exceptions.js';

/** No request of this API nests deeper than 2; 32 leaves room and stops hostile nesting. */
export const MAX_JSON_DEPTH = 32;

/** The depth of the deepest object or array in a parsed JSON value, stopping once past `limit`. */
export function jsonDepthExceeds(value: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth > limit) return true;
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
  return false;
}

/**
 * The only body parser: Fastify's JSON parser (which refuses `__proto__` and
 * `constructor.prototype` keys), followed by a cap on nesting depth.
 */
export function useJsonBodies(fastify: FastifyInstance): void {
  const parse = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    void parse(request, body as string, (error: Error | null, parsed?: unknown) => {
      if (error) return done(error, undefined);
      if (jsonDepthExceeds(parsed, MAX_JSON_DEPTH)) {
        return done(
          new InvalidInputException(
            { body: [`must not nest deeper than ${MAX_JSON_DEPTH} levels`] },
            `The request body nests deeper than ${MAX_JSON_DEPTH} levels.`,
          ),
          undefined,
        );
      }
      done(null, parsed);
    });
  });
}

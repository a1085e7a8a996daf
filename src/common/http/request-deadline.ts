import type { FastifyInstance, FastifyRequest } from 'fastify';
import { PROBLEM_CONTENT_TYPE, problemOf, RETRY_AFTER_SECONDS } from '../problems/problem-details.filter.js';

const deadlines = new WeakMap<FastifyRequest, { timer: NodeJS.Timeout; at: number }>();
const answeredAtDeadline = new WeakSet<FastifyRequest>();

/** The deadline's 503 answered this request: whatever its handler still does will not be sent. */
export function answeredByDeadline(request: FastifyRequest): boolean {
  return answeredAtDeadline.has(request);
}

/** Milliseconds left until the request's deadline (negative once past it). */
export function timeLeftOf(request: FastifyRequest): number {
  const deadline = deadlines.get(request);
  return deadline ? deadline.at - Date.now() : Infinity;
}

/**
 * A request not answered within `timeoutMs` gets a 503 (with Retry-After),
 * whatever holds it, in a guard as much as in a handler: a frozen database,
 * a lock never released, a wait for a pooled connection. The clock starts
 * once the body has been received (slow bodies have their own limit) and
 * stops when the answer starts, so a long CSV download is not cut.
 *
 * This is the last resort: database work has shorter limits of its own (see
 * TransactionRunner and connection-leases.ts), so a request that waits on
 * the database normally gets its 503 from them first, its transaction
 * rolled back.
 */
export function useRequestDeadline(fastify: FastifyInstance, timeoutMs: number): void {
  fastify.addHook('preHandler', (request, reply, done) => {
    const timer = setTimeout(() => {
      if (reply.raw.headersSent) return;
      answeredAtDeadline.add(request);
      void reply
        .code(503)
        .header('Retry-After', String(RETRY_AFTER_SECONDS))
        .type(PROBLEM_CONTENT_TYPE)
        .send(problemOf(503, 'The request took too long; retry shortly.'));
    }, timeoutMs);
    deadlines.set(request, { timer, at: Date.now() + timeoutMs });
    done();
  });
  fastify.addHook('onSend', (request, _reply, payload, done) => {
    clearTimeout(deadlines.get(request)?.timer);
    done(null, payload);
  });
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

/** The fields of an access line; `route` is the route template the router matched, or null. */
function accessLine(request: FastifyRequest, status: number | null, latencyMs: number | null) {
  return {
    reqId: request.id,
    req: { id: request.id, method: request.method },
    route: request.routeOptions.url ?? null,
    res: { status },
    latency_ms: latencyMs,
  };
}

/**
 * One access line per request, at `info` (`error` for a 5xx), written once the
 * answer is sent: method, route template, status, latency and the request id.
 * Only these fields: no header, body or query string, so no password or
 * token can reach a log. A Fastify hook, so it also sees the answers given
 * before Nest routing (404, 413, 415).
 */
export function useAccessLog(fastify: FastifyInstance, logger: Logger): void {
  fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done) => {
    const status = reply.statusCode;
    const latencyMs = Math.round(reply.elapsedTime);
    const line = accessLine(request, status, latencyMs);
    const msg = `${request.method} ${line.route ?? '(no route)'} ${status} ${latencyMs} ms`;
    if (status >= 500) logger.error(line, msg);
    else logger.info(line, msg);
    done();
  });
  // The client went away before the answer: no status, and no latency (the answer never went out).
  fastify.addHook('onRequestAbort', (request: FastifyRequest, done) => {
    const line = accessLine(request, null, null);
    logger.info(line, `${request.method} ${line.route ?? '(no route)'} aborted`);
    done();
  });
}

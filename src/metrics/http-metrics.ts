import { Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { FastifyInstance } from 'fastify';
import type { Histogram } from 'prom-client';
import { HTTP_REQUEST_DURATION } from './metric-names.js';

/** Requests that matched no route share one label value, so probing random paths cannot grow the series. */
const UNMATCHED_ROUTE = 'unmatched';

/** Counts and times every answered request by method, route template and status. */
@Injectable()
export class HttpMetrics {
  constructor(
    @InjectMetric(HTTP_REQUEST_DURATION) private readonly duration: Histogram<'method' | 'route' | 'status'>,
  ) {}

  /** A Fastify hook sees every answer, including those given before Nest routing (404, 413, 415). */
  observe(fastify: FastifyInstance): void {
    fastify.addHook('onResponse', (request, reply, done) => {
      this.duration.observe(
        {
          method: request.method,
          route: request.routeOptions.url ?? UNMATCHED_ROUTE,
          status: String(reply.statusCode),
        },
        reply.elapsedTime / 1000,
      );
      done();
    });
  }
}

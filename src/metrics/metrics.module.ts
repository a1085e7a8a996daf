import { Global, Module } from '@nestjs/common';
import { makeCounterProvider, makeHistogramProvider, PrometheusModule } from '@willsoto/nestjs-prometheus';
import { DatabasePoolMetrics } from './database-pool.metrics.js';
import { HttpMetrics } from './http-metrics.js';
import { MetricsController } from './metrics.controller.js';
import {
  EVENT_REGISTRATIONS,
  HTTP_REQUEST_DURATION,
  REGISTRATION_OUTCOMES,
  WAITLIST_PROMOTIONS,
} from './metric-names.js';
import { RegistrationMetrics } from './registration-metrics.js';

/** Prometheus metrics at /api/metrics, with prom-client's process and Node.js defaults. */
@Global()
@Module({
  imports: [
    PrometheusModule.register({
      path: 'metrics',
      controller: MetricsController,
      defaultMetrics: { enabled: true },
    }),
  ],
  providers: [
    makeHistogramProvider({
      name: HTTP_REQUEST_DURATION,
      help: `Answered requests by method, route template and status (\`_count\` counts them).`,
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
    makeCounterProvider({
      name: EVENT_REGISTRATIONS,
      help: `Registration attempts by outcome: ${REGISTRATION_OUTCOMES.join(', ')}.`,
      labelNames: ['outcome'],
    }),
    makeCounterProvider({
      name: WAITLIST_PROMOTIONS,
      help: 'Waitlisted registrations moved into a seat (after a cancellation or a capacity raise).',
    }),
    HttpMetrics,
    RegistrationMetrics,
    DatabasePoolMetrics,
  ],
  exports: [HttpMetrics, RegistrationMetrics],
})
export class MetricsModule {}

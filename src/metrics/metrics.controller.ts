import { timingSafeEqual } from 'node:crypto';
import { Controller, Get, Headers, Inject, NotFoundException, Res, ServiceUnavailableException } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { ApiOkResponse, ApiProduces, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../common/decorators/public.decorator.js';
import { ApiProblems } from '../common/problems/api-problems.decorator.js';
import { UnauthenticatedException } from '../common/problems/problem.exceptions.js';
import { operationsConfig } from '../config/operations.config.js';
import { METRICS_CONTENT_TYPE, scrapeMetrics } from './cluster-metrics.js';

function sameSecret(sent: string, expected: string): boolean {
  const a = Buffer.from(sent);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Prometheus scrapes this; its path is set by PrometheusModule (`/api/metrics`). */
@ApiTags('Operations')
@Controller()
export class MetricsController {
  constructor(@Inject(operationsConfig.KEY) private readonly config: ConfigType<typeof operationsConfig>) {}

  /**
   * Prometheus metrics: requests by route and status, registrations by
   * outcome, waitlist promotions, database pool use, process figures. With
   * METRICS_TOKEN set, only `Authorization: Bearer <METRICS_TOKEN>` may read
   * them; with METRICS=off the route does not exist (404).
   */
  @Public({ ignoreToken: true })
  @Get()
  @ApiProduces('text/plain')
  @ApiSecurity('bearer')
  @ApiOkResponse({
    description: `The Prometheus text exposition format (\`${METRICS_CONTENT_TYPE}\`)`,
    content: {
      'text/plain': {
        schema: {
          type: 'string',
          example: 'event_registrations_total{outcome="confirmed"} 42\nwaitlist_promotions_total 3\n',
        },
      },
    },
  })
  @ApiProblems(401, 404)
  async scrape(
    @Headers('authorization') authorization: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    if (!this.config.metricsEnabled) throw new NotFoundException('Not found.');
    const token = this.config.metricsToken;
    if (token && !sameSecret(authorization ?? '', `Bearer ${token}`)) {
      throw new UnauthenticatedException('Metrics need the metrics token.');
    }
    let metrics: string;
    try {
      metrics = await scrapeMetrics();
    } catch {
      throw new ServiceUnavailableException('Metrics are unavailable; retry shortly.');
    }
    reply.header('Content-Type', METRICS_CONTENT_TYPE);
    return metrics;
  }
}

import { Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter } from 'prom-client';
import { EVENT_REGISTRATIONS, type RegistrationOutcome, WAITLIST_PROMOTIONS } from './metric-names.js';

/** What happened to registration attempts, counted once their transaction has committed (or been refused). */
@Injectable()
export class RegistrationMetrics {
  constructor(
    @InjectMetric(EVENT_REGISTRATIONS) private readonly registrations: Counter<'outcome'>,
    @InjectMetric(WAITLIST_PROMOTIONS) private readonly promotions: Counter,
  ) {}

  registered(outcome: RegistrationOutcome): void {
    this.registrations.inc({ outcome });
  }

  promoted(count: number): void {
    if (count > 0) this.promotions.inc(count);
  }
}

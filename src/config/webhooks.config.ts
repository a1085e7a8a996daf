import { registerAs } from '@nestjs/config';
import { IsIn, Matches } from 'class-validator';
import { parseDurationMs, parseDurationSeconds } from './duration.js';
import { validateEnv } from './validate-env.js';

class WebhooksEnvironment {
  @IsIn(['on', 'off'], { message: 'WEBHOOK_WORKER must be on or off' })
  WEBHOOK_WORKER: string = 'on';

  @IsIn(['true', 'false'], { message: 'WEBHOOK_ALLOW_PRIVATE must be true or false' })
  WEBHOOK_ALLOW_PRIVATE: string = 'false';

  @Matches(/^\s*[1-9]\d{0,8}(ms|[smh])?\s*$/, {
    message: 'WEBHOOK_POLL_INTERVAL must be a duration such as 1s or 250ms',
  })
  WEBHOOK_POLL_INTERVAL: string = '1s';

  @Matches(/^\s*[1-9]\d{0,7}\s*$/, {
    message: 'WEBHOOK_RETRY_BASE_MS must be a whole number of milliseconds from 1 to 99999999, such as 10000',
  })
  WEBHOOK_RETRY_BASE_MS: string = '10000';

  @Matches(/^\s*[1-9]\d{0,8}[smhd]?\s*$/, { message: 'WEBHOOK_RETRY_WINDOW must be a duration such as 24h' })
  WEBHOOK_RETRY_WINDOW: string = '24h';
}

/** Webhook delivery: who may be called, how often the outbox is polled, how failed deliveries are retried. */
export function readWebhooksConfig(env: NodeJS.ProcessEnv = process.env) {
  const values = validateEnv(WebhooksEnvironment, env);
  return {
    /** Whether this process sends the outbox (every process does by default; any may). */
    workerEnabled: values.WEBHOOK_WORKER === 'on',
    /** Lets endpoint URLs reach loopback, private, link-local and other non-public addresses. */
    allowPrivateAddresses: values.WEBHOOK_ALLOW_PRIVATE === 'true',
    /** How often each process looks for due deliveries when it found none the last time. */
    pollIntervalMs: parseDurationMs(values.WEBHOOK_POLL_INTERVAL)!,
    /** The wait before the first retry; each later one doubles it (up to an hour), with ±20 % jitter. */
    retryBaseMs: Number(values.WEBHOOK_RETRY_BASE_MS),
    /** A delivery still failing this long after it was created is given up (status `failed`). */
    retryWindowMs: parseDurationSeconds(values.WEBHOOK_RETRY_WINDOW)! * 1000,
  };
}

export const webhooksConfig = registerAs('webhooks', () => readWebhooksConfig());
export type WebhooksConfig = ReturnType<typeof readWebhooksConfig>;

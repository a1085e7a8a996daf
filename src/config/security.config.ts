import { registerAs } from '@nestjs/config';
import { IsIn, IsOptional, Matches } from 'class-validator';
import { parseDurationSeconds } from './duration.js';
import { validateEnv } from './validate-env.js';

const LIMIT = /^\s*[1-9]\d{0,6}\s*\/\s*[1-9]\d{0,8}[smhd]?\s*$/;
const limitMessage = (name: string) => `${name} must be <requests>/<duration>, such as 10/1m or 20/1h`;
/** A comma-separated list of IPv4/IPv6 addresses or CIDR ranges. */
const ADDRESSES = /^\s*[0-9a-fA-F.:]+(\/\d{1,3})?(\s*,\s*[0-9a-fA-F.:]+(\/\d{1,3})?)*\s*$/;

class SecurityEnvironment {
  @IsIn(['on', 'off'], { message: 'RATE_LIMIT must be on or off' })
  RATE_LIMIT: string = 'on';

  @Matches(LIMIT, { message: limitMessage('RATE_LIMIT_DEFAULT') })
  RATE_LIMIT_DEFAULT: string = '600/1m';

  @Matches(LIMIT, { message: limitMessage('RATE_LIMIT_LOGIN') })
  RATE_LIMIT_LOGIN: string = '10/1m';

  @Matches(LIMIT, { message: limitMessage('RATE_LIMIT_SIGNUP') })
  RATE_LIMIT_SIGNUP: string = '20/1h';

  @Matches(LIMIT, { message: limitMessage('RATE_LIMIT_EVENT_REGISTRATION') })
  RATE_LIMIT_EVENT_REGISTRATION: string = '60/1m';

  @Matches(LIMIT, { message: limitMessage('RATE_LIMIT_FAILED_LOGINS') })
  RATE_LIMIT_FAILED_LOGINS: string = '10/15m';

  @IsOptional()
  @Matches(/^rediss?:\/\/\S+$/, { message: 'REDIS_URL must be redis://host:port or rediss://host:port' })
  REDIS_URL?: string;

  @IsOptional()
  @Matches(ADDRESSES, { message: 'TRUSTED_PROXIES must be a comma-separated list of IP addresses or CIDR ranges' })
  TRUSTED_PROXIES?: string;

  @IsOptional()
  @Matches(/^\s*https?:\/\/[^\s,/]+(\s*,\s*https?:\/\/[^\s,/]+)*\s*$/, {
    message: 'CORS_ORIGINS must be a comma-separated list of origins such as https://app.example.com',
  })
  CORS_ORIGINS?: string;

  /** Under 5 s with room to spare: a request the database holds is answered 503 within 5 s. */
  @Matches(/^\s*[1-9]\d{0,8}[smhd]?\s*$/, { message: 'REQUEST_TIMEOUT must be a duration such as 4s' })
  REQUEST_TIMEOUT: string = '4s';
}

export interface Limit {
  limit: number;
  ttlMs: number;
}

function parseLimit(value: string): Limit {
  const [count, duration] = value.split('/').map((part) => part.trim());
  return { limit: Number(count), ttlMs: parseDurationSeconds(duration)! * 1000 };
}

const list = (value: string | undefined) =>
  value
    ?.split(',')
    .map((item) => item.trim())
    .filter(Boolean) ?? [];

/** Rate limits, trusted proxies, CORS and the request deadline; read before Nest starts as well (the HTTP adapter needs them). */
export function readSecurityConfig(env: NodeJS.ProcessEnv = process.env) {
  const values = validateEnv(SecurityEnvironment, env);
  return {
    rateLimit: values.RATE_LIMIT === 'on',
    limits: {
      default: parseLimit(values.RATE_LIMIT_DEFAULT),
      login: parseLimit(values.RATE_LIMIT_LOGIN),
      signup: parseLimit(values.RATE_LIMIT_SIGNUP),
      eventRegistration: parseLimit(values.RATE_LIMIT_EVENT_REGISTRATION),
    },
    failedLogins: parseLimit(values.RATE_LIMIT_FAILED_LOGINS),
    redisUrl: values.REDIS_URL,
    trustedProxies: list(values.TRUSTED_PROXIES),
    corsOrigins: list(values.CORS_ORIGINS),
    requestTimeoutMs: parseDurationSeconds(values.REQUEST_TIMEOUT)! * 1000,
  };
}

export const securityConfig = registerAs('security', () => readSecurityConfig());
export type SecurityConfig = ReturnType<typeof readSecurityConfig>;
export type RateLimitName = keyof SecurityConfig['limits'];

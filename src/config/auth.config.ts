import { createSecretKey, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { registerAs } from '@nestjs/config';
import { IsOptional, IsString, Matches } from 'class-validator';
import { dataDir } from './data-dir.js';
import { parseDurationSeconds } from './duration.js';
import { validateEnv } from './validate-env.js';

const DURATION = /^\s*[1-9]\d{0,8}[smhd]?\s*$/;
const MIN_SECRET_BYTES = 32;
const PLACEHOLDER_SECRET = /change|replace|example|placeholder|secret|your[-_ ]|xxxx/i;

class AuthEnvironment {
  @IsOptional()
  @IsString()
  JWT_SECRET?: string;

  @Matches(DURATION, { message: 'JWT_ACCESS_TTL must be a duration such as 300, 300s, 5m, 2h or 1d' })
  JWT_ACCESS_TTL: string = '5m';

  @Matches(DURATION, { message: 'JWT_REFRESH_TTL must be a duration such as 3600, 60m, 12h or 1d' })
  JWT_REFRESH_TTL: string = '1d';

  @Matches(/^\S{1,100}$/, { message: 'JWT_ISSUER must be 1 to 100 characters without spaces' })
  JWT_ISSUER: string = 'event-api';

  @Matches(/^\S{1,100}$/, { message: 'JWT_AUDIENCE must be 1 to 100 characters without spaces' })
  JWT_AUDIENCE: string = 'event-api';
}

function checkedSecret(secret: string, production: boolean): string {
  if (Buffer.byteLength(secret, 'utf8') < MIN_SECRET_BYTES) {
    throw new Error(`Invalid configuration: JWT_SECRET must be at least ${MIN_SECRET_BYTES} bytes`);
  }
  if (production && (PLACEHOLDER_SECRET.test(secret) || new Set(secret).size < 10)) {
    throw new Error('Invalid configuration: JWT_SECRET looks like a placeholder; use a random value');
  }
  return secret;
}

/** Development convenience: a random secret kept in the data folder, so restarts keep tokens valid. */
function developmentSecret(env: NodeJS.ProcessEnv): string {
  const folder = dataDir(env);
  const file = join(folder, 'jwt-secret');
  mkdirSync(folder, { recursive: true });
  try {
    writeFileSync(file, randomBytes(48).toString('base64url'), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another process (a sibling worker) created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return readFileSync(file, 'utf8').trim();
}

export function readAuthConfig(env: NodeJS.ProcessEnv = process.env) {
  const values = validateEnv(AuthEnvironment, env);
  const production = env.NODE_ENV === 'production';
  if (!values.JWT_SECRET && production) {
    throw new Error('Invalid configuration: JWT_SECRET is required when NODE_ENV=production');
  }
  const secret = checkedSecret(values.JWT_SECRET || developmentSecret(env), production);
  return {
    secret,
    /**
     * The secret as a KeyObject: given a string, jsonwebtoken first tries to
     * parse it as a public key on every call, which took a third of the CPU
     * of an authenticated request.
     */
    key: createSecretKey(Buffer.from(secret, 'utf8')),
    algorithm: 'HS256' as const,
    issuer: values.JWT_ISSUER,
    audience: values.JWT_AUDIENCE,
    accessTtlSeconds: parseDurationSeconds(values.JWT_ACCESS_TTL)!,
    refreshTtlSeconds: parseDurationSeconds(values.JWT_REFRESH_TTL)!,
  };
}

export const authConfig = registerAs('auth', () => readAuthConfig());
export type AuthConfig = ReturnType<typeof readAuthConfig>;

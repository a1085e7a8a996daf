import { registerAs } from '@nestjs/config';
import { IsIn, IsOptional, Matches, MinLength } from 'class-validator';
import { parseDurationSeconds } from './duration.js';
import { validateEnv } from './validate-env.js';

class OperationsEnvironment {
  @IsIn(['on', 'off'], { message: 'METRICS must be on or off' })
  METRICS: string = 'on';

  @IsOptional()
  @MinLength(16, { message: 'METRICS_TOKEN must be at least 16 characters long' })
  METRICS_TOKEN?: string;

  @Matches(/^\s*[1-9]\d{0,5}[smh]?\s*$/, { message: 'SHUTDOWN_TIMEOUT must be a duration such as 10s' })
  SHUTDOWN_TIMEOUT: string = '10s';
}

export function readOperationsConfig(env: NodeJS.ProcessEnv = process.env) {
  const values = validateEnv(OperationsEnvironment, env);
  return {
    metricsEnabled: values.METRICS === 'on',
    /** When set, /api/metrics answers only `Authorization: Bearer <METRICS_TOKEN>`. */
    metricsToken: values.METRICS_TOKEN,
    shutdownTimeoutMs: parseDurationSeconds(values.SHUTDOWN_TIMEOUT)! * 1000,
  };
}

export const operationsConfig = registerAs('operations', () => readOperationsConfig());

import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';

/**
 * Validates the environment variables one config namespace reads, failing the
 * start-up with every bad variable named, e.g. "PORT must be an integer".
 */
export function validateEnv<T extends object>(schema: new () => T, env: NodeJS.ProcessEnv = process.env): T {
  const values = plainToInstance(schema, { ...env }, { exposeDefaultValues: true });
  const errors = validateSync(values, { skipMissingProperties: false, forbidUnknownValues: false });
  if (errors.length > 0) {
    const problems = errors.flatMap((error) => Object.values(error.constraints ?? {}));
    throw new Error(`Invalid configuration: ${problems.join('; ')}`);
  }
  return values;
}

import { join } from 'node:path';
import { registerAs } from '@nestjs/config';
import { IsIn, IsOptional, Matches } from 'class-validator';
import { dataDir } from './data-dir.js';
import { parseDurationSeconds } from './duration.js';
import { validateEnv } from './validate-env.js';

class DatabaseEnvironment {
  @IsOptional()
  @Matches(/^(mysql|mariadb):\/\/[^/]+\/[A-Za-z0-9_$-]+(\?.*)?$|^sqlite:.+$/, {
    message: 'DATABASE_URL must be mysql://user:pass@host:port/database, sqlite:<file path> or sqlite::memory:',
  })
  DATABASE_URL?: string;

  @IsIn(['true', 'false'], { message: 'DATABASE_MIGRATE must be true or false' })
  DATABASE_MIGRATE: string = 'true';

  @Matches(/^\s*[1-9]\d{0,8}[smhd]?\s*$/, { message: 'DATABASE_START_TIMEOUT must be a duration such as 30s or 2m' })
  DATABASE_START_TIMEOUT: string = '30s';
}

export type DatabaseConfig =
  | {
      type: 'mysql' | 'mariadb';
      url: string;
      migrate: boolean;
      /** How long the app keeps trying to reach the server at start before it gives up. */
      startTimeoutMs: number;
    }
  | { type: 'sqlite'; file: string; migrate: boolean };

/** Parses the database settings; shared by the app and the TypeORM CLI's `ormconfig.ts`. */
export function readDatabaseConfig(env: NodeJS.ProcessEnv = process.env): DatabaseConfig {
  const values = validateEnv(DatabaseEnvironment, env);
  const migrate = values.DATABASE_MIGRATE === 'true';
  const url = values.DATABASE_URL;
  if (url === undefined) return { type: 'sqlite', file: join(dataDir(env), 'events.sqlite'), migrate };
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    return { type: 'sqlite', file: file === ':memory:' ? ':memory:' : file, migrate };
  }
  // Both speak the MySQL protocol through mysql2; TypeORM reads MariaDB's catalogue a little differently.
  const type = url.startsWith('mariadb:') ? 'mariadb' : 'mysql';
  const startTimeoutMs = parseDurationSeconds(values.DATABASE_START_TIMEOUT)! * 1000;
  return { type, url: url.replace(/^mariadb:/, 'mysql:'), migrate, startTimeoutMs };
}

export const databaseConfig = registerAs('database', () => readDatabaseConfig());

import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import { configureApp, createFastifyAdapter, NEST_APP_OPTIONS, nestLogLevels } from './app.setup.js';
import { readAppConfig } from './config/app.config.js';
import { readDatabaseConfig } from './config/database.config.js';
import { waitForDatabase } from './database/wait-for-database.js';

/**
 * Boots the API and listens; in cluster mode every worker runs this and they
 * share the port. On MySQL it first waits for the server (up to
 * DATABASE_START_TIMEOUT): the port opens only once the database answers.
 */
export async function serve(): Promise<void> {
  const { port, host, logLevel } = readAppConfig();
  const database = readDatabaseConfig();
  if (database.type !== 'sqlite') {
    await waitForDatabase(database, (line) => {
      if (nestLogLevels(logLevel).includes('warn')) console.warn(line);
    });
  }
  const app = await NestFactory.create<NestFastifyApplication>(AppModule, createFastifyAdapter(), {
    ...NEST_APP_OPTIONS,
    logger: nestLogLevels(logLevel),
  });
  await configureApp(app);
  await app.listen(port, host);
  if (logLevel !== 'silent') {
    console.log(`Event API (pid ${process.pid}) listening on http://${host}:${port}/api (docs at /api/docs)`);
  }
}

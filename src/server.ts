import 'reflect-metadata';
import { setTimeout as sleep } from 'node:timers/promises';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { pino, stdTimeFunctions } from 'pino';
import { AppModule } from './app.module.js';
import { PinoLoggerService } from './common/logging/pino-logger.service.js';
import { configureApp, createFastifyAdapter, NEST_APP_OPTIONS } from './app.setup.js';
import { readAppConfig } from './config/app.config.js';
import { readDatabaseConfig } from './config/database.config.js';
import { readOperationsConfig } from './config/operations.config.js';
import { waitForDatabase } from './database/wait-for-database.js';

/**
 * Boots the API and listens; in cluster mode every worker runs this and they
 * share the port. On MySQL it first waits for the server (up to
 * DATABASE_START_TIMEOUT): the port opens only once the database answers.
 */
export async function serve(): Promise<void> {
  const { port, host, logLevel } = readAppConfig();
  const { shutdownTimeoutMs } = readOperationsConfig();
  const database = readDatabaseConfig();
  if (database.type !== 'sqlite') {
    // Before Nest (and its logger) exist: the same JSON lines, from a plain pino logger.
    const startLogger = pino({ level: logLevel, timestamp: stdTimeFunctions.isoTime });
    await waitForDatabase(database, (line) => startLogger.warn(line));
  }
  const app = await NestFactory.create<NestFastifyApplication>(AppModule, createFastifyAdapter(), {
    ...NEST_APP_OPTIONS,
    bufferLogs: true,
  });
  const logger = app.get(PinoLoggerService);
  app.useLogger(logger);
  await configureApp(app);
  const shutdown = stopOnSignals(app, logger, shutdownTimeoutMs);
  // While draining, every answer closes its connection, so kept-alive clients reconnect elsewhere.
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onSend', (_request, reply, payload, done) => {
      if (shutdown.draining) reply.header('Connection', 'close');
      done(null, payload);
    });
  await app.listen(port, host);
  logger.log(`Listening on http://${host}:${port}/api (docs at /api/docs)`, 'Bootstrap');
}

/** Requests already sent when the signal comes are read and served before the listener closes. */
const DRAIN_GRACE_MS = 1_000;

/**
 * SIGTERM or SIGINT: keep serving for a short grace (answers now close their
 * connections), then stop accepting connections, let the requests in flight
 * finish, close the database pool and exit 0. Requests still running at the
 * deadline are cut off and the exit code is 1.
 */
function stopOnSignals(
  app: NestFastifyApplication,
  logger: PinoLoggerService,
  deadlineMs: number,
): { draining: boolean } {
  const state = { draining: false };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (state.draining) return;
      state.draining = true;
      logger.log(`${signal}: finishing the requests in flight, for ${deadlineMs / 1000} s at most`, 'Shutdown');
      const deadline = setTimeout(() => {
        logger.error('Requests were still running at the shutdown deadline; exiting anyway', 'Shutdown');
        process.exit(1);
      }, deadlineMs);
      sleep(Math.min(DRAIN_GRACE_MS, deadlineMs / 2))
        .then(() => app.close())
        .then(
          () => {
            clearTimeout(deadline);
            logger.log('Stopped', 'Shutdown');
            process.exit(0);
          },
          (error: Error) => {
            logger.error(`Shutdown failed: ${error.message}`, 'Shutdown');
            process.exit(1);
          },
        );
    });
  }
  return state;
}

import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import { configureApp, createFastifyAdapter, NEST_APP_OPTIONS, nestLogLevels } from './app.setup.js';
import { appConfig } from './config/app.config.js';

async function bootstrap(): Promise<void> {
  const { port, host, logLevel } = appConfig();
  const app = await NestFactory.create<NestFastifyApplication>(AppModule, createFastifyAdapter(), {
    ...NEST_APP_OPTIONS,
    logger: nestLogLevels(logLevel),
  });
  await configureApp(app);
  await app.listen(port, host);
  console.log(`Event API listening on http://${host}:${port}/api (docs at /api/docs)`);
}

bootstrap().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});

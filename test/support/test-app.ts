import { randomBytes } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { inject } from 'vitest';
import { AppModule } from '../../src/app.module.js';
import { configureApp, createFastifyAdapter, NEST_APP_OPTIONS } from '../../src/app.setup.js';
import { checkEveryResponse, OpenApiContract, type OpenApiDocument } from './openapi-contract.js';

/** One secret per test process, so tokens from one suite's app work in another app of the same suite. */
export const TEST_JWT_SECRET = randomBytes(32).toString('hex');
/** The defaults of JWT_ISSUER and JWT_AUDIENCE, for tests that forge tokens. */
export const TEST_JWT_ISSUER = 'event-api';
export const TEST_JWT_AUDIENCE = 'event-api';

/** The apps of one test file publish the same document: its schemas are compiled once. */
const contracts = new Map<string, OpenApiContract>();

export interface TestApp {
  app: NestFastifyApplication;
  /** Every response it receives is checked against the app's OpenAPI document. */
  http: TestAgent;
  /** The app's OpenAPI document, as a response checker. */
  contract: OpenApiContract;
  close: () => Promise<void>;
}

/**
 * Boots the real application over HTTP on the run's database: MariaDB when
 * the run was started with DATABASE_URL, else a fresh in-memory SQLite.
 * `env` overrides environment variables for this app only. A response that
 * `/api/docs-json` does not describe fails the request that received it.
 */
export async function startApp(env: Record<string, string | undefined> = {}): Promise<TestApp> {
  const saved = { ...process.env };
  Object.assign(process.env, {
    NODE_ENV: 'test',
    JWT_SECRET: TEST_JWT_SECRET,
    DATABASE_URL: inject('databaseUrl'),
    LOG_LEVEL: 'silent',
    // The suites send hundreds of requests from one address; the rate-limit suite turns them on.
    RATE_LIMIT: 'off',
    // On MySQL every suite's app shares the run's database: only the webhook suite sends webhooks.
    WEBHOOK_WORKER: 'off',
  });
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  try {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const app = moduleRef.createNestApplication<NestFastifyApplication>(createFastifyAdapter(), {
      ...NEST_APP_OPTIONS,
      logger: false,
    });
    await configureApp(app);
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    const http = request(app.getHttpServer());
    const published = await http.get('/api/docs-json');
    if (published.status !== 200) throw new Error(`GET /api/docs-json answered ${published.status}: ${published.text}`);
    const contract = contracts.get(published.text) ?? new OpenApiContract(published.body as OpenApiDocument);
    contracts.set(published.text, contract);
    return { app, http: checkEveryResponse(http, contract), contract, close: () => app.close() };
  } finally {
    process.env = saved;
  }
}

export const isMysql = (): boolean => /^(mysql|mariadb):/.test(inject('databaseUrl'));

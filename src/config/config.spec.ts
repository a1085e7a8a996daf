import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appConfig } from './app.config.js';
import { readAuthConfig } from './auth.config.js';
import { readDatabaseConfig } from './database.config.js';
import { parseDurationMs, parseDurationSeconds } from './duration.js';
import { readOperationsConfig } from './operations.config.js';
import { readSecurityConfig } from './security.config.js';
import { readWebhooksConfig } from './webhooks.config.js';

/** 32 random-looking bytes: long enough, and nothing like a placeholder. */
const GOOD_SECRET = 'q8Vw3nZr5Kx1Lm7Tb9Hd2Jf4Pg6Sa0Ce';

describe('readDatabaseConfig', () => {
  it('defaults to an SQLite file under the data dir, migrated at boot', () => {
    const dir = join(tmpdir(), 'event-api-config-data');
    expect(readDatabaseConfig({ DATA_DIR: dir })).toEqual({
      type: 'sqlite',
      file: join(resolve(dir), 'events.sqlite'),
      migrate: true,
    });
  });

  it('defaults the data dir to ./data when DATA_DIR is unset', () => {
    expect(readDatabaseConfig({})).toEqual({ type: 'sqlite', file: resolve('data', 'events.sqlite'), migrate: true });
  });

  it('takes a mysql:// URL as MySQL', () => {
    expect(readDatabaseConfig({ DATABASE_URL: 'mysql://app:secret@db.local:3306/events' })).toEqual({
      type: 'mysql',
      url: 'mysql://app:secret@db.local:3306/events',
      migrate: true,
      startTimeoutMs: 30_000,
    });
  });

  it('takes a mariadb:// URL as MariaDB, connected through a mysql:// URL', () => {
    expect(readDatabaseConfig({ DATABASE_URL: 'mariadb://app:secret@db.local:3306/events' })).toEqual({
      type: 'mariadb',
      url: 'mysql://app:secret@db.local:3306/events',
      migrate: true,
      startTimeoutMs: 30_000,
    });
  });

  it('reads DATABASE_START_TIMEOUT as how long to wait for MySQL at start', () => {
    expect(
      readDatabaseConfig({ DATABASE_URL: 'mysql://app@db.local/events', DATABASE_START_TIMEOUT: '2m' }),
    ).toMatchObject({ startTimeoutMs: 120_000 });
  });

  it('takes sqlite::memory: as an in-memory SQLite', () => {
    expect(readDatabaseConfig({ DATABASE_URL: 'sqlite::memory:' })).toEqual({
      type: 'sqlite',
      file: ':memory:',
      migrate: true,
    });
  });

  it('takes sqlite:<path> as that SQLite file', () => {
    expect(readDatabaseConfig({ DATABASE_URL: 'sqlite:/var/lib/events/db.sqlite' })).toMatchObject({
      type: 'sqlite',
      file: '/var/lib/events/db.sqlite',
    });
  });

  it('turns migrations off with DATABASE_MIGRATE=false', () => {
    expect(readDatabaseConfig({ DATABASE_URL: 'sqlite::memory:', DATABASE_MIGRATE: 'false' }).migrate).toBe(false);
  });

  it.each([
    ['DATABASE_URL', 'postgres://x/y'],
    ['DATABASE_MIGRATE', 'yes'],
    ['DATABASE_START_TIMEOUT', '0'],
    ['DATABASE_START_TIMEOUT', 'soon'],
  ])('refuses %s=%s with a message naming the variable', (name, value) => {
    expect(() => readDatabaseConfig({ [name]: value })).toThrow(new RegExp(name));
  });
});

describe('readSecurityConfig', () => {
  it('answers a request 503 after 4 s by default, so a lost database is reported within 5 s', () => {
    expect(readSecurityConfig({}).requestTimeoutMs).toBe(4_000);
  });

  it('reads REQUEST_TIMEOUT, and refuses a value that is not a duration', () => {
    expect(readSecurityConfig({ REQUEST_TIMEOUT: '2s' }).requestTimeoutMs).toBe(2_000);
    expect(() => readSecurityConfig({ REQUEST_TIMEOUT: 'fast' })).toThrow(/REQUEST_TIMEOUT/);
  });
});

describe('parseDurationSeconds', () => {
  it.each([
    ['300', 300],
    ['300s', 300],
    ['5m', 300],
    ['2h', 7200],
    ['1d', 86400],
  ])('reads %s as %i seconds', (text, seconds) => {
    expect(parseDurationSeconds(text)).toBe(seconds);
  });

  it.each(['0', '5x', '-1', '', 'm'])('refuses %j', (text) => {
    expect(parseDurationSeconds(text)).toBeUndefined();
  });
});

describe('readAuthConfig', () => {
  let dataDir: string;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'event-api-auth-'));
  });
  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('defaults to HS256, 300 s access tokens and 86400 s refresh tokens', () => {
    const config = readAuthConfig({ NODE_ENV: 'test', JWT_SECRET: GOOD_SECRET });
    expect(config.key.type).toBe('secret');
    expect(config.key.export().toString('utf8')).toBe(GOOD_SECRET);
    expect(config).toEqual({
      secret: GOOD_SECRET,
      key: config.key,
      algorithm: 'HS256',
      issuer: 'event-api',
      audience: 'event-api',
      accessTtlSeconds: 300,
      refreshTtlSeconds: 86400,
    });
  });

  it.each([
    ['300', 300],
    ['300s', 300],
    ['5m', 300],
    ['2h', 7200],
    ['1d', 86400],
  ])('reads JWT_ACCESS_TTL=%s and JWT_REFRESH_TTL=%s as %i seconds', (text, seconds) => {
    const config = readAuthConfig({ JWT_SECRET: GOOD_SECRET, JWT_ACCESS_TTL: text, JWT_REFRESH_TTL: text });
    expect(config.accessTtlSeconds).toBe(seconds);
    expect(config.refreshTtlSeconds).toBe(seconds);
  });

  it.each([
    ['JWT_ACCESS_TTL', '0'],
    ['JWT_ACCESS_TTL', '5x'],
    ['JWT_REFRESH_TTL', '-1'],
  ])('refuses %s=%s with a message naming the variable', (name, value) => {
    expect(() => readAuthConfig({ JWT_SECRET: GOOD_SECRET, [name]: value })).toThrow(new RegExp(name));
  });

  it('refuses to run in production without JWT_SECRET', () => {
    expect(() => readAuthConfig({ NODE_ENV: 'production', DATA_DIR: dataDir })).toThrow(/JWT_SECRET/);
  });

  it('does not write a development secret when production lacks JWT_SECRET', () => {
    expect(() => readAuthConfig({ NODE_ENV: 'production', DATA_DIR: dataDir })).toThrow();
    expect(() => statSync(join(dataDir, 'jwt-secret'))).toThrow();
  });

  it.each(['development', 'test', 'production'])('refuses a secret under 32 bytes when NODE_ENV=%s', (nodeEnv) => {
    expect(() => readAuthConfig({ NODE_ENV: nodeEnv, JWT_SECRET: 'k'.repeat(31) })).toThrow(/JWT_SECRET.*32 bytes/);
  });

  it('counts the secret length in bytes, not characters', () => {
    // 16 two-byte characters: 32 bytes, accepted outside production.
    expect(readAuthConfig({ NODE_ENV: 'test', JWT_SECRET: 'é'.repeat(16) }).secret).toBe('é'.repeat(16));
  });

  it('refuses a placeholder-looking secret in production', () => {
    expect(() =>
      readAuthConfig({ NODE_ENV: 'production', JWT_SECRET: 'change-me-change-me-change-me-change-me' }),
    ).toThrow(/JWT_SECRET/);
  });

  it('accepts a random 32-byte secret in production', () => {
    expect(readAuthConfig({ NODE_ENV: 'production', JWT_SECRET: GOOD_SECRET }).secret).toBe(GOOD_SECRET);
  });

  it('creates a development secret in DATA_DIR, readable by the owner only', () => {
    const config = readAuthConfig({ NODE_ENV: 'development', DATA_DIR: dataDir });
    const file = join(dataDir, 'jwt-secret');
    expect(Buffer.byteLength(config.secret)).toBeGreaterThanOrEqual(32);
    expect(readFileSync(file, 'utf8').trim()).toBe(config.secret);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('keeps the development secret across restarts', () => {
    const first = readAuthConfig({ NODE_ENV: 'development', DATA_DIR: dataDir });
    const second = readAuthConfig({ NODE_ENV: 'development', DATA_DIR: dataDir });
    expect(second.secret).toBe(first.secret);
  });

  it('creates the data dir when it does not exist yet', () => {
    const nested = join(dataDir, 'not', 'yet');
    const config = readAuthConfig({ DATA_DIR: nested });
    expect(readFileSync(join(nested, 'jwt-secret'), 'utf8').trim()).toBe(config.secret);
  });
});

describe('appConfig', () => {
  let saved: NodeJS.ProcessEnv;

  beforeEach(() => {
    saved = process.env;
    process.env = { ...saved };
    for (const name of ['NODE_ENV', 'PORT', 'HOST', 'LOG_LEVEL']) delete process.env[name];
  });
  afterEach(() => {
    process.env = saved;
  });

  it('defaults to development on 0.0.0.0:3000 at log level info', () => {
    expect(appConfig()).toEqual({ nodeEnv: 'development', port: 3000, host: '0.0.0.0', logLevel: 'info' });
  });

  it('reads PORT, HOST, NODE_ENV and LOG_LEVEL', () => {
    Object.assign(process.env, { PORT: '8080', HOST: '127.0.0.1', NODE_ENV: 'production', LOG_LEVEL: 'warn' });
    expect(appConfig()).toEqual({ nodeEnv: 'production', port: 8080, host: '127.0.0.1', logLevel: 'warn' });
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['NODE_ENV', 'staging'],
    ['LOG_LEVEL', 'loud'],
  ])('refuses %s=%s with a message naming the variable', (name, value) => {
    process.env[name] = value;
    expect(() => appConfig()).toThrow(new RegExp(name));
  });

  it('names every bad variable at once', () => {
    Object.assign(process.env, { PORT: 'abc', LOG_LEVEL: 'loud' });
    expect(() => appConfig()).toThrow(/PORT.*LOG_LEVEL|LOG_LEVEL.*PORT/);
  });
});

describe('readOperationsConfig', () => {
  it('defaults to public metrics and a 10 s shutdown deadline', () => {
    expect(readOperationsConfig({})).toEqual({
      metricsEnabled: true,
      metricsToken: undefined,
      shutdownTimeoutMs: 10_000,
    });
  });

  it('reads METRICS, METRICS_TOKEN and SHUTDOWN_TIMEOUT', () => {
    expect(
      readOperationsConfig({ METRICS: 'off', METRICS_TOKEN: 'a-long-scrape-token', SHUTDOWN_TIMEOUT: '30s' }),
    ).toEqual({ metricsEnabled: false, metricsToken: 'a-long-scrape-token', shutdownTimeoutMs: 30_000 });
  });

  it.each([
    [{ METRICS: 'yes' }, 'METRICS must be on or off'],
    [{ METRICS_TOKEN: 'short' }, 'METRICS_TOKEN must be at least 16 characters long'],
    [{ SHUTDOWN_TIMEOUT: '0' }, 'SHUTDOWN_TIMEOUT must be a duration'],
    [{ SHUTDOWN_TIMEOUT: 'soon' }, 'SHUTDOWN_TIMEOUT must be a duration'],
  ])('refuses %j, naming the variable', (env, message) => {
    expect(() => readOperationsConfig(env)).toThrow(message);
  });
});

describe('readWebhooksConfig', () => {
  it('defaults to public addresses only, a 1 s poll, retries from 10 s for 24 h', () => {
    expect(readWebhooksConfig({})).toEqual({
      workerEnabled: true,
      allowPrivateAddresses: false,
      pollIntervalMs: 1_000,
      retryBaseMs: 10_000,
      retryWindowMs: 86_400_000,
    });
  });

  it('reads WEBHOOK_ALLOW_PRIVATE, WEBHOOK_POLL_INTERVAL (ms allowed), WEBHOOK_RETRY_BASE_MS, WEBHOOK_RETRY_WINDOW and WEBHOOK_WORKER', () => {
    expect(
      readWebhooksConfig({
        WEBHOOK_ALLOW_PRIVATE: 'true',
        WEBHOOK_POLL_INTERVAL: '50ms',
        WEBHOOK_RETRY_BASE_MS: '25',
        WEBHOOK_RETRY_WINDOW: '2h',
        WEBHOOK_WORKER: 'off',
      }),
    ).toEqual({
      workerEnabled: false,
      allowPrivateAddresses: true,
      pollIntervalMs: 50,
      retryBaseMs: 25,
      retryWindowMs: 7_200_000,
    });
  });

  it.each([
    [{ WEBHOOK_ALLOW_PRIVATE: 'yes' }, 'WEBHOOK_ALLOW_PRIVATE must be true or false'],
    [{ WEBHOOK_WORKER: 'yes' }, 'WEBHOOK_WORKER must be on or off'],
    [{ WEBHOOK_POLL_INTERVAL: '0' }, 'WEBHOOK_POLL_INTERVAL must be a duration'],
    [{ WEBHOOK_POLL_INTERVAL: 'often' }, 'WEBHOOK_POLL_INTERVAL must be a duration'],
    [{ WEBHOOK_RETRY_BASE_MS: '0' }, 'WEBHOOK_RETRY_BASE_MS must be a whole number'],
    [{ WEBHOOK_RETRY_BASE_MS: '1.5' }, 'WEBHOOK_RETRY_BASE_MS must be a whole number'],
    [{ WEBHOOK_RETRY_WINDOW: '1w' }, 'WEBHOOK_RETRY_WINDOW must be a duration'],
  ])('refuses %j, naming the variable', (env, message) => {
    expect(() => readWebhooksConfig(env)).toThrow(message);
  });
});

describe('parseDurationMs', () => {
  it.each([
    ['250ms', 250],
    ['2s', 2000],
    ['3', 3000],
    ['1m', 60_000],
  ])('reads %s as %i ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each(['0ms', '0', 'ms', '1.5s', ''])('refuses %j', (text) => {
    expect(parseDurationMs(text)).toBeUndefined();
  });
});

import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import type { TestProject } from 'vitest/node';
import { buildApp } from './app-processes.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The database every end-to-end suite of this run uses (`sqlite::memory:` gives each app its own). */
    databaseUrl: string;
  }
}

/**
 * Builds the app, then: with DATABASE_URL=mysql://…, the run gets a database of its own, created
 * fresh here and dropped at the end; without it, each app gets an in-memory SQLite.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | void> {
  // Once for the whole run: the suites that start real processes run dist/src/main.js.
  await buildApp();
  const url = process.env.DATABASE_URL;
  if (!url || !/^(mysql|mariadb):/.test(url)) {
    project.provide('databaseUrl', 'sqlite::memory:');
    return;
  }
  const server = new URL(url);
  const database = `event_api_test_${randomBytes(4).toString('hex')}`;
  const admin = await mysql.createConnection({
    host: server.hostname,
    port: Number(server.port || 3306),
    user: decodeURIComponent(server.username),
    password: decodeURIComponent(server.password),
    connectTimeout: 5_000,
  });
  await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  server.pathname = `/${database}`;
  project.provide('databaseUrl', server.toString());
  return async () => {
    await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await admin.end();
  };
}

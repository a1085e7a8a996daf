import { setImmediate as macrotask } from 'node:timers/promises';
import { DataSource, type EntityManager } from 'typeorm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dataSourceOptions } from './data-source-options.js';
import { runMigrations } from './migrate.js';
import { TransactionRunner } from './transaction.runner.js';

const WORKERS = 50;

async function openDatabase(): Promise<DataSource> {
  const dataSource = new DataSource(dataSourceOptions({ type: 'sqlite', file: ':memory:', migrate: true }));
  await dataSource.initialize();
  await runMigrations(dataSource);
  await dataSource.query('CREATE TABLE test_counters (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)');
  await dataSource.query('INSERT INTO test_counters (id, value) VALUES (1, 0)');
  return dataSource;
}

async function readCounter(manager: EntityManager): Promise<number> {
  const [row] = await manager.query('SELECT value FROM test_counters WHERE id = 1');
  return Number(row.value);
}

/** Read-modify-write with a pause in the middle, where another request's statements would slip in. */
async function increment(manager: EntityManager): Promise<void> {
  const value = await readCounter(manager);
  await macrotask();
  await manager.query('UPDATE test_counters SET value = ? WHERE id = 1', [value + 1]);
}

class Boom extends Error {}

describe('TransactionRunner on SQLite', () => {
  let dataSource: DataSource;
  let runner: TransactionRunner;

  beforeEach(async () => {
    dataSource = await openDatabase();
    runner = new TransactionRunner(dataSource);
  });
  afterEach(async () => {
    if (dataSource.isInitialized) await dataSource.destroy();
  });

  it(`loses no update among ${WORKERS} concurrent read-modify-write transactions`, async () => {
    await Promise.all(Array.from({ length: WORKERS }, () => runner.run(increment)));
    expect(await readCounter(dataSource.manager)).toBe(WORKERS);
  });

  it('rolls back a transaction that throws midway without undoing the concurrent ones', async () => {
    const failing = runner.run(async (manager) => {
      await increment(manager);
      await macrotask();
      throw new Boom('midway');
    });
    const results = await Promise.allSettled([
      ...Array.from({ length: 10 }, () => runner.run(increment)),
      failing,
      ...Array.from({ length: 10 }, () => runner.run(increment)),
    ]);
    expect(results.filter((result) => result.status === 'rejected')).toHaveLength(1);
    await expect(failing).rejects.toBeInstanceOf(Boom);
    expect(await readCounter(dataSource.manager)).toBe(20);
  });

  it('keeps running transactions after one has failed', async () => {
    await expect(runner.run(() => Promise.reject(new Boom('first')))).rejects.toBeInstanceOf(Boom);
    await runner.run(increment);
    expect(await readCounter(dataSource.manager)).toBe(1);
  });

  it("returns each transaction's own result", async () => {
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, index) =>
        runner.run(async (manager) => {
          await increment(manager);
          return index;
        }),
      ),
    );
    expect(results).toEqual([0, 1, 2, 3, 4]);
  });

  it(`loses updates or fails without the runner (plain concurrent dataSource.transaction calls)`, async () => {
    const results = await Promise.allSettled(Array.from({ length: WORKERS }, () => dataSource.transaction(increment)));
    const anyRejected = results.some((result) => result.status === 'rejected');
    let counter: number | undefined;
    try {
      counter = await readCounter(dataSource.manager);
    } catch {
      // The shared connection may be left unusable: that is a failure too.
    }
    expect(anyRejected || counter === undefined || counter < WORKERS).toBe(true);
  });
});

import { setImmediate as macrotask } from 'node:timers/promises';
import { DataSource, type EntityManager } from 'typeorm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
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

describe('TransactionRunner on MySQL', () => {
  /** A stand-in MySQL DataSource whose transactions fail with the given driver codes, then succeed. */
  function failingWith(...codes: string[]) {
    const failures = [...codes];
    const transaction = vi.fn(async (work: (manager: EntityManager) => Promise<string>) => {
      const code = failures.shift();
      if (code) throw Object.assign(new Error(code), { code });
      return work({} as EntityManager);
    });
    const dataSource = { options: { type: 'mysql' }, transaction } as unknown as DataSource;
    return { runner: new TransactionRunner(dataSource), transaction };
  }

  it('runs a deadlock victim and a lock-wait timeout again until it commits', async () => {
    const { runner, transaction } = failingWith('ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT');
    await expect(runner.run(async () => 'done')).resolves.toBe('done');
    expect(transaction).toHaveBeenCalledTimes(3);
  });

  it('gives up after three attempts and lets the lock conflict through', async () => {
    const { runner, transaction } = failingWith('ER_LOCK_DEADLOCK', 'ER_LOCK_DEADLOCK', 'ER_LOCK_DEADLOCK');
    await expect(runner.run(async () => 'done')).rejects.toMatchObject({ code: 'ER_LOCK_DEADLOCK' });
    expect(transaction).toHaveBeenCalledTimes(3);
  });

  it('does not retry other errors', async () => {
    const { runner, transaction } = failingWith('ER_DUP_ENTRY');
    await expect(runner.run(async () => 'done')).rejects.toMatchObject({ code: 'ER_DUP_ENTRY' });
    expect(transaction).toHaveBeenCalledTimes(1);
  });
});

import { setImmediate as macrotask, setTimeout as sleep } from 'node:timers/promises';
import { DataSource, type EntityManager } from 'typeorm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { dataSourceOptions } from './data-source-options.js';
import { runMigrations } from './migrate.js';
import { TransactionRunner } from './transaction.runner.js';

const WORKERS = 50;
/** REQUEST_TIMEOUT's default: a write gets 3.5 s. */
const DEADLINE = { requestTimeoutMs: 4_000 };

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
    runner = new TransactionRunner(dataSource, DEADLINE);
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

describe('TransactionRunner on SQLite, with REQUEST_TIMEOUT=1s (a write gets 0.5 s)', () => {
  function sqliteWith(transaction: (work: (manager: EntityManager) => Promise<unknown>) => Promise<unknown>) {
    const dataSource = { options: { type: 'better-sqlite3' }, transaction } as unknown as DataSource;
    return new TransactionRunner(dataSource, { requestTimeoutMs: 1_000 });
  }

  it("gives up waiting for another process's lock when the write's time is up", async () => {
    const busy = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    const transaction = vi.fn(async () => {
      throw busy;
    });
    const runner = sqliteWith(transaction);
    const started = Date.now();
    await expect(runner.run(async () => 'done')).rejects.toBe(busy);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(400);
    expect(elapsed).toBeLessThan(900);
    expect(transaction.mock.calls.length).toBeGreaterThan(5);
  });

  it('never starts a write whose turn comes after its time is spent', async () => {
    const runner = sqliteWith((work) => work({} as EntityManager));
    const slow = runner.run(() => sleep(600));
    const work = vi.fn(async () => 'done');
    const queued = runner.run(work);
    await slow;
    await expect(queued).rejects.toMatchObject({ code: 'DATABASE_TIME_LIMIT' });
    expect(work).not.toHaveBeenCalled();
  });
});

describe('TransactionRunner on MySQL', () => {
  /**
   * A stand-in MySQL DataSource: each attempt takes a connection of its own
   * (a moment later, as from a pool), and the first attempts fail to commit
   * with the given driver codes.
   */
  function failingWith(...codes: string[]) {
    const failures = [...codes];
    const queryRunners: {
      databaseConnection: { stream: { destroy: ReturnType<typeof vi.fn> } };
      rollbackTransaction: ReturnType<typeof vi.fn>;
      release: ReturnType<typeof vi.fn>;
    }[] = [];
    const createQueryRunner = vi.fn(() => {
      const queryRunner = {
        databaseConnection: { stream: { destroy: vi.fn() } },
        manager: {} as EntityManager,
        connect: vi.fn(() => Promise.resolve()),
        startTransaction: vi.fn(async () => undefined),
        commitTransaction: vi.fn(async () => {
          const code = failures.shift();
          if (code) throw Object.assign(new Error(code), { code });
        }),
        rollbackTransaction: vi.fn(async () => undefined),
        release: vi.fn(async () => undefined),
      };
      queryRunners.push(queryRunner);
      return queryRunner;
    });
    const dataSource = { options: { type: 'mysql' }, createQueryRunner } as unknown as DataSource;
    return { runner: new TransactionRunner(dataSource, DEADLINE), attempts: createQueryRunner, queryRunners };
  }

  it('runs a deadlock victim and a lock-wait timeout again until it commits', async () => {
    const { runner, attempts, queryRunners } = failingWith('ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT');
    await expect(runner.run(async () => 'done')).resolves.toBe('done');
    expect(attempts).toHaveBeenCalledTimes(3);
    expect(queryRunners.map((queryRunner) => queryRunner.rollbackTransaction.mock.calls.length)).toEqual([1, 1, 0]);
    expect(queryRunners.every((queryRunner) => queryRunner.release.mock.calls.length === 1)).toBe(true);
  });

  it('gives up after three attempts and lets the lock conflict through', async () => {
    const { runner, attempts } = failingWith('ER_LOCK_DEADLOCK', 'ER_LOCK_DEADLOCK', 'ER_LOCK_DEADLOCK');
    await expect(runner.run(async () => 'done')).rejects.toMatchObject({ code: 'ER_LOCK_DEADLOCK' });
    expect(attempts).toHaveBeenCalledTimes(3);
  });

  it('runs a single statement again after a lock conflict rolled it back, each time on a fresh connection', async () => {
    const { runner, attempts, queryRunners } = failingWith();
    const conflicts = ['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT'];
    const statement = vi.fn(async () => {
      const code = conflicts.shift();
      if (code) throw Object.assign(new Error(code), { code });
      return 'done';
    });
    await expect(runner.runStatement(statement)).resolves.toBe('done');
    expect(statement).toHaveBeenCalledTimes(3);
    expect(attempts).toHaveBeenCalledTimes(3);
    expect(queryRunners.every((queryRunner) => queryRunner.release.mock.calls.length === 1)).toBe(true);
  });

  it('does not retry other errors', async () => {
    const { runner, attempts } = failingWith('ER_DUP_ENTRY');
    await expect(runner.run(async () => 'done')).rejects.toMatchObject({ code: 'ER_DUP_ENTRY' });
    expect(attempts).toHaveBeenCalledTimes(1);
  });

  describe('with a 3.5 s write time', () => {
    beforeEach(() => {
      vi.useFakeTimers();
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    it('closes the connection of a write still running when its time is up, so the server rolls it back', async () => {
      const { runner, queryRunners } = failingWith();
      void runner.run(() => new Promise<string>(() => undefined));
      await vi.advanceTimersByTimeAsync(3_499);
      expect(queryRunners[0].databaseConnection.stream.destroy).not.toHaveBeenCalled();
      await vi.advanceTimersByTimeAsync(1);
      expect(queryRunners[0].databaseConnection.stream.destroy).toHaveBeenCalledWith(
        expect.objectContaining({ code: 'DATABASE_TIME_LIMIT' }),
      );
    });

    it('closes the connection of a single statement still running when its time is up', async () => {
      const { runner, queryRunners } = failingWith();
      void runner.runStatement(() => new Promise<string>(() => undefined));
      await vi.advanceTimersByTimeAsync(3_500);
      expect(queryRunners[0].databaseConnection.stream.destroy).toHaveBeenCalled();
    });

    it('leaves the connection of a write that finished in time alone', async () => {
      const { runner, queryRunners } = failingWith();
      await expect(runner.run(async () => 'done')).resolves.toBe('done');
      await vi.advanceTimersByTimeAsync(10_000);
      expect(queryRunners[0].databaseConnection.stream.destroy).not.toHaveBeenCalled();
    });

    it('does not start the work when the connection came after the time was spent', async () => {
      const { runner, queryRunners } = failingWith();
      const work = vi.fn(async () => 'done');
      vi.setSystemTime(Date.now());
      const late = runner.run(work);
      vi.setSystemTime(Date.now() + 3_600);
      await expect(late).rejects.toMatchObject({ code: 'DATABASE_TIME_LIMIT' });
      expect(work).not.toHaveBeenCalled();
      expect(queryRunners[0].release).toHaveBeenCalled();
    });

    it('does not retry a lock conflict once the time is spent', async () => {
      const { runner, attempts, queryRunners } = failingWith('ER_LOCK_WAIT_TIMEOUT');
      const attempt = runner.run(async () => {
        // The first attempt waits for a row lock until after the write's time.
        if (queryRunners.length === 1) await new Promise((resolve) => setTimeout(resolve, 3_600));
        return 'done';
      });
      const settled = expect(attempt).rejects.toMatchObject({ code: 'ER_LOCK_WAIT_TIMEOUT' });
      await vi.advanceTimersByTimeAsync(3_600);
      await settled;
      expect(attempts).toHaveBeenCalledTimes(1);
    });
  });
});

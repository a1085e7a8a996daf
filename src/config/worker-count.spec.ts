import { describe, expect, it } from 'vitest';
import { workerCount } from './worker-count.js';

describe('workerCount', () => {
  it('runs one process per CPU on MySQL unless WEB_CONCURRENCY says otherwise', () => {
    expect(workerCount({ DATABASE_URL: 'mysql://u@h/db' })).toBeGreaterThanOrEqual(1);
    expect(workerCount({ DATABASE_URL: 'mariadb://u@h/db', WEB_CONCURRENCY: '3' })).toBe(3);
  });

  it('runs one process on SQLite, and refuses more', () => {
    expect(workerCount({})).toBe(1);
    expect(workerCount({ DATABASE_URL: 'sqlite::memory:', WEB_CONCURRENCY: '1' })).toBe(1);
    expect(() => workerCount({ WEB_CONCURRENCY: '2' })).toThrow(/WEB_CONCURRENCY must be 1 with SQLite/);
  });

  it.each(['0', '65', '1.5', 'two', '-1'])('refuses WEB_CONCURRENCY=%s, naming the variable', (value) => {
    expect(() => workerCount({ DATABASE_URL: 'mysql://u@h/db', WEB_CONCURRENCY: value })).toThrow(
      /WEB_CONCURRENCY must be an integer between 1 and 64/,
    );
  });
});

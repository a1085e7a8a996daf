import { plainToInstance } from 'class-transformer';
import { DataSource } from 'typeorm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DuplicateValueException } from '../common/problems/problem.exceptions.js';
import { dataSourceOptions } from '../database/data-source-options.js';
import { runMigrations } from '../database/migrate.js';
import { TransactionRunner } from '../database/transaction.runner.js';
import { RegisterUserDto } from './dto/register-user.dto.js';
import type { PasswordHasher } from './password-hasher.js';
import { User } from './user.entity.js';
import { UsersService } from './users.service.js';

/** The DTO as the validation pipe hands it over: class-transformer has trimmed and lower-cased the email. */
function registration(overrides: Partial<RegisterUserDto> = {}): RegisterUserDto {
  return plainToInstance(RegisterUserDto, {
    username: 'Alice',
    email: 'Alice@Example.COM',
    password: 'correct horse battery',
    ...overrides,
  });
}

async function duplicate(promise: Promise<unknown>): Promise<DuplicateValueException> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(DuplicateValueException);
  const exception = error as DuplicateValueException;
  expect(exception.getStatus()).toBe(409);
  return exception;
}

describe('UsersService on SQLite', () => {
  let dataSource: DataSource;
  let users: UsersService;
  const hasher = { hash: vi.fn(async (password: string) => `hashed:${password}`) };

  beforeEach(async () => {
    dataSource = new DataSource(dataSourceOptions({ type: 'sqlite', file: ':memory:', migrate: true }));
    await dataSource.initialize();
    await runMigrations(dataSource);
    users = new UsersService(
      dataSource.getRepository(User),
      new TransactionRunner(dataSource, { requestTimeoutMs: 4_000 }),
      hasher as unknown as PasswordHasher,
    );
  });
  afterEach(async () => {
    await dataSource.destroy();
  });

  describe('register', () => {
    it('stores the username as typed, its lower-cased form, the lower-cased email and only a hash', async () => {
      const user = await users.register(registration());
      const rows = await dataSource.query(
        'SELECT id, username, username_normalized, email, password_hash FROM users WHERE id = ?',
        [user.id],
      );
      expect(rows).toEqual([
        {
          id: user.id,
          username: 'Alice',
          username_normalized: 'alice',
          email: 'alice@example.com',
          password_hash: 'hashed:correct horse battery',
        },
      ]);
    });

    it('returns the saved user with its id and join date', async () => {
      const user = await users.register(registration());
      expect(user).toMatchObject({ id: expect.any(Number), username: 'Alice', email: 'alice@example.com' });
      expect(user.dateJoined).toBeInstanceOf(Date);
    });

    it('refuses a username taken in another letter case, naming username only', async () => {
      await users.register(registration());
      const exception = await duplicate(
        users.register(registration({ username: 'ALICE', email: 'other@example.com' })),
      );
      expect(Object.keys(exception.errors)).toEqual(['username']);
    });

    it('refuses an email taken in another letter case, naming email only', async () => {
      await users.register(registration());
      const exception = await duplicate(users.register(registration({ username: 'bob', email: 'ALICE@example.com' })));
      expect(Object.keys(exception.errors)).toEqual(['email']);
    });

    it('names both username and email when both are taken', async () => {
      await users.register(registration());
      const exception = await duplicate(
        users.register(registration({ username: 'aLiCe', email: 'alice@EXAMPLE.com' })),
      );
      expect(Object.keys(exception.errors).sort()).toEqual(['email', 'username']);
    });

    it('names the username and the email taken by two different users', async () => {
      await users.register(registration({ username: 'alice', email: 'alice@example.com' }));
      await users.register(registration({ username: 'bob', email: 'bob@example.com' }));
      const exception = await duplicate(users.register(registration({ username: 'ALICE', email: 'BOB@example.com' })));
      expect(Object.keys(exception.errors).sort()).toEqual(['email', 'username']);
    });

    it('stores nothing when the registration is a duplicate', async () => {
      await users.register(registration());
      await duplicate(users.register(registration({ username: 'ALICE' })));
      expect(await dataSource.getRepository(User).count()).toBe(1);
    });

    it('lets the unique index decide between two simultaneous registrations of one username', async () => {
      const results = await Promise.allSettled([
        users.register(registration({ username: 'carol', email: 'carol1@example.com' })),
        users.register(registration({ username: 'CAROL', email: 'carol2@example.com' })),
      ]);
      const rejected = results.filter((result) => result.status === 'rejected');
      expect(rejected).toHaveLength(1);
      const exception = await duplicate(Promise.reject(rejected[0].reason));
      expect(Object.keys(exception.errors)).toEqual(['username']);
      expect(await dataSource.getRepository(User).count()).toBe(1);
    });

    it('lets the unique index decide between two simultaneous registrations of one email', async () => {
      const results = await Promise.allSettled([
        users.register(registration({ username: 'dave1', email: 'dave@example.com' })),
        users.register(registration({ username: 'dave2', email: 'DAVE@example.com' })),
      ]);
      const rejected = results.filter((result) => result.status === 'rejected');
      expect(rejected).toHaveLength(1);
      const exception = await duplicate(Promise.reject(rejected[0].reason));
      expect(Object.keys(exception.errors)).toEqual(['email']);
    });
  });

  describe('findByUsername', () => {
    it('finds a user in any letter case', async () => {
      const user = await users.register(registration());
      await expect(users.findByUsername('aLICE')).resolves.toMatchObject({ id: user.id });
    });
  });
});

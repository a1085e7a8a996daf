import { randomBytes } from 'node:crypto';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import argon2 from 'argon2';
import pLimit from 'p-limit';

/** OWASP's argon2id baseline: 19 MiB of memory, 2 passes, 1 lane. */
const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/**
 * Hashes run one at a time in each process. Each takes a core for ~30 ms and
 * 19 MiB: a login flood with four at once (libuv's pool) per process would take
 * every core from the requests that read, and 76 MiB per process. Waiting
 * logins queue instead.
 */
const HASHES_AT_ONCE = 1;

/**
 * Hashes and checks passwords with argon2id, off the event loop (argon2 runs
 * in libuv's thread pool).
 */
@Injectable()
export class PasswordHasher implements OnModuleInit {
  /** Checked against when a username is unknown, so that failure costs what a wrong password costs. */
  private dummyHash: string;
  private readonly slot = pLimit(HASHES_AT_ONCE);

  async onModuleInit(): Promise<void> {
    this.dummyHash = await this.hash(randomBytes(16).toString('hex'));
  }

  hash(password: string): Promise<string> {
    return this.slot(() => argon2.hash(password, ARGON2_OPTIONS));
  }

  /** Checks a password; with no stored hash it still does the work, and fails. */
  async verify(storedHash: string | undefined, password: string): Promise<boolean> {
    const matches = await this.slot(() => argon2.verify(storedHash ?? this.dummyHash, password)).catch(() => false);
    return matches && storedHash !== undefined;
  }

  /** True when a stored hash predates the current parameters and should be replaced at login. */
  needsRehash(storedHash: string): boolean {
    return argon2.needsRehash(storedHash, ARGON2_OPTIONS);
  }
}

import { randomBytes } from 'node:crypto';
import { HttpStatus, Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import argon2 from 'argon2';
import { RetryLaterException } from '../common/problems/problem.exceptions.js';
import { securityConfig, type SecurityConfig } from '../config/security.config.js';
import { hashingSlot, NoFreeSlotError } from './hashing-slots.js';

/** OWASP's argon2id baseline: 19 MiB of memory, 2 passes, 1 lane. */
const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/**
 * Hashes and checks passwords with argon2id, off the event loop (argon2 runs
 * in libuv's thread pool), in the instance's hashing slots (see
 * hashing-slots.ts): waiting logins queue, and a flood of them never takes
 * more than half the cores, nor more than one 19 MiB work area per slot.
 */
@Injectable()
export class PasswordHasher implements OnModuleInit {
  /** Checked against when a username is unknown, so that failure costs what a wrong password costs. */
  private dummyHash: string;
  private readonly slot = hashingSlot();
  /**
   * How long a request waits for a slot: until a second before its deadline
   * (3 s by default), leaving that second for the hash and the rest of the
   * request; half the deadline when it is under 2 s. Past it, a 503.
   */
  private readonly maxSlotWaitMs: number;

  constructor(@Inject(securityConfig.KEY) security: Pick<SecurityConfig, 'requestTimeoutMs'>) {
    this.maxSlotWaitMs = Math.max(security.requestTimeoutMs / 2, security.requestTimeoutMs - 1_000);
  }

  async onModuleInit(): Promise<void> {
    this.dummyHash = await this.slot(() => argon2.hash(randomBytes(16).toString('hex'), ARGON2_OPTIONS));
  }

  hash(password: string): Promise<string> {
    return this.inSlot(() => argon2.hash(password, ARGON2_OPTIONS));
  }

  /** Checks a password; with no stored hash it still does the work, and fails. */
  async verify(storedHash: string | undefined, password: string): Promise<boolean> {
    const matches = await this.inSlot(() => argon2.verify(storedHash ?? this.dummyHash, password).catch(() => false));
    return matches && storedHash !== undefined;
  }

  private async inSlot<T>(task: () => Promise<T>): Promise<T> {
    try {
      return await this.slot(task, this.maxSlotWaitMs);
    } catch (error) {
      if (error instanceof NoFreeSlotError) {
        throw new RetryLaterException(
          'Too many sign-ups and logins at once; retry shortly.',
          HttpStatus.SERVICE_UNAVAILABLE,
          1,
        );
      }
      throw error;
    }
  }

  /** True when a stored hash predates the current parameters and should be replaced at login. */
  needsRehash(storedHash: string): boolean {
    return argon2.needsRehash(storedHash, ARGON2_OPTIONS);
  }
}

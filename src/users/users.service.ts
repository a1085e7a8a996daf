import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { DuplicateValueException, UnauthenticatedException } from '../common/problems/problem.exceptions.js';
import { uniqueViolation } from '../database/database-errors.js';
import { TransactionRunner } from '../database/transaction.runner.js';
import type { RegisterUserDto } from './dto/register-user.dto.js';
import { foldCase, normalizeEmail } from '../common/validation/case-fold.js';
import { PasswordHasher } from './password-hasher.js';
import { User } from './user.entity.js';

const USERNAME_TAKEN = 'A user with that username already exists.';
const EMAIL_TAKEN = 'A user with that email already exists.';

@Injectable()
export class UsersService {
  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    private readonly transactions: TransactionRunner,
    private readonly hasher: PasswordHasher,
  ) {}

  async register(dto: RegisterUserDto): Promise<User> {
    const usernameNormalized = foldCase(dto.username);
    const email = normalizeEmail(dto.email);
    await this.assertAvailable(usernameNormalized, email);
    const passwordHash = await this.hasher.hash(dto.password);
    const user = this.users.create({
      username: dto.username,
      usernameNormalized,
      email,
      passwordHash,
      dateJoined: new Date(),
    });
    try {
      return await this.transactions.run((manager) => manager.save(user));
    } catch (error) {
      // Lost a race with a simultaneous registration: the unique index decides.
      const violation = uniqueViolation(error);
      if (!violation) throw error;
      throw new DuplicateValueException(
        violation.constraint?.includes('email') ? { email: EMAIL_TAKEN } : { username: USERNAME_TAKEN },
      );
    }
  }

  /** The caller's own account. A token whose user is gone is as good as revoked: 401. */
  async getAccount(id: number): Promise<User> {
    const user = await this.users.findOneBy({ id });
    if (!user) throw new UnauthenticatedException('The user of this token no longer exists.', true);
    return user;
  }

  findByUsername(username: string): Promise<User | null> {
    return this.users.findOneBy({ usernameNormalized: foldCase(username) });
  }

  async replacePasswordHash(userId: number, passwordHash: string): Promise<void> {
    await this.transactions.run((manager) => manager.update(User, { id: userId }, { passwordHash }));
  }

  private async assertAvailable(usernameNormalized: string, email: string): Promise<void> {
    const taken = await this.users.find({
      select: { usernameNormalized: true, email: true },
      where: [{ usernameNormalized }, { email }],
    });
    const conflicts: Record<string, string> = {};
    if (taken.some((user) => user.usernameNormalized === usernameNormalized)) conflicts.username = USERNAME_TAKEN;
    if (taken.some((user) => user.email === email)) conflicts.email = EMAIL_TAKEN;
    if (Object.keys(conflicts).length > 0) throw new DuplicateValueException(conflicts);
  }
}

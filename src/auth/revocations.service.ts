import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { InjectRepository } from '@nestjs/typeorm';
import { type EntityManager, LessThan, Repository } from 'typeorm';
import { select } from '../database/sql.js';
import { TransactionRunner } from '../database/transaction.runner.js';
import { LoginSession } from './login-session.entity.js';
import { RevokedToken } from './revoked-token.entity.js';

const PURGE_INTERVAL_MS = 60 * 60 * 1000;
/** Revocation checks answered by one lookup at most (two ids each). */
const MAX_CHECKS_PER_LOOKUP = 100;

interface PendingCheck {
  ids: [tokenId: string, sessionId: string];
  resolve: (revoked: boolean) => void;
  reject: (error: unknown) => void;
}

/**
 * The revoked-token table: consulted on every authenticated request, shared
 * by every instance through the database, so revocations hold across
 * restarts and instances.
 */
@Injectable()
export class RevocationsService {
  private readonly logger = new Logger(RevocationsService.name);
  private readonly pendingChecks: PendingCheck[] = [];

  constructor(
    @InjectRepository(RevokedToken) private readonly revoked: Repository<RevokedToken>,
    private readonly transactions: TransactionRunner,
  ) {}

  /**
   * Is this token, or the login session it belongs to, revoked? Always asks
   * the database (never a cache), but the checks of requests that arrive
   * together share one primary-key lookup: they are gathered until the event
   * loop's next turn and sent as one `WHERE id IN (...)`. Under load this
   * turns dozens of round trips into one; alone, a check waits one turn.
   */
  isRevoked(tokenId: string, sessionId: string): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.pendingChecks.push({ ids: [tokenId, sessionId], resolve, reject });
      if (this.pendingChecks.length === 1) setImmediate(() => void this.checkPending());
    });
  }

  private async checkPending(): Promise<void> {
    const checks = this.pendingChecks.splice(0, MAX_CHECKS_PER_LOOKUP);
    if (this.pendingChecks.length > 0) setImmediate(() => void this.checkPending());
    const ids = [...new Set(checks.flatMap((check) => check.ids))];
    try {
      const rows = await select<{ id: string }>(
        this.revoked.manager,
        `SELECT id FROM revoked_tokens WHERE id IN (${ids.map(() => '?').join(', ')})`,
        ids,
      );
      const revoked = new Set(rows.map((row) => row.id));
      for (const check of checks) check.resolve(check.ids.some((id) => revoked.has(id)));
    } catch (error) {
      for (const check of checks) check.reject(error);
    }
  }

  /**
   * Marks a refresh token used. The primary key makes this the atomic step of
   * rotation: of several concurrent uses, one insert wins and the others fail
   * with a unique violation.
   */
  async revokeToken(manager: EntityManager, tokenId: string, userId: number, expiresAt: Date): Promise<void> {
    await manager.insert(RevokedToken, { id: tokenId, kind: 'token', userId, revokedAt: new Date(), expiresAt });
  }

  /**
   * Revokes whole login sessions: every access and refresh token they issued.
   * `expiresAt` must be no earlier than the expiry of the last token they cover.
   */
  async revokeSessions(manager: EntityManager, userId: number, sessionIds: string[], expiresAt: Date): Promise<void> {
    if (sessionIds.length === 0) return;
    const revokedAt = new Date();
    const rows = [...new Set(sessionIds)].map((id) => ({ id, kind: 'session' as const, userId, revokedAt, expiresAt }));
    // An already revoked session stays revoked: ignore the duplicate.
    await manager.createQueryBuilder().insert().into(RevokedToken).values(rows).orIgnore().execute();
  }

  @Interval(PURGE_INTERVAL_MS)
  async purgeOnSchedule(): Promise<void> {
    await this.purgeExpired().catch((error: Error) =>
      this.logger.warn(`Purge of expired revocations failed: ${error.message}`),
    );
  }

  /** Drops revocations and sessions whose tokens have all expired anyway. */
  async purgeExpired(now = new Date()): Promise<{ revocations: number; sessions: number }> {
    const [revocations, sessions] = await this.transactions.run(async (manager) => [
      (await manager.delete(RevokedToken, { expiresAt: LessThan(now) })).affected ?? 0,
      (await manager.delete(LoginSession, { expiresAt: LessThan(now) })).affected ?? 0,
    ]);
    if (revocations + sessions > 0) {
      this.logger.log(`Purged ${revocations} expired revocations and ${sessions} expired sessions`);
    }
    return { revocations, sessions };
  }
}

import { Check, Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One `Idempotency-Key` of one caller: claimed while its first request runs
 * (`lockedUntil` set, no response), then holding that request's answer for
 * 24 hours. The unique (scope, key_hash) index is what lets exactly one of
 * several concurrent requests claim a key. The key itself is never stored,
 * only its hash, and the answer is sealed with a key derived from it (see
 * request-identity.ts): an answer may hold a cancel token or a refresh token.
 */
@Entity('idempotency_keys')
@Index('uq_idempotency_keys_scope_key', ['scope', 'keyHash'], { unique: true })
@Index('idx_idempotency_keys_expires', ['expiresAt'])
@Check('chk_idempotency_keys_response_status', 'response_status >= 100 AND response_status <= 599')
export class IdempotencyKey {
  @PrimaryGeneratedColumn()
  id: number;

  /** The caller: `user:<id>`, or `ip:<address>` for anonymous calls. */
  @Column({ type: 'varchar', length: 64 })
  scope: string;

  /** SHA-256 (hex) of the key, and for anonymous calls of the method and path too. */
  @Column({ type: 'varchar', length: 64 })
  keyHash: string;

  /** SHA-256 (hex) of the method, path and canonical JSON body of the first request. */
  @Column({ type: 'varchar', length: 64 })
  fingerprint: string;

  /** Random, per claim: only the request that claimed the key may store or release it. */
  @Column({ type: 'varchar', length: 32 })
  claimToken: string;

  @Column({ type: 'datetime', precision: 3 })
  createdAt: Date;

  /** 24 hours after `createdAt`: from then on the key is new again, and the purge deletes the row. */
  @Column({ type: 'datetime', precision: 3 })
  expiresAt: Date;

  /** While the first request runs: when its claim lapses, should its instance have died. */
  @Column({ type: 'datetime', precision: 3, nullable: true })
  lockedUntil: Date | null;

  @Column({ type: 'smallint', nullable: true })
  responseStatus: number | null;

  /** `{"headers": {...}, "body": "<sealed>"}`; JSON so that MySQL gives it room (MariaDB: LONGTEXT). */
  @Column({ type: 'json', nullable: true })
  response: unknown;
}

import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, type Relation } from 'typeorm';
import { User } from '../users/user.entity.js';

/**
 * A revocation: either one token (a rotated refresh token, by its `jti`) or a
 * whole login session (by its `sid`, which every token of the login carries).
 * A token is refused when its `jti` or its `sid` is here. Rows are purged once
 * every token they could match has expired anyway.
 */
export type RevocationKind = 'token' | 'session';

@Entity('revoked_tokens')
@Index('idx_revoked_tokens_expires', ['expiresAt'])
export class RevokedToken {
  /** A token's `jti` or a session's `sid` (both random UUIDs). */
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ type: 'varchar', length: 16 })
  kind: RevocationKind;

  @Column({ type: 'int' })
  userId: number;

  @ManyToOne(() => User, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'fk_revoked_tokens_user' })
  user: Relation<User>;

  @Column({ type: 'datetime', precision: 3 })
  revokedAt: Date;

  @Column({ type: 'datetime', precision: 3 })
  expiresAt: Date;
}

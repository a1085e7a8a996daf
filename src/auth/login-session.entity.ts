import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, type Relation } from 'typeorm';
import { User } from '../users/user.entity.js';

/**
 * One login: every access and refresh token it issues carries its id (`sid`).
 * Kept so that `logout/all` can revoke each live session of a user.
 */
@Entity('login_sessions')
@Index('idx_login_sessions_user_expires', ['userId', 'expiresAt'])
@Index('idx_login_sessions_expires', ['expiresAt'])
export class LoginSession {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ type: 'int' })
  userId: number;

  @ManyToOne(() => User, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'fk_login_sessions_user' })
  user: Relation<User>;

  @Column({ type: 'datetime', precision: 3 })
  createdAt: Date;

  /** When its latest refresh token expires; moves forward on every rotation. */
  @Column({ type: 'datetime', precision: 3 })
  expiresAt: Date;
}

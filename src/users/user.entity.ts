import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

@Entity('users')
export class User {
  @PrimaryGeneratedColumn()
  id: number;

  /** As the user typed it; shown back to clients. */
  @Column({ type: 'varchar', length: 150 })
  username: string;

  /** The case-folded username (up to 3× longer): uniqueness and login ignore letter case on every database. */
  @Index('uq_users_username_normalized', { unique: true })
  @Column({ type: 'varchar', length: 450 })
  usernameNormalized: string;

  /** Trimmed and case-folded before it is stored. */
  @Index('uq_users_email', { unique: true })
  @Column({ type: 'varchar', length: 254 })
  email: string;

  @Column({ type: 'varchar', length: 255 })
  passwordHash: string;

  @Column({ type: 'datetime', precision: 3 })
  dateJoined: Date;
}

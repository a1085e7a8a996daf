import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isMysqlFamily } from '../dialect.js';

/**
 * Registrations: one row per seat or waitlist place. The unique
 * (event_id, email) index makes a duplicate registration impossible, however
 * many arrive at once; the (event_id, status, id) index serves the waitlist
 * order, positions and promotion.
 */
export class Registrations1764288000000 implements MigrationInterface {
  name = 'Registrations1764288000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const statements = isMysqlFamily(queryRunner.connection) ? MYSQL_UP : SQLITE_UP;
    for (const statement of statements) await queryRunner.query(statement);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE registrations');
  }
}

const STATUS_CHECK = `CHECK (status IN ('confirmed', 'waitlisted'))`;

const INDEXES = [
  'CREATE UNIQUE INDEX uq_registrations_event_email ON registrations (event_id, email)',
  'CREATE INDEX idx_registrations_event_status ON registrations (event_id, status, id)',
  'CREATE INDEX idx_registrations_user ON registrations (user_id, id)',
];

const MYSQL_UP = [
  `CREATE TABLE registrations (
    id int NOT NULL AUTO_INCREMENT,
    event_id int NOT NULL,
    user_id int NULL,
    name varchar(200) NOT NULL,
    email varchar(254) COLLATE utf8mb4_bin NOT NULL,
    status varchar(16) NOT NULL,
    cancel_token_hash varchar(64) NOT NULL,
    created_at datetime(3) NOT NULL,
    promoted_at datetime(3) NULL,
    PRIMARY KEY (id),
    CONSTRAINT chk_registrations_status ${STATUS_CHECK},
    CONSTRAINT fk_registrations_event FOREIGN KEY (event_id) REFERENCES events (id) ON DELETE CASCADE ON UPDATE NO ACTION,
    CONSTRAINT fk_registrations_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL ON UPDATE NO ACTION
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
  ...INDEXES,
];

const SQLITE_UP = [
  `CREATE TABLE "registrations" (
    "id" integer PRIMARY KEY AUTOINCREMENT NOT NULL,
    "event_id" integer NOT NULL,
    "user_id" integer,
    "name" varchar(200) NOT NULL,
    "email" varchar(254) NOT NULL,
    "status" varchar(16) NOT NULL,
    "cancel_token_hash" varchar(64) NOT NULL,
    "created_at" datetime(3) NOT NULL,
    "promoted_at" datetime(3),
    CONSTRAINT "chk_registrations_status" ${STATUS_CHECK},
    CONSTRAINT "fk_registrations_event" FOREIGN KEY ("event_id") REFERENCES "events" ("id") ON DELETE CASCADE ON UPDATE NO ACTION,
    CONSTRAINT "fk_registrations_user" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE SET NULL ON UPDATE NO ACTION
  )`,
  ...INDEXES,
];

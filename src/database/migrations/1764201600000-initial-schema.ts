import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isMysqlFamily } from '../dialect.js';

/**
 * Users, events (with the registration counters) and the token revocation
 * tables. One migration, two dialects: the columns, keys and checks are the
 * same on MySQL/MariaDB and SQLite. On MySQL, normalised keys compare as bytes
 * (utf8mb4_bin), as SQLite compares them, so uniqueness is the same on both.
 */
export class InitialSchema1764201600000 implements MigrationInterface {
  name = 'InitialSchema1764201600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const statements = isMysqlFamily(queryRunner.connection) ? MYSQL_UP : SQLITE_UP;
    for (const statement of statements) await queryRunner.query(statement);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['revoked_tokens', 'login_sessions', 'events', 'users']) {
      await queryRunner.query(`DROP TABLE ${table}`);
    }
  }
}

const EVENT_CHECKS = [
  `CONSTRAINT chk_events_status CHECK (status IN ('draft', 'active', 'cancelled', 'completed'))`,
  `CONSTRAINT chk_events_capacity CHECK (capacity >= 1 AND capacity <= 1000000)`,
  `CONSTRAINT chk_events_attendees_count CHECK (attendees_count >= 0 AND attendees_count <= capacity)`,
  `CONSTRAINT chk_events_waitlist_count CHECK (waitlist_count >= 0)`,
];

const EVENT_INDEXES = [
  'CREATE INDEX idx_events_status_date_time ON events (status, date_time, id)',
  'CREATE INDEX idx_events_organizer_date_time ON events (organizer_id, date_time, id)',
  'CREATE INDEX idx_events_date_time ON events (date_time, id)',
  'CREATE INDEX idx_events_created_at ON events (created_at, id)',
  'CREATE INDEX idx_events_title ON events (title, id)',
];

const TOKEN_INDEXES = [
  'CREATE INDEX idx_login_sessions_user_expires ON login_sessions (user_id, expires_at)',
  'CREATE INDEX idx_login_sessions_expires ON login_sessions (expires_at)',
  'CREATE INDEX idx_revoked_tokens_expires ON revoked_tokens (expires_at)',
];

const MYSQL_TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';

const MYSQL_UP = [
  `CREATE TABLE users (
    id int NOT NULL AUTO_INCREMENT,
    username varchar(150) NOT NULL,
    username_normalized varchar(450) COLLATE utf8mb4_bin NOT NULL,
    email varchar(254) COLLATE utf8mb4_bin NOT NULL,
    password_hash varchar(255) NOT NULL,
    date_joined datetime(3) NOT NULL,
    PRIMARY KEY (id),
    UNIQUE INDEX uq_users_username_normalized (username_normalized),
    UNIQUE INDEX uq_users_email (email)
  ) ${MYSQL_TABLE}`,
  `CREATE TABLE events (
    id int NOT NULL AUTO_INCREMENT,
    title varchar(200) NOT NULL,
    description text NOT NULL,
    date_time datetime NOT NULL,
    location varchar(255) NOT NULL,
    status varchar(16) NOT NULL,
    capacity int NOT NULL,
    attendees_count int NOT NULL DEFAULT 0,
    waitlist_count int NOT NULL DEFAULT 0,
    organizer_id int NOT NULL,
    created_at datetime(3) NOT NULL,
    updated_at datetime(3) NOT NULL,
    PRIMARY KEY (id),
    ${EVENT_CHECKS.join(',\n    ')},
    CONSTRAINT fk_events_organizer FOREIGN KEY (organizer_id) REFERENCES users (id) ON DELETE CASCADE ON UPDATE NO ACTION
  ) ${MYSQL_TABLE}`,
  `CREATE TABLE login_sessions (
    id varchar(36) COLLATE utf8mb4_bin NOT NULL,
    user_id int NOT NULL,
    created_at datetime(3) NOT NULL,
    expires_at datetime(3) NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT fk_login_sessions_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE ON UPDATE NO ACTION
  ) ${MYSQL_TABLE}`,
  `CREATE TABLE revoked_tokens (
    id varchar(36) COLLATE utf8mb4_bin NOT NULL,
    kind varchar(16) NOT NULL,
    user_id int NOT NULL,
    revoked_at datetime(3) NOT NULL,
    expires_at datetime(3) NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT fk_revoked_tokens_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE ON UPDATE NO ACTION
  ) ${MYSQL_TABLE}`,
  ...EVENT_INDEXES,
  ...TOKEN_INDEXES,
];

// Quoted the way TypeORM writes SQLite DDL, so its schema diff (`migration:generate --check`) reads it back.
const SQLITE_FOREIGN_KEY = (name: string, column: string) =>
  `CONSTRAINT "${name}" FOREIGN KEY ("${column}") REFERENCES "users" ("id") ON DELETE CASCADE ON UPDATE NO ACTION`;

const SQLITE_UP = [
  `CREATE TABLE "users" (
    "id" integer PRIMARY KEY AUTOINCREMENT NOT NULL,
    "username" varchar(150) NOT NULL,
    "username_normalized" varchar(450) NOT NULL,
    "email" varchar(254) NOT NULL,
    "password_hash" varchar(255) NOT NULL,
    "date_joined" datetime(3) NOT NULL
  )`,
  'CREATE UNIQUE INDEX "uq_users_username_normalized" ON "users" ("username_normalized")',
  'CREATE UNIQUE INDEX "uq_users_email" ON "users" ("email")',
  `CREATE TABLE "events" (
    "id" integer PRIMARY KEY AUTOINCREMENT NOT NULL,
    "title" varchar(200) COLLATE NOCASE NOT NULL,
    "description" text NOT NULL,
    "date_time" datetime NOT NULL,
    "location" varchar(255) NOT NULL,
    "status" varchar(16) NOT NULL,
    "capacity" integer NOT NULL,
    "attendees_count" integer NOT NULL DEFAULT (0),
    "waitlist_count" integer NOT NULL DEFAULT (0),
    "organizer_id" integer NOT NULL,
    "created_at" datetime(3) NOT NULL,
    "updated_at" datetime(3) NOT NULL,
    ${EVENT_CHECKS.map((check) => check.replace(/^CONSTRAINT (\w+)/, 'CONSTRAINT "$1"')).join(',\n    ')},
    ${SQLITE_FOREIGN_KEY('fk_events_organizer', 'organizer_id')}
  )`,
  `CREATE TABLE "login_sessions" (
    "id" varchar(36) PRIMARY KEY NOT NULL,
    "user_id" integer NOT NULL,
    "created_at" datetime(3) NOT NULL,
    "expires_at" datetime(3) NOT NULL,
    ${SQLITE_FOREIGN_KEY('fk_login_sessions_user', 'user_id')}
  )`,
  `CREATE TABLE "revoked_tokens" (
    "id" varchar(36) PRIMARY KEY NOT NULL,
    "kind" varchar(16) NOT NULL,
    "user_id" integer NOT NULL,
    "revoked_at" datetime(3) NOT NULL,
    "expires_at" datetime(3) NOT NULL,
    ${SQLITE_FOREIGN_KEY('fk_revoked_tokens_user', 'user_id')}
  )`,
  ...EVENT_INDEXES,
  ...TOKEN_INDEXES,
];

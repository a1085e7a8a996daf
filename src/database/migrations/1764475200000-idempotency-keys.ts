import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isMysqlFamily } from '../dialect.js';

/**
 * Idempotency keys: one row per (caller, key), claimed by the first request
 * that carries the key and holding its answer for 24 hours. The unique
 * (scope, key_hash) index makes the claim atomic across instances; the
 * expires_at index serves the purge. The answer is JSON so that MySQL gives
 * it room: a TEXT holds 64 KiB, less than an answer may take once sealed
 * (MariaDB stores JSON as LONGTEXT with a json_valid check).
 */
export class IdempotencyKeys1764475200000 implements MigrationInterface {
  name = 'IdempotencyKeys1764475200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const statements = isMysqlFamily(queryRunner.connection) ? MYSQL_UP : SQLITE_UP;
    for (const statement of statements) await queryRunner.query(statement);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE idempotency_keys');
  }
}

const STATUS_CHECK = 'CHECK (response_status >= 100 AND response_status <= 599)';

const INDEXES = [
  'CREATE UNIQUE INDEX uq_idempotency_keys_scope_key ON idempotency_keys (scope, key_hash)',
  'CREATE INDEX idx_idempotency_keys_expires ON idempotency_keys (expires_at)',
];

const MYSQL_UP = [
  `CREATE TABLE idempotency_keys (
    id int NOT NULL AUTO_INCREMENT,
    scope varchar(64) COLLATE utf8mb4_bin NOT NULL,
    key_hash varchar(64) COLLATE utf8mb4_bin NOT NULL,
    fingerprint varchar(64) NOT NULL,
    claim_token varchar(32) NOT NULL,
    created_at datetime(3) NOT NULL,
    expires_at datetime(3) NOT NULL,
    locked_until datetime(3) NULL,
    response_status smallint NULL,
    response json NULL,
    PRIMARY KEY (id),
    CONSTRAINT chk_idempotency_keys_response_status ${STATUS_CHECK}
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
  ...INDEXES,
];

const SQLITE_UP = [
  `CREATE TABLE "idempotency_keys" (
    "id" integer PRIMARY KEY AUTOINCREMENT NOT NULL,
    "scope" varchar(64) NOT NULL,
    "key_hash" varchar(64) NOT NULL,
    "fingerprint" varchar(64) NOT NULL,
    "claim_token" varchar(32) NOT NULL,
    "created_at" datetime(3) NOT NULL,
    "expires_at" datetime(3) NOT NULL,
    "locked_until" datetime(3),
    "response_status" smallint,
    "response" json,
    CONSTRAINT "chk_idempotency_keys_response_status" ${STATUS_CHECK})`,
  ...INDEXES,
];

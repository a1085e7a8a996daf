import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isMysqlFamily } from '../dialect.js';

/**
 * Webhooks: the endpoints users register, and the outbox of deliveries,
 * written in the transaction of the change they report. The queue index
 * finds the oldest pending delivery of each endpoint and event (they go out
 * in order) and those behind it; the endpoint index serves the deliveries
 * log and the foreign key, the created index the purge.
 */
export class Webhooks1764892800000 implements MigrationInterface {
  name = 'Webhooks1764892800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const statements = isMysqlFamily(queryRunner.connection) ? MYSQL_UP : SQLITE_UP;
    for (const statement of statements) await queryRunner.query(statement);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE webhook_deliveries');
    await queryRunner.query('DROP TABLE webhook_endpoints');
  }
}

const STATUS_CHECK = `CHECK (status IN ('pending', 'delivered', 'failed'))`;

const INDEXES = [
  'CREATE INDEX idx_webhook_endpoints_user ON webhook_endpoints (user_id, id)',
  'CREATE UNIQUE INDEX uq_webhook_deliveries_public_id ON webhook_deliveries (public_id)',
  'CREATE INDEX idx_webhook_deliveries_queue ON webhook_deliveries (status, endpoint_id, event_id, id)',
  'CREATE INDEX idx_webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id)',
  'CREATE INDEX idx_webhook_deliveries_created ON webhook_deliveries (created_at)',
];

const MYSQL_TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';

const MYSQL_UP = [
  `CREATE TABLE webhook_endpoints (
    id int NOT NULL AUTO_INCREMENT,
    user_id int NOT NULL,
    url varchar(2048) NOT NULL,
    events varchar(255) NOT NULL,
    secret varchar(64) NOT NULL,
    created_at datetime(3) NOT NULL,
    disabled_at datetime(3) NULL,
    disabled_reason varchar(255) NULL,
    PRIMARY KEY (id),
    CONSTRAINT fk_webhook_endpoints_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE ON UPDATE NO ACTION
  ) ${MYSQL_TABLE}`,
  `CREATE TABLE webhook_deliveries (
    id int NOT NULL AUTO_INCREMENT,
    public_id varchar(36) NOT NULL,
    endpoint_id int NOT NULL,
    event_id int NOT NULL,
    type varchar(32) NOT NULL,
    data text NOT NULL,
    status varchar(16) NOT NULL,
    attempts int NOT NULL DEFAULT 0,
    last_status_code int NULL,
    last_error varchar(255) NULL,
    next_attempt_at datetime(3) NOT NULL,
    claimed_by varchar(36) NULL,
    claimed_until datetime(3) NULL,
    created_at datetime(3) NOT NULL,
    last_attempt_at datetime(3) NULL,
    delivered_at datetime(3) NULL,
    PRIMARY KEY (id),
    CONSTRAINT chk_webhook_deliveries_status ${STATUS_CHECK},
    CONSTRAINT fk_webhook_deliveries_endpoint FOREIGN KEY (endpoint_id) REFERENCES webhook_endpoints (id) ON DELETE CASCADE ON UPDATE NO ACTION
  ) ${MYSQL_TABLE}`,
  ...INDEXES,
];

// Quoted the way TypeORM writes SQLite DDL, so its schema diff (`migration:generate --check`) reads it back.
const SQLITE_UP = [
  `CREATE TABLE "webhook_endpoints" (
    "id" integer PRIMARY KEY AUTOINCREMENT NOT NULL,
    "user_id" integer NOT NULL,
    "url" varchar(2048) NOT NULL,
    "events" varchar(255) NOT NULL,
    "secret" varchar(64) NOT NULL,
    "created_at" datetime(3) NOT NULL,
    "disabled_at" datetime(3),
    "disabled_reason" varchar(255),
    CONSTRAINT "fk_webhook_endpoints_user" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE ON UPDATE NO ACTION
  )`,
  `CREATE TABLE "webhook_deliveries" (
    "id" integer PRIMARY KEY AUTOINCREMENT NOT NULL,
    "public_id" varchar(36) NOT NULL,
    "endpoint_id" integer NOT NULL,
    "event_id" integer NOT NULL,
    "type" varchar(32) NOT NULL,
    "data" text NOT NULL,
    "status" varchar(16) NOT NULL,
    "attempts" integer NOT NULL DEFAULT (0),
    "last_status_code" integer,
    "last_error" varchar(255),
    "next_attempt_at" datetime(3) NOT NULL,
    "claimed_by" varchar(36),
    "claimed_until" datetime(3),
    "created_at" datetime(3) NOT NULL,
    "last_attempt_at" datetime(3),
    "delivered_at" datetime(3),
    CONSTRAINT "chk_webhook_deliveries_status" ${STATUS_CHECK},
    CONSTRAINT "fk_webhook_deliveries_endpoint" FOREIGN KEY ("endpoint_id") REFERENCES "webhook_endpoints" ("id") ON DELETE CASCADE ON UPDATE NO ACTION
  )`,
  ...INDEXES,
];

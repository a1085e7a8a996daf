import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isMysqlFamily } from '../dialect.js';

/**
 * Events get their IANA time zone (existing events are in `UTC`), and an
 * index on `updated_at` for sync clients: it serves `updated_since` and the
 * `updated_at` orderings, and carries `status` like the other ordering
 * indexes, so the public list finds a page of ids in the index alone. On
 * MySQL 8 and MariaDB 10.4+ both are online changes (the column is added in
 * place, the index built without blocking writes).
 */
export class EventTimeZonesAndSync1764464400000 implements MigrationInterface {
  name = 'EventTimeZonesAndSync1764464400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      isMysqlFamily(queryRunner.connection)
        ? "ALTER TABLE events ADD timezone varchar(64) NOT NULL DEFAULT 'UTC'"
        : `ALTER TABLE "events" ADD COLUMN "timezone" varchar(64) NOT NULL DEFAULT ('UTC')`,
    );
    await queryRunner.query('CREATE INDEX idx_events_updated_at ON events (updated_at, id, status)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('events', 'idx_events_updated_at');
    await queryRunner.query('ALTER TABLE events DROP COLUMN timezone');
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isMysqlFamily } from '../dialect.js';

/**
 * Events get their IANA time zone (existing events are in `UTC`). On MySQL 8
 * and MariaDB 10.4+ the column is added in place.
 */
export class EventTimeZonesAndSync1764464400000 implements MigrationInterface {
  name = 'EventTimeZonesAndSync1764464400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      isMysqlFamily(queryRunner.connection)
        ? "ALTER TABLE events ADD timezone varchar(64) NOT NULL DEFAULT 'UTC'"
        : `ALTER TABLE "events" ADD COLUMN "timezone" varchar(64) NOT NULL DEFAULT ('UTC')`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE events DROP COLUMN timezone');
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isMysqlFamily } from '../dialect.js';

/**
 * MySQL and MariaDB: `register_for_event`, a registration's seat (or waitlist
 * place) and its row in one call, so in one round trip.
 *
 * Every registration for an event takes the event's row lock (the counter
 * UPDATE) and holds it until COMMIT. Sent statement by statement, the lock
 * stayed held across two round trips to the app, each waiting its turn on a
 * busy event loop, and registrations for one event queued behind it: on two
 * cores with 64 connections the API reached 57 % of the bare Fastify + mysql2
 * server's registrations per second. Called with `own_transaction`, the
 * procedure begins and commits the transaction itself and the lock is held
 * only while the server runs it; without, it runs in the caller's open
 * transaction (which then records webhook deliveries before committing).
 *
 * The rules are those of `RegistrationsService` on SQLite, which has no
 * procedures (and no round trips): a seat while `attendees_count < capacity`,
 * else a waitlist place, only while the event is active and still to come.
 * It returns one row: the new registration's id and status, both NULL when
 * the event is closed (or unknown). A duplicate email or a lock conflict
 * rolls its own transaction back and raises the error unchanged.
 */
export class RegisterProcedure1764979200000 implements MigrationInterface {
  name = 'RegisterProcedure1764979200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (isMysqlFamily(queryRunner.connection)) await queryRunner.query(CREATE_PROCEDURE);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (isMysqlFamily(queryRunner.connection)) await queryRunner.query('DROP PROCEDURE IF EXISTS register_for_event');
  }
}

// Parameter types are those of the columns they fill; strings are utf8mb4 like the tables. It runs with
// the caller's privileges (those the app has on the tables), whoever ran the migration.
const CREATE_PROCEDURE = `CREATE PROCEDURE register_for_event(
  IN p_event_id int,
  IN p_user_id int,
  IN p_name varchar(200) CHARACTER SET utf8mb4,
  IN p_email varchar(254) CHARACTER SET utf8mb4,
  IN p_cancel_token_hash varchar(64) CHARACTER SET utf8mb4,
  IN p_now datetime(3),
  IN p_own_transaction boolean
)
MODIFIES SQL DATA
SQL SECURITY INVOKER
BEGIN
  DECLARE v_status varchar(16) DEFAULT NULL;
  DECLARE v_id int DEFAULT NULL;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    IF p_own_transaction THEN ROLLBACK; END IF;
    RESIGNAL;
  END;
  IF p_own_transaction THEN START TRANSACTION; END IF;
  UPDATE events SET attendees_count = attendees_count + 1, updated_at = p_now
    WHERE id = p_event_id AND status = 'active' AND date_time > p_now AND attendees_count < capacity;
  IF ROW_COUNT() > 0 THEN
    SET v_status = 'confirmed';
  ELSE
    UPDATE events SET waitlist_count = waitlist_count + 1, updated_at = p_now
      WHERE id = p_event_id AND status = 'active' AND date_time > p_now;
    IF ROW_COUNT() > 0 THEN SET v_status = 'waitlisted'; END IF;
  END IF;
  IF v_status IS NOT NULL THEN
    INSERT INTO registrations (event_id, user_id, name, email, status, cancel_token_hash, created_at)
      VALUES (p_event_id, p_user_id, p_name, p_email, v_status, p_cancel_token_hash, p_now);
    SET v_id = LAST_INSERT_ID();
  END IF;
  IF p_own_transaction THEN COMMIT; END IF;
  SELECT v_id AS id, v_status AS status;
END`;

import { InitialSchema1764201600000 } from './1764201600000-initial-schema.js';
import { Registrations1764288000000 } from './1764288000000-registrations.js';
import { CoveringListIndexes1764374400000 } from './1764374400000-covering-list-indexes.js';
import { EventTimeZonesAndSync1764464400000 } from './1764464400000-event-time-zones-and-sync.js';
import { IdempotencyKeys1764475200000 } from './1764475200000-idempotency-keys.js';
import { CheckIn1764547200000 } from './1764547200000-check-in.js';
import { Webhooks1764892800000 } from './1764892800000-webhooks.js';
import { RegisterProcedure1764979200000 } from './1764979200000-register-procedure.js';

/** Every migration, oldest first; the app runs them at boot and the TypeORM CLI through `ormconfig.ts`. */
export const MIGRATIONS = [
  InitialSchema1764201600000,
  Registrations1764288000000,
  CoveringListIndexes1764374400000,
  EventTimeZonesAndSync1764464400000,
  IdempotencyKeys1764475200000,
  CheckIn1764547200000,
  Webhooks1764892800000,
  RegisterProcedure1764979200000,
];

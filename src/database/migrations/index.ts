import { InitialSchema1764201600000 } from './1764201600000-initial-schema.js';
import { Registrations1764288000000 } from './1764288000000-registrations.js';
import { CoveringListIndexes1764374400000 } from './1764374400000-covering-list-indexes.js';
import { Webhooks1764892800000 } from './1764892800000-webhooks.js';

/** Every migration, oldest first; the app runs them at boot and the TypeORM CLI through `ormconfig.ts`. */
export const MIGRATIONS = [
  InitialSchema1764201600000,
  Registrations1764288000000,
  CoveringListIndexes1764374400000,
  Webhooks1764892800000,
];

import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { readDatabaseConfig } from './src/config/database.config.js';
import { dataSourceOptions } from './src/database/data-source-options.js';

/**
 * The DataSource the TypeORM CLI uses (`npm run typeorm -- migration:show`):
 * the same options as the app, from the same environment variables.
 */
export default new DataSource(dataSourceOptions(readDatabaseConfig()));

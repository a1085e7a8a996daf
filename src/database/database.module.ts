import { Global, Inject, Module, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectDataSource, TypeOrmModule } from '@nestjs/typeorm';
import type { Pool } from 'mysql2';
import { DataSource } from 'typeorm';
import { databaseConfig } from '../config/database.config.js';
import { securityConfig } from '../config/security.config.js';
import { leaseConnections } from './connection-leases.js';
import { dataSourceOptions } from './data-source-options.js';
import { isMysqlFamily } from './dialect.js';
import { runMigrations } from './migrate.js';
import { TransactionRunner } from './transaction.runner.js';

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [databaseConfig.KEY],
      useFactory: (config: ConfigType<typeof databaseConfig>) => ({ ...dataSourceOptions(config), retryAttempts: 0 }),
    }),
  ],
  providers: [TransactionRunner],
  exports: [TransactionRunner],
})
export class DatabaseModule implements OnModuleInit, OnApplicationBootstrap {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(databaseConfig.KEY) private readonly config: ConfigType<typeof databaseConfig>,
    @Inject(securityConfig.KEY) private readonly security: ConfigType<typeof securityConfig>,
  ) {}

  /** The schema comes only from migrations, applied at boot unless DATABASE_MIGRATE=false. */
  async onModuleInit(): Promise<void> {
    if (this.config.migrate) await runMigrations(this.dataSource);
  }

  /** Once migrated: no request's connection outlives the request deadline. */
  onApplicationBootstrap(): void {
    if (!isMysqlFamily(this.dataSource)) return;
    leaseConnections((this.dataSource.driver as unknown as { pool: Pool }).pool, this.security.requestTimeoutMs);
  }
}

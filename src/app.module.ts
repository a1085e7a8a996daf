import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { AuthModule } from './auth/auth.module.js';
import { ProblemDetailsFilter } from './common/problems/problem-details.filter.js';
import { RequestValidationPipe } from './common/validation/request-validation.pipe.js';
import { appConfig } from './config/app.config.js';
import { authConfig } from './config/auth.config.js';
import { databaseConfig } from './config/database.config.js';
import { securityConfig } from './config/security.config.js';
import { RateLimitModule } from './common/rate-limit/rate-limit.module.js';
import { IdempotencyModule } from './common/idempotency/idempotency.module.js';
import { DatabaseModule } from './database/database.module.js';
import { EventsModule } from './events/events.module.js';
import { HealthModule } from './health/health.module.js';
import { LoggingModule } from './common/logging/logging.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { operationsConfig } from './config/operations.config.js';
import { RegistrationsModule } from './registrations/registrations.module.js';
import { UsersModule } from './users/users.module.js';
import { webhooksConfig } from './config/webhooks.config.js';
import { WebhooksModule } from './webhooks/webhooks.module.js';

@Module({
  imports: [
    ConfigModule.forRoot({
      isGlobal: true,
      ignoreEnvFile: true,
      load: [appConfig, databaseConfig, authConfig, securityConfig, operationsConfig, webhooksConfig],
    }),
    LoggingModule,
    MetricsModule,
    ScheduleModule.forRoot(),
    DatabaseModule,
    // Before the authentication guard: a flood of bad tokens is limited too.
    RateLimitModule,
    IdempotencyModule,
    UsersModule,
    AuthModule,
    EventsModule,
    RegistrationsModule,
    WebhooksModule,
    HealthModule,
  ],
  providers: [
    { provide: APP_PIPE, useClass: RequestValidationPipe },
    { provide: APP_FILTER, useClass: ProblemDetailsFilter },
  ],
})
export class AppModule {}

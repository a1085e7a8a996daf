import { Global, Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { destination, type Logger, pino, stdTimeFunctions } from 'pino';
import { appConfig } from '../../config/app.config.js';
import { PINO, PinoLoggerService } from './pino-logger.service.js';

/**
 * Structured logs through pino: JSON lines on stdout in production and tests,
 * pretty lines in development. One logger per process carries Nest's lines
 * (through PinoLoggerService) and the access lines (see access-log.ts).
 */
function createPino(app: ConfigType<typeof appConfig>): Logger {
  const options = {
    level: app.logLevel,
    timestamp: stdTimeFunctions.isoTime,
    serializers: { err: (err: Error) => ({ type: err.name, message: err.message }) },
  };
  if (app.nodeEnv === 'development' && app.logLevel !== 'silent') {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l' } },
    });
  }
  // Written asynchronously, off the request's path: lines logged while a write is under way are joined
  // into the next one. pino flushes what is pending when the process exits.
  return pino(options, destination({ dest: 1, sync: false }));
}

@Global()
@Module({
  providers: [{ provide: PINO, inject: [appConfig.KEY], useFactory: createPino }, PinoLoggerService],
  exports: [PINO, PinoLoggerService],
})
export class LoggingModule {}

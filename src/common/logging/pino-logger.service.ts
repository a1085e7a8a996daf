import { Inject, Injectable, type LoggerService } from '@nestjs/common';
import type { Level, Logger } from 'pino';

/** The injection token of the process's pino logger. */
export const PINO = Symbol('pino');

/**
 * Nest's `Logger` calls, written as pino lines: the logger's context becomes
 * `context`; a message given as an object adds its fields to the line (a
 * request's code passes `{ reqId, msg }`, so one grep follows a request).
 */
@Injectable()
export class PinoLoggerService implements LoggerService {
  constructor(@Inject(PINO) private readonly pino: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }

  /** Nest calls `error(message, stack?, context?)`. */
  error(message: unknown, ...params: unknown[]): void {
    const [stack, context] = params.length >= 2 ? params : [undefined, params[0]];
    this.write('error', message, context === undefined ? [] : [context], stack);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  /** The last string parameter is the context, as Nest's `Logger` appends it. */
  private write(level: Level, message: unknown, params: unknown[], stack?: unknown): void {
    if (!this.pino.isLevelEnabled(level)) return;
    const context = params.findLast((param) => typeof param === 'string');
    const fields: Record<string, unknown> = context === undefined ? {} : { context };
    if (typeof stack === 'string') fields.stack = stack;
    if (message instanceof Error) {
      this.pino[level]({ ...fields, err: message, stack: message.stack }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      const { msg, ...rest } = message as { msg?: unknown };
      this.pino[level]({ ...fields, ...rest }, msg === undefined ? '' : String(msg));
    } else {
      this.pino[level](fields, String(message));
    }
  }
}

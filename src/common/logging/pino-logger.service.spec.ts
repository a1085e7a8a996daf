import { Logger } from '@nestjs/common';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { PinoLoggerService } from './pino-logger.service.js';

/** A PinoLoggerService over a pino writing into an array, and Nest's static Logger pointed at it. */
function capture(level = 'info'): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  Logger.overrideLogger(new PinoLoggerService(logger));
  return lines;
}

describe('PinoLoggerService', () => {
  afterEach(() => Logger.overrideLogger(false));

  it('writes a Nest logger line with its context', () => {
    const lines = capture();
    new Logger('Bootstrap').log('Listening');
    expect(lines).toEqual([expect.objectContaining({ level: 30, context: 'Bootstrap', msg: 'Listening' })]);
  });

  it('adds the fields of a message given as an object, such as the request id', () => {
    const lines = capture();
    new Logger('RateLimitGuard').warn({ reqId: 'abc', msg: 'Rate limits unavailable' });
    expect(lines[0]).toMatchObject({
      level: 40,
      context: 'RateLimitGuard',
      reqId: 'abc',
      msg: 'Rate limits unavailable',
    });
  });

  it('keeps the stack of an error, given as Nest gives it or as an Error', () => {
    const lines = capture();
    new Logger('Exceptions').error('It broke', 'Error: It broke\n    at here');
    new Logger('Exceptions').error(new TypeError('Bad type'));
    expect(lines[0]).toMatchObject({
      level: 50,
      context: 'Exceptions',
      msg: 'It broke',
      stack: 'Error: It broke\n    at here',
    });
    expect(lines[1]).toMatchObject({ level: 50, context: 'Exceptions', msg: 'Bad type', err: { type: 'TypeError' } });
    expect(lines[1].stack).toContain('TypeError: Bad type');
  });

  it('maps verbose to trace, and writes nothing below the level', () => {
    const lines = capture('debug');
    new Logger('X').verbose('hidden');
    new Logger('X').debug('shown');
    expect(lines.map((line) => line.msg)).toEqual(['shown']);
  });
});

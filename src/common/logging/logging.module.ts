import type { IncomingMessage, ServerResponse } from 'node:http';
import { Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { LoggerModule } from 'nestjs-pino';
import { destination, stdTimeFunctions } from 'pino';
import { appConfig } from '../../config/app.config.js';

/** The raw request, with the route template the Fastify router matched (set in app.setup). */
export type RoutedRequest = IncomingMessage & { id?: string; routeTemplate?: string };

/**
 * Structured logs through pino: JSON lines in production and tests, pretty
 * lines in development. Every request gets one access line (method, route,
 * status, latency) and Fastify's request id (from `X-Request-Id` or
 * generated, see app.setup), bound to every line logged while serving it. Only the fields named
 * here are logged: no header, body or query string, so no password or token
 * can reach a log.
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [appConfig.KEY],
      useFactory: (app: ConfigType<typeof appConfig>) => {
        const pretty = app.nodeEnv === 'development' && app.logLevel !== 'silent';
        const options = {
          level: app.logLevel,
          timestamp: stdTimeFunctions.isoTime,
          transport: pretty
            ? { target: 'pino-pretty', options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l' } }
            : undefined,
          quietReqLogger: true,
          // The serializers get the raw objects: pino's standard ones would first copy every header.
          wrapSerializers: false,
          serializers: {
            req: (req: RoutedRequest) => ({ id: req.id, method: req.method }),
            res: (res: { statusCode: number }) => ({ status: res.statusCode }),
            err: (err: Error) => ({ type: err.name, message: err.message }),
          },
          // Added to the access line only (by then the router has matched, or not: null); as custom props
          // they would cost two more child loggers per request.
          customSuccessObject: (req: RoutedRequest, _res: ServerResponse, line: object) => ({
            ...line,
            route: req.routeTemplate ?? null,
          }),
          customErrorObject: (req: RoutedRequest, _res: ServerResponse, _error: Error, line: object) => ({
            ...line,
            route: req.routeTemplate ?? null,
          }),
          customSuccessMessage: (req: RoutedRequest, res: ServerResponse, ms: number) =>
            `${req.method} ${req.routeTemplate ?? '(no route)'} ${res.statusCode} ${Math.round(ms)} ms`,
          customErrorMessage: (req: RoutedRequest, res: ServerResponse) =>
            `${req.method} ${req.routeTemplate ?? '(no route)'} ${res.statusCode} aborted`,
          customAttributeKeys: { responseTime: 'latency_ms' },
          customLogLevel: (_req: IncomingMessage, res: ServerResponse, error?: Error) =>
            error || res.statusCode >= 500 ? 'error' : 'info',
        };
        // JSON lines go to stdout asynchronously, off the request's path: lines logged while a write
        // is under way are joined into the next one. pino flushes what is pending when the process exits.
        return { pinoHttp: pretty ? options : [options, destination({ dest: 1, sync: false })] };
      },
    }),
  ],
})
export class LoggingModule {}

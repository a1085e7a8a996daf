import type { LogLevel as NestLogLevel } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { LogLevel } from './config/app.config.js';
import metadata from './metadata.js';
import helmet from '@fastify/helmet';
import { useJsonBodies } from './common/http/json-body.js';
import { useRequestDeadline } from './common/http/request-deadline.js';
import { readSecurityConfig } from './config/security.config.js';

/** API.md: bodies over 100 KiB are a 413. */
export const BODY_LIMIT_BYTES = 100 * 1024;

const NEST_LOG_LEVELS: NestLogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];
const LEVEL_INDEX: Record<LogLevel, number> = { silent: -1, fatal: 0, error: 1, warn: 2, info: 3, debug: 4, trace: 5 };

/** The Nest log levels at and above `LOG_LEVEL`. */
export function nestLogLevels(level: LogLevel): NestLogLevel[] {
  return NEST_LOG_LEVELS.slice(0, LEVEL_INDEX[level] + 1);
}

/**
 * Nest's own body parsers are off: they would add a form-urlencoded parser.
 * Fastify's JSON parser (with its prototype-poisoning checks) is the only one left.
 */
export const NEST_APP_OPTIONS = { bodyParser: false } as const;

/** Swagger UI's page needs inline styles and data: images; nothing else is loosened. */
const CONTENT_SECURITY_POLICY = {
  directives: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    // The API may be served over plain HTTP (locally, behind a TLS-terminating proxy): leave URLs alone.
    upgradeInsecureRequests: null,
  },
};

/** How long a client may take to send its whole request (slow-body clients are cut off). */
const REQUEST_RECEIVE_TIMEOUT_MS = 30_000;

export function createFastifyAdapter(): FastifyAdapter {
  const { trustedProxies } = readSecurityConfig();
  return new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    routerOptions: { ignoreTrailingSlash: true },
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // X-Forwarded-For is believed only when the socket is one of these proxies.
    trustProxy: trustedProxies.length > 0 ? trustedProxies : false,
    requestTimeout: REQUEST_RECEIVE_TIMEOUT_MS,
  });
}

/** Everything the running app and the end-to-end tests share, applied before `init()`. */
export async function configureApp(app: NestFastifyApplication): Promise<void> {
  app.setGlobalPrefix('api');
  // JSON only, nested 32 levels at most: any other body type is a 415.
  useJsonBodies(app.getHttpAdapter().getInstance());
  await app.register(helmet, { contentSecurityPolicy: CONTENT_SECURITY_POLICY });
  const { corsOrigins, requestTimeoutMs } = readSecurityConfig();
  useRequestDeadline(app.getHttpAdapter().getInstance(), requestTimeoutMs);
  // Off unless origins are configured, and then only those: never a reflection of whatever Origin is sent.
  if (corsOrigins.length > 0) {
    app.enableCors({
      origin: corsOrigins,
      allowedHeaders: ['Authorization', 'Content-Type', 'X-Registration-Token'],
      exposedHeaders: ['Link', 'X-Total-Count', 'Retry-After'],
      maxAge: 600,
    });
  }
  app.enableShutdownHooks();
  await setUpSwagger(app);
}

async function setUpSwagger(app: NestFastifyApplication): Promise<void> {
  await SwaggerModule.loadPluginMetadata(metadata);
  const config = new DocumentBuilder()
    .setTitle('Event Management API')
    .setDescription(
      'Organizers publish events, anyone registers for a seat, and a full event keeps a fair waitlist. ' +
        'Errors are RFC 9457 problem details (`application/problem+json`). Lists are bare JSON arrays ' +
        'with `X-Total-Count` and RFC 8288 `Link` headers. Every path also works with a trailing slash.',
    )
    .setVersion('1.0')
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: 'The `access` token from /api/login',
    })
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('api/docs', app, document, {
    jsonDocumentUrl: 'api/docs-json',
    swaggerOptions: { persistAuthorization: true },
  });
}

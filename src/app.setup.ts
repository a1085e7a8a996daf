import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { VERSION_NEUTRAL, VersioningType } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import metadata from './metadata.js';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import helmet from 'helmet';
import { useJsonBodies } from './common/http/json-body.js';
import { useRequestDeadline } from './common/http/request-deadline.js';
import { readSecurityConfig } from './config/security.config.js';
import { useAccessLog } from './common/logging/access-log.js';
import { PINO } from './common/logging/pino-logger.service.js';
import { HttpMetrics } from './metrics/http-metrics.js';
import { IdempotencyInterceptor } from './common/idempotency/idempotency.interceptor.js';
import { documentIdempotency } from './common/idempotency/idempotency.openapi.js';
import { PROBLEM_CONTENT_TYPE, routerProblem } from './common/problems/problem-details.filter.js';

/** The version under /api/v{n}/…; within it, changes are additions only (README, Versioning). */
const API_VERSION = '1';

/** API.md: bodies over 100 KiB are a 413. */
export const BODY_LIMIT_BYTES = 100 * 1024;

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

/**
 * The headers helmet sets, computed once: they are the same on every answer.
 * Set through Fastify's reply rather than by helmet's middleware on the raw
 * response, every header of an answer goes out in one `writeHead`; the
 * middleware (@fastify/helmet even rebuilt it per request) and its twelve
 * `setHeader` calls cost 5–7 % of a read's CPU.
 */
function securityHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader: (name: string, value: string) => (headers[name] = value),
    removeHeader: () => undefined,
  } as unknown as ServerResponse;
  helmet({ contentSecurityPolicy: CONTENT_SECURITY_POLICY })({} as IncomingMessage, recorder, () => undefined);
  return headers;
}

/** A client's request id is kept only if it is short and plain, so it cannot forge or flood log lines. */
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request id: the client's `X-Request-Id` when acceptable, else a new UUID. */
function requestIdOf(req: IncomingMessage): string {
  const sent = req.headers['x-request-id'];
  return typeof sent === 'string' && ACCEPTABLE_REQUEST_ID.test(sent) ? sent : randomUUID();
}

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
    requestIdHeader: false,
    genReqId: requestIdOf,
    // Else Fastify's own JSON error, echoing the URL, answers a malformed or over-long path (400, 414).
    frameworkErrors: (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) => {
      const problem = routerProblem(error);
      void reply.code(problem.status).header('Content-Type', PROBLEM_CONTENT_TYPE).send(problem);
    },
  });
}

/** Everything the running app and the end-to-end tests share, applied before `init()`. */
export async function configureApp(app: NestFastifyApplication): Promise<void> {
  app.setGlobalPrefix('api');
  // API.md, versioned paths: every route answers at /api/… and at /api/v1/…, through the same handler.
  app.enableVersioning({ type: VersioningType.URI, defaultVersion: [VERSION_NEUTRAL, API_VERSION] });
  const fastify = app.getHttpAdapter().getInstance();
  // JSON only, nested 32 levels at most: any other body type is a 415.
  useJsonBodies(fastify);
  const headers = securityHeaders();
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.headers(headers).header('X-Request-Id', request.id);
    done();
  });
  useAccessLog(fastify, app.get(PINO));
  app.get(HttpMetrics).observe(fastify);
  const { corsOrigins, requestTimeoutMs } = readSecurityConfig();
  useRequestDeadline(fastify, requestTimeoutMs);
  // After the deadline's hooks: an answer is stored (or its key released) once its deadline is off.
  app.get(IdempotencyInterceptor).recordAnswers(fastify);
  // Off unless origins are configured, and then only those: never a reflection of whatever Origin is sent.
  if (corsOrigins.length > 0) {
    app.enableCors({
      origin: corsOrigins,
      allowedHeaders: ['Authorization', 'Content-Type', 'X-Registration-Token', 'Idempotency-Key'],
      exposedHeaders: ['Link', 'X-Total-Count', 'Retry-After', 'Idempotent-Replayed'],
      maxAge: 600,
    });
  }
  await setUpSwagger(app);
}

async function setUpSwagger(app: NestFastifyApplication): Promise<void> {
  await SwaggerModule.loadPluginMetadata(metadata);
  const config = new DocumentBuilder()
    .setTitle('Event Management API')
    .setDescription(
      'Organizers publish events, anyone registers for a seat, and a full event keeps a fair waitlist. ' +
        'Errors are RFC 9457 problem details (`application/problem+json`). Lists are bare JSON arrays ' +
        'with `X-Total-Count` and RFC 8288 `Link` headers. Every path also works with a trailing slash. ' +
        `This document describes version ${API_VERSION} (\`/api/v${API_VERSION}/…\`); every path also answers ` +
        'without the version (`/api/…`, the original paths), with the same behaviour.',
    )
    .setVersion('1.0')
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: 'The `access` token from /api/login',
    })
    .build();
  const document = documentIdempotency(
    onlyVersioned(
      SwaggerModule.createDocument(app, config, {
        // `EventsController_list` for the v1 operation (the unversioned twin, left out, gets another id).
        operationIdFactory: (controllerKey, methodKey, version) =>
          `${controllerKey}_${methodKey.replace(/\[\d+\]$/, '')}${version ? '' : '_unversioned'}`,
      }),
    ),
  );
  SwaggerModule.setup('api/docs', app, document, {
    jsonDocumentUrl: 'api/docs-json',
    swaggerOptions: { persistAuthorization: true },
  });
}

/** The document describes /api/v1/…; the unversioned twins of its paths answer alike and are left out. */
function onlyVersioned(document: OpenAPIObject): OpenAPIObject {
  const prefix = `/api/v${API_VERSION}/`;
  const paths = Object.fromEntries(Object.entries(document.paths).filter(([path]) => path.startsWith(prefix)));
  return { ...document, paths };
}

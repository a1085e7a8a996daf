import { STATUS_CODES } from 'node:http';
import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { isDatabaseUnavailable, uniqueViolation } from '../../database/database-errors.js';
import {
  DuplicateValueException,
  InvalidInputException,
  RetryLaterException,
  UnauthenticatedException,
} from './problem.exceptions.js';

/** An RFC 9457 problem details body, as API.md defines it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: Record<string, string[]>;
}

interface ProblemResponse {
  problem: Problem;
  headers: Record<string, string>;
}

const BEARER_REALM = 'Bearer realm="api"';
export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';
/** 503s (the database is down or busy) tell clients to come back after this long. */
export const RETRY_AFTER_SECONDS = 5;

/** What Fastify's own errors (body parsing, limits) mean, in our words. */
const FASTIFY_DETAILS: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'Requests with a body must be sent as application/json.',
  FST_ERR_CTP_BODY_TOO_LARGE: 'The request body is larger than the 100 KiB limit.',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'The request body is empty; send a JSON object.',
  FST_ERR_CTP_INVALID_JSON_BODY: 'The request body is not valid JSON, or it uses a forbidden key such as __proto__.',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'The request body does not match its Content-Length.',
  FST_ERR_BAD_URL: 'The URL is malformed: a percent-encoded character in its path is not valid.',
  FST_ERR_MAX_PARAM_LENGTH: 'The URL is too long: a path parameter is over 100 characters.',
};

const GENERIC_DETAILS: Partial<Record<number, string>> = {
  400: 'The request is invalid.',
  401: 'Authentication credentials were not provided.',
  403: 'You do not have permission to perform this action.',
  404: 'Not found.',
  405: 'This method is not allowed here.',
  409: 'The request conflicts with the current state of the resource.',
  413: 'The request body is too large.',
  415: 'Unsupported media type.',
  429: 'Too many requests.',
  500: 'An unexpected error occurred. It has been logged.',
  503: 'The service is temporarily unavailable; retry shortly.',
};

export function problemOf(status: number, detail?: string, errors?: Record<string, string[]>): Problem {
  return {
    type: 'about:blank',
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail: detail || GENERIC_DETAILS[status] || STATUS_CODES[status] || 'Error',
    ...(errors && { errors }),
  };
}

/**
 * The router refuses a malformed or over-long path before any hook, filter or
 * route runs (Fastify's `frameworkErrors`): the same problem, in our words.
 */
export function routerProblem(error: { code?: string; statusCode?: number }): Problem {
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  return problemOf(status, error.code ? FASTIFY_DETAILS[error.code] : undefined);
}

/**
 * The one exception filter: every error leaves as `application/problem+json`.
 * Framework and driver messages never reach the client; anything unexpected
 * is logged and answered with a plain 500.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Exceptions');

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const { httpAdapter } = this.adapterHost;
    const http = host.switchToHttp();
    const response = http.getResponse();
    const { problem, headers } = this.toProblem(exception);
    if (problem.status >= 500 && problem.status !== HttpStatus.SERVICE_UNAVAILABLE) {
      this.logger.error({
        reqId: http.getRequest<FastifyRequest>().id,
        msg: exception instanceof Error ? (exception.stack ?? exception.message) : String(exception),
      });
    }
    for (const [name, value] of Object.entries(headers)) httpAdapter.setHeader(response, name, value);
    httpAdapter.setHeader(response, 'Content-Type', PROBLEM_CONTENT_TYPE);
    httpAdapter.reply(response, problem, problem.status);
  }

  private toProblem(exception: unknown): ProblemResponse {
    if (exception instanceof HttpException) return this.fromHttpException(exception);
    if (isDatabaseUnavailable(exception)) {
      return {
        problem: problemOf(503, 'The database is unavailable; retry shortly.'),
        headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
      };
    }
    if (uniqueViolation(exception)) {
      return { problem: problemOf(409, 'The request conflicts with existing data.'), headers: {} };
    }
    return { problem: problemOf(500), headers: {} };
  }

  private fromHttpException(exception: HttpException): ProblemResponse {
    const status = exception.getStatus();
    const headers: Record<string, string> = {};
    if (status === HttpStatus.UNAUTHORIZED) {
      const tokenError = exception instanceof UnauthenticatedException && exception.tokenError;
      headers['WWW-Authenticate'] = tokenError ? `${BEARER_REALM}, error="invalid_token"` : BEARER_REALM;
    }
    if (status === HttpStatus.SERVICE_UNAVAILABLE) headers['Retry-After'] = String(RETRY_AFTER_SECONDS);
    if (exception instanceof RetryLaterException) headers['Retry-After'] = String(exception.retryAfterSeconds);
    const errors =
      exception instanceof InvalidInputException || exception instanceof DuplicateValueException
        ? exception.errors
        : undefined;
    return { problem: problemOf(status, this.detailOf(exception), errors), headers };
  }

  /**
   * Our exceptions carry a sentence for the client; Nest's built-in ones a
   * message we may reuse. Fastify's 4xx errors (which Nest wraps, keeping them
   * as the cause) get our wording, not the framework's.
   */
  private detailOf(exception: HttpException): string | undefined {
    const fastifyCode = (exception.cause as { code?: unknown } | undefined)?.code;
    if (typeof fastifyCode === 'string' && fastifyCode.startsWith('FST_')) return FASTIFY_DETAILS[fastifyCode];
    const body = exception.getResponse();
    if (typeof body === 'string') return body;
    const message = (body as { message?: unknown }).message;
    return typeof message === 'string' ? message : undefined;
  }
}

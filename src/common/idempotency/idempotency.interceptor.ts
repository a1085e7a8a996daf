import {
  type CallHandler,
  type ExecutionContext,
  HttpStatus,
  Injectable,
  Logger,
  type NestInterceptor,
  ServiceUnavailableException,
  UnprocessableEntityException,
} from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { finalize, type Observable, of, tap } from 'rxjs';
import { answeredByDeadline, timeLeftOf } from '../http/request-deadline.js';
import { RetryLaterException } from '../problems/problem.exceptions.js';
import type { AuthenticatedUser } from '../decorators/current-user.decorator.js';
import { type Claim, IdempotencyStore, type StoredResponse } from './idempotency.store.js';
import { identify, idempotencyKeyOf, REPLAYED_HEADER } from './request-identity.js';

/** The headers a replay repeats, besides the status and the body. */
const REPLAYED_HEADERS = ['content-type', 'location', 'link', 'x-total-count', 'www-authenticate'];
/** A retry of a request still running is told to wait this long; most finish within milliseconds. */
const IN_FLIGHT_RETRY_AFTER_SECONDS = 1;

/**
 * The claimed requests, shared by every instance: each module that binds the
 * interceptor (see `@Idempotent()`) has its own, and one `onSend` hook serves them all.
 */
const runs = new WeakMap<FastifyRequest, Run>();

/** A claimed key, from the moment its request's handler starts until its answer is stored or the key released. */
interface Run {
  claim: Claim;
  /** The request's id, for the warning logged if its answer cannot be stored. */
  reqId: string;
  /** The status the handler answers with when it succeeds (set by Nest before interceptors run). */
  successStatus: number;
  /** Once the handler has ended: its value, or that it failed. */
  outcome?: { ok: true; value: unknown } | { ok: false };
  /** The request deadline answered first (503): the key is settled once the handler ends. */
  answeredEarly: boolean;
  settled: boolean;
}

/**
 * `Idempotency-Key` on any POST, PUT, PATCH or DELETE (API.md), on every
 * route bound with `@Idempotent()`:
 *
 * - before the handler (after authentication and the rate limits), the key is
 *   claimed for the caller, or the first answer is replayed
 *   (`Idempotent-Replayed: true`), or a 422 (the key was used for another
 *   request) or a 409 (its first request is still running) is thrown;
 * - once the answer leaves (an `onSend` hook, so it sees the final status and
 *   the exact bytes, problem bodies rendered by the exception filter
 *   included), it is stored, unless it is a 400 (refused before anything
 *   ran), a 429 or a 5xx: then the key is released, so a retry runs again.
 *
 * When the request deadline answers 503 while the handler still runs, the key
 * stays claimed until the handler ends: its answer is then stored if it
 * succeeded (the work did happen, and a retry gets that answer rather than
 * doing it twice), else the key is released.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly logger = new Logger(IdempotencyInterceptor.name);

  constructor(private readonly store: IdempotencyStore) {}

  /** Synchronous for the requests without a key (most of them): no promise on their path. */
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> | Promise<Observable<unknown>> {
    if (context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest & { user?: AuthenticatedUser }>();
    const key = idempotencyKeyOf(request);
    if (key === undefined) return next.handle();
    return this.withKey(request, http.getResponse<FastifyReply>(), key, next);
  }

  private async withKey(
    request: FastifyRequest & { user?: AuthenticatedUser },
    reply: FastifyReply,
    key: string,
    next: CallHandler,
  ): Promise<Observable<unknown>> {
    // A guard held the request past its deadline: its client has a 503, so the work does not start.
    if (answeredByDeadline(request)) throw new ServiceUnavailableException();

    const identity = identify(request, key, request.user);
    const outcome = await this.store.claim(identity);
    switch (outcome.kind) {
      case 'replay':
        return of(this.replay(reply, outcome.response));
      case 'mismatch':
        throw new UnprocessableEntityException(
          'This Idempotency-Key was already used for a different request (another method, path or body).',
        );
      case 'in-flight':
        throw new RetryLaterException(
          'A request with this Idempotency-Key is still being processed; retry shortly.',
          HttpStatus.CONFLICT,
          IN_FLIGHT_RETRY_AFTER_SECONDS,
        );
    }

    if (answeredByDeadline(request)) {
      // The deadline struck while the key was being claimed: the work does not start either.
      await this.settle(outcome.claim, undefined, request.id);
      throw new ServiceUnavailableException();
    }
    const run: Run = {
      claim: outcome.claim,
      reqId: request.id,
      successStatus: reply.statusCode,
      answeredEarly: false,
      settled: false,
    };
    runs.set(request, run);
    return next.handle().pipe(
      tap({
        next: (value) => (run.outcome = { ok: true, value }),
        error: () => (run.outcome = { ok: false }),
      }),
      finalize(() => {
        run.outcome ??= { ok: true, value: undefined };
        if (run.answeredEarly) void this.settleLate(run);
      }),
    );
  }

  /** Installs the hook that stores each claimed request's answer before it leaves. After the request deadline's hooks. */
  recordAnswers(fastify: FastifyInstance): void {
    fastify.addHook('onSend', (request, reply, payload, done) => {
      const run = runs.get(request);
      if (!run || run.settled) return done(null, payload);
      this.keepAnswer(request, reply, payload, run).then(
        () => done(null, payload),
        (error: Error) => done(error),
      );
    });
  }

  /** Stores the answer of a claimed request (or releases its key), within the request's deadline. */
  private async keepAnswer(request: FastifyRequest, reply: FastifyReply, payload: unknown, run: Run): Promise<void> {
    if (answeredByDeadline(request)) {
      run.answeredEarly = true;
      if (run.outcome) void this.settleLate(run);
      return;
    }
    run.settled = true;
    const status = reply.statusCode;
    const body = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : null;
    const settling = this.settle(
      run.claim,
      keeps(status) && body !== null ? answerOf(reply, status, body) : undefined,
      run.reqId,
    );
    // Not past the request deadline: if the database is slow, the answer leaves and the key stays
    // claimed (a retry gets a 409) until its answer is stored or its lease ends.
    await waitAtMost(settling, timeLeftOf(request));
  }

  private replay(reply: FastifyReply, response: StoredResponse): string | undefined {
    reply.code(response.status);
    for (const [name, value] of Object.entries(response.headers)) reply.header(name, value);
    reply.header(REPLAYED_HEADER, 'true');
    return response.body === '' && !response.headers['content-type'] ? undefined : response.body;
  }

  /** The deadline's 503 went out while the handler ran; now it has ended. */
  private async settleLate(run: Run): Promise<void> {
    if (run.settled) return;
    run.settled = true;
    const outcome = run.outcome;
    if (!outcome?.ok || !keeps(run.successStatus)) return this.settle(run.claim, undefined, run.reqId);
    // What Fastify would have sent: the value serialised as JSON.
    const answer: StoredResponse =
      outcome.value === undefined
        ? { status: run.successStatus, headers: {}, body: '' }
        : {
            status: run.successStatus,
            headers: { 'content-type': 'application/json; charset=utf-8' },
            body: JSON.stringify(outcome.value),
          };
    await this.settle(run.claim, answer, run.reqId);
  }

  /**
   * Stores the answer, or releases the key when there is none to keep. A
   * failure here (the database went away) does not hold back the answer,
   * which is sent anyway: the key then stays claimed until its lease ends.
   */
  private async settle(claim: Claim, answer: StoredResponse | undefined, reqId: string): Promise<void> {
    try {
      if (answer) await this.store.store(claim, answer);
      else await this.store.release(claim);
    } catch (error) {
      this.logger.warn({
        reqId,
        msg: `Could not ${answer ? 'store the answer for' : 'release'} an idempotency key: ${(error as Error).message}`,
      });
    }
  }
}

/**
 * Stripe's rule: an answer is kept if the handler ran, whatever it said. A
 * 400 is refused input (the validation pipes run before the handler), a 429
 * a limit, and a 5xx a failure: none of them is the answer to the request,
 * so the key is released and a retry runs again.
 */
function keeps(status: number): boolean {
  return status !== HttpStatus.BAD_REQUEST && status !== HttpStatus.TOO_MANY_REQUESTS && status < 500;
}

async function waitAtMost(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, Math.min(ms, 60_000)))));
  await Promise.race([work, timeUp]);
  clearTimeout(timer);
}

function answerOf(reply: FastifyReply, status: number, body: string): StoredResponse {
  const headers: Record<string, string> = {};
  for (const name of REPLAYED_HEADERS) {
    const value = reply.getHeader(name);
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return { status, headers, body };
}

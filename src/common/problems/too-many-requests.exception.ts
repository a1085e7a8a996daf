import { HttpStatus } from '@nestjs/common';
import { RetryLaterException } from './problem.exceptions.js';

/** 429: the client is over a rate limit; the filter adds `Retry-After`. */
export class TooManyRequestsException extends RetryLaterException {
  constructor(detail: string, retryAfterSeconds: number) {
    super(detail, HttpStatus.TOO_MANY_REQUESTS, retryAfterSeconds);
  }
}

import { HttpException, HttpStatus } from '@nestjs/common';

/** 429: the client is over a rate limit; the filter adds `Retry-After`. */
export class TooManyRequestsException extends HttpException {
  constructor(
    detail: string,
    readonly retryAfterSeconds: number,
  ) {
    super(detail, HttpStatus.TOO_MANY_REQUESTS);
  }
}

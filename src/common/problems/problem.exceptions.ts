import { HttpException, HttpStatus } from '@nestjs/common';

export type FieldErrors = Record<string, string[]>;

/** 400 naming every bad field at once: `errors` maps each field to its messages. */
export class InvalidInputException extends HttpException {
  constructor(
    readonly errors: FieldErrors,
    detail = `Invalid input: ${Object.keys(errors).join(', ')}.`,
  ) {
    super(detail, HttpStatus.BAD_REQUEST);
  }
}

/** 409 for a value that must be unique and is taken, naming the field. */
export class DuplicateValueException extends HttpException {
  readonly errors: FieldErrors;

  constructor(fields: Record<string, string>) {
    const messages = Object.values(fields);
    super(messages.join(' '), HttpStatus.CONFLICT);
    this.errors = Object.fromEntries(Object.entries(fields).map(([field, message]) => [field, [message]]));
  }
}

/**
 * 401: no credentials, bad credentials, or a token that is invalid, expired or
 * revoked. The filter adds the RFC 6750 `WWW-Authenticate` challenge.
 */
export class UnauthenticatedException extends HttpException {
  constructor(
    detail: string,
    readonly tokenError = false,
  ) {
    super(detail, HttpStatus.UNAUTHORIZED);
  }
}

/** A problem the client may retry after a pause: the filter adds `Retry-After`. */
export class RetryLaterException extends HttpException {
  constructor(
    detail: string,
    status: HttpStatus,
    readonly retryAfterSeconds: number,
  ) {
    super(detail, status);
  }
}

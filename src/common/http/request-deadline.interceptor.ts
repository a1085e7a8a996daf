import {
  type CallHandler,
  type ExecutionContext,
  HttpStatus,
  Inject,
  Injectable,
  type NestInterceptor,
  HttpException,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { catchError, type Observable, throwError, timeout, TimeoutError } from 'rxjs';
import { securityConfig } from '../../config/security.config.js';

/**
 * A request not answered within REQUEST_TIMEOUT gets a 503 (with
 * Retry-After): a frozen database or a lock that is never released cannot
 * hold a client forever. The work itself may still finish (and commit) after
 * the answer; its database statements have their own, shorter, limits.
 */
@Injectable()
export class RequestDeadlineInterceptor implements NestInterceptor {
  constructor(@Inject(securityConfig.KEY) private readonly config: ConfigType<typeof securityConfig>) {}

  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      timeout(this.config.requestTimeoutMs),
      catchError((error: unknown) =>
        throwError(() =>
          error instanceof TimeoutError
            ? new HttpException('The request took too long; retry shortly.', HttpStatus.SERVICE_UNAVAILABLE)
            : error,
        ),
      ),
    );
  }
}

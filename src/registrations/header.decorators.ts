import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';

/*
 * Request headers read by custom decorators rather than `@Headers(name)`,
 * which the OpenAPI document would list as required header parameters.
 */

const headerOf = (context: ExecutionContext, name: string): string | undefined => {
  const value = context.switchToHttp().getRequest<FastifyRequest>().headers[name];
  return typeof value === 'string' ? value : undefined;
};

/**
 * Whether `Accept` asks for CSV. Not documented as a parameter: the
 * response's media types already describe the choice (and OpenAPI ignores
 * `Accept` parameters).
 */
export const WantsCsv = createParamDecorator((_data: unknown, context: ExecutionContext): boolean =>
  /\btext\/csv\b/i.test(headerOf(context, 'accept') ?? ''),
);

const readRegistrationToken = createParamDecorator((_data: unknown, context: ExecutionContext) =>
  headerOf(context, 'x-registration-token'),
);

/** The optional `X-Registration-Token` header, documented as such on the route. */
export function RegistrationToken(): ParameterDecorator {
  return (target, method, index) => {
    readRegistrationToken()(target, method, index);
    if (method === undefined) return;
    ApiHeader({
      name: 'X-Registration-Token',
      required: false,
      description: 'The `cancel_token` returned at registration; opens this registration only',
    })(target, method, Object.getOwnPropertyDescriptor(target, method)!);
  };
}

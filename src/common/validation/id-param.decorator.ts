import { Param, ParseIntPipe } from '@nestjs/common';
import { ApiParam } from '@nestjs/swagger';
import { InvalidInputException } from '../problems/problem.exceptions.js';

/**
 * A numeric id from the path (`:id` by default); anything else is a 400 naming
 * the parameter. Documented as an integer: the plugin sees only `number`.
 */
export function IdParam(name = 'id'): ParameterDecorator {
  const param = Param(
    name,
    new ParseIntPipe({
      exceptionFactory: () => new InvalidInputException({ [name]: [`${name} must be a positive integer`] }),
    }),
  );
  return (target, method, index) => {
    param(target, method, index);
    if (method === undefined) return;
    ApiParam({ name, type: 'integer' })(target, method, Object.getOwnPropertyDescriptor(target, method)!);
  };
}

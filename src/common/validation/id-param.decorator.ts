import { Param, ParseIntPipe } from '@nestjs/common';
import { ApiParam } from '@nestjs/swagger';
import { ApiProblems } from '../problems/api-problems.decorator.js';
import { InvalidInputException } from '../problems/problem.exceptions.js';

/**
 * A numeric id from the path (`:id` by default); anything else is a 400 naming
 * the parameter. Documented as an integer (the plugin sees only `number`),
 * with the 414 the router gives a parameter over 100 characters.
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
    const descriptor = Object.getOwnPropertyDescriptor(target, method)!;
    ApiParam({ name, type: 'integer' })(target, method, descriptor);
    ApiProblems(414)(target, method, descriptor);
  };
}

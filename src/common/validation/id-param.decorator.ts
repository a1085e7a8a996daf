import { Param, ParseIntPipe } from '@nestjs/common';
import { InvalidInputException } from '../problems/problem.exceptions.js';

/** A numeric id from the path (`:id` by default); anything else is a 400 naming the parameter. */
export function IdParam(name = 'id'): ParameterDecorator {
  return Param(
    name,
    new ParseIntPipe({
      exceptionFactory: () => new InvalidInputException({ [name]: [`${name} must be a positive integer`] }),
    }),
  );
}

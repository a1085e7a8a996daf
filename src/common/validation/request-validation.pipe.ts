import {
  type ArgumentMetadata,
  Injectable,
  type PipeTransform,
  ValidationPipe,
  type ValidationError,
} from '@nestjs/common';
import { type FieldErrors, InvalidInputException } from '../problems/problem.exceptions.js';

function fieldErrors(errors: ValidationError[], parent = ''): FieldErrors {
  const result: FieldErrors = {};
  for (const error of errors) {
    const path = parent ? `${parent}.${error.property}` : error.property;
    if (error.constraints) result[path] = Object.values(error.constraints);
    Object.assign(result, fieldErrors(error.children ?? [], path));
  }
  return result;
}

const shared = {
  transform: true,
  whitelist: true,
  forbidUnknownValues: true,
  // One message per field: the type check (declared closest to the property) runs first.
  stopAtFirstError: true,
  transformOptions: { enableImplicitConversion: false },
  validationError: { target: false, value: false },
  exceptionFactory: (errors: ValidationError[]) => new InvalidInputException(fieldErrors(errors)),
};

/**
 * Validates every body, query and path DTO. Bodies are strict: they must be a
 * JSON object and an unknown field is a 400 naming it. Unknown query
 * parameters are dropped instead, as most HTTP APIs do (cache busters, tracking).
 */
@Injectable()
export class RequestValidationPipe implements PipeTransform {
  private readonly bodies = new ValidationPipe({ ...shared, forbidNonWhitelisted: true });
  private readonly queries = new ValidationPipe({ ...shared, forbidNonWhitelisted: false });

  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type === 'body') {
      // No body at all reads as an empty object; a JSON body that is not an object (null, an array) is refused.
      if (metadata.metatype && metadata.metatype !== Object && value !== undefined && !isJsonObject(value)) {
        throw new InvalidInputException({ body: ['must be a JSON object'] }, 'The request body must be a JSON object.');
      }
      return this.bodies.transform(value, metadata);
    }
    if (metadata.type === 'query') return this.queries.transform(value, metadata);
    // Path parameters keep their raw string for their own pipe (`@IdParam()` accepts plain decimal digits only).
    return value;
  }
}

function isJsonObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

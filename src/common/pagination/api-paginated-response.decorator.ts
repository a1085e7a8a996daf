import { applyDecorators, type Type } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, getSchemaPath } from '@nestjs/swagger';

/** Documents a paginated list: a bare JSON array, with `X-Total-Count` and `Link` headers. */
export function ApiPaginatedResponse(item: Type<unknown>): MethodDecorator {
  return applyDecorators(
    ApiExtraModels(item),
    ApiOkResponse({
      description: 'One page of results, as a bare JSON array',
      schema: { type: 'array', items: { $ref: getSchemaPath(item) } },
      headers: {
        'X-Total-Count': { description: 'Number of items on all pages', schema: { type: 'integer', example: 120 } },
        Link: {
          description: 'RFC 8288 links to the first, prev, next and last pages',
          schema: {
            type: 'string',
            example:
              '</api/events?page=1&page_size=50>; rel="first", </api/events?page=2&page_size=50>; rel="next", </api/events?page=3&page_size=50>; rel="last"',
          },
        },
      },
    }),
  );
}

import { applyDecorators, type Type } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, getSchemaPath } from '@nestjs/swagger';

export interface PaginatedResponseOptions {
  /** The list is also exported as CSV (with `Accept: text/csv`): an example of that file. */
  csvExample?: string;
}

/**
 * Documents a paginated list: a bare JSON array, with `X-Total-Count` and
 * `Link` headers, and optionally its CSV export (every item, no headers).
 */
export function ApiPaginatedResponse(
  item: Type<unknown>,
  { csvExample }: PaginatedResponseOptions = {},
): MethodDecorator {
  return applyDecorators(
    ApiExtraModels(item),
    ApiOkResponse({
      description: csvExample
        ? 'One page of results as a bare JSON array; with `Accept: text/csv`, all of them as a CSV file'
        : 'One page of results, as a bare JSON array',
      headers: {
        'X-Total-Count': {
          description: 'Number of items on all pages (JSON only)',
          schema: { type: 'integer', example: 120 },
        },
        Link: {
          description: 'RFC 8288 links to the first, prev, next and last pages (JSON only)',
          schema: {
            type: 'string',
            example:
              '</api/events?page=1&page_size=50>; rel="first", </api/events?page=2&page_size=50>; rel="next", </api/events?page=3&page_size=50>; rel="last"',
          },
        },
      },
      content: {
        'application/json': { schema: { type: 'array', items: { $ref: getSchemaPath(item) } } },
        ...(csvExample && { 'text/csv': { schema: { type: 'string' }, example: csvExample } }),
      },
    }),
  );
}

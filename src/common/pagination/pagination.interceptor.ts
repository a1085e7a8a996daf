import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { map, type Observable } from 'rxjs';
import { Paginated } from './paginated.js';

/** RFC 8288 links to the first, previous, next and last pages, keeping every other query parameter. */
export function pageLinks(url: string, page: number, pageSize: number, total: number): string {
  const [path, query = ''] = url.split('?', 2);
  const lastPage = Math.max(1, Math.ceil(total / pageSize));
  const linkTo = (target: number, rel: string) => {
    const params = new URLSearchParams(query);
    params.set('page', String(target));
    params.set('page_size', String(pageSize));
    return `<${path}?${params.toString()}>; rel="${rel}"`;
  };
  const links = [linkTo(1, 'first')];
  if (page > 1) links.push(linkTo(Math.min(page - 1, lastPage), 'prev'));
  if (page < lastPage) links.push(linkTo(page + 1, 'next'));
  links.push(linkTo(lastPage, 'last'));
  return links.join(', ');
}

/**
 * Lists keep the seed's bare JSON array body; the total and the page links
 * travel in `X-Total-Count` and `Link`.
 */
@Injectable()
export class PaginationInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    return next.handle().pipe(
      map((result: unknown) => {
        if (!(result instanceof Paginated)) return result;
        const request = http.getRequest<FastifyRequest>();
        const reply = http.getResponse<FastifyReply>();
        reply.header('X-Total-Count', String(result.total));
        reply.header('Link', pageLinks(request.url, result.page, result.pageSize, result.total));
        return result.items;
      }),
    );
  }
}

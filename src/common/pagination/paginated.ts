/** One page of a list; the pagination interceptor turns it into a bare array plus headers. */
export class Paginated<T> {
  constructor(
    readonly items: T[],
    readonly total: number,
    readonly page: number,
    readonly pageSize: number,
  ) {}
}

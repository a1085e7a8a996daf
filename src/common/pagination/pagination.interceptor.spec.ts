import { describe, expect, it } from 'vitest';
import { pageLinks } from './pagination.interceptor.js';

/** `rel` → the linked URL, parsed, from an RFC 8288 Link header. */
function parseLinks(header: string): Map<string, URL> {
  const links = new Map<string, URL>();
  for (const part of header.split(', ')) {
    const match = /^<([^>]+)>; rel="([a-z]+)"$/.exec(part);
    expect(match, `malformed link ${part}`).not.toBeNull();
    links.set(match![2], new URL(match![1], 'http://api.test'));
  }
  return links;
}

const pageOf = (link: URL | undefined) => Number(link?.searchParams.get('page'));

describe('pageLinks', () => {
  it('links the first, previous, next and last pages', () => {
    const links = parseLinks(pageLinks('/api/events?page=3&page_size=10', 3, 10, 95));
    expect([...links.keys()]).toEqual(['first', 'prev', 'next', 'last']);
    expect(pageOf(links.get('first'))).toBe(1);
    expect(pageOf(links.get('prev'))).toBe(2);
    expect(pageOf(links.get('next'))).toBe(4);
    expect(pageOf(links.get('last'))).toBe(10);
    for (const link of links.values()) {
      expect(link.pathname).toBe('/api/events');
      expect(link.searchParams.get('page_size')).toBe('10');
    }
  });

  it('keeps every other query parameter, encoded', () => {
    const header = pageLinks('/api/events?status=active&search=a%20b%26c&page=2&page_size=5', 2, 5, 20);
    for (const link of parseLinks(header).values()) {
      expect(link.searchParams.get('status')).toBe('active');
      expect(link.searchParams.get('search')).toBe('a b&c');
      expect(link.searchParams.getAll('page')).toHaveLength(1);
      expect(link.searchParams.getAll('page_size')).toHaveLength(1);
    }
  });

  it('adds page and page_size to a URL without a query', () => {
    const links = parseLinks(pageLinks('/api/events', 1, 50, 120));
    expect(links.get('next')?.search).toBe('?page=2&page_size=50');
    expect(pageOf(links.get('last'))).toBe(3);
  });

  it('has no prev link on page 1', () => {
    const links = parseLinks(pageLinks('/api/events?page=1&page_size=10', 1, 10, 30));
    expect(links.has('prev')).toBe(false);
    expect(pageOf(links.get('next'))).toBe(2);
  });

  it('has no next link on the last page', () => {
    const links = parseLinks(pageLinks('/api/events?page=3&page_size=10', 3, 10, 30));
    expect(links.has('next')).toBe(false);
    expect(pageOf(links.get('prev'))).toBe(2);
    expect(pageOf(links.get('last'))).toBe(3);
  });

  it('counts a partly filled last page', () => {
    expect(pageOf(parseLinks(pageLinks('/api/events', 1, 10, 31)).get('last'))).toBe(4);
  });

  it('gives last=1 and neither prev nor next when the list is empty', () => {
    const links = parseLinks(pageLinks('/api/events?page=1&page_size=10', 1, 10, 0));
    expect([...links.keys()]).toEqual(['first', 'last']);
    expect(pageOf(links.get('last'))).toBe(1);
  });

  it('points prev at the last page, and gives no next, for a page past the end', () => {
    const links = parseLinks(pageLinks('/api/events?page=9&page_size=10', 9, 10, 25));
    expect(pageOf(links.get('prev'))).toBe(3);
    expect(links.has('next')).toBe(false);
    expect(pageOf(links.get('last'))).toBe(3);
  });

  it('points prev at page 1 for a page past the end of an empty list', () => {
    const links = parseLinks(pageLinks('/api/events?page=4&page_size=10', 4, 10, 0));
    expect(pageOf(links.get('prev'))).toBe(1);
    expect(links.has('next')).toBe(false);
  });
});

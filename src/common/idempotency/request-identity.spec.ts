import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { InvalidInputException } from '../problems/problem.exceptions.js';
import { canonicalJson, identify, idempotencyKeyOf, open, seal } from './request-identity.js';

function request(overrides: Partial<Record<string, unknown>> = {}): FastifyRequest {
  return {
    method: 'POST',
    url: '/api/events/7/register',
    routeOptions: { url: '/api/events/:id/register' },
    params: { id: '7' },
    body: { name: 'Ada', email: 'ada@example.com' },
    ip: '203.0.113.9',
    headers: {},
    ...overrides,
  } as unknown as FastifyRequest;
}

const alice = { id: 1, username: 'alice', sessionId: 's', tokenId: 't' };

describe('canonicalJson', () => {
  it('sorts the keys of every object, keeps array order and drops whitespace', () => {
    const a = JSON.parse('{"b": [3, {"y": 1, "x": 2}], "a": "1"}');
    const b = JSON.parse('{ "a":"1","b":[3,{"x":2.0,"y":1e0}] }');
    expect(canonicalJson(a)).toBe('{"a":"1","b":[3,{"x":2,"y":1}]}');
    expect(canonicalJson(b)).toBe(canonicalJson(a));
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
  });

  it('tells values of different types apart', () => {
    expect(canonicalJson({ capacity: 10 })).not.toBe(canonicalJson({ capacity: '10' }));
    expect(canonicalJson({ a: null })).not.toBe(canonicalJson({}));
  });
});

describe('idempotencyKeyOf', () => {
  const keyOf = (value: unknown) => idempotencyKeyOf(request({ headers: { 'idempotency-key': value } }));

  it('takes 1 to 255 printable ASCII characters, and nothing when the header is absent', () => {
    expect(idempotencyKeyOf(request())).toBeUndefined();
    expect(keyOf('a')).toBe('a');
    expect(keyOf(' ~'.repeat(127) + '!')).toHaveLength(255);
  });

  it.each([
    ['empty', ''],
    ['too long', 'x'.repeat(256)],
    ['a tab', 'a\tb'],
    ['a control character', 'a\u0001'],
    ['a Latin-1 letter', 'caf\u00e9'],
    ['an array', ['a', 'b']],
  ])('refuses a key that is %s with a 400 naming the header', (_what, value) => {
    expect(() => keyOf(value)).toThrow(InvalidInputException);
    try {
      keyOf(value);
    } catch (error) {
      expect((error as InvalidInputException).errors).toHaveProperty(['Idempotency-Key']);
    }
  });
});

describe('identify', () => {
  it("scopes a user's keys to the user, whatever the route", () => {
    const here = identify(request(), 'k', alice);
    const there = identify(request({ method: 'PATCH', routeOptions: { url: '/api/events/:id' } }), 'k', alice);
    expect(here.scope).toBe('user:1');
    expect(there.keyHash).toBe(here.keyHash);
    expect(there.fingerprint).not.toBe(here.fingerprint);
  });

  it("scopes an anonymous caller's keys to the address, the method and the path", () => {
    const here = identify(request(), 'k', undefined);
    expect(here.scope).toBe('ip:203.0.113.9');
    expect(identify(request({ params: { id: '8' } }), 'k', undefined).keyHash).not.toBe(here.keyHash);
    expect(identify(request({ ip: '203.0.113.10' }), 'k', undefined).scope).not.toBe(here.scope);
    expect(identify(request({ ip: '2001:db8::1' }), 'k', undefined).scope).toBe('ip:2001:db8::/64');
  });

  it('sees the same request in a body with other key order, and another one in another body', () => {
    const first = identify(request(), 'k', undefined);
    const reordered = identify(request({ body: { email: 'ada@example.com', name: 'Ada' } }), 'k', undefined);
    const other = identify(request({ body: { name: 'Ada', email: 'eve@example.com' } }), 'k', undefined);
    expect(reordered.fingerprint).toBe(first.fingerprint);
    expect(other.fingerprint).not.toBe(first.fingerprint);
    expect(identify(request({ body: undefined }), 'k', undefined).fingerprint).not.toBe(
      identify(request({ body: {} }), 'k', undefined).fingerprint,
    );
  });

  it('never keeps the key in what it stores', () => {
    const identity = identify(request(), 'my-secret-key', alice);
    expect(JSON.stringify({ ...identity, sealingKey: undefined })).not.toContain('my-secret-key');
  });
});

describe('seal and open', () => {
  it('opens what it sealed only with the same key', () => {
    const identity = identify(request(), 'k', alice);
    const sealed = seal('{"cancel_token":"secret"}', identity);
    expect(sealed).not.toContain('secret');
    expect(open(sealed, identity)).toBe('{"cancel_token":"secret"}');
    expect(() => open(sealed, identify(request(), 'other', alice))).toThrow();
  });
});

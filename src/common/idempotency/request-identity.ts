import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { AuthenticatedUser } from '../decorators/current-user.decorator.js';
import { InvalidInputException } from '../problems/problem.exceptions.js';
import { clientAddressOf } from '../rate-limit/client-address.js';

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
export const REPLAYED_HEADER = 'Idempotent-Replayed';

/** 1–255 printable ASCII characters (space to tilde). */
const ACCEPTABLE_KEY = /^[\x20-\x7e]{1,255}$/;

/**
 * The key a write request carries, if any. Anything but 1–255 printable ASCII
 * characters is a 400 (Node gives repeated headers as one value, joined by ", ").
 */
export function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const value = request.headers['idempotency-key'];
  if (value === undefined) return undefined;
  if (typeof value === 'string' && ACCEPTABLE_KEY.test(value)) return value;
  throw new InvalidInputException(
    { [IDEMPOTENCY_KEY_HEADER]: ['must be 1 to 255 printable ASCII characters'] },
    'The Idempotency-Key header must be 1 to 255 printable ASCII characters.',
  );
}

/**
 * JSON with every object's keys sorted and no whitespace: two bodies that are
 * equal as JSON (whatever their key order, spacing or number spelling) give
 * the same text. Bodies nest 32 levels at most (json-body.ts), so recursion is safe.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const members = Object.keys(record)
      .sort()
      .map((name) => `${JSON.stringify(name)}:${canonicalJson(record[name])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Who is asking, with which key, for what: everything the store needs, and nothing of the key itself. */
export interface RequestIdentity {
  /** `user:<id>`, or `ip:<address>` for an anonymous caller. */
  scope: string;
  /** Hash of the key (for an anonymous caller, of the method and path too). */
  keyHash: string;
  /** Hash of the method, path and canonical body: what "the same request" means. */
  fingerprint: string;
  /** Derived from the key, never stored: seals and opens the stored answer. */
  sealingKey: Buffer;
}

/**
 * A user's keys are theirs whatever the route; an anonymous caller's are
 * shared by everyone behind the same address, so they are also told apart by
 * method and path. The route is the router's template with its parameters,
 * so a trailing slash or a percent-encoded digit does not make a request new,
 * and a route's /api/v1/… twin is the same route.
 */
export function identify(request: FastifyRequest, key: string, caller: AuthenticatedUser | undefined): RequestIdentity {
  const route = (request.routeOptions.url ?? request.url.split('?')[0]).replace(/^\/api\/v1(?=\/)/, '/api');
  const target = `${request.method} ${route} ${canonicalJson(request.params ?? {})}`;
  const scope = caller ? `user:${caller.id}` : `ip:${clientAddressOf(request)}`;
  const material = `${scope}\n${caller ? '' : target}\n${key}`;
  const body = request.body === undefined ? '' : canonicalJson(request.body);
  return {
    scope,
    keyHash: sha256(material),
    fingerprint: sha256(`${target}\n${body}`),
    sealingKey: Buffer.from(hkdfSync('sha256', material, '', 'idempotent-response', 32)),
  };
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** AES-256-GCM, bound to the key's hash: base64 of IV, tag and ciphertext. */
export function seal(text: string, identity: RequestIdentity): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', identity.sealingKey, iv);
  cipher.setAAD(Buffer.from(identity.keyHash));
  const sealed = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64');
}

export function open(sealed: string, identity: RequestIdentity): string {
  const bytes = Buffer.from(sealed, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', identity.sealingKey, bytes.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(identity.keyHash));
  decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
}

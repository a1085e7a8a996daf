import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new cancel token: 256 random bits, URL-safe. Only its hash is stored. */
export function newCancelToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashCancelToken(token) };
}

export function hashCancelToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Compares a presented token with a stored hash in constant time. */
export function cancelTokenMatches(presented: string, storedHash: string): boolean {
  const presentedHash = Buffer.from(hashCancelToken(presented), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return stored.length === presentedHash.length && timingSafeEqual(presentedHash, stored);
}

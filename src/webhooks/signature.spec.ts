import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { newWebhookSecret, signatureHeader, verifySignature } from './signature.js';

describe('webhook signatures', () => {
  const secret = 'whsec_test-secret';
  const body = '{"id":"x","type":"event.updated","created_at":"2025-01-01T00:00:00.000Z","data":{}}';

  it('is t=<seconds>,v1=<hex HMAC-SHA256 of "t.body">, keyed with the whole secret', () => {
    const expected = createHmac('sha256', secret).update(`1735689600.${body}`).digest('hex');
    expect(signatureHeader(secret, body, 1735689600)).toBe(`t=1735689600,v1=${expected}`);
  });

  it('verifies its own signature within the tolerance, and nothing else', () => {
    const now = 1735689600_000;
    const header = signatureHeader(secret, body, 1735689600);
    expect(verifySignature(secret, body, header, 300, now)).toBe(true);
    expect(verifySignature(secret, `${body} `, header, 300, now)).toBe(false);
    expect(verifySignature('whsec_other', body, header, 300, now)).toBe(false);
    expect(verifySignature(secret, body, header, 300, now + 301_000)).toBe(false);
    expect(verifySignature(secret, body, header.replace('t=1735689600', 't=1735689601'), 300, now)).toBe(false);
    expect(verifySignature(secret, body, 'v1=abc', 300, now)).toBe(false);
  });

  it('makes 256-bit secrets with a recognisable prefix, never twice the same', () => {
    const a = newWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(newWebhookSecret()).not.toBe(a);
  });
});

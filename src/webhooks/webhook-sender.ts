import { lookup as dnsLookup } from 'node:dns';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { ipLiteral, isPublicAddress, RefusedAddressError } from './address-policy.js';

export const WEBHOOK_USER_AGENT = 'event-api-webhooks/1.0';

/** API.md: a 2xx within 10 s is delivered. */
export const WEBHOOK_TIMEOUT_MS = 10_000;

export interface WebhookRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
  allowPrivateAddresses: boolean;
  timeoutMs?: number;
  /** Aborts the attempt (the process is shutting down). */
  signal?: AbortSignal;
}

/** An attempt's outcome: the receiver's status, or why there was none. */
export interface WebhookResponse {
  statusCode: number | null;
  error: string | null;
}

/**
 * Resolves a host name the way connections do, and refuses the connection
 * (before it is made) when any address is not public. Node connects to an
 * address this function returned, so what was checked is what is dialled:
 * a DNS answer that changes between a check and the connection (rebinding)
 * has no window to slip through.
 */
export function guardedLookup(allowPrivateAddresses: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      if (!allowPrivateAddresses && (addresses.length === 0 || addresses.some((a) => !isPublicAddress(a.address)))) {
        return callback(new RefusedAddressError(), '', 0);
      }
      if (options.all) return (callback as (e: null, all: typeof addresses) => void)(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

/** A short, log-safe description of why an attempt got no answer. */
function describe(error: Error & { code?: string }): string {
  if (error instanceof RefusedAddressError) return `refused: ${error.message}`;
  return (error.code ? `${error.code}: ${error.message}` : error.message).slice(0, 255);
}

/**
 * One POST to a webhook endpoint. Redirects are not followed (a 3xx is a
 * failure like any other non-2xx); the answer's body is read and dropped.
 * Never throws: the outcome is the status code, or the error.
 */
export function sendWebhook(request: WebhookRequest): Promise<WebhookResponse> {
  const url = new URL(request.url);
  const literal = ipLiteral(url.hostname);
  if (literal !== undefined && !request.allowPrivateAddresses && !isPublicAddress(literal)) {
    return Promise.resolve({ statusCode: null, error: `refused: ${new RefusedAddressError().message}` });
  }
  const timeoutMs = request.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: WebhookResponse) => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    const client = url.protocol === 'https:' ? https : http;
    const req = client.request(url, {
      method: 'POST',
      headers: { ...request.headers, 'Content-Length': String(Buffer.byteLength(request.body)) },
      lookup: guardedLookup(request.allowPrivateAddresses),
      // A connection of its own, closed after the answer: never one kept alive to an address checked earlier.
      agent: false,
      signal: request.signal,
    });
    const deadline = setTimeout(
      () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })),
      timeoutMs,
    );
    req.on('response', (res: IncomingMessage) => {
      settle({ statusCode: res.statusCode ?? null, error: null });
      res.on('error', () => undefined);
      res.resume();
    });
    req.on('error', (error) => settle({ statusCode: null, error: describe(error) }));
    req.on('close', () => {
      clearTimeout(deadline);
      settle({ statusCode: null, error: 'the connection closed without an answer' });
    });
    req.end(request.body);
  });
}

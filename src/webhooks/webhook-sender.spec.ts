import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retryDelayMs } from './webhook-dispatcher.js';
import { sendWebhook } from './webhook-sender.js';

describe('sendWebhook', () => {
  let server: http.Server;
  let port: number;
  const received: { headers: http.IncomingHttpHeaders; body: string }[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
        if (req.url === '/hang') return;
        if (req.url === '/redirect') {
          res.writeHead(302, { Location: '/ok' }).end();
          return;
        }
        res.writeHead(req.url === '/gone' ? 410 : 204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const send = (path: string, options: { host?: string; allow?: boolean; timeoutMs?: number } = {}) =>
    sendWebhook({
      url: `http://${options.host ?? '127.0.0.1'}:${port}${path}`,
      body: '{"a":1}',
      headers: { 'Content-Type': 'application/json', 'X-Webhook-Id': 'abc' },
      allowPrivateAddresses: options.allow ?? true,
      timeoutMs: options.timeoutMs,
    });

  it('POSTs the body with its headers and returns the status', async () => {
    await expect(send('/ok')).resolves.toEqual({ statusCode: 204, error: null });
    const last = received.at(-1)!;
    expect(last.body).toBe('{"a":1}');
    expect(last.headers['x-webhook-id']).toBe('abc');
    expect(last.headers['content-length']).toBe('7');
  });

  it('does not follow a redirect', async () => {
    await expect(send('/redirect')).resolves.toEqual({ statusCode: 302, error: null });
  });

  it('gives up on a receiver that does not answer in time', async () => {
    const outcome = await send('/hang', { timeoutMs: 200 });
    expect(outcome.statusCode).toBeNull();
    expect(outcome.error).toMatch(/no answer within 0.2 s/);
  });

  it('reports a refused connection as an error, not a status', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const outcome = await sendWebhook({
      url: `http://127.0.0.1:${closedPort}/`,
      body: '{}',
      headers: {},
      allowPrivateAddresses: true,
    });
    expect(outcome).toMatchObject({ statusCode: null, error: expect.stringMatching(/ECONNREFUSED/) });
  });

  it.each(['127.0.0.1', 'localhost', '[::ffff:127.0.0.1]'])(
    'refuses %s without connecting when private addresses are not allowed',
    async (host) => {
      const before = received.length;
      const outcome = await send('/ok', { host, allow: false });
      expect(outcome).toEqual({ statusCode: null, error: expect.stringMatching(/^refused: .*non-public address/) });
      expect(received.length).toBe(before);
    },
  );
});

describe('retryDelayMs', () => {
  it('doubles from the base, within ±20 %', () => {
    expect(retryDelayMs(1, 1000, 0.5)).toBe(1000);
    expect(retryDelayMs(2, 1000, 0.5)).toBe(2000);
    expect(retryDelayMs(5, 1000, 0.5)).toBe(16_000);
    expect(retryDelayMs(3, 1000, 0)).toBe(3200);
    expect(retryDelayMs(3, 1000, 1)).toBe(4800);
  });

  it('waits an hour at most (plus jitter), however many attempts failed', () => {
    expect(retryDelayMs(40, 10_000, 0.5)).toBe(3_600_000);
    expect(retryDelayMs(1000, 10_000, 1)).toBe(4_320_000);
  });
});

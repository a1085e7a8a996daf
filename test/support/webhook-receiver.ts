import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** One request a webhook receiver got, and what it answered. */
export interface ReceivedWebhook {
  path: string;
  id: string;
  type: string;
  headers: http.IncomingHttpHeaders;
  /** The raw body, as signed. */
  body: string;
  parsed: { id: string; type: string; created_at: string; data: Record<string, unknown> };
  /** 1 for the first request with this id on this path, 2 for the next… */
  attempt: number;
  status: number;
}

/** How a path answers: a status, after an optional delay. */
export type Behaviour = (webhook: Omit<ReceivedWebhook, 'status'>) => { status: number; delayMs?: number };

/**
 * A real HTTP receiver on a free port of 127.0.0.1. Each path has its own
 * behaviour (200 by default). It records every request, and counts the
 * requests for one delivery id that overlapped in time (a delivery sent by two
 * senders at once).
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  /** Requests that arrived while another one with the same id (on the same path) was still being answered. */
  overlapping = 0;
  private readonly behaviours = new Map<string, Behaviour>();
  private readonly inFlight = new Map<string, number>();
  private readonly attempts = new Map<string, number>();
  private server?: http.Server;
  private port = 0;

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => void this.answer(req, res, Buffer.concat(chunks).toString('utf8')));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  url(path: string, host = '127.0.0.1'): string {
    return `http://${host}:${this.port}${path}`;
  }

  on(path: string, behaviour: Behaviour): void {
    this.behaviours.set(path, behaviour);
  }

  at(path: string): ReceivedWebhook[] {
    return this.received.filter((webhook) => webhook.path === path);
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server!.close(resolve));
  }

  private async answer(req: http.IncomingMessage, res: http.ServerResponse, body: string): Promise<void> {
    const path = req.url ?? '/';
    let parsed: ReceivedWebhook['parsed'];
    try {
      parsed = JSON.parse(body) as ReceivedWebhook['parsed'];
    } catch {
      res.writeHead(400).end();
      return;
    }
    const key = `${path} ${parsed.id}`;
    if ((this.inFlight.get(key) ?? 0) > 0) this.overlapping++;
    this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
    const attempt = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, attempt);
    const webhook = { path, id: parsed.id, type: parsed.type, headers: req.headers, body, parsed, attempt };
    const behaviour: Behaviour = this.behaviours.get(path) ?? (() => ({ status: 200 }));
    const { status, delayMs } = behaviour(webhook);
    if (delayMs) await sleep(delayMs);
    this.received.push({ ...webhook, status });
    this.inFlight.set(key, this.inFlight.get(key)! - 1);
    res.writeHead(status, { 'Content-Type': 'text/plain' }).end('ok');
  }
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs` with `what`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * Helpers for the multi-process race suite: build the app, run it as real
 * `node dist/src/main.js` processes, and talk to them over a keep-alive agent
 * with enough sockets that hundreds of requests are in flight at once.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OUTPUT_TAIL = 200_000;

/** `npm run build`, failing with the compiler's output. */
export async function buildApp(timeoutMs = 240_000): Promise<void> {
  try {
    await promisify(execFile)('npm', ['run', 'build'], { cwd: ROOT, timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 });
  } catch (error) {
    const { stdout = '', stderr = '', message } = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`npm run build failed: ${message}\n${stdout}\n${stderr}`);
  }
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('no port'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

export interface AppProcess {
  name: string;
  baseUrl: string;
  child: ChildProcess;
  /** What the process wrote to stdout and stderr (the last part of it). */
  output: () => string;
  exited: Promise<void>;
}

/** Starts `node dist/src/main.js` with this environment on top of the test process's (secrets not inherited). */
export function startAppProcess(name: string, port: number, env: Record<string, string>): AppProcess {
  let output = '';
  const dataDir = mkdtempSync(join(tmpdir(), `event-api-${name}-`));
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !/^(DATABASE_URL|JWT_|NODE_ENV|LOG_LEVEL|PORT|HOST|DATA_DIR|VITEST)/.test(key),
    ),
  );
  const child = spawn(process.execPath, ['dist/src/main.js'], {
    cwd: ROOT,
    // Webhooks are sent only by the processes that ask for it (on MySQL, every suite shares one database).
    env: { ...inherited, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, WEBHOOK_WORKER: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  // If the test process itself goes away, do not leave the app behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      append(Buffer.from(`\n[${name} exited: code ${code}, signal ${signal}]\n`));
      process.off('exit', killOnExit);
      rmSync(dataDir, { recursive: true, force: true });
      resolve();
    });
    child.once('error', (error) => {
      append(Buffer.from(`\n[${name} failed to start: ${error.message}]\n`));
      process.off('exit', killOnExit);
      resolve();
    });
  });
  return { name, baseUrl: `http://127.0.0.1:${port}`, child, output: () => output, exited };
}

/** Polls /api/health until it answers 200; fails with the process output if it never does or the process dies. */
export async function waitUntilHealthy(app: AppProcess, client: HttpClient, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  let dead = false;
  void app.exited.then(() => {
    dead = true;
  });
  while (Date.now() < deadline && !dead) {
    try {
      const res = await client.request(app.baseUrl, 'GET', '/api/health', { timeoutMs: 2_000 });
      if (res.status === 200) return;
      last = `${res.status} ${res.text}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(200);
  }
  throw new Error(
    `${app.name} did not become healthy within ${timeoutMs} ms (${dead ? 'it exited' : `last: ${last}`}).\n` +
      `--- ${app.name} output ---\n${app.output()}`,
  );
}

/**
 * Starts an app process and waits until it is healthy. Another test run's
 * global setup may be rebuilding dist/ at that moment (nest build deletes it
 * first): a start that failed for a missing module is tried again.
 */
export async function startHealthy(name: string, env: Record<string, string>, client: HttpClient): Promise<AppProcess> {
  for (let attempt = 1; ; attempt++) {
    const app = startAppProcess(name, await freePort(), env);
    try {
      await waitUntilHealthy(app, client);
      return app;
    } catch (error) {
      await stopAppProcess(app);
      if (attempt >= 5 || !/Cannot find module|ERR_MODULE_NOT_FOUND/.test(app.output())) throw error;
      await sleep(3_000);
    }
  }
}

/** SIGTERM, then SIGKILL if it has not exited by the deadline. Never throws, never hangs. */
export async function stopAppProcess(app: AppProcess | undefined, graceMs = 5_000): Promise<void> {
  if (!app) return;
  const { child } = app;
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
    await Promise.race([app.exited, sleep(1_000)]);
    return;
  }
  child.kill('SIGTERM');
  const stopped = await Promise.race([app.exited.then(() => true), sleep(graceMs).then(() => false)]);
  if (!stopped) {
    child.kill('SIGKILL');
    await Promise.race([app.exited, sleep(graceMs)]);
  }
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The parsed JSON body, or undefined when the body is not JSON. */
  body: unknown;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: unknown;
  timeoutMs?: number;
}

/** A small HTTP/1.1 client over one keep-alive agent with many sockets, so requests truly run in parallel. */
export class HttpClient {
  readonly agent: http.Agent;

  constructor(maxSockets = 512) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  request(baseUrl: string, method: string, path: string, options: RequestOptions = {}): Promise<HttpResponse> {
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    return new Promise((resolve, reject) => {
      const req = http.request(new URL(path, baseUrl), { method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
        });
      });
      req.setTimeout(options.timeoutMs ?? 60_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

// npm run bench — builds the app, starts it in production mode on the configured
// database (SQLite in a scratch folder by default; DATABASE_URL=mysql://… or
// mariadb://… for a MySQL/MariaDB scratch database), seeds it, drives each
// scenario with autocannon and reports requests/s, p50/p99 latency, errors and
// the peak memory (summed RSS and PSS) of every server process together.
//
// Environment: DATABASE_URL, WEB_CONCURRENCY, DURATION (seconds, default 10),
// CONNECTIONS (default 64), SCENARIOS (comma-separated, default all),
// BENCH_OUT (folder for results, default bench/results), SKIP_BUILD=1.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const root = fileURLToPath(new URL('..', import.meta.url));
const duration = Number(process.env.DURATION ?? 10);
const connections = Number(process.env.CONNECTIONS ?? 64);
const outDir = process.env.BENCH_OUT ?? join(root, 'bench', 'results');
const port = Number(process.env.BENCH_PORT ?? 3900);
const base = `http://127.0.0.1:${port}`;
const ALL = ['list', 'detail', 'capacity', 'register', 'create', 'login'];
const scenarios = (process.env.SCENARIOS ?? ALL.join(',')).split(',').filter(Boolean);

const scratch = mkdtempSync(join(tmpdir(), 'event-api-bench-'));
const databaseUrl = process.env.DATABASE_URL ?? `sqlite:${join(scratch, 'bench.sqlite')}`;
const database = databaseUrl.split(':', 1)[0];

if (!process.env.SKIP_BUILD) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });

const server = spawn(process.execPath, ['dist/src/main.js'], {
  cwd: root,
  stdio: ['ignore', 'inherit', 'inherit'],
  env: {
    ...process.env,
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    DATA_DIR: scratch,
    JWT_SECRET: randomBytes(32).toString('hex'),
    JWT_ACCESS_TTL: '1h',
    LOG_LEVEL: 'warn',
    RATE_LIMIT: 'off',
  },
});

/**
 * Memory of the server, its process and every descendant (the cluster workers), in MiB: the sum of
 * their RSS, which counts the pages they share (Node's own code) once per process, and the sum of
 * their PSS, which divides each shared page among the processes sharing it.
 */
function serverMemoryMiB() {
  const children = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // The process ended while we looked.
    }
  }
  let rssKib = 0;
  let pssKib = 0;
  const visit = (pid) => {
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      rssKib += Number(/^Rss:\s+(\d+)/m.exec(rollup)[1]);
      pssKib += Number(/^Pss:\s+(\d+)/m.exec(rollup)[1]);
    } catch {
      return;
    }
    for (const child of children.get(pid) ?? []) visit(child);
  };
  visit(server.pid);
  return { rss: Math.round(rssKib / 1024), pss: Math.round(pssKib / 1024) };
}

async function call(method, path, body, token) {
  const response = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
    body: body && JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${method} ${path} -> ${response.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

async function waitForHealth() {
  for (let i = 0; i < 120; i++) {
    if (server.exitCode !== null) throw new Error(`the server exited with code ${server.exitCode}`);
    try {
      if ((await fetch(`${base}/api/health`)).ok) return;
    } catch {
      // Not listening yet.
    }
    await sleep(250);
  }
  throw new Error('the server did not become healthy within 30 s');
}

/** A user, 50 events (the first with a million seats) and a token, through the API itself. */
async function seed() {
  const username = `bench_${randomBytes(4).toString('hex')}`;
  const password = 'bench password 1';
  await call('POST', '/api/register/', { username, password, email: `${username}@bench.test` });
  const { access } = await call('POST', '/api/login/', { username, password });
  const when = new Date(Date.now() + 365 * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z');
  let bigEventId;
  for (let i = 0; i < 50; i++) {
    const event = await call(
      'POST',
      '/api/events/',
      {
        title: `Bench event ${i}`,
        description: 'A benchmark event with a description of ordinary length, two sentences long. Nothing more.',
        date_time: when,
        location: 'Main Hall, Springfield',
        status: 'active',
        capacity: i === 0 ? 1_000_000 : 100,
      },
      access,
    );
    bigEventId ??= event.id;
  }
  return { username, password, access, bigEventId };
}

function scenarioOptions(name, seeded) {
  const json = { 'content-type': 'application/json' };
  const run = Date.now().toString(36);
  switch (name) {
    case 'list':
      return { path: '/api/events/' };
    case 'detail':
      return { path: `/api/events/${seeded.bigEventId}/` };
    case 'capacity':
      return { path: `/api/events/${seeded.bigEventId}/capacity` };
    case 'register': {
      let n = 0;
      const path = `/api/events/${seeded.bigEventId}/register`;
      return {
        path,
        // A unique email on every request; autocannon rebuilds the request before each send.
        requests: [
          {
            method: 'POST',
            path,
            headers: json,
            setupRequest: (request) => ({
              ...request,
              body: JSON.stringify({ name: 'Bench Person', email: `p${run}-${n++}@bench.test` }),
            }),
          },
        ],
      };
    }
    case 'create':
      return {
        method: 'POST',
        path: '/api/events/',
        headers: { ...json, authorization: `Bearer ${seeded.access}` },
        body: JSON.stringify({
          title: 'Created by bench',
          description: 'x',
          date_time: '2030-01-01T10:00:00Z',
          location: 'Hall',
          status: 'active',
          capacity: 100,
        }),
      };
    case 'login':
      return {
        method: 'POST',
        path: '/api/login/',
        headers: json,
        body: JSON.stringify({ username: seeded.username, password: seeded.password }),
      };
    default:
      throw new Error(`unknown scenario ${name}; known: ${ALL.join(', ')}`);
  }
}

async function runScenario(name, seeded) {
  const { path, ...options } = scenarioOptions(name, seeded);
  // A short warm-up, so JIT compilation and pool connections are not measured.
  await autocannon({ url: base + path, connections: 8, duration: 2, ...options });
  const peak = serverMemoryMiB();
  const sampler = setInterval(() => {
    const now = serverMemoryMiB();
    peak.rss = Math.max(peak.rss, now.rss);
    peak.pss = Math.max(peak.pss, now.pss);
  }, 250);
  const result = await autocannon({ url: base + path, connections, duration, ...options });
  clearInterval(sampler);
  return {
    scenario: name,
    requests_per_s: Math.round(result.requests.average),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    requests: result.requests.total,
    non_2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    peak_rss_mib: peak.rss,
    peak_pss_mib: peak.pss,
  };
}

function markdown(results, meta) {
  const lines = [
    `${meta.database}, ${meta.workers} worker(s), ${meta.connections} connections, ${meta.duration} s per scenario; ${meta.machine}`,
    '',
    '| scenario | requests/s | p50 ms | p99 ms | non-2xx | errors | peak RSS MiB (sum) | peak PSS MiB (sum) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...results.map(
      (r) =>
        `| ${r.scenario} | ${r.requests_per_s} | ${r.p50_ms} | ${r.p99_ms} | ${r.non_2xx} | ${r.errors} | ${r.peak_rss_mib} | ${r.peak_pss_mib} |`,
    ),
  ];
  return lines.join('\n');
}

let exitCode = 0;
try {
  await waitForHealth();
  const seeded = await seed();
  const results = [];
  for (const name of scenarios) {
    const result = await runScenario(name, seeded);
    results.push(result);
    console.log(`RESULT ${JSON.stringify(result)}`);
  }
  const capacity = await call('GET', `/api/events/${seeded.bigEventId}/capacity`);
  const meta = {
    date: new Date().toISOString(),
    database,
    workers: process.env.WEB_CONCURRENCY ?? (database === 'sqlite' ? '1' : `${cpus().length} (one per CPU)`),
    connections,
    duration,
    machine: `${cpus().length} × ${cpus()[0].model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    overbooked: capacity.attendees_count > capacity.capacity,
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `bench-${database}.json`), JSON.stringify({ meta, results }, null, 2));
  const table = markdown(results, meta);
  writeFileSync(join(outDir, `bench-${database}.md`), `${table}\n`);
  console.log(`\n${table}\n\nOverbooked: ${meta.overbooked ? 'YES' : 'no'}. Written to ${outDir}.`);
  if (meta.overbooked) exitCode = 1;
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  server.kill('SIGTERM');
  await Promise.race([new Promise((resolve) => server.once('exit', resolve)), sleep(10_000)]);
  if (server.exitCode === null) server.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
}
process.exit(exitCode);

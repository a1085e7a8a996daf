// npm run bench:scale — with DATABASE_URL=mysql://… or mariadb://… (a scratch
// database): migrates it, fills it with 100,000 events and 1,000,000
// registrations by bulk SQL if it holds fewer, starts the app in production
// mode, measures p99 latency at 16 connections for list pages 1 and 1,000
// (plain, filtered, ordered), detail, capacity and waitlist page 1, and
// prints the EXPLAIN of every list filter and ordering. EXPLAIN_ONLY=1 seeds
// (if needed) and prints the plans without starting the app or measuring.
//
// Environment: DATABASE_URL (required), DURATION (seconds per URL, default 5),
// CONNECTIONS (default 16), BENCH_OUT, SKIP_BUILD=1, EXPLAIN_ONLY=1.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import mysql from 'mysql2/promise';
import { plainToInstance } from 'class-transformer';

const root = fileURLToPath(new URL('..', import.meta.url));
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl || !/^(mysql|mariadb):/.test(databaseUrl)) {
  console.error('Set DATABASE_URL=mysql://… or mariadb://… to a scratch database.');
  process.exit(2);
}
const explainOnly = Boolean(process.env.EXPLAIN_ONLY);
const duration = Number(process.env.DURATION ?? 5);
const connections = Number(process.env.CONNECTIONS ?? 16);
const outDir = process.env.BENCH_OUT ?? join(root, 'bench', 'results');
const port = Number(process.env.BENCH_PORT ?? 3901);
const base = `http://127.0.0.1:${port}`;
const EVENTS = 100_000;
const REGISTRATIONS = 1_000_000;
/** One event carries a long waitlist; the rest of the registrations are spread over the others. */
const BIG_EVENT_REGISTRATIONS = 200_000;

const scratch = mkdtempSync(join(tmpdir(), 'event-api-scale-'));
const appEnv = {
  ...process.env,
  NODE_ENV: 'production',
  PORT: String(port),
  HOST: '127.0.0.1',
  DATA_DIR: scratch,
  JWT_SECRET: randomBytes(32).toString('hex'),
  JWT_ACCESS_TTL: '1h',
  LOG_LEVEL: 'warn',
  RATE_LIMIT: 'off',
};

if (!process.env.SKIP_BUILD) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
await import(join(root, 'node_modules/reflect-metadata/Reflect.js'));
const { eventCountSql, eventListSql, eventPageIdsSql } = await import(
  join(root, 'dist/src/events/event-list.query.js')
);
const { ListEventsQueryDto } = await import(join(root, 'dist/src/events/dto/list-events-query.dto.js'));
execFileSync('npx', ['typeorm', '-d', 'dist/ormconfig.js', 'migration:run'], {
  cwd: root,
  env: appEnv,
  stdio: 'ignore',
});

const url = new URL(databaseUrl.replace(/^mariadb:/, 'mysql:'));
const db = await mysql.createConnection({
  host: url.hostname,
  port: Number(url.port || 3306),
  user: decodeURIComponent(url.username),
  password: decodeURIComponent(url.password),
  database: url.pathname.slice(1),
  timezone: 'Z',
});

const CITIES = ['New York', 'Lisbon', 'Nairobi', 'Osaka', 'Lima', 'Berlin', 'Sydney', 'Toronto', 'Cairo', 'Seoul'];
const WORDS = ['Conference', 'Meetup', 'Workshop', 'Concert', 'Festival', 'Seminar', 'Hackathon', 'Exhibition'];
const sqlDate = (ms) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

async function bulkInsert(table, columns, rows) {
  for (let i = 0; i < rows.length; i += 2_000) {
    const chunk = rows.slice(i, i + 2_000);
    await db.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ?`, [chunk]);
  }
}

/** Fills the database by bulk SQL (the API would take hours); counters match the rows. */
async function seed() {
  const [[{ events }]] = await db.query('SELECT COUNT(*) AS events FROM events');
  if (events >= EVENTS) return;
  console.log(`Seeding ${EVENTS} events and ${REGISTRATIONS} registrations…`);
  const now = Date.now();
  const tag = randomBytes(3).toString('hex');
  await bulkInsert(
    'users',
    ['username', 'username_normalized', 'email', 'password_hash', 'date_joined'],
    Array.from({ length: 1_000 }, (_, i) => [
      `org${i}_${tag}`,
      `org${i}_${tag}`,
      `org${i}_${tag}@scale.test`,
      'x',
      sqlDate(now),
    ]),
  );
  const [[{ firstUser }]] = await db.query('SELECT MIN(id) AS firstUser FROM users WHERE username LIKE ?', [
    `org%_${tag}`,
  ]);
  const statuses = [
    'active',
    'active',
    'active',
    'active',
    'active',
    'active',
    'active',
    'completed',
    'cancelled',
    'draft',
  ];
  const eventRows = Array.from({ length: EVENTS }, (_, i) => {
    const when = now + ((i % 1_460) - 730) * 86_400_000 + (i % 24) * 3_600_000;
    return [
      `${WORDS[i % WORDS.length]} ${i} ${CITIES[(i * 7) % CITIES.length]}`,
      'An event of the scale test, with a description of ordinary length.',
      sqlDate(Math.floor(when / 1000) * 1000),
      CITIES[i % CITIES.length],
      statuses[i % statuses.length],
      i === 0 ? 100 : 10 + (i % 100),
      0,
      0,
      firstUser + (i % 1_000),
      sqlDate(now - (EVENTS - i) * 1_000),
      sqlDate(now - (EVENTS - i) * 1_000),
    ];
  });
  eventRows[0][4] = 'active';
  eventRows[0][2] = sqlDate(now + 365 * 86_400_000);
  await bulkInsert(
    'events',
    [
      'title',
      'description',
      'date_time',
      'location',
      'status',
      'capacity',
      'attendees_count',
      'waitlist_count',
      'organizer_id',
      'created_at',
      'updated_at',
    ],
    eventRows,
  );
  const [[{ firstEvent }]] = await db.query('SELECT MIN(id) AS firstEvent FROM events WHERE title = ?', [
    eventRows[0][0],
  ]);
  const capacityOf = (index) => eventRows[index][5];
  const taken = new Map();
  const batch = [];
  const flush = () =>
    bulkInsert(
      'registrations',
      ['event_id', 'name', 'email', 'status', 'cancel_token_hash', 'created_at'],
      batch.splice(0),
    );
  for (let r = 0; r < REGISTRATIONS; r++) {
    const index = r < BIG_EVENT_REGISTRATIONS ? 0 : 1 + (r % (EVENTS - 1));
    const seat = taken.get(index) ?? 0;
    taken.set(index, seat + 1);
    const status = seat < capacityOf(index) ? 'confirmed' : 'waitlisted';
    batch.push([
      firstEvent + index,
      `Person ${r}`,
      `p${r}_${tag}@scale.test`,
      status,
      'x'.repeat(64),
      sqlDate(now - (REGISTRATIONS - r)),
    ]);
    if (batch.length === 20_000) await flush();
  }
  await flush();
  await db.query(
    `UPDATE events e JOIN (SELECT event_id, SUM(status = 'confirmed') AS confirmed, SUM(status = 'waitlisted') AS waiting
       FROM registrations GROUP BY event_id) r ON r.event_id = e.id
     SET e.attendees_count = r.confirmed, e.waitlist_count = r.waiting`,
  );
  await db.query('ANALYZE TABLE events, registrations, users');
}

await seed();
const [[big]] = await db.query(
  'SELECT e.id, u.username FROM events e JOIN users u ON u.id = e.organizer_id ORDER BY e.waitlist_count DESC LIMIT 1',
);
const [[{ organizer }]] = await db.query(
  'SELECT username AS organizer FROM users WHERE id = (SELECT organizer_id FROM events WHERE id = ?)',
  [big.id + 1],
);

const server = explainOnly
  ? undefined
  : spawn(process.execPath, ['dist/src/main.js'], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: appEnv,
    });

async function call(method, path, body, token) {
  const response = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
    body: body && JSON.stringify(body),
  });
  if (response.status >= 300) throw new Error(`${method} ${path} -> ${response.status} ${await response.text()}`);
  return response.json();
}

const [[{ lastUpdate }]] = await db.query('SELECT MAX(updated_at) AS lastUpdate FROM events');
const lastHour = new Date(lastUpdate.getTime() - 3_600_000).toISOString();

const LIST_FILTERS = {
  plain: '',
  'status=completed': '&status=completed',
  'from/to': '&from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z',
  'upcoming=true': '&upcoming=true',
  'search=festival': '&search=festival',
  [`organizer`]: `&organizer=${organizer}`,
  'ordering=-created_at': '&ordering=-created_at',
  'ordering=title': '&ordering=title',
  // Sync clients: what changed in the last hour of the data, oldest change first (and in the default order).
  'updated_since (last hour), ordering=updated_at': `&updated_since=${lastHour}&ordering=updated_at`,
  'updated_since (last hour)': `&updated_since=${lastHour}`,
  'ordering=-updated_at': '&ordering=-updated_at',
};

let exitCode = 0;
try {
  for (let i = 0; !explainOnly; i++) {
    try {
      if ((await fetch(`${base}/api/health`)).ok) break;
    } catch {
      // Not listening yet.
    }
    if (i > 120) throw new Error('the server did not become healthy');
    await sleep(250);
  }
  const targets = [];
  for (const [name, query] of Object.entries(LIST_FILTERS)) {
    targets.push([`list ${name}, page 1`, `/api/events/?page=1${query}`]);
    targets.push([`list ${name}, page 1000`, `/api/events/?page=1000${query}`]);
  }
  targets.push(['detail', `/api/events/${big.id}/`], ['capacity', `/api/events/${big.id}/capacity`]);
  if (!explainOnly) {
    const username = `scale_${randomBytes(4).toString('hex')}`;
    await call('POST', '/api/register/', { username, password: 'scale password 1', email: `${username}@scale.test` });
    const { access } = await call('POST', '/api/login/', { username, password: 'scale password 1' });
    targets.push(['waitlist page 1', `/api/events/${big.id}/waitlist?page=1`, { authorization: `Bearer ${access}` }]);
  }

  const results = [];
  for (const [name, path, headers] of explainOnly ? [] : targets) {
    await autocannon({ url: base + path, connections: 4, duration: 1, headers });
    const r = await autocannon({ url: base + path, connections, duration, headers });
    results.push({
      name,
      path,
      rps: Math.round(r.requests.average),
      p50_ms: r.latency.p50,
      p99_ms: r.latency.p99,
      non_2xx: r.non2xx,
      errors: r.errors,
    });
    console.log(`SCALE ${JSON.stringify(results.at(-1))}`);
  }

  const explains = [];
  const [{ Value: version }] = (await db.query("SHOW VARIABLES LIKE 'version'"))[0];
  for (const [name, query] of Object.entries(LIST_FILTERS)) {
    // The exact SQL the app sends, from its compiled list query builder.
    const dto = plainToInstance(ListEventsQueryDto, Object.fromEntries(new URLSearchParams(query.slice(1))));
    const list = eventListSql(dto, undefined);
    const text = eventPageIdsSql(list, true);
    for (const [page, offset] of [
      [1, 0],
      [1000, 49_950],
    ]) {
      const [plan] = await db.query(`EXPLAIN ${text}`, [...list.params, 50, offset]);
      explains.push({ name: `${name}, page ${page}`, sql: text, plan });
    }
    const count = eventCountSql(list);
    const [plan] = await db.query(`EXPLAIN ${count}`, list.params);
    explains.push({ name: `${name}, count`, sql: count, plan });
  }

  const md = [
    `${EVENTS.toLocaleString('en')} events, ${REGISTRATIONS.toLocaleString('en')} registrations (${BIG_EVENT_REGISTRATIONS.toLocaleString('en')} on event ${big.id}), ${version}; ${connections} connections, ${duration} s per URL; ${cpus().length} × ${cpus()[0].model.trim()}`,
    '',
    '| request | requests/s | p50 ms | p99 ms | non-2xx | errors |',
    '|---|---:|---:|---:|---:|---:|',
    ...results.map((r) => `| ${r.name} | ${r.rps} | ${r.p50_ms} | ${r.p99_ms} | ${r.non_2xx} | ${r.errors} |`),
    '',
    'EXPLAIN of the page-of-ids query of each list, pages 1 and 1,000 (the rows are then read by primary key), and of its count:',
    '',
    ...explains.flatMap((e) => [
      `- ${e.name}: ${e.plan.map((row) => `${row.table} ${row.type} key=${row.key} rows=${row.rows}${row.Extra ? ` (${row.Extra})` : ''}`).join('; ')}`,
    ]),
  ].join('\n');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'scale.md'), `${md}\n`);
  writeFileSync(join(outDir, 'scale.json'), JSON.stringify({ results, explains }, null, 2));
  console.log(`\n${md}`);
  if (results.some((r) => r.p99_ms >= 50 || r.non_2xx || r.errors)) exitCode = 1;
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  if (server) {
    server.kill('SIGTERM');
    await Promise.race([new Promise((resolve) => server.once('exit', resolve)), sleep(10_000)]);
    if (server.exitCode === null) server.kill('SIGKILL');
  }
  await db.end();
  rmSync(scratch, { recursive: true, force: true });
}
process.exit(exitCode);

import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../src/log.ts';
import { logEntries } from '../helpers/logs.ts';
import { startNodes } from '../helpers/nodes.ts';
import { startTestServer, TEST_TOKEN, type TestServer } from '../helpers/server.ts';

/**
 * `/healthz` and `/readyz`, as a load balancer asks them: over HTTP, without credentials, answered in JSON that names
 * what is wrong and nothing secret. The server runs on a database file, as in production, so that another
 * connection can hold its write lock.
 */
interface HealthContext {
  dir: string;
  t: TestServer;
  logged: string[];
}

const Health = suite<HealthContext>('health and readiness', { dir: '', t: undefined as unknown as TestServer, logged: [] });
Health.before.each(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hotprov-health-'));
  ctx.logged = [];
  ctx.t = await startTestServer({ env: { HOTPROV_DB: join(ctx.dir, 'hotprov.db') }, log: createLogger('info', (line) => ctx.logged.push(line)) });
});
Health.after.each(async (ctx) => {
  await ctx.t.close();
  rmSync(ctx.dir, { recursive: true, force: true });
});

const CHECKS = ['database', 'databaseWritable', 'migrationsCurrent', 'sipSocket', 'notShuttingDown'];

async function readyz(t: TestServer): Promise<{ status: number; body: { status: string; failed?: string[]; checks: Record<string, string> } }> {
  const res = await fetch(`${t.url}/readyz`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assert.is(res.headers.get('cache-control'), 'no-store', 'a proxy between never answers for the node');
  return { status: res.status, body: (await res.json()) as never };
}

Health('/healthz and /readyz answer 200 without credentials, in JSON, every check named', async ({ t }) => {
  const alive = await fetch(`${t.url}/healthz`);
  assert.is(alive.status, 200);
  assert.equal(await alive.json(), { status: 'ok' });
  const ready = await readyz(t);
  assert.is(ready.status, 200);
  assert.equal(ready.body, { status: 'ready', checks: Object.fromEntries(CHECKS.map((c) => [c, 'ok'])) });
  for (const path of ['/healthz', '/readyz']) {
    const head = await fetch(`${t.url}${path}`, { method: 'HEAD' });
    assert.is(head.status, 200, `HEAD ${path}`);
  }
});

Health('neither answer carries a secret: no token, no password, no file or host name, healthy or not', async ({ t, dir }) => {
  const user = await t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice', sipPassword: 'sip-secret-101', pin: '4826' });
  assert.is(user.status, 201);
  const holder = new Database(join(dir, 'hotprov.db'));
  holder.exec('BEGIN IMMEDIATE');
  try {
    for (const path of ['/healthz', '/readyz']) {
      const res = await fetch(`${t.url}${path}`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
      const text = await res.text();
      for (const secret of [TEST_TOKEN, 'sip-secret-101', dir, 'hotprov.db', 'prov.example.test', 'pbx.example.test']) {
        assert.not.ok(text.includes(secret), `${path} (${res.status}) shows ${secret}: ${text}`);
      }
      assert.ok(
        Object.keys(JSON.parse(text)).every((k) => ['status', 'checks', 'failed'].includes(k)),
        text,
      );
    }
  } finally {
    holder.exec('ROLLBACK');
    holder.close();
  }
});

Health('another connection holding the write lock: 503 naming databaseWritable, the reason logged once; ready again after', async (ctx) => {
  const { t, dir } = ctx;
  assert.is((await readyz(t)).status, 200);
  const holder = new Database(join(dir, 'hotprov.db'));
  holder.exec('BEGIN IMMEDIATE');
  try {
    for (let i = 0; i < 3; i++) {
      const stuck = await readyz(t);
      assert.is(stuck.status, 503);
      assert.is(stuck.body.status, 'unavailable');
      assert.equal(stuck.body.failed, ['databaseWritable']);
      assert.is(stuck.body.checks.database, 'ok', 'reads still answer');
    }
    assert.is((await fetch(`${t.url}/healthz`)).status, 200, 'the process itself is alive');
  } finally {
    holder.exec('ROLLBACK');
    holder.close();
  }
  assert.is((await readyz(t)).status, 200);
  const notReady = logEntries(ctx.logged).filter((e) => e.msg === 'not ready: /readyz answers 503');
  assert.is(notReady.length, 1, 'one line per change, not one per check');
  assert.equal(notReady[0]?.failed, ['databaseWritable']);
  assert.match(JSON.stringify(notReady[0]?.reasons), /locked/, 'the log says why');
  assert.ok(
    logEntries(ctx.logged).some((e) => e.msg === 'ready again'),
    'and when it is over',
  );
});

Health('the database file moved away under the running node (its writes would be lost at restart): 503 naming databaseWritable', async ({ t, dir }) => {
  const file = join(dir, 'hotprov.db');
  renameSync(file, `${file}.moved`);
  try {
    const gone = await readyz(t);
    assert.is(gone.status, 503);
    assert.equal(gone.body.failed, ['databaseWritable']);
  } finally {
    renameSync(`${file}.moved`, file);
  }
  assert.is((await readyz(t)).status, 200);
});

Health('a database whose newest migration is not recorded (an older backup restored under it): 503 naming migrationsCurrent', async ({ t, dir }) => {
  const other = new Database(join(dir, 'hotprov.db'));
  try {
    // drizzle's SQLite journal table has no usable id: its rows are told apart by when their migration was made.
    const newest = other.prepare('SELECT hash, created_at FROM __drizzle_migrations ORDER BY created_at DESC LIMIT 1').get() as {
      hash: string;
      created_at: number;
    };
    other.prepare('DELETE FROM __drizzle_migrations WHERE created_at = ?').run(newest.created_at);
    const behind = await readyz(t);
    assert.is(behind.status, 503);
    assert.equal(behind.body.failed, ['migrationsCurrent']);
    other.prepare('INSERT INTO __drizzle_migrations (hash, created_at) VALUES (?, ?)').run(newest.hash, newest.created_at);
    assert.is((await readyz(t)).status, 200);
  } finally {
    other.close();
  }
});

Health('the SIP socket closed: 503 naming sipSocket', async ({ t }) => {
  await t.hotprov.notifier.close();
  const noSip = await readyz(t);
  assert.is(noSip.status, 503);
  assert.equal(noSip.body.failed, ['sipSocket']);
});

Health('shutting down: 503 naming notShuttingDown, while phones and the API are still served', async ({ t }) => {
  assert.is((await t.api('POST', '/api/v1/devices', { mac: '805ec0112233', vendor: 'yealink', model: 'T54W' })).status, 201);
  const ua = 'Yealink SIP-T54W 96.86.0.70 80:5e:c0:11:22:33';
  await (await t.anonymous('/805ec0112233.cfg', ua)).text();
  t.hotprov.readiness.beginShutdown();
  const stopping = await readyz(t);
  assert.is(stopping.status, 503);
  assert.equal(stopping.body.failed, ['notShuttingDown']);
  assert.is((await t.api('GET', '/api/v1/devices/805ec0112233')).status, 200);
  const file = await t.phone('/805ec0112233.cfg', ua);
  assert.is(file.status, 200);
  assert.match(await file.text(), /^account\.1\.user_name = HD0001$/m);
});

Health('50 readiness checks at once all answer 200', async ({ t }) => {
  const answers = await Promise.all(Array.from({ length: 50 }, () => readyz(t)));
  assert.equal(
    answers.map((a) => a.status),
    Array(50).fill(200),
  );
});

Health('the phone paths and the API are unchanged around them', async ({ t }) => {
  // Not a phone's file name: health checks never count against the address's budget of failed phone requests.
  for (let i = 0; i < 30; i++) await (await fetch(`${t.url}/${i % 2 === 0 ? 'healthz' : 'readyz'}`)).text();
  const guess = await t.anonymous('/805ec0000001.cfg', 'Yealink SIP-T54W 96.86.0.70');
  assert.is(guess.status, 200, 'a guessed MAC still gets its decoy, not 429');
  const wrongMethod = await fetch(`${t.url}/readyz`, { method: 'POST' });
  assert.is(wrongMethod.status, 405);
  assert.is(wrongMethod.headers.get('allow'), 'GET, HEAD');
  assert.is(((await wrongMethod.json()) as { error: { code: string } }).error.code, 'method_not_allowed');
  const noToken = await fetch(`${t.url}/api/v1/devices`);
  assert.is(noToken.status, 401, 'the API still wants its token');
  const underApi = await fetch(`${t.url}/api/v1/readyz`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
  assert.is(underApi.status, 404, 'only the root paths');
  const underProv = await fetch(`${t.url}/prov/healthz`);
  assert.is.not(underProv.status, 200, 'under /prov/ a phone path as before');
});

Health.run();

/** The real process, stopped as a service manager stops it. */
const Process = suite('readiness of a hotprov process on SIGTERM');

Process('SIGTERM turns /readyz 503 at once; requests are served for HOTPROV_DRAIN_SECONDS; a second SIGTERM stops it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hotprov-drain-'));
  const nodes = await startNodes({ db: join(dir, 'hotprov.db'), count: 1, env: { HOTPROV_DRAIN_SECONDS: '600' } });
  try {
    const [node] = nodes.nodes;
    assert.ok(node);
    const exited = nodes.kill(0, 'SIGTERM');
    // The signal is handled between two requests: the first 503 comes soon, and from then on every answer is 503.
    let answer = await fetch(`${node.url}/readyz`);
    for (let i = 0; i < 100 && answer.status !== 503; i++) {
      await answer.arrayBuffer();
      answer = await fetch(`${node.url}/readyz`);
    }
    assert.is(answer.status, 503);
    assert.equal(((await answer.json()) as { failed: string[] }).failed, ['notShuttingDown']);
    assert.is((await fetch(`${node.url}/healthz`)).status, 200, 'still alive');
    assert.is((await nodes.api(0, 'GET', '/api/v1/tenant')).status, 200, 'still serving while it drains');
    assert.ok(node.running);
    void nodes.kill(0, 'SIGTERM');
    assert.is(await exited, 0, 'a clean exit');
    assert.match(node.log, /"msg":"stopping"/);
  } finally {
    await nodes.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

Process.run();

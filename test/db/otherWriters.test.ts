import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Another process writing the database (the command line, an admin's sqlite3) while hotprov runs: hotprov notices
 * within a second (SQLite's data_version) and its phones get what the database now says, not a kept file.
 */
const OtherWriters = suite<{ dir: string; path: string; t: TestServer }>('db/another process writes the database', {
  dir: '',
  path: '',
  t: undefined as unknown as TestServer,
});
OtherWriters.before.each(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hotprov-writers-'));
  ctx.path = join(ctx.dir, 'hotprov.db');
  ctx.t = await startTestServer({ env: { HOTPROV_DB: ctx.path } });
});
OtherWriters.after.each(async ({ t, dir }) => {
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

const ROOT = join(import.meta.dirname, '..', '..');
const yealink = { mac: '00:15:65:AC:E0:01', vendor: 'yealink', model: 'T54W' };

/** The phone's main file, fetched again until `done` says it is what the database now says (at most 5 s). */
async function fetchUntil(t: TestServer, path: string, done: (body: string) => boolean): Promise<string> {
  let body = '';
  for (let tries = 0; tries < 50; tries++) {
    body = await (await t.phone(path)).text();
    if (done(body)) return body;
    await new Promise((r) => setTimeout(r, 100));
  }
  return body;
}

OtherWriters('a registrar changed by another connection reaches the phone whose file was cached', async ({ t, path }) => {
  assert.is((await t.api('POST', '/api/v1/devices', yealink)).status, 201);
  const before = await t.phone('/001565ace001.cfg');
  const etag = before.headers.get('etag');
  assert.not.match(await before.text(), /pbx-elsewhere\.test/);
  const other = new Database(path);
  try {
    other.prepare(`UPDATE tenants SET registrar_host = 'pbx-elsewhere.test'`).run();
  } finally {
    other.close();
  }
  const after = await fetchUntil(t, '/001565ace001.cfg', (body) => body.includes('pbx-elsewhere.test'));
  assert.match(after, /^account\.1\.sip_server\.1\.address = pbx-elsewhere\.test$/m, 'the file names the registrar the database now holds');
  assert.is.not((await t.phone('/001565ace001.cfg')).headers.get('etag'), etag);
});

OtherWriters('hotprov tenant delete on the command line: the running server hands the phones their wipe file', async ({ t, path }) => {
  const created = await t.api('POST', '/api/v1/tenants', { name: 'Acme', slug: 'acme' });
  assert.is(created.status, 201);
  // Loopback is acme's office network here: the phone's first fetch activates it.
  assert.is((await t.api('PATCH', '/api/v1/tenants/acme', { trustedNetworks: ['127.0.0.0/8'] })).status, 200);
  assert.is((await t.api('POST', '/api/v1/tenants/acme/devices', yealink)).status, 201);
  assert.match(await (await t.phone('/001565ace001.cfg')).text(), /^account\.1\.enable = 1$/m);

  const env: Record<string, string | undefined> = { ...process.env, HOTPROV_DB: path };
  const cli = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'tenant', 'delete', 'acme'], { cwd: ROOT, encoding: 'utf8', env });
  assert.is(cli.status, 0, cli.stderr);

  const wiped = await fetchUntil(t, '/001565ace001.cfg', (body) => /^account\.1\.enable = 0$/m.test(body));
  assert.match(wiped, /^account\.1\.enable = 0$/m, 'the retired phone gets its wipe file without a restart');
  assert.is((await t.api('GET', '/api/v1/tenants/acme')).status, 404, 'the tenant is gone for the running server too');
});

OtherWriters.run();

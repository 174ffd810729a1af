import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openDb } from '../../src/db/client.ts';
import { ensureDefaultTenant } from '../../src/domain/tenants.ts';
import { storageConflict } from '../../src/errors.ts';

const Db = suite<{ dir: string }>('db/migrations', { dir: '' });
Db.before.each((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hotprov-db-'));
});
Db.after.each(({ dir }) => rmSync(dir, { recursive: true, force: true }));

function seed(sqlite: ReturnType<typeof openDb>['sqlite']) {
  const tenant = sqlite.prepare(`INSERT INTO tenants (slug, name) VALUES ('t', 'T') RETURNING id`).get() as { id: number };
  const device = sqlite
    .prepare(
      `INSERT INTO devices (tenant_id, mac, vendor, model, idle_account, idle_password) VALUES (?, '001565aabbcc', 'yealink', 'T46U', 'HD0001', 'pw') RETURNING id`,
    )
    .get(tenant.id) as { id: number };
  const device2 = sqlite
    .prepare(
      `INSERT INTO devices (tenant_id, mac, vendor, model, idle_account, idle_password) VALUES (?, '001565aabbcd', 'yealink', 'T46U', 'HD0002', 'pw') RETURNING id`,
    )
    .get(tenant.id) as { id: number };
  const user = sqlite
    .prepare(`INSERT INTO users (tenant_id, extension, display_name, sip_user, auth_name, sip_password) VALUES (?, '101', 'A', '101', '101', 'x') RETURNING id`)
    .get(tenant.id) as { id: number };
  const user2 = sqlite
    .prepare(`INSERT INTO users (tenant_id, extension, display_name, sip_user, auth_name, sip_password) VALUES (?, '102', 'B', '102', '102', 'x') RETURNING id`)
    .get(tenant.id) as { id: number };
  return { tenant: tenant.id, device: device.id, device2: device2.id, user: user.id, user2: user2.id };
}

const openSession = `INSERT INTO hotdesk_sessions (tenant_id, device_id, user_id, method, started_at) VALUES (?, ?, ?, 'api', 1)`;

Db('WAL is on and foreign keys are enforced after opening', ({ dir }) => {
  const { sqlite, close } = openDb(join(dir, 'h.db'));
  assert.is(sqlite.pragma('journal_mode', { simple: true }), 'wal');
  assert.is(sqlite.pragma('foreign_keys', { simple: true }), 1);
  close();
});

Db('the database itself refuses a user on two devices and two users on one device', () => {
  const { sqlite, close } = openDb(':memory:');
  const ids = seed(sqlite);
  sqlite.prepare(openSession).run(ids.tenant, ids.device, ids.user);
  assert.throws(() => sqlite.prepare(openSession).run(ids.tenant, ids.device2, ids.user), /UNIQUE/);
  assert.throws(() => sqlite.prepare(openSession).run(ids.tenant, ids.device, ids.user2), /UNIQUE/);
  // A closed session does not count: history may hold any number of them.
  sqlite.prepare(`UPDATE hotdesk_sessions SET ended_at = 2, end_reason = 'logout'`).run();
  sqlite.prepare(openSession).run(ids.tenant, ids.device2, ids.user);
  sqlite.prepare(openSession).run(ids.tenant, ids.device, ids.user2);
  close();
});

Db('reopening a database with data migrates nothing away', ({ dir }) => {
  const path = join(dir, 'h.db');
  const first = openDb(path);
  const ids = seed(first.sqlite);
  first.sqlite.prepare(openSession).run(ids.tenant, ids.device, ids.user);
  first.close();
  const again = openDb(path);
  const count = (table: string) => (again.sqlite.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  assert.is(count('devices'), 2);
  assert.is(count('users'), 2);
  assert.is(count('hotdesk_sessions'), 1);
  again.close();
});

Db('a database whose rows break a foreign key is refused at start-up', ({ dir }) => {
  const path = join(dir, 'h.db');
  const first = openDb(path);
  first.sqlite.pragma('foreign_keys = OFF');
  first.sqlite.prepare(`INSERT INTO user_keys (user_id, position, type, value) VALUES (999, 1, 'blf', '1')`).run();
  first.close();
  assert.throws(() => openDb(path), /foreign key violations/);
});

Db('the default tenant is created once', async () => {
  const { db, close } = openDb(':memory:');
  const a = await ensureDefaultTenant(db);
  const b = await ensureDefaultTenant(db);
  assert.is(a.id, b.id);
  assert.is(a.loginCode, '*35');
  close();
});

Db.run();

const Conflicts = suite('db/conflicts');

Conflicts('a unique-index refusal from SQLite becomes a 409 to retry, not a 500', () => {
  const { sqlite, close } = openDb(':memory:');
  const ids = seed(sqlite);
  sqlite.prepare(openSession).run(ids.tenant, ids.device, ids.user);
  let error: unknown;
  try {
    sqlite.prepare(openSession).run(ids.tenant, ids.device2, ids.user);
  } catch (err) {
    error = err;
  }
  close();
  const mapped = storageConflict(error);
  assert.is(mapped?.status, 409);
  assert.is(mapped?.code, 'conflict');
  assert.is(storageConflict(new Error('other')), null);
});

Conflicts.run();

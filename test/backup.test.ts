import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runHotprov } from './helpers/cli.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

/**
 * `hotprov backup` and `hotprov restore` as an operator runs them: a backup taken while a server serves and writes
 * the database (logins during the copy), restored into a fresh place where the data is; a damaged file, another
 * program's database and a newer release's are refused; a database in use is not replaced.
 */
/** Users and desks each test starts with. */
const DESKS = 8;

interface BackupContext {
  dir: string;
  db: string;
  t: TestServer;
}
const Backup = suite<BackupContext>('backup and restore', { dir: '', db: '', t: undefined as unknown as TestServer });
Backup.before.each(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'ops-backup-'));
  ctx.db = join(ctx.dir, 'hotprov.db');
  ctx.t = await startTestServer({ env: { HOTPROV_DB: ctx.db } });
  for (let i = 0; i < DESKS; i++) {
    const ext = String(200 + i);
    assert.is(
      (await ctx.t.api('POST', '/api/v1/users', { extension: ext, displayName: `User ${ext}`, sipPassword: `sip-secret-${ext}`, pin: '4826' })).status,
      201,
    );
    const mac = `80:5E:C0:11:22:${(0x10 + i).toString(16).toUpperCase()}`;
    assert.is((await ctx.t.api('POST', '/api/v1/devices', { mac, vendor: 'yealink', model: 'T54W' })).status, 201);
  }
});
Backup.after.each(async (ctx) => {
  await ctx.t.close();
  rmSync(ctx.dir, { recursive: true, force: true });
});

const hotprov = (args: string[], db: string) => runHotprov(args, { HOTPROV_DB: db, HOTPROV_NEW_ADMIN_PASSWORD: undefined });

/** Rows of a table in a database file, read without hotprov. */
function rows(file: string, sql: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).pluck().get() as number;
  } finally {
    db.close();
  }
}

Backup('a backup taken while logins are written is consistent, and restores into a fresh place with the data', async ({ t, dir, db }) => {
  const backupFile = join(dir, 'backup.db');
  // Some megabytes of history, so the copy takes many steps and the server's writes land between them.
  const history = new Database(db);
  const insert = history.prepare("INSERT INTO audit_events (tenant_id, at, actor, action, detail) VALUES (1, ?, 'test', 'test.history', ?)");
  history.transaction(() => {
    for (let i = 0; i < 6000; i++) insert.run(Date.now(), JSON.stringify({ note: 'x'.repeat(1000), i }));
  })();
  history.close();
  let writing = true;
  let acknowledged = 0;
  // Logins and logouts on every desk, as fast as the server takes them, for as long as the backup runs.
  const storm = (async () => {
    for (let round = 0; writing; round++) {
      const desk = `HD${String((round % DESKS) + 1).padStart(4, '0')}`;
      const res =
        round % 2 === 0
          ? await t.api('POST', '/api/v1/hotdesk/login', { device: desk, extension: String(200 + (round % DESKS)), pin: '4826' })
          : await t.api('POST', '/api/v1/hotdesk/logout', { device: desk });
      if (res.status === 200) acknowledged++;
    }
  })();
  const before = acknowledged;
  const made = await hotprov(['backup', backupFile], db);
  writing = false;
  await storm;
  assert.is(made.code, 0, made.stderr);
  assert.match(made.stdout, /^backed up .* to .*backup\.db \(\d+ bytes\)/);
  assert.match(made.stderr, /backing up \(pages\) \d+\/\d+ \(100%\)/, 'a progress bar (a line every 10 % off a terminal)');
  assert.ok(acknowledged > before, 'the server went on writing during the backup');

  const fresh = join(dir, 'restored', 'hotprov.db');
  const restored = await hotprov(['restore', backupFile], fresh);
  assert.is(restored.code, 0, restored.stderr);
  assert.is(rows(fresh, 'SELECT count(*) FROM users'), DESKS);
  assert.is(rows(fresh, 'SELECT count(*) FROM devices'), DESKS);
  assert.is(rows(fresh, "SELECT count(*) FROM audit_events WHERE action = 'test.history'"), 6000);
  const sessions = rows(fresh, 'SELECT count(*) FROM hotdesk_sessions');
  assert.ok(sessions <= rows(db, 'SELECT count(*) FROM hotdesk_sessions'));
  assert.is(rows(fresh, 'SELECT count(*) FROM hotdesk_sessions WHERE ended_at IS NULL AND device_id IS NULL AND user_id IS NOT NULL'), 0);
  // A server starts on the restored file and serves what was backed up.
  const second = await startTestServer({ env: { HOTPROV_DB: fresh } });
  try {
    const users = await second.api('GET', '/api/v1/users');
    assert.is(users.status, 200);
    assert.ok(JSON.stringify(users.body).includes(`"extension":"${200 + DESKS - 1}"`));
  } finally {
    await second.close();
  }
});

Backup('restore refuses a database a running hotprov uses, and keeps the previous file aside otherwise', async ({ dir, db }) => {
  const backupFile = join(dir, 'backup.db');
  assert.is((await hotprov(['backup', backupFile], db)).code, 0);
  const busy = await hotprov(['restore', backupFile], db);
  assert.is(busy.code, 1);
  assert.match(busy.stderr, /a process is using .*hotprov\.db: stop hotprov first/);

  // A stopped instance's database, with a row the backup does not have.
  const other = join(dir, 'other.db');
  copyFileSync(backupFile, other);
  const change = new Database(other);
  change.prepare("UPDATE users SET display_name = 'Changed after the backup' WHERE extension = '200'").run();
  change.close();
  const restored = await hotprov(['restore', backupFile], other);
  assert.is(restored.code, 0, restored.stderr);
  const previous = /the previous database is kept at (\S+)/.exec(restored.stdout)?.[1];
  assert.ok(previous !== undefined && existsSync(previous), restored.stdout);
  assert.is(rows(previous, "SELECT count(*) FROM users WHERE display_name = 'Changed after the backup'"), 1);
  assert.is(rows(other, "SELECT count(*) FROM users WHERE display_name = 'Changed after the backup'"), 0);
});

Backup('a damaged file, another program database and a newer release are refused; the database is left alone', async ({ dir, db }) => {
  const target = join(dir, 'target.db');
  const backupFile = join(dir, 'backup.db');
  assert.is((await hotprov(['backup', backupFile], db)).code, 0);
  copyFileSync(backupFile, target);

  const damaged = join(dir, 'damaged.db');
  const bytes = readFileSync(backupFile);
  // The header kept, the pages after it overwritten: SQLite opens it, its integrity check does not pass.
  bytes.fill(0x5a, 4096, Math.min(bytes.length, 4096 * 6));
  writeFileSync(damaged, bytes);
  const garbage = join(dir, 'garbage.db');
  writeFileSync(garbage, 'not a database at all\n'.repeat(200));
  const foreign = join(dir, 'foreign.db');
  const f = new Database(foreign);
  f.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)');
  f.close();
  const newer = join(dir, 'newer.db');
  copyFileSync(backupFile, newer);
  const n = new Database(newer);
  n.prepare('INSERT INTO __drizzle_migrations (hash, created_at) VALUES (?, ?)').run('a-migration-of-a-later-release', Date.now());
  n.close();

  for (const [file, why] of [
    [damaged, /damaged|not a SQLite database/],
    [garbage, /not a SQLite database|cannot be opened/],
    [foreign, /not hotprov's/],
    [newer, /made by a newer hotprov/],
    [join(dir, 'missing.db'), /does not exist/],
  ] as const) {
    const refused = await hotprov(['restore', file], target);
    assert.is(refused.code, 1, `${file} was restored`);
    assert.match(refused.stderr, why);
  }
  assert.is(rows(target, 'SELECT count(*) FROM users'), DESKS, 'the database in place is untouched');
  assert.ok(!existsSync(`${target}.restoring`));
});

Backup('a backup never overwrites a file; on PostgreSQL both commands name pg_dump and pg_restore', async ({ dir, db }) => {
  const existing = join(dir, 'existing.db');
  writeFileSync(existing, 'keep me');
  const refused = await hotprov(['backup', existing], db);
  assert.is(refused.code, 1);
  assert.match(refused.stderr, /exists already/);
  assert.is(readFileSync(existing, 'utf8'), 'keep me');
  for (const verb of ['backup', 'restore']) {
    const pg = await runHotprov([verb, join(dir, 'x.dump')], {
      HOTPROV_DB: 'postgres://hotprov:secret-pw@127.0.0.1:1/hotprov',
      HOTPROV_ADMIN_TOKEN: 'an-admin-token-0123456789',
    });
    assert.is(pg.code, 1);
    assert.match(pg.stderr, /pg_dump/);
    assert.match(pg.stderr, /pg_restore/);
    assert.not.match(pg.stderr, /secret-pw/);
  }
});

Backup.run();

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asc, eq, getTableName } from 'drizzle-orm';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { getTableConfig as getPgTableConfig } from 'drizzle-orm/pg-core';
import { getTableConfig as getSqliteTableConfig } from 'drizzle-orm/sqlite-core';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type OpenDb, openDb } from '../../src/db/client.ts';
import { copyOrder, copySqliteToPostgres, maskUrl, TargetNotEmptyError } from '../../src/db/copy.ts';
import { migratePostgres } from '../../src/db/postgres.ts';
import * as pgSchema from '../../src/db/schema.pg.ts';
import { apiTokens, auditEvents, templateRevisions } from '../../src/db/schema.ts';
import { createAdmin, createApiToken, signIn } from '../../src/domain/admins.ts';
import type { DomainDeps } from '../../src/domain/deps.ts';
import { enrolDevice } from '../../src/domain/devices.ts';
import { login, logout } from '../../src/domain/hotdesk.ts';
import { openSyncJob } from '../../src/domain/syncJobs.ts';
import { createTenant, ensureDefaultTenant } from '../../src/domain/tenants.ts';
import { createUser } from '../../src/domain/users.ts';
import { createWebhook } from '../../src/domain/webhooks.ts';
import { loadVendorAdapters } from '../../src/vendors/adapters.ts';
import { createModelCatalog } from '../../src/vendors/catalog.ts';
import { type PgCluster, startPostgres } from '../helpers/postgres.ts';

/**
 * `hotprov db copy --to postgres://…` (issue 16): a SQLite site with rows in every table moves to PostgreSQL
 * in one all-or-nothing transaction, and reads back the same there.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ACTOR = { name: 'test' };
const catalog = createModelCatalog(loadVendorAdapters().map((a) => a.profile));

interface CopyContext {
  cluster: PgCluster;
  dir: string;
  dbPath: string;
  source: OpenDb;
  target: string;
  pool: pg.Pool;
}

/** A SQLite database on disk with rows in every table, built through the domain where it is easy. */
async function buildSource(path: string): Promise<OpenDb> {
  const opened = openDb(path);
  const { db } = opened;
  let clock = Date.parse('2026-03-01T08:00:00.123Z');
  // A clock that moves a second per reading, with milliseconds, so every timestamp differs and is compared exactly.
  const now = () => {
    clock += 1000;
    return new Date(clock);
  };
  const deps: DomainDeps = { db, now, catalog, profilesChanged: async () => [] };
  const home = (await ensureDefaultTenant(db)).id;
  const other = await createTenant(deps, ACTOR, { slug: 'branch', name: 'Branch office', maxDevices: 5 });
  const devices = [];
  for (const i of [0, 1, 2]) {
    devices.push(await enrolDevice(deps, home, ACTOR, { mac: `00156500000${i}`, vendor: 'yealink', model: 'T46U', ...(i === 2 ? { hotdesk: false } : {}) }));
  }
  await enrolDevice(deps, other.id, ACTOR, { mac: '000413000001', vendor: 'snom', model: 'D785' });
  const users = [];
  for (const ext of ['201', '202', '203']) {
    users.push(
      await createUser(deps, home, 4, ACTOR, {
        extension: ext,
        displayName: `User ${ext}`,
        sipPassword: `secret-${ext}`,
        pin: '4826',
        keys: [
          { type: 'blf', value: '300', label: 'Reception' },
          { type: 'speed', value: '+4930123', label: 'Office' },
        ],
      }),
    );
  }
  const d0 = devices[0];
  const d1 = devices[1];
  assert.ok(d0 && d1);
  // A webhook, so the logins below queue its deliveries.
  await createWebhook(deps, home, ACTOR, { url: 'https://hooks.example.test/hotprov', events: ['hotdesk.login', 'hotdesk.logout'] }, { allow: [] });
  // An open session, an ended one, and a wrong PIN (a login throttle row).
  assert.is((await login(deps, home, ACTOR, { device: d0.mac, extension: '201', pin: '4826', method: 'api' })).result, 'logged_in');
  assert.is((await login(deps, home, ACTOR, { device: d1.mac, extension: '202', pin: '4826', method: 'api' })).result, 'logged_in');
  await logout(deps, home, ACTOR, { device: d1.mac, method: 'api' });
  await login(deps, home, ACTOR, { device: d1.mac, extension: '203', pin: '0000', method: 'phone_screen' });

  await createAdmin(db, now(), 'root', 'correct horse battery');
  await createAdmin(db, now(), 'branch-admin', 'correct horse battery', { role: 'admin', tenantId: other.id });
  await signIn({ db, now }, home, 'root', 'correct horse battery');
  await signIn({ db, now }, home, 'nobody', 'wrong').catch(() => {});
  const revoked = await createApiToken(db, now(), 'ci', 'root');
  await createApiToken(db, now(), 'branch', 'root', { role: 'helpdesk', tenantId: other.id });
  await db.update(apiTokens).set({ revokedAt: now() }).where(eq(apiTokens.id, revoked.row.id));
  await db.insert(templateRevisions).values([
    { tenantId: home, vendor: 'yealink', name: 'device.cfg', source: '#!version:1.0.0.1\n', createdBy: 'root', createdAt: now() },
    { tenantId: home, vendor: 'yealink', name: 'device.cfg', source: null, createdBy: 'root', createdAt: now(), restoredFrom: 1 },
  ]);
  await openSyncJob(
    db,
    {
      tenantId: home,
      deviceId: d0.id,
      deviceMac: d0.mac,
      reason: 'login',
      mode: 'direct',
      target: 'sip:HD0001@127.0.0.1',
      event: 'check-sync',
      targetEtag: '"abc"',
    },
    now(),
  );
  return opened;
}

/** Every table's rows from both sides, ordered by primary key; Dates compared by getTime. */
async function assertSameRows(source: OpenDb, pool: pg.Pool) {
  const target = drizzlePg(pool);
  for (const pair of copyOrder()) {
    const sqliteKey = getSqliteTableConfig(pair.sqlite).columns.find((c) => c.primary);
    const pgKey = getPgTableConfig(pair.pg).columns.find((c) => c.primary);
    assert.ok(sqliteKey && pgKey, pair.name);
    const expected = (await source.db.select().from(pair.sqlite).orderBy(asc(sqliteKey))) as Record<string, unknown>[];
    const actual = (await target.select().from(pair.pg).orderBy(asc(pgKey))) as Record<string, unknown>[];
    const plain = (rows: Record<string, unknown>[]) =>
      rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v instanceof Date ? `date:${v.getTime()}` : v])));
    assert.ok(expected.length > 0, `${pair.name} has rows in the source`);
    assert.equal(plain(actual), plain(expected), pair.name);
  }
}

async function counts(pool: pg.Pool): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  for (const { name } of copyOrder()) {
    const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM "${name}"`);
    result[name] = Number(rows[0]?.n);
  }
  return result;
}

const Copy = suite<CopyContext>('db copy to PostgreSQL', {} as CopyContext);
Copy.before(async (ctx) => {
  ctx.cluster = await startPostgres();
});
Copy.after((ctx) => ctx.cluster.stop());
Copy.before.each(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hotprov-copy-'));
  ctx.dbPath = join(ctx.dir, 'h.db');
  ctx.source = await buildSource(ctx.dbPath);
  ctx.target = await ctx.cluster.createDatabase();
  ctx.pool = new pg.Pool({ connectionString: ctx.target, max: 6 });
});
Copy.after.each(async (ctx) => {
  await ctx.pool.end();
  ctx.source.close();
  rmSync(ctx.dir, { recursive: true, force: true });
});

Copy('the order covers every table of schema.ts, each after the tables its foreign keys point to', () => {
  const order = copyOrder().map((p) => p.name);
  const pgTables = Object.values(pgSchema)
    .filter((v) => typeof v === 'object' && v !== null && getTableNameSafe(v) !== null)
    .map((v) => getTableNameSafe(v));
  assert.equal([...order].sort(), [...new Set(pgTables)].sort());
  for (const pair of copyOrder()) {
    for (const fk of getSqliteTableConfig(pair.sqlite).foreignKeys) {
      const parent = getTableName(fk.reference().foreignTable);
      assert.ok(order.indexOf(parent) <= order.indexOf(pair.name), `${parent} before ${pair.name}`);
    }
  }
});

function getTableNameSafe(value: unknown): string | null {
  try {
    return getTableName(value as Parameters<typeof getTableName>[0]) ?? null;
  } catch {
    return null;
  }
}

Copy('every table reads back from PostgreSQL as it was in SQLite, and the sequences continue after max(id)', async (ctx) => {
  const copied = await copySqliteToPostgres(ctx.source, ctx.pool);
  assert.is(copied.length, copyOrder().length);
  for (const t of copied) assert.is(t.target, t.source, t.table);
  await assertSameRows(ctx.source, ctx.pool);

  const target = drizzlePg(ctx.pool);
  const maxTenant = Math.max(...(await target.select().from(pgSchema.tenants)).map((t) => t.id));
  const [tenant] = await target.insert(pgSchema.tenants).values({ slug: 'after-copy', name: 'After the copy' }).returning();
  assert.is(tenant?.id, maxTenant + 1);
  const maxEvent = Math.max(...(await target.select().from(pgSchema.auditEvents)).map((e) => e.id));
  const [event] = await target.insert(pgSchema.auditEvents).values({ tenantId: maxTenant, at: new Date(), actor: 'test', action: 'after.copy' }).returning();
  assert.is(event?.id, maxEvent + 1);
});

Copy('a second copy into the same database is refused and changes nothing', async (ctx) => {
  await copySqliteToPostgres(ctx.source, ctx.pool);
  const before = await counts(ctx.pool);
  const err = await copySqliteToPostgres(ctx.source, ctx.pool).catch((e: unknown) => e);
  assert.instance(err, TargetNotEmptyError);
  assert.ok((err as TargetNotEmptyError).tables.includes('tenants'));
  assert.equal(await counts(ctx.pool), before);
  await assertSameRows(ctx.source, ctx.pool);
});

Copy('a failure half-way leaves the target empty', async (ctx) => {
  // The last table in the order refuses every row, after every other table has been copied in the transaction.
  await migratePostgres(ctx.pool);
  const last = copyOrder().at(-1)?.name;
  assert.ok(last);
  await ctx.pool.query(`CREATE FUNCTION refuse_rows() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$`);
  await ctx.pool.query(`CREATE TRIGGER refuse_rows BEFORE INSERT ON "${last}" FOR EACH ROW EXECUTE FUNCTION refuse_rows()`);
  const seen: string[] = [];
  const err = await copySqliteToPostgres(ctx.source, ctx.pool, { progress: (table, done) => done > 0 && seen.push(table) }).catch((e: unknown) => e);
  assert.instance(err, Error);
  assert.match((err as Error).message, 'refused by the test');
  // PostgreSQL's reason and where, not drizzle's statement with every value (password hashes among them).
  assert.match((err as Error).message, /^table \w+, rows 1 to \d+: refused by the test$/);
  assert.ok(seen.includes('tenants') && seen.includes('audit_events'), 'earlier tables were copied before the failure');
  for (const [table, n] of Object.entries(await counts(ctx.pool))) assert.is(n, 0, table);
  // And the next sequence value is still the first: nothing of the failed copy stays behind.
  await ctx.pool.query(`DROP TRIGGER refuse_rows ON "${last}"`);
  await copySqliteToPostgres(ctx.source, ctx.pool);
  await assertSameRows(ctx.source, ctx.pool);
});

Copy('a table larger than a batch is copied whole, in order (keyset paging by primary key)', async (ctx) => {
  const home = (await ensureDefaultTenant(ctx.source.db)).id;
  const at = Date.parse('2026-04-01T00:00:00.001Z');
  await ctx.source.db
    .insert(auditEvents)
    .values(
      Array.from({ length: 1234 }, (_, i) => ({ tenantId: home, at: new Date(at + i), actor: 'bulk', action: `bulk.${i}`, detail: JSON.stringify({ i }) })),
    );
  const batches: number[] = [];
  await copySqliteToPostgres(ctx.source, ctx.pool, { progress: (table, done) => table === 'audit_events' && batches.push(done) });
  assert.ok(batches.length >= 4, `audit_events copied in ${batches.length - 1} batches`);
  await assertSameRows(ctx.source, ctx.pool);
});

Copy('copies started together: one fills the target, the others are refused, and the target holds each row once', async (ctx) => {
  const sources = [0, 1, 2].map(() => openDb(ctx.dbPath));
  try {
    const outcomes = await Promise.all(
      sources.map((s) =>
        copySqliteToPostgres(s, ctx.pool).then(
          () => 'copied',
          (e: unknown) => e,
        ),
      ),
    );
    assert.is(outcomes.filter((o) => o === 'copied').length, 1);
    for (const o of outcomes.filter((o) => o !== 'copied')) assert.instance(o, TargetNotEmptyError);
  } finally {
    for (const s of sources) s.close();
  }
  await assertSameRows(ctx.source, ctx.pool);
});

Copy('hotprov db copy: exit 0, a summary, a progress line per table, and the password never printed', async (ctx) => {
  ctx.source.close();
  const withPassword = ctx.target.replace('postgres@', 'postgres:Sup3r-s3cret-pw@');
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'db', 'copy', '--to', withPassword], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, HOTPROV_DB: ctx.dbPath },
  });
  assert.is(run.status, 0, run.stderr);
  assert.not.match(run.stdout + run.stderr, 'Sup3r-s3cret-pw');
  assert.match(run.stdout, /^tenants\t2\t2$/m);
  assert.match(run.stdout, /^user_keys\t6\t6$/m);
  assert.match(run.stdout, /copied \d+ rows in \d+ tables .* to postgres:\/\/postgres:\*\*\*@127\.0\.0\.1/);
  for (const { name } of copyOrder()) assert.match(run.stderr, new RegExp(`^${name} \\d+/\\d+ \\(100%\\)$`, 'm'));
  ctx.source = openDb(ctx.dbPath);
  await assertSameRows(ctx.source, ctx.pool);

  const again = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'db', 'copy', '--to', withPassword], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, HOTPROV_DB: ctx.dbPath },
  });
  assert.is(again.status, 1);
  assert.match(again.stderr, 'already has rows');
  assert.not.match(again.stdout + again.stderr, 'Sup3r-s3cret-pw');
});

Copy('hotprov db copy without a PostgreSQL URL (exit 2) or without a SQLite database (exit 1) writes nothing', async (ctx) => {
  for (const args of [
    ['db', 'copy'],
    ['db', 'copy', '--to', 'data/other.db'],
  ]) {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, HOTPROV_DB: ctx.dbPath },
    });
    assert.is(run.status, 2, args.join(' '));
    assert.match(run.stderr, '--to: give the PostgreSQL database as postgres://');
  }
  const missing = join(ctx.dir, 'typo.db');
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'db', 'copy', '--to', ctx.target], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, HOTPROV_DB: missing },
  });
  assert.is(run.status, 1);
  assert.match(run.stderr, `no SQLite database at ${missing}`);
  assert.not.ok(existsSync(missing), 'no empty database made at the mistyped path');
  // Not even migrated: the command stopped before connecting.
  const { rows } = await ctx.pool.query<{ n: string }>(`SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'`);
  assert.is(rows[0]?.n, '0');
});

Copy('maskUrl hides the password only', () => {
  assert.is(maskUrl('postgres://hp:pa%40ss@db.example:5432/hotprov'), 'postgres://hp:***@db.example:5432/hotprov');
  assert.is(maskUrl('postgres://hp@db.example/hotprov'), 'postgres://hp@db.example/hotprov');
});

Copy.run();

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { and, eq, isNotNull } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openDb } from '../src/db/client.ts';
import { devices, tenants } from '../src/db/schema.ts';
import { listAdmins, signIn } from '../src/domain/admins.ts';
import { listAudit } from '../src/domain/audit.ts';
import { enrolDevice, listDevices } from '../src/domain/devices.ts';
import { login } from '../src/domain/hotdesk.ts';
import { findActiveTenantBySlug } from '../src/domain/tenants.ts';
import { createUser } from '../src/domain/users.ts';
import { loadVendorAdapters } from '../src/vendors/adapters.ts';
import { createModelCatalog } from '../src/vendors/catalog.ts';
import { runHotprov } from './helpers/cli.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface CliContext {
  dir: string;
  db: string;
}

/** `hotprov tenant …` and `hotprov admin create --tenant …` run as a provider's script would, against a database on disk. */
const TenantCli = suite<CliContext>('tenant command line', {} as CliContext);
TenantCli.before.each((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hotprov-tenant-cli-'));
  ctx.db = join(ctx.dir, 'h.db');
});
TenantCli.after.each(({ dir }) => {
  rmSync(dir, { recursive: true, force: true });
});

function hotprov(ctx: CliContext, args: string[], input = '') {
  const env: Record<string, string | undefined> = { ...process.env, HOTPROV_DB: ctx.db };
  delete env.HOTPROV_NEW_ADMIN_PASSWORD;
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: ROOT, encoding: 'utf8', env, input });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** Opens the command line's database from the test, for a setup or for what a person would check afterwards. */
async function inDb<T>(ctx: CliContext, use: (db: ReturnType<typeof openDb>['db']) => Promise<T>): Promise<T> {
  const { db, close } = openDb(ctx.db);
  try {
    return await use(db);
  } finally {
    close();
  }
}

TenantCli('tenant create and list: slug, name and counts, as text and --json; a taken or poor slug is refused', async (ctx) => {
  const made = hotprov(ctx, ['tenant', 'create', 'acme', '--name', 'Acme Ltd']);
  assert.is(made.code, 0, made.stderr);
  assert.is(made.stdout, 'created tenant acme (Acme Ltd)\n');
  assert.is(hotprov(ctx, ['tenant', 'create', 'bravo', '--name', 'Bravo GmbH']).code, 0);

  const again = hotprov(ctx, ['tenant', 'create', 'acme', '--name', 'Other']);
  assert.is(again.code, 1);
  assert.match(again.stderr, /slug acme is taken/);
  const poor = hotprov(ctx, ['tenant', 'create', 'Has Spaces', '--name', 'X']);
  assert.is(poor.code, 2);
  assert.match(poor.stderr, /slug: must be 2 to 32 lower-case letters/);
  const nameless = hotprov(ctx, ['tenant', 'create', 'cedar']);
  assert.is(nameless.code, 2);
  assert.match(nameless.stderr, /--name/);

  // acme gets a phone and two users
  await inDb(ctx, async (db) => {
    const acme = await findActiveTenantBySlug(db, 'acme');
    if (acme === undefined) throw new Error('acme was not created');
    const deps = { db, now: () => new Date(), catalog: createModelCatalog(loadVendorAdapters().map((a) => a.profile)), profilesChanged: async () => [] };
    await enrolDevice(deps, acme.id, { name: 'test' }, { mac: '001565aa0001', vendor: 'yealink', model: 'T54W' });
    return Promise.all([
      createUser(deps, acme.id, 4, { name: 'test' }, { extension: '101', displayName: 'Ann', sipPassword: 'pw-101', pin: '4711' }),
      createUser(deps, acme.id, 4, { name: 'test' }, { extension: '102', displayName: 'Bob', sipPassword: 'pw-102', pin: '4712' }),
    ]);
  });

  const text = hotprov(ctx, ['tenant', 'list']);
  assert.is(text.code, 0, text.stderr);
  assert.is(text.stdout, 'slug\tname\tdevices\tusers\tseated\ndefault\tDefault\t0\t0\t0\nacme\tAcme Ltd\t1\t2\t0\nbravo\tBravo GmbH\t0\t0\t0\n');
  const json = hotprov(ctx, ['tenant', 'list', '--json']);
  assert.equal(JSON.parse(json.stdout), [
    { slug: 'default', name: 'Default', devices: 0, users: 0, seated: 0 },
    { slug: 'acme', name: 'Acme Ltd', devices: 1, users: 2, seated: 0 },
    { slug: 'bravo', name: 'Bravo GmbH', devices: 0, users: 0, seated: 0 },
  ]);

  const audited = await inDb(ctx, async (db) => {
    const acme = await findActiveTenantBySlug(db, 'acme');
    return (await listAudit(db, acme?.id ?? 0, {})).filter((e) => e.action === 'tenant.created');
  });
  assert.equal(
    audited.map((e) => [e.actor, e.action]),
    [['cli', 'tenant.created']],
  );
});

TenantCli('tenant delete: unknown slug exit 1, the default tenant kept, refused while seated unless --force; devices retired', async (ctx) => {
  hotprov(ctx, ['tenant', 'create', 'acme', '--name', 'Acme Ltd']);
  await inDb(ctx, async (db) => {
    const acme = await findActiveTenantBySlug(db, 'acme');
    if (acme === undefined) throw new Error('acme was not created');
    const deps = { db, now: () => new Date(), catalog: createModelCatalog(loadVendorAdapters().map((a) => a.profile)), profilesChanged: async () => [] };
    await enrolDevice(deps, acme.id, { name: 'test' }, { mac: '001565aa0001', vendor: 'yealink', model: 'T54W' });
    await enrolDevice(deps, acme.id, { name: 'test' }, { mac: '000413aa0002', vendor: 'snom', model: 'D785' });
    await createUser(deps, acme.id, 4, { name: 'test' }, { extension: '101', displayName: 'Ann', sipPassword: 'pw-101', pin: '4711' });
    const seated = await login(deps, acme.id, { name: 'test' }, { device: '001565aa0001', extension: '101', pin: '4711', method: 'api' });
    assert.is(seated.result, 'logged_in');
  });

  const unknown = hotprov(ctx, ['tenant', 'delete', 'nope']);
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /no tenant nope/);
  const kept = hotprov(ctx, ['tenant', 'delete', 'default']);
  assert.is(kept.code, 1);
  assert.match(kept.stderr, /default tenant cannot be deleted/);

  const refused = hotprov(ctx, ['tenant', 'delete', 'acme']);
  assert.is(refused.code, 1);
  assert.match(refused.stderr, /1 desk is seated in acme; log them out first, or give --force/);
  assert.ok(await inDb(ctx, async (db) => await findActiveTenantBySlug(db, 'acme')), 'a refused deletion leaves the tenant');

  const forced = hotprov(ctx, ['tenant', 'delete', 'acme', '--force']);
  assert.is(forced.code, 0, forced.stderr);
  assert.is(forced.stdout, 'deleted tenant acme: 2 devices retired\n');
  assert.match(forced.stderr, /the phones get their wipe file at their next fetch/);
  const after = await inDb(ctx, async (db) => {
    const id = (await db.select({ id: tenants.id }).from(tenants).where(eq(tenants.slug, 'acme')))[0]?.id ?? 0;
    return {
      gone: (await findActiveTenantBySlug(db, 'acme')) === undefined,
      active: (await listDevices(db, id)).length,
      retired: (
        await db
          .select({ id: devices.id })
          .from(devices)
          .where(and(eq(devices.tenantId, id), isNotNull(devices.retiredAt)))
      ).length,
      audit: (await listAudit(db, id, {})).filter((e) => e.actor === 'cli').map((e) => e.action),
    };
  });
  assert.equal(after.gone, true);
  assert.is(after.active, 0);
  assert.is(after.retired, 2, 'both phones are retired: they get their wipe file');
  assert.ok(after.audit.includes('tenant.deleted'), after.audit.join());
  assert.equal(after.audit.filter((a) => a === 'device.deleted').length, 2, after.audit.join());
  assert.ok(after.audit.includes('hotdesk.logout'), `the seated desk is logged out: ${after.audit.join()}`);
  assert.not.match(hotprov(ctx, ['tenant', 'list']).stdout, /acme/);
});

TenantCli('admin create: role from --tenant, a wrong pairing exits 2, unknown tenant 1, --password-stdin for scripts', async (ctx) => {
  hotprov(ctx, ['tenant', 'create', 'acme', '--name', 'Acme Ltd']);
  const admin = hotprov(ctx, ['admin', 'create', 'ann', '--tenant', 'acme', '--password-stdin'], 'acme-admin-password\n');
  assert.is(admin.code, 0, admin.stderr);
  assert.is(admin.stdout, 'created console user ann (admin of acme)\n');
  const desk = hotprov(ctx, ['admin', 'create', 'hal', '--tenant', 'acme', '--role', 'helpdesk', '--password-stdin'], 'helpdesk-password');
  assert.is(desk.code, 0, desk.stderr);
  const provider = hotprov(ctx, ['admin', 'create', 'pat', '--password-stdin'], 'provider-password\n');
  assert.is(provider.stdout, 'created console user pat (provider)\n');

  const providerInTenant = hotprov(ctx, ['admin', 'create', 'x1', '--tenant', 'acme', '--role', 'provider', '--password-stdin'], 'long-enough-password');
  assert.is(providerInTenant.code, 2);
  assert.match(providerInTenant.stderr, /a provider belongs to no tenant/);
  const helpdeskNowhere = hotprov(ctx, ['admin', 'create', 'x2', '--role', 'helpdesk', '--password-stdin'], 'long-enough-password');
  assert.is(helpdeskNowhere.code, 2);
  assert.match(helpdeskNowhere.stderr, /a helpdesk belongs to one tenant: give --tenant/);
  const noSuchRole = hotprov(ctx, ['admin', 'create', 'x3', '--role', 'boss', '--password-stdin'], 'long-enough-password');
  assert.is(noSuchRole.code, 2);
  const unknown = hotprov(ctx, ['admin', 'create', 'x4', '--tenant', 'nope', '--password-stdin'], 'long-enough-password');
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /no tenant nope/);
  const short = hotprov(ctx, ['admin', 'create', 'x5', '--tenant', 'acme', '--password-stdin'], 'short\n');
  assert.is(short.code, 1);
  assert.match(short.stderr, /at least 10 characters/);

  const accounts = await inDb(ctx, async (db) => {
    const acme = await findActiveTenantBySlug(db, 'acme');
    return {
      acmeId: acme?.id,
      rows: (await listAdmins(db)).map((a) => [a.username, a.role, a.tenantId]),
      audit: (await listAudit(db, acme?.id ?? 0, {})).filter((e) => e.action === 'admin.created').map((e) => [e.actor, JSON.parse(String(e.detail)).username]),
    };
  });
  assert.equal(accounts.rows, [
    ['ann', 'admin', accounts.acmeId],
    ['hal', 'helpdesk', accounts.acmeId],
    ['pat', 'provider', null],
  ]);
  assert.equal(accounts.audit.sort(), [
    ['cli', 'ann'],
    ['cli', 'hal'],
  ]);
  // the password piped in is the one that signs in (its newline is not part of it)
  const { db, close } = openDb(ctx.db);
  try {
    const { session } = await signIn({ db, now: () => new Date() }, accounts.acmeId ?? 0, 'ann', 'acme-admin-password');
    assert.is(session.admin.username, 'ann');
  } finally {
    close();
  }
});

/** `hotprov …` run without waiting for it: for commands a provider's script starts side by side. */
function hotprovAsync(ctx: CliContext, args: string[]): ReturnType<typeof runHotprov> {
  return runHotprov(args, { HOTPROV_DB: ctx.db });
}

TenantCli('commands started at once on a new database: one tenant per slug, the others told it is taken, nothing crashes', async (ctx) => {
  // 12 processes (each a Node with tsx: 50 would only measure the machine): 6 race for one slug, 6 make their own.
  const runs = await Promise.all(
    Array.from({ length: 12 }, (_, i) => hotprovAsync(ctx, ['tenant', 'create', i < 6 ? 'same' : `own-${i}`, '--name', `Tenant ${i}`])),
  );
  for (const run of runs) assert.not.match(run.stderr, /Error|at /, run.stderr);
  const same = runs.slice(0, 6);
  assert.is(same.filter((r) => r.code === 0).length, 1, 'one process creates the slug');
  assert.equal(
    same.filter((r) => r.code !== 0).map((r) => [r.code, r.stderr]),
    Array.from({ length: 5 }, () => [1, 'hotprov: slug same is taken; choose another\n']),
  );
  assert.ok(
    runs.slice(6).every((r) => r.code === 0),
    'each own slug is created',
  );
  const listed = JSON.parse(hotprov(ctx, ['tenant', 'list', '--json']).stdout) as { slug: string }[];
  assert.equal(listed.map((t) => t.slug).sort(), ['default', 'own-10', 'own-11', 'own-6', 'own-7', 'own-8', 'own-9', 'same']);
});

TenantCli.run();

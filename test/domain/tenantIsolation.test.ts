import { eq } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tenants } from '../../src/db/schema.ts';
import { enrolDevice, listDevices } from '../../src/domain/devices.ts';
import { idleAccountName, idleAccountPatternProblem } from '../../src/domain/idleAccounts.ts';
import { planDeviceImport } from '../../src/domain/imports.ts';
import { TenantUpdateBody, validate } from '../../src/domain/inputs.ts';
import { findDevice } from '../../src/domain/lookup.ts';
import { getRevision, latestRevisions, restoreRevision, revisionsOf, saveTemplate, type TemplateEditing } from '../../src/domain/templates.ts';
import { updateTenant } from '../../src/domain/tenants.ts';
import { createTemplateStore, type TemplateStore } from '../../src/provisioning/templates.ts';
import { assertAppError } from '../helpers/assertions.ts';
import { ACTOR, createDomain, type DomainFixture } from '../helpers/domain.ts';

/**
 * Tenants below the API: each names its idle accounts by its own pattern, keeps its own template revisions, and
 * learns nothing of another tenant's MACs.
 */
interface Context {
  f: DomainFixture;
  /** A second tenant beside the fixture's default one. */
  other: number;
  store: TemplateStore;
  editing: TemplateEditing;
}

const Isolation = suite<Context>('domain/tenant isolation');
Isolation.before.each(async (ctx) => {
  ctx.f = await createDomain();
  const [acme] = await ctx.f.deps.db.insert(tenants).values({ slug: 'acme', name: 'Acme' }).returning();
  if (acme === undefined) throw new Error('the tenant was not inserted');
  ctx.other = acme.id;
  ctx.store = createTemplateStore();
  ctx.editing = { templates: ctx.store, check: () => null };
});
Isolation.after.each((ctx) => ctx.f.close());

const enrol = (ctx: Context, tenantId: number, mac: string) => enrolDevice(ctx.f.deps, tenantId, ACTOR, { mac, vendor: 'yealink', model: 'T46U' });

Isolation('an idle-account pattern holds one {n:W} of width 1 to 8 and SIP-user-safe characters, at most 32 long', () => {
  for (const good of ['HD{n:4}', 'acme-hd{n:3}', '{n:8}', 'a.b_c-{n:1}x', `${'x'.repeat(24)}{n:8}`]) {
    assert.is(idleAccountPatternProblem(good), null, good);
  }
  const problems: [string, RegExp][] = [
    ['HD', /exactly one \{n:W\}/],
    ['HD{n:2}-{n:2}', /exactly one \{n:W\}/],
    ['HD{n}', /exactly one \{n:W\}/],
    ['HD{n:0}', /width W of \{n:W\} must be 1 to 8/],
    ['HD{n:9}', /width W of \{n:W\} must be 1 to 8/],
    ['hd@acme{n:3}', /only letters, digits and \. _ -/],
    ['hd {n:3}', /only letters, digits and \. _ -/],
    ['hd{n:3}{', /only letters, digits and \. _ -/],
    [`${'x'.repeat(25)}{n:8}`, /at most 32 characters/],
  ];
  for (const [bad, why] of problems) assert.match(idleAccountPatternProblem(bad) ?? '', why, bad);
  assert.is(idleAccountName('acme-hd{n:3}', 1), 'acme-hd001');
  assert.is(idleAccountName('HD{n:4}', 12345), 'HD12345', 'a number wider than W is written in full');
});

Isolation('the tenant settings refuse a bad pattern by its field', async () => {
  await assertAppError(() => validate(TenantUpdateBody, { idleAccountPattern: 'acme {n:3}' }), {
    status: 400,
    code: 'invalid_field',
    message: /^idleAccountPattern: /,
  });
  assert.equal(validate(TenantUpdateBody, { idleAccountPattern: 'acme-hd{n:3}' }), { idleAccountPattern: 'acme-hd{n:3}' });
});

Isolation("new devices take the tenant's pattern; a changed pattern names only devices enrolled after it", async (ctx) => {
  const { f, other } = ctx;
  await updateTenant(f.deps, other, ACTOR, { idleAccountPattern: 'acme-hd{n:3}' });
  assert.is((await enrol(ctx, other, '001565000001')).idleAccount, 'acme-hd001');
  assert.is((await enrol(ctx, f.tenantId, '001565000002')).idleAccount, 'HD0001', "the default tenant's numbering is its own");
  assert.is((await enrol(ctx, other, '001565000003')).idleAccount, 'acme-hd002');
  await updateTenant(f.deps, other, ACTOR, { idleAccountPattern: 'acme-{n:5}' });
  assert.is((await enrol(ctx, other, '001565000004')).idleAccount, 'acme-00003');
  assert.equal(
    (await listDevices(f.deps.db, other)).map((d) => d.idleAccount),
    ['acme-00003', 'acme-hd001', 'acme-hd002'],
    'devices enrolled before keep their names',
  );
  // The API and the dialplan name a device by its idle account, in any case.
  assert.is((await findDevice(f.deps.db, other, 'ACME-HD002'))?.mac, '001565000003');
  assert.is(await findDevice(f.deps.db, f.tenantId, 'acme-hd002'), undefined, "another tenant's name is nobody here");
});

Isolation('a name an earlier pattern gave already is stepped over, not refused', async (ctx) => {
  const { f, other } = ctx;
  await updateTenant(f.deps, other, ACTOR, { idleAccountPattern: 'd1{n:1}' });
  assert.is((await enrol(ctx, other, '001565000001')).idleAccount, 'd11');
  await updateTenant(f.deps, other, ACTOR, { idleAccountPattern: 'd{n:2}' });
  // Number 2 would be d02; numbers 10 and 11 would meet d11 later: only the taken one is skipped.
  assert.is((await enrol(ctx, other, '001565000002')).idleAccount, 'd02');
  await f.deps.db.update(tenants).set({ nextIdleNumber: 11 }).where(eq(tenants.id, other));
  assert.is((await enrol(ctx, other, '001565000003')).idleAccount, 'd12', 'd11 is held by the first device');
});

Isolation("a MAC another tenant holds is refused in the same words and details as one's own", async (ctx) => {
  const { f, other } = ctx;
  await enrol(ctx, f.tenantId, '001565000001');
  const own = await assertAppError(() => enrol(ctx, f.tenantId, '00:15:65:00:00:01'), { status: 409, code: 'conflict' });
  const elsewhere = await assertAppError(() => enrol(ctx, other, '001565000001'), { status: 409, code: 'conflict' });
  assert.is(elsewhere.message, own.message);
  assert.equal(elsewhere.details, own.details);
  assert.not.match(own.message, /HD0001|default/i, 'no idle account or tenant is named');
  assert.is((await listDevices(f.deps.db, other)).length, 0);

  // A spreadsheet import checks every tenant's MACs: its own tenant's sheet names the device (nothing to change),
  // another tenant's is refused without a word of whose it is.
  const sheet = [
    ['mac', 'vendor', 'model'],
    ['001565000001', 'yealink', 'T46U'],
  ];
  const mine = await planDeviceImport(f.deps, f.tenantId, sheet);
  const theirs = await planDeviceImport(f.deps, other, sheet);
  assert.equal(mine.rows[0]?.change, { kind: 'unchanged' });
  assert.is(theirs.rows[0]?.problem, 'this MAC is already enrolled');
  assert.is(theirs.ready, false);
});

Isolation("a template saved in one tenant is that tenant's only: its revisions, restores and the text its phones get", async (ctx) => {
  const { f, other, store, editing } = ctx;
  const shipped = store.shippedSource('yealink', 'device.cfg');
  const saved = await saveTemplate(f.deps, editing, f.tenantId, ACTOR, { vendor: 'yealink', name: 'device.cfg', source: `${shipped}\n## default's\n` });
  assert.is(store.currentSource(f.tenantId, 'yealink', 'device.cfg'), `${shipped}\n## default's\n`);
  assert.is(store.currentSource(other, 'yealink', 'device.cfg'), shipped, 'the other tenant still gets the shipped file');
  assert.equal(await revisionsOf(f.deps.db, other, 'yealink', 'device.cfg'), []);
  assert.equal(await latestRevisions(f.deps.db, other), []);
  assert.equal(
    (await latestRevisions(f.deps.db)).map((r) => r.tenantId),
    [f.tenantId],
  );
  await assertAppError(() => getRevision(f.deps.db, other, saved.id), { status: 404, code: 'not_found' });
  await assertAppError(() => restoreRevision(f.deps, editing, other, ACTOR, { vendor: 'yealink', name: 'device.cfg', revisionId: saved.id }), {
    status: 404,
    code: 'not_found',
  });
  assert.is(store.currentSource(other, 'yealink', 'device.cfg'), shipped);

  await saveTemplate(f.deps, editing, other, ACTOR, { vendor: 'yealink', name: 'device.cfg', source: `${shipped}\n## acme's\n` });
  assert.is(store.currentSource(f.tenantId, 'yealink', 'device.cfg'), `${shipped}\n## default's\n`);
  assert.is(store.currentSource(other, 'yealink', 'device.cfg'), `${shipped}\n## acme's\n`);
});

Isolation.run();

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { deleteDevice, enrolDevice, listDevices } from '../../src/domain/devices.ts';
import { applyDeviceImport, applyUserImport, planDeviceImport, planUserImport } from '../../src/domain/imports.ts';
import { quotaRoom } from '../../src/domain/quotas.ts';
import { createTenant, updateTenant } from '../../src/domain/tenants.ts';
import { listUsers } from '../../src/domain/users.ts';
import { assertAppError } from '../helpers/assertions.ts';
import { ACTOR, buildDevice, buildUser, createDomain, type DomainFixture } from '../helpers/domain.ts';

/** The provider's quotas on a tenant's devices and users, enforced where devices and users are created. */
const Quotas = suite<{ f: DomainFixture }>('domain/quotas');
Quotas.before.each(async (ctx) => {
  ctx.f = await createDomain();
});
Quotas.after.each(({ f }) => f.close());

const setQuota = (f: DomainFixture, quota: { maxDevices?: number | null; maxUsers?: number | null }) => updateTenant(f.deps, f.tenantId, ACTOR, quota);

Quotas('no quota: no limit; a device past the quota is refused with the limit named and nothing written', async ({ f }) => {
  assert.is(await quotaRoom(f.deps.db, f.tenantId, 'devices'), null);
  await buildDevice(f);
  await buildDevice(f);
  await setQuota(f, { maxDevices: 3 });
  assert.is(await quotaRoom(f.deps.db, f.tenantId, 'devices'), 1);
  await buildDevice(f);
  const refused = await assertAppError(() => buildDevice(f), { status: 409, code: 'quota_exceeded', message: /^this tenant may have at most 3 devices$/ });
  assert.equal(refused.details, { limit: 3, kind: 'devices' });
  assert.is((await listDevices(f.deps.db, f.tenantId)).length, 3);
  // Lifting the quota lets enrolment go on.
  await setQuota(f, { maxDevices: null });
  await buildDevice(f);
});

Quotas('retired devices do not count; re-enrolling a retired device of the tenant counts like a new one', async ({ f }) => {
  await setQuota(f, { maxDevices: 1 });
  const first = await buildDevice(f);
  await deleteDevice(f.deps, f.tenantId, ACTOR, first.mac);
  assert.is(await quotaRoom(f.deps.db, f.tenantId, 'devices'), 1);
  const second = await buildDevice(f);
  await assertAppError(() => enrolDevice(f.deps, f.tenantId, ACTOR, { mac: first.mac, vendor: 'yealink', model: 'T46U' }), {
    status: 409,
    code: 'quota_exceeded',
  });
  await deleteDevice(f.deps, f.tenantId, ACTOR, second.mac);
  await enrolDevice(f.deps, f.tenantId, ACTOR, { mac: first.mac, vendor: 'yealink', model: 'T46U' });
  assert.equal(
    (await listDevices(f.deps.db, f.tenantId)).map((d) => d.mac),
    [first.mac],
  );
});

Quotas('a quota lowered below what the tenant has deletes nothing and refuses further creations', async ({ f }) => {
  for (const ext of ['101', '102', '103']) await buildUser(f, ext, { pin: undefined });
  await setQuota(f, { maxUsers: 1 });
  assert.is((await listUsers(f.deps.db, f.tenantId)).length, 3);
  assert.is(await quotaRoom(f.deps.db, f.tenantId, 'users'), 0);
  await assertAppError(buildUser(f, '104', { pin: undefined }), { status: 409, code: 'quota_exceeded', message: /^this tenant may have at most 1 user$/ });
  assert.is((await listUsers(f.deps.db, f.tenantId)).length, 3);
});

Quotas("a quota is per tenant: another tenant's devices and users do not count", async ({ f }) => {
  const other = await createTenant(f.deps, ACTOR, { name: 'Other', slug: 'other', maxDevices: 5 });
  await setQuota(f, { maxDevices: 1 });
  await buildDevice(f);
  await enrolDevice(f.deps, other.id, ACTOR, { mac: f.nextMac(), vendor: 'yealink', model: 'T46U' });
  assert.is(await quotaRoom(f.deps.db, other.id, 'devices'), 4);
  assert.is(await quotaRoom(f.deps.db, f.tenantId, 'devices'), 0);
});

Quotas('a device import plan names the rows past the quota; applying never passes it', async ({ f }) => {
  await buildDevice(f);
  await setQuota(f, { maxDevices: 3 });
  const sheet = [['mac', 'vendor', 'model'], ['not-a-mac', 'snom', 'D785'], ...['01', '02', '03'].map((n) => [`00:04:13:00:00:${n}`, 'snom', 'D785'])];
  const plan = await planDeviceImport(f.deps, f.tenantId, sheet);
  assert.equal(
    plan.rows.map((r) => [r.line, r.problem]),
    [
      [2, '“not-a-mac” is not a MAC address'],
      [3, null],
      [4, null],
      [5, "this row would pass the tenant's quota: only 2 more devices may be added"],
    ],
  );
  assert.is(plan.ready, false);
  // A plan made while there was room, applied after another enrolment took it: refused whole.
  const fits = await planDeviceImport(f.deps, f.tenantId, sheet.filter((r) => r[0] !== 'not-a-mac').slice(0, 3));
  assert.is(fits.ready, true);
  await buildDevice(f);
  await assertAppError(() => applyDeviceImport(f.deps, f.tenantId, ACTOR, fits), { status: 409, code: 'quota_exceeded' });
  assert.is((await listDevices(f.deps.db, f.tenantId)).length, 2);
});

Quotas('a user import plan names the rows past the quota; applying never passes it', async ({ f }) => {
  await setQuota(f, { maxUsers: 1 });
  const sheet = [
    ['extension', 'display_name', 'sip_password'],
    ['201', 'Ann', 'pw-201'],
    ['202', 'Bob', 'pw-202'],
  ];
  const plan = await planUserImport(f.deps, f.tenantId, 4, sheet);
  assert.equal(
    plan.rows.map((r) => r.problem),
    [null, "this row would pass the tenant's quota: only 1 more user may be added"],
  );
  const fits = await planUserImport(f.deps, f.tenantId, 4, sheet.slice(0, 2));
  await buildUser(f, '101', { pin: undefined });
  await assertAppError(applyUserImport(f.deps, f.tenantId, 4, ACTOR, fits), { status: 409, code: 'quota_exceeded' });
  assert.equal(
    (await listUsers(f.deps.db, f.tenantId)).map((u) => u.extension),
    ['101'],
  );
});

Quotas.run();

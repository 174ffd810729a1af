import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { deleteDevice, enrolDevice, recordDeviceSeen } from '../../src/domain/devices.ts';
import { login } from '../../src/domain/hotdesk.ts';
import { tenantOverviews } from '../../src/domain/overview.ts';
import { markSyncUndeliverable, openSyncJob } from '../../src/domain/syncJobs.ts';
import { createTenant, listActiveTenants } from '../../src/domain/tenants.ts';
import { ACTOR, buildDevice, buildUser, createDomain, type DomainFixture } from '../helpers/domain.ts';

const NOW = new Date('2026-12-01T12:00:00Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms);
const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

/** The provider's overview: the figures of every tenant from known data. */
const Overview = suite<{ f: DomainFixture; clock: { at: Date } }>('domain/overview');
Overview.before.each(async (ctx) => {
  ctx.clock = { at: ago(3 * DAY) };
  ctx.f = await createDomain(() => ctx.clock.at);
});
Overview.after.each(({ f }) => f.close());

const seen = (f: DomainFixture, deviceId: number, at: Date) =>
  recordDeviceSeen(f.deps.db, deviceId, { at, ip: '10.0.0.9', userAgent: 'Yealink SIP-T46U 108.86.0.45', firmware: null });
const syncPlan = (tenantId: number, device: { id: number; mac: string; idleAccount: string }) => ({
  tenantId,
  deviceId: device.id,
  deviceMac: device.mac,
  reason: 'test',
  mode: 'direct',
  target: device.idleAccount,
  event: 'check-sync',
  targetEtag: '"r1"',
});

Overview('two tenants with known data: devices, users, seated desks, failed re-syncs, unseen phones, last activity', async ({ f, clock }) => {
  const acme = await createTenant(f.deps, ACTOR, { name: 'Acme', slug: 'acme', maxDevices: 5, maxUsers: 2 });
  const [d1, d2, , d4] = [await buildDevice(f), await buildDevice(f), await buildDevice(f), await buildDevice(f)];
  const e1 = await enrolDevice(f.deps, acme.id, ACTOR, { mac: f.nextMac(), vendor: 'snom', model: 'D785' });
  await deleteDevice(f.deps, f.tenantId, ACTOR, d4.mac);
  await buildUser(f, '101');
  await buildUser(f, '102');
  // d1 last fetched two days ago; d3 never fetched since its enrolment three days ago; d2 an hour ago.
  await seen(f, d1.id, ago(2 * DAY));
  await seen(f, d2.id, ago(HOUR));
  // d1's latest re-sync failed; d2's failed too, but a newer one follows it.
  await markSyncUndeliverable(f.deps.db, (await openSyncJob(f.deps.db, syncPlan(f.tenantId, d1), ago(2 * DAY))).id, ago(2 * DAY), 'no contact');
  await markSyncUndeliverable(f.deps.db, (await openSyncJob(f.deps.db, syncPlan(f.tenantId, d2), ago(2 * HOUR))).id, ago(2 * HOUR), 'no contact');
  await openSyncJob(f.deps.db, syncPlan(f.tenantId, d2), ago(HOUR));
  clock.at = ago(30 * 60 * 1000);
  const seated = await login(f.deps, f.tenantId, ACTOR, { device: d2.idleAccount, extension: '101', pin: '4826', method: 'api' });
  assert.is(seated.result, 'logged_in');
  // Acme's phone fetched after anything was audited there.
  await seen(f, e1.id, ago(10 * 60 * 1000));

  const overviews = await tenantOverviews(f.deps.db, NOW, await listActiveTenants(f.deps.db));
  assert.equal(
    overviews.map(({ tenant, overview }) => [tenant.slug, overview]),
    [
      [
        'default',
        {
          devices: 3,
          maxDevices: null,
          users: 2,
          maxUsers: null,
          seatedDesks: 1,
          failedResyncs: 1,
          phonesUnseen: 2,
          lastActivityAt: ago(30 * 60 * 1000),
        },
      ],
      [
        'acme',
        {
          devices: 1,
          maxDevices: 5,
          users: 0,
          maxUsers: 2,
          seatedDesks: 0,
          failedResyncs: 0,
          phonesUnseen: 0,
          lastActivityAt: ago(10 * 60 * 1000),
        },
      ],
    ],
  );
});

Overview('a tenant with nothing in it: zeros, and its creation as the last activity', async ({ f, clock }) => {
  const empty = await createTenant(f.deps, ACTOR, { name: 'Empty', slug: 'empty' });
  const [row] = await tenantOverviews(f.deps.db, NOW, [empty]);
  assert.equal(row?.overview, {
    devices: 0,
    maxDevices: null,
    users: 0,
    maxUsers: null,
    seatedDesks: 0,
    failedResyncs: 0,
    phonesUnseen: 0,
    lastActivityAt: clock.at,
  });
});

Overview.run();

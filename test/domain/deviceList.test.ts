import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type DeviceListQuery, findDevicePage } from '../../src/domain/deviceList.ts';
import { deleteDevice, enrolDevice, recordDeviceSeen } from '../../src/domain/devices.ts';
import { markSyncUndeliverable, openSyncJob } from '../../src/domain/syncJobs.ts';
import { createTenant } from '../../src/domain/tenants.ts';
import { ACTOR, buildDevice, createDomain, type DomainFixture } from '../helpers/domain.ts';

const NOW = new Date('2026-12-01T12:00:00Z');
const HOUR = 60 * 60 * 1000;
const ago = (ms: number) => new Date(NOW.getTime() - ms);

/** The device list as the database answers it: filters, sort and pages, one tenant's devices only. */
const List = suite<{ f: DomainFixture }>('domain/device list');
List.before.each(async (ctx) => {
  ctx.f = await createDomain(() => ago(48 * HOUR));
});
List.after.each(({ f }) => f.close());

const page = async (f: DomainFixture, query: Partial<DeviceListQuery> = {}) => {
  const found = await findDevicePage(f.deps.db, f.tenantId, NOW, { limit: 50, offset: 0, ...query });
  return { ids: found.rows.map((r) => r.device.idleAccount), total: found.total };
};

List('filters, sorting with the never-seen last, pages with the total, and LIKE wildcards taken literally', async ({ f }) => {
  const a = await buildDevice(f, { label: '100% window', location: 'North' });
  const b = await buildDevice(f, { label: 'Door', vendor: 'snom', model: 'D785' });
  const c = await buildDevice(f, { label: 'Corner_desk' });
  const gone = await buildDevice(f, { label: 'Gone' });
  await deleteDevice(f.deps, f.tenantId, ACTOR, gone.mac);
  // Another tenant's device never shows.
  const other = await createTenant(f.deps, ACTOR, { name: 'Other', slug: 'other' });
  await enrolDevice(f.deps, other.id, ACTOR, { mac: f.nextMac(), vendor: 'yealink', model: 'T46U', label: 'Door' });
  await recordDeviceSeen(f.deps.db, a.id, { at: ago(30 * HOUR), ip: '10.0.0.7', userAgent: 'Yealink SIP-T46U 108.86.0.45', firmware: '108.86.0.45' });
  await recordDeviceSeen(f.deps.db, b.id, { at: ago(HOUR), ip: '10.0.0.8', userAgent: 'snom D785', firmware: null });
  const job = await openSyncJob(
    f.deps.db,
    { tenantId: f.tenantId, deviceId: c.id, deviceMac: c.mac, reason: 'test', mode: 'direct', target: c.idleAccount, event: 'check-sync', targetEtag: '"r"' },
    ago(HOUR),
  );
  await markSyncUndeliverable(f.deps.db, job.id, ago(HOUR), 'no contact');

  assert.equal(await page(f), { ids: [a.idleAccount, b.idleAccount, c.idleAccount], total: 3 });
  assert.equal((await page(f, { q: '100%' })).ids, [a.idleAccount], '% is a character, not a wildcard');
  assert.equal((await page(f, { q: 'doo_' })).ids, [], '_ is a character, not a wildcard');
  assert.equal((await page(f, { q: 'corner_' })).ids, [c.idleAccount]);
  assert.equal((await page(f, { q: '10.0.0.8' })).ids, [b.idleAccount], 'by address');
  assert.equal((await page(f, { q: 'north' })).ids, [a.idleAccount], 'by location, in any case');
  assert.equal((await page(f, { vendor: 'snom' })).ids, [b.idleAccount]);
  assert.equal((await page(f, { unseen: true })).ids, [a.idleAccount, c.idleAccount], 'seen 30 h ago, and never seen since enrolled 48 h ago');
  assert.equal((await page(f, { failed: true })).ids, [c.idleAccount]);
  assert.equal((await page(f, { state: 'unclaimed' })).total, 3);
  assert.equal((await page(f, { sort: 'seen' })).ids, [a.idleAccount, b.idleAccount, c.idleAccount]);
  assert.equal((await page(f, { sort: 'seen', descending: true })).ids, [b.idleAccount, a.idleAccount, c.idleAccount]);
  assert.equal(await page(f, { limit: 2, offset: 2 }), { ids: [c.idleAccount], total: 3 });
  const first = (await findDevicePage(f.deps.db, f.tenantId, NOW, { q: 'corner', limit: 1, offset: 0 })).rows[0];
  assert.equal([first?.sync?.state, first?.sync?.error], ['failed', 'no contact'], 'the latest re-sync beside the device');
});

List.run();

import { eq } from 'drizzle-orm';
import { getTableConfig } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CHANGE_CHANNEL, type ChangeNotice, parsePayload } from '../../src/db/changeFeed.ts';
import { tablesOf } from '../../src/db/client.ts';
import type { devices as pgDevices } from '../../src/db/schema.pg.ts';
import { resetDeviceAccess } from '../../src/domain/deviceAccess.ts';
import { deleteDevice, recordFetches, updateDevice } from '../../src/domain/devices.ts';
import { phoneColumnsOf } from '../../src/domain/lookup.ts';
import { ACTOR, buildDevice, createDomain, type DomainFixture } from '../helpers/domain.ts';
import { executeSql } from '../helpers/testDatabase.ts';

/**
 * PostgreSQL tells every node when a device's row changes in a column a phone's fetch reads (migration 0002, a
 * trigger): each node keeps copies of those columns (provisioning/deviceCopies.ts) and drops them on this notice. A
 * credential reset, an edit, a deletion, plain SQL: each is heard. What fetches record (last seen, revision served) is
 * not: it changes with every poll and opens nothing.
 */
interface Context {
  f: DomainFixture;
  listener: pg.Client;
  heard: { notice: ChangeNotice; from: string }[];
}

const Notices = suite<Context>('db/device row notices (PostgreSQL trigger)', {} as Context);

Notices.before.each(async (ctx) => {
  ctx.f = await createDomain(() => new Date(), 'postgres');
  const pool = (ctx.f.deps.db as unknown as { $client: pg.Pool }).$client;
  ctx.heard = [];
  ctx.listener = new pg.Client({ connectionString: (pool.options as { connectionString: string }).connectionString });
  await ctx.listener.connect();
  ctx.listener.on('notification', (message) => {
    const parsed = parsePayload(message.payload ?? '');
    if (parsed !== null) ctx.heard.push(parsed);
  });
  await ctx.listener.query(`LISTEN ${CHANGE_CHANNEL}`);
});

Notices.after.each(async (ctx) => {
  await ctx.listener.end();
  ctx.f.close();
});

/** What the listener heard once everything committed so far was delivered: a NOTIFY of its own marks the end. */
async function heardSoFar(ctx: Context): Promise<{ notice: ChangeNotice; from: string }[]> {
  // Notifications arrive in commit order, so the marker (not one of ours: never in `heard`) comes after them all.
  const marker = `marker-${Math.random()}`;
  const delivered = new Promise<void>((resolve) => {
    const seen = (m: pg.Notification) => {
      if (m.payload !== marker) return;
      ctx.listener.off('notification', seen);
      resolve();
    };
    ctx.listener.on('notification', seen);
  });
  await ctx.listener.query('SELECT pg_notify($1, $2)', [CHANGE_CHANNEL, marker]);
  await delivered;
  const heard = ctx.heard;
  ctx.heard = [];
  return heard;
}

const rowNotices = (heard: { notice: ChangeNotice; from: string }[]) =>
  heard.filter((h) => h.notice.kind === 'deviceRows').map((h) => ({ from: h.from, ids: h.notice.kind === 'deviceRows' ? h.notice.deviceIds : [] }));

Notices('a credential reset, an edit and a deletion are each heard by every node, naming the device, from the database', async (ctx) => {
  const device = await buildDevice(ctx.f);
  await heardSoFar(ctx);
  await resetDeviceAccess(ctx.f.deps, ctx.f.tenantId, ACTOR, device.mac);
  assert.equal(rowNotices(await heardSoFar(ctx)), [{ from: 'database', ids: [device.id] }], 'credential reset');
  await updateDevice(ctx.f.deps, ctx.f.tenantId, ACTOR, device.mac, { label: 'Desk 7' });
  assert.equal(rowNotices(await heardSoFar(ctx)), [{ from: 'database', ids: [device.id] }], 'label');
  await deleteDevice(ctx.f.deps, ctx.f.tenantId, ACTOR, device.mac);
  assert.ok(rowNotices(await heardSoFar(ctx)).length >= 1, 'deletion (retirement)');
  await executeSql(ctx.f.deps.db, `DELETE FROM devices WHERE id = ${device.id}`);
  assert.equal(rowNotices(await heardSoFar(ctx)), [{ from: 'database', ids: [device.id] }], 'a row deleted by plain SQL');
});

Notices('plain SQL that changes a password is heard; one that writes the same values is not', async (ctx) => {
  const device = await buildDevice(ctx.f);
  await heardSoFar(ctx);
  await executeSql(ctx.f.deps.db, `UPDATE devices SET prov_password = 'changed-by-hand' WHERE id = ${device.id}`);
  assert.equal(rowNotices(await heardSoFar(ctx)), [{ from: 'database', ids: [device.id] }]);
  await executeSql(ctx.f.deps.db, `UPDATE devices SET prov_password = 'changed-by-hand', label = label WHERE id = ${device.id}`);
  assert.equal(rowNotices(await heardSoFar(ctx)), []);
});

Notices('what fetches record (last seen, the revision served) is not heard: it changes at every poll', async (ctx) => {
  const device = await buildDevice(ctx.f);
  await heardSoFar(ctx);
  await recordFetches(
    ctx.f.deps.db,
    [[device.id, { at: new Date(), ip: '127.0.0.9', userAgent: 'Yealink SIP-T46U 108.86.0.45', firmware: '108.86.0.45' }]],
    [[device.id, { etag: '"abc"', account: { userName: 'HD0001', authName: 'HD0001', password: 'x' } }]],
  );
  const { devices } = tablesOf(ctx.f.deps.db);
  const [row] = await ctx.f.deps.db.select().from(devices).where(eq(devices.id, device.id));
  assert.is(row?.servedEtag, '"abc"', 'the records were written');
  assert.equal(rowNotices(await heardSoFar(ctx)), []);
});

Notices('the trigger watches every column of the phone path but those fetches record', async (ctx) => {
  const recorded = new Set(['lastSeenAt', 'lastSeenIp', 'lastUserAgent', 'firmware', 'servedEtag', 'id']);
  const columns = Object.entries(phoneColumnsOf(ctx.f.deps.db))
    .filter(([key]) => !recorded.has(key))
    .map(([, column]) => column.name);
  const { rows } = await ctx.listener.query<{ definition: string }>(
    "SELECT pg_get_triggerdef(oid) AS definition FROM pg_trigger WHERE tgname = 'devices_phone_columns_changed'",
  );
  const definition = rows[0]?.definition ?? '';
  const watched = /UPDATE OF (.*?) ON /.exec(definition)?.[1]?.split(', ') ?? [];
  assert.equal(
    columns.filter((c) => !watched.includes(c)),
    [],
    'phone columns no change notice covers',
  );
  for (const column of columns) assert.ok(definition.includes(`old.${column}`), `the WHEN clause compares ${column}`);
  // And nothing a fetch records is among them.
  const tableColumns = getTableConfig(tablesOf(ctx.f.deps.db).devices as unknown as typeof pgDevices).columns.map((c) => c.name);
  for (const column of ['last_seen_at', 'last_seen_ip', 'last_user_agent', 'firmware', 'served_etag']) {
    assert.ok(tableColumns.includes(column));
    assert.not.ok(watched.includes(column), `${column} is not watched`);
  }
});

Notices.run();

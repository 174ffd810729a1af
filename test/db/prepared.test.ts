import { eq } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type OpenDb, openDb } from '../../src/db/client.ts';
import { devices } from '../../src/db/schema.ts';
import { findPhoneByMac } from '../../src/domain/lookup.ts';
import type { Mac } from '../../src/domain/mac.ts';
import { ensureDefaultTenant } from '../../src/domain/tenants.ts';

const Reader = suite<{ open: OpenDb }>('the phone path reads a device as drizzle does', {} as { open: OpenDb });

Reader.before.each((ctx) => {
  ctx.open = openDb(':memory:');
});
Reader.after.each((ctx) => ctx.open.close());

Reader('every column of PhoneDevice, set and unset, decoded as drizzle decodes it (dates, enums, nulls, quotes)', async (ctx) => {
  const { db } = ctx.open;
  const tenant = await ensureDefaultTenant(db);
  const base = { tenantId: tenant.id, vendor: 'yealink', model: 'T54W', idlePassword: 'pw' };
  await db.insert(devices).values({ ...base, mac: '001565000001', idleAccount: 'HD0001' });
  await db.insert(devices).values({
    ...base,
    mac: '001565000002',
    idleAccount: 'HD0002',
    label: `Desk "4" ☎ 'north'`,
    location: 'Floor 2\nRoom 7',
    access: 'active',
    retiredAt: new Date(1_700_000_000_123),
    lastSeenAt: new Date(1_800_000_000_456),
    lastSeenIp: '::1',
    lastUserAgent: 'Yealink SIP-T54W 96.86.0.70',
    firmware: '96.86.0.70',
    servedEtag: '"abc"',
    provUsername: 'u',
    provPassword: 'p',
    screenSecret: 's',
    webPassword: 'w',
    expansionModules: 2,
    phoneTimezone: 'Europe/Amsterdam',
    phoneLanguage: 'nl',
  });
  for (const mac of ['001565000001', '001565000002']) {
    const read = await findPhoneByMac(db, mac as Mac);
    const full = (await db.select().from(devices).where(eq(devices.mac, mac)))[0];
    assert.ok(read && full);
    const expected = Object.fromEntries(Object.keys(read).map((k) => [k, full[k as keyof typeof full]]));
    assert.equal(read, expected, mac);
    assert.ok(read.lastSeenAt === null || read.lastSeenAt instanceof Date);
  }
  assert.is(await findPhoneByMac(db, '001565000003' as Mac), undefined, 'an unknown MAC reads nothing');
});

Reader.run();

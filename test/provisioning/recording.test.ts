import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHotprov, type Hotprov } from '../../src/composition.ts';
import { openDatabase, tablesOf } from '../../src/db/client.ts';
import type { DeviceRow } from '../../src/db/schema.ts';
import { logout } from '../../src/domain/hotdesk.ts';
import { getDevice } from '../../src/domain/lookup.ts';
import { ensureDefaultTenant } from '../../src/domain/tenants.ts';
import { createLogger } from '../../src/log.ts';
import { type SeededDevice, seededRequest } from '../bench/seed.ts';
import { basicAuthorization, startTestServer, TEST_TOKEN, testConfig } from '../helpers/server.ts';
import { holdWriteLock, TEST_ENGINE, throwawayDatabase } from '../helpers/testDatabase.ts';

/**
 * What a fetch records (when and from where a phone was last seen, which revision it holds) is written once per
 * turn of the event loop for all phones of that turn. None of it may be lost: not in a storm, not at shutdown.
 */
const Recording = suite('provisioning/recording fetches');

Recording('fifty phones fetching at once are each recorded, with their own address and revision', async () => {
  const t = await startTestServer();
  try {
    const macs = Array.from({ length: 50 }, (_, i) => `805ec0${i.toString(16).padStart(6, '0')}`);
    for (const mac of macs) await t.api('POST', '/api/v1/devices', { mac, vendor: 'yealink', model: 'T46U' });
    const answers = await Promise.all(
      macs.map(async (mac) => {
        const res = await t.phone(`/${mac}.cfg`, 'Yealink SIP-T46U 108.86.0.40');
        await res.arrayBuffer();
        return res.headers.get('etag');
      }),
    );
    for (const [i, mac] of macs.entries()) {
      const device = await t.api('GET', `/api/v1/devices/${mac}`);
      assert.is(device.body.lastSeen?.firmware, '108.86.0.40', mac);
      assert.is(device.body.lastSeen?.ip, '127.0.0.1', mac);
      const row = await getDevice(t.hotprov.database.db, 1, mac);
      assert.is(row.servedEtag, answers[i], `${mac}: the revision it was sent`);
    }
  } finally {
    await t.close();
  }
});

/** The phone put on record before hotprov starts: active, with credentials of its own, nobody seated. */
const PHONE = { mac: '805ec0000001', idleAccount: 'HD000001', credentials: { username: 'hp805ec0000001', password: 'p1' } } as const;
const phone: SeededDevice = {
  idleAccount: PHONE.idleAccount,
  path: `/prov/${PHONE.mac}.cfg`,
  ua: 'Yealink SIP-T46U 108.86.0.40',
  credentials: PHONE.credentials,
  authorization: basicAuthorization(PHONE.credentials.username, PHONE.credentials.password),
};

/** A new database of the suite's engine that outlives its connections, with the phone on record. */
async function databaseWithPhone(dir: string): Promise<{ location: string; drop(): Promise<void> }> {
  const throwaway = await throwawayDatabase(join(dir, 'hotprov.db'));
  const open = await openDatabase({ dbPath: throwaway.location, dbEngine: TEST_ENGINE });
  try {
    const tenant = await ensureDefaultTenant(open.db);
    await open.db.insert(tablesOf(open.db).devices).values({
      tenantId: tenant.id,
      mac: PHONE.mac,
      vendor: 'yealink',
      model: 'T46U',
      idleAccount: PHONE.idleAccount,
      idlePassword: 'idle-1',
      screenSecret: 's1',
      provUsername: PHONE.credentials.username,
      provPassword: PHONE.credentials.password,
      webPassword: 'w1',
      access: 'active',
      activatedBy: 'admin',
    });
  } finally {
    await open.close();
  }
  return throwaway;
}

/**
 * Runs `use` on a hotprov over a database holding the phone, closes it, and answers the phone's row as the
 * database then holds it: what survived, not what the process remembered.
 */
async function rowAfter(use: (hotprov: Hotprov, warned: Promise<void>) => Promise<void>): Promise<DeviceRow> {
  const dir = mkdtempSync(join(tmpdir(), 'hotprov-recording-'));
  try {
    const database = await databaseWithPhone(dir);
    try {
      let warn = () => {};
      const warned = new Promise<void>((resolve) => {
        warn = resolve;
      });
      const log = createLogger('warn', (line) => {
        if (line.includes('could not record what phones fetched')) warn();
      });
      const hotprov = await createHotprov({ config: testConfig({ HOTPROV_DB: database.location }), adminToken: TEST_TOKEN, log });
      await use(hotprov, warned);
      await hotprov.close();
      const open = await openDatabase({ dbPath: database.location, dbEngine: TEST_ENGINE });
      try {
        return await getDevice(open.db, 1, phone.idleAccount);
      } finally {
        await open.close();
      }
    } finally {
      await database.drop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fetchAs = (hotprov: Hotprov, ip: string) => hotprov.provisioning.answer(seededRequest(phone, ip));

Recording('what was fetched just before shutdown is written before the database closes', async () => {
  let etag: string | null = null;
  const row = await rowAfter(async (hotprov) => {
    const answer = await fetchAs(hotprov, '192.0.2.7');
    if (answer.kind !== 'file') throw new Error(`answered ${answer.kind}`);
    etag = answer.etag; // closed straight after the answer: its writes are still pending when close() begins
  });
  assert.is(row.lastSeenIp, '192.0.2.7');
  assert.is(row.servedEtag, etag);
});

Recording('a fetch recorded while another process holds the database is written once it lets go', async () => {
  const row = await rowAfter(async (hotprov, warned) => {
    const letGo = await holdWriteLock(hotprov.database); // the `hotprov` command line, say, in the middle of a write
    assert.is((await fetchAs(hotprov, '192.0.2.9')).kind, 'file');
    // This turn's write finds the database locked (a hang guard, not a timing: on a free database it never comes).
    await Promise.race([warned, new Promise((_, reject) => setTimeout(() => reject(new Error('the write never found the database locked')), 10_000).unref())]);
    await letGo();
  });
  assert.is(row.lastSeenIp, '192.0.2.9', 'kept, and written at the next chance');
});

Recording('a logout in the same turn as the fetch of the user profile still tells the phone to fetch again', async () => {
  const t = await startTestServer();
  try {
    await t.api('POST', '/api/v1/devices', { mac: '805ec0112233', vendor: 'yealink', model: 'T46U' });
    await t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Ann', sipPassword: 's-101', pin: '4826' });
    await (await t.phone('/805ec0112233.cfg')).arrayBuffer(); // the phone holds its idle profile, on record
    await t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
    // One turn: the phone fetches Ann's profile, and Ann is logged out before that fetch is written.
    const phone = await getDevice(t.hotprov.database.db, 1, 'HD0001');
    const fetched = await t.hotprov.provisioning.answer({
      filename: '805ec0112233.cfg',
      scope: 'credentialed',
      action: 'download',
      userAgent: '',
      ip: '127.0.0.1',
      credentials: { username: phone.provUsername ?? '', password: phone.provPassword ?? '' },
      certificateMacs: null,
      held: { kind: 'none' },
    });
    assert.is(fetched.kind, 'file');
    await logout(t.hotprov.deps.domain, 1, { name: 'test' }, { device: 'HD0001', method: 'admin' });
    // The phone holds Ann's profile, not the idle one the database still names: it must be told.
    const device = await t.api('GET', '/api/v1/devices/HD0001');
    assert.is(device.body.sync?.reason, 'logout');
    assert.is(device.body.sync?.target, '101', "addressed to Ann's account, which the phone is registered with");
  } finally {
    await t.close();
  }
});

Recording('If-None-Match: * gets its 304 but records no revision: it does not say which copy the phone holds', async () => {
  const t = await startTestServer();
  try {
    await t.api('POST', '/api/v1/devices', { mac: '805ec0112233', vendor: 'yealink', model: 'T46U' });
    await t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Ann', sipPassword: 's-101', pin: '4826' });
    const idle = await t.phone('/805ec0112233.cfg');
    await idle.arrayBuffer();
    await t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
    const any = await t.phone('/805ec0112233.cfg', '', { headers: { 'if-none-match': '*' } });
    assert.is(any.status, 304);
    assert.is((await getDevice(t.hotprov.database.db, 1, 'HD0001')).servedEtag, idle.headers.get('etag'), 'still the idle revision on record');
    const device = await t.api('GET', '/api/v1/devices/HD0001');
    assert.is.not(device.body.sync?.state, 'fetched', "the login's re-sync is not taken as done");
  } finally {
    await t.close();
  }
});

Recording.run();

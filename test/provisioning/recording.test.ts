import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHotprov, type Hotprov } from '../../src/composition.ts';
import { openDb } from '../../src/db/client.ts';
import type { DeviceRow } from '../../src/db/schema.ts';
import { logout } from '../../src/domain/hotdesk.ts';
import { getDevice } from '../../src/domain/lookup.ts';
import { silentLogger } from '../../src/log.ts';
import { type SeededDevice, seed, seededRequest } from '../bench/seed.ts';
import { startTestServer, TEST_TOKEN, testConfig } from '../helpers/server.ts';

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

/**
 * Runs `use` on a hotprov over a seeded database file, closes it, and answers the first phone's row as the
 * database then holds it: what survived, not what the process remembered.
 */
async function rowAfter(use: (hotprov: Hotprov, phone: SeededDevice, path: string) => Promise<void>): Promise<DeviceRow> {
  const dir = mkdtempSync(join(tmpdir(), 'hotprov-recording-'));
  const path = join(dir, 'hotprov.db');
  try {
    const [phone] = await seed(path, 2);
    if (phone === undefined) throw new Error('seeded no phone');
    const hotprov = await createHotprov({ config: testConfig({ HOTPROV_DB: path }), adminToken: TEST_TOKEN, log: silentLogger });
    await use(hotprov, phone, path);
    await hotprov.close();
    const { db, close } = openDb(path);
    try {
      return await getDevice(db, 1, phone.idleAccount);
    } finally {
      close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fetchAs = (hotprov: Hotprov, phone: SeededDevice, ip: string) => hotprov.provisioning.answer(seededRequest(phone, ip));

Recording('what was fetched just before shutdown is written before the database closes', async () => {
  let etag: string | null = null;
  const row = await rowAfter(async (hotprov, phone) => {
    const answer = await fetchAs(hotprov, phone, '192.0.2.7');
    if (answer.kind !== 'file') throw new Error(`answered ${answer.kind}`);
    etag = answer.etag; // closed straight after the answer: its writes are still pending when close() begins
  });
  assert.is(row.lastSeenIp, '192.0.2.7');
  assert.is(row.servedEtag, etag);
});

Recording('a fetch recorded while another process holds the database is written once it lets go', async () => {
  const row = await rowAfter(async (hotprov, phone, path) => {
    hotprov.database.sqlite.pragma('busy_timeout = 20'); // give up on the lock quickly, not after 5 s
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE'); // the `hotprov` command line, say, in the middle of a write
    assert.is((await fetchAs(hotprov, phone, '192.0.2.9')).kind, 'file');
    await new Promise((resolve) => setImmediate(resolve)); // this turn's write finds the database locked
    other.exec('COMMIT');
    other.close();
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

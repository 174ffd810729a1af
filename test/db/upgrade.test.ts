import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readBootstrap } from '../helpers/bootstrap.ts';
import { databaseAsReleasedBefore } from '../helpers/earlierRelease.ts';
import { basicAuthorization, startTestServer } from '../helpers/server.ts';

/**
 * Upgrading to device-bound provisioning must not cut off phones in service: a database as the release before
 * it left it (migrations 0000–0008) is migrated, then its phones fetch as they always did.
 */
const Upgrade = suite<{ dir: string }>('db/upgrade to device-bound provisioning', { dir: '' });
Upgrade.before.each((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hotprov-upgrade-'));
});
Upgrade.after.each(({ dir }) => rmSync(dir, { recursive: true, force: true }));

const BEFORE = 9; // migrations 0000 to 0008

/** A database migrated as the release before device-bound provisioning left it. */

Upgrade('phones in service keep being served; redirect phones stay active, others re-key from their own address', async ({ dir }) => {
  const path = join(dir, 'hotprov.db');
  const old = databaseAsReleasedBefore(dir, path, BEFORE);
  const tenant = (old.prepare(`INSERT INTO tenants (slug, name) VALUES ('default', 'Default') RETURNING id`).get() as { id: number }).id;
  const insert = old.prepare(
    `INSERT INTO devices (tenant_id, mac, vendor, model, idle_account, idle_password, prov_username, prov_password, prov_auth, last_seen_at, last_seen_ip)
     VALUES (?, ?, 'yealink', 'T54W', ?, 'idle-pw', ?, ?, ?, ?, ?)`,
  );
  insert.run(tenant, '805ec0000001', 'HD0001', 'hp805ec0000001', 'rps-password', 1, 1_700_000_000_000, '198.51.100.10'); // sent by RPS
  insert.run(tenant, '805ec0000002', 'HD0002', 'hp805ec0000002', 'never-used', 0, 1_700_000_000_000, '198.51.100.20'); // DHCP, in service
  insert.run(tenant, '805ec0000003', 'HD0003', 'hp805ec0000003', 'never-used-3', 0, null, null); // enrolled, never seen
  old.prepare(`UPDATE tenants SET next_idle_number = 4`).run();
  old.close();

  const t = await startTestServer({ env: { HOTPROV_DB: path, HOTPROV_TRUST_PROXY: 'true' } });
  try {
    const access = async (mac: string) => (await t.api('GET', `/api/v1/devices/${mac}`)).body.access;
    assert.is((await access('805ec0000001')).state, 'active');
    assert.is((await access('805ec0000002')).state, 'unclaimed');
    assert.is((await access('805ec0000003')).state, 'unclaimed');

    // The phone its redirect service sent keeps fetching with the credentials it has.
    const rps = await t.anonymous('/prov/805ec0000001.cfg', '', { headers: { authorization: basicAuthorization('hp805ec0000001', 'rps-password') } });
    assert.is(rps.status, 200);
    assert.match(await rps.text(), /^account\.1\.user_name = HD0001$/m);

    // The DHCP phone fetches as before, from where it always did: it re-keys and is active at once.
    const ua = 'Yealink SIP-T54W 96.86.0.70';
    const bootstrap = await t.anonymous('/805ec0000002.cfg', ua, { headers: { 'x-forwarded-for': '198.51.100.20' } });
    const settings = readBootstrap('yealink', await bootstrap.text());
    assert.is((await access('805ec0000002')).activatedBy, 'upgrade');
    const idle = await t.anonymous('/prov/805ec0000002.cfg', ua, {
      headers: { 'x-forwarded-for': '198.51.100.20', authorization: basicAuthorization(settings.username, settings.password) },
    });
    assert.match(await idle.text(), /^account\.1\.user_name = HD0002$/m);

    // A never-seen phone claiming from the internet waits for its activation like any new one.
    await (await t.anonymous('/805ec0000003.cfg', ua, { headers: { 'x-forwarded-for': '203.0.113.30' } })).text();
    assert.is((await access('805ec0000003')).state, 'claimed');
  } finally {
    await t.close();
  }
});

Upgrade.run();

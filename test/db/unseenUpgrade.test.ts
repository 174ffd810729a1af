import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { reportUnseenDevices } from '../../src/domain/devices.ts';
import { databaseAsReleasedBefore } from '../helpers/earlierRelease.ts';
import { startTestServer } from '../helpers/server.ts';

/**
 * The release with webhooks reports phones not seen for a day. Upgrading must not report, on its first run, every
 * phone that had gone quiet long before: those count as told until they fetch again.
 */
const Upgrade = suite<{ dir: string }>('db/upgrade to webhooks: phones already silent are not news', { dir: '' });
Upgrade.before.each((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hotprov-unseen-'));
});
Upgrade.after.each(({ dir }) => rmSync(dir, { recursive: true, force: true }));

const BEFORE = 22; // migrations 0000 to 0021: the release before webhooks
const HOUR = 3_600_000;

Upgrade('a phone silent for days before the upgrade is not reported; one seen an hour before it is, once a day has passed', async ({ dir }) => {
  const path = join(dir, 'hotprov.db');
  const old = databaseAsReleasedBefore(dir, path, BEFORE);
  const tenant = (old.prepare(`INSERT INTO tenants (slug, name) VALUES ('default', 'Default') RETURNING id`).get() as { id: number }).id;
  const insert = old.prepare(
    `INSERT INTO devices (tenant_id, mac, vendor, model, idle_account, idle_password, prov_username, prov_password, last_seen_at)
     VALUES (?, ?, 'yealink', 'T54W', ?, 'idle-pw', ?, 'prov-pw', ?)`,
  );
  const upgradedAt = Date.now();
  insert.run(tenant, '805ec0000001', 'HD0001', 'hp805ec0000001', upgradedAt - 3 * 24 * HOUR); // long silent
  insert.run(tenant, '805ec0000002', 'HD0002', 'hp805ec0000002', upgradedAt - HOUR); // in service
  insert.run(tenant, '805ec0000003', 'HD0003', 'hp805ec0000003', null); // never seen
  old.close();

  const t = await startTestServer({ env: { HOTPROV_DB: path } });
  try {
    const domain = { db: t.hotprov.deps.domain.db, now: () => new Date(upgradedAt + 2 * 24 * HOUR) };
    assert.is(await reportUnseenDevices(domain, 24 * HOUR), 1, 'only the phone that went quiet after the upgrade');
    const audit = await t.api('GET', '/api/v1/audit?action=device.unseen');
    assert.equal(
      audit.body.events.map((e: { idleAccount: string }) => e.idleAccount),
      ['HD0002'],
    );
  } finally {
    await t.close();
  }
});

Upgrade.run();

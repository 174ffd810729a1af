import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openDb } from '../../src/db/client.ts';
import { databaseAsReleasedBefore } from '../helpers/earlierRelease.ts';

/**
 * Upgrading to tenants kept apart (migration 0015): template revisions get a tenant, the default one, and every
 * tenant the idle-account pattern it always had (HD{n:4}); nothing else moves.
 */
const Upgrade = suite<{ dir: string }>('db/upgrade to per-tenant templates and idle-account patterns', { dir: '' });
Upgrade.before.each((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hotprov-tenants-'));
});
Upgrade.after.each(({ dir }) => rmSync(dir, { recursive: true, force: true }));

const BEFORE = 16; // migrations 0000 to 0015: the release before templates per tenant (0016)

/** A database migrated as the release before this one left it. */

const revision = `INSERT INTO template_revisions (vendor, name, source, created_by, created_at, restored_from) VALUES (?, ?, ?, ?, ?, ?)`;

Upgrade('existing template revisions go to the default tenant, whatever its id; every tenant keeps naming HD0001…', ({ dir }) => {
  const path = join(dir, 'hotprov.db');
  const old = databaseAsReleasedBefore(dir, path, BEFORE);
  // The default tenant is not the first row here: the rows must still go to it.
  old.prepare(`INSERT INTO tenants (slug, name, next_idle_number) VALUES ('acme', 'Acme', 7)`).run();
  const defaultId = (old.prepare(`INSERT INTO tenants (slug, name, next_idle_number) VALUES ('default', 'Default', 3) RETURNING id`).get() as { id: number })
    .id;
  old.prepare(revision).run('yealink', 'device.cfg', 'first {{account.userName}}', 'alice', 1_700_000_000_000, null);
  old.prepare(revision).run('yealink', 'device.cfg', null, 'bob', 1_700_000_100_000, null);
  old.prepare(revision).run('yealink', 'device.cfg', 'first {{account.userName}}', 'alice', 1_700_000_200_000, 1);
  old.prepare(revision).run('snom', 'device.xml', '<x/>', 'carol', 1_700_000_300_000, null);
  old.close();

  const { sqlite, close } = openDb(path);
  try {
    assert.equal(
      sqlite.prepare(`SELECT id, tenant_id, vendor, name, source, created_by, created_at, restored_from FROM template_revisions ORDER BY id`).all(),
      [
        {
          id: 1,
          tenant_id: defaultId,
          vendor: 'yealink',
          name: 'device.cfg',
          source: 'first {{account.userName}}',
          created_by: 'alice',
          created_at: 1_700_000_000_000,
          restored_from: null,
        },
        {
          id: 2,
          tenant_id: defaultId,
          vendor: 'yealink',
          name: 'device.cfg',
          source: null,
          created_by: 'bob',
          created_at: 1_700_000_100_000,
          restored_from: null,
        },
        {
          id: 3,
          tenant_id: defaultId,
          vendor: 'yealink',
          name: 'device.cfg',
          source: 'first {{account.userName}}',
          created_by: 'alice',
          created_at: 1_700_000_200_000,
          restored_from: 1,
        },
        {
          id: 4,
          tenant_id: defaultId,
          vendor: 'snom',
          name: 'device.xml',
          source: '<x/>',
          created_by: 'carol',
          created_at: 1_700_000_300_000,
          restored_from: null,
        },
      ],
    );
    assert.equal(sqlite.prepare(`SELECT slug, next_idle_number, idle_account_pattern FROM tenants ORDER BY id`).all(), [
      { slug: 'acme', next_idle_number: 7, idle_account_pattern: 'HD{n:4}' },
      { slug: 'default', next_idle_number: 3, idle_account_pattern: 'HD{n:4}' },
    ]);
    // A revision now needs a tenant that exists.
    assert.throws(
      () => sqlite.prepare(`INSERT INTO template_revisions (tenant_id, vendor, name, created_by, created_at) VALUES (999, 'snom', 'x', 'y', 1)`).run(),
      /FOREIGN KEY/,
    );
    const nextId = sqlite
      .prepare(`INSERT INTO template_revisions (tenant_id, vendor, name, created_by, created_at) VALUES (?, 'snom', 'x', 'y', 1) RETURNING id`)
      .get(defaultId);
    assert.equal(nextId, { id: 5 }, 'ids go on where they were');
  } finally {
    close();
  }
});

Upgrade('revisions of an install that never made its tenant get a default tenant of their own', ({ dir }) => {
  const path = join(dir, 'hotprov.db');
  const old = databaseAsReleasedBefore(dir, path, BEFORE);
  old.prepare(revision).run('yealink', 'common.cfg', 'x', 'alice', 1, null);
  old.close();
  const { sqlite, close } = openDb(path);
  try {
    assert.equal(sqlite.prepare(`SELECT t.slug FROM template_revisions r JOIN tenants t ON t.id = r.tenant_id`).all(), [{ slug: 'default' }]);
  } finally {
    close();
  }
});

Upgrade('an empty database upgrades to an empty table, and no tenant is made for it', ({ dir }) => {
  const path = join(dir, 'hotprov.db');
  databaseAsReleasedBefore(dir, path, BEFORE).close();
  const { sqlite, close } = openDb(path);
  try {
    assert.equal(sqlite.prepare(`SELECT count(*) AS n FROM tenants`).get(), { n: 0 });
    assert.equal(sqlite.prepare(`SELECT count(*) AS n FROM template_revisions`).get(), { n: 0 });
  } finally {
    close();
  }
});

Upgrade.run();

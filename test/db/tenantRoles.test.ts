import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { databaseAsReleasedBefore } from '../helpers/earlierRelease.ts';
import { startTestServer } from '../helpers/server.ts';
import { callAs } from '../helpers/tenants.ts';

/**
 * Upgrading to tenants (migrations 0014 and 0015) on a database with data: the console accounts and API tokens
 * made before are the provider's, working as before, and the tenant that was is the default one, not deleted.
 */
const Upgrade = suite<{ dir: string }>('db/upgrade to tenant roles', { dir: '' });
Upgrade.before.each((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hotprov-roles-'));
});
Upgrade.after.each(({ dir }) => rmSync(dir, { recursive: true, force: true }));

const BEFORE = 14; // migrations 0000 to 0013: the release before tenant roles

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

Upgrade("existing admins and API tokens become the provider's; the tenant there is the default, and its users stay", async ({ dir }) => {
  const path = join(dir, 'hotprov.db');
  const old = databaseAsReleasedBefore(dir, path, BEFORE);
  assert.not.ok(
    (old.prepare(`PRAGMA table_info(api_tokens)`).all() as { name: string }[]).some((c) => c.name === 'role'),
    'the old release has no roles yet',
  );
  const tenant = (old.prepare(`INSERT INTO tenants (slug, name) VALUES ('default', 'Head Office') RETURNING id`).get() as { id: number }).id;
  old
    .prepare(`INSERT INTO users (tenant_id, extension, display_name, sip_user, auth_name, sip_password) VALUES (?, '101', 'Alice Old', '101', '101', 'pw-101')`)
    .run(tenant);
  old.prepare(`INSERT INTO admins (username, password_hash, created_at) VALUES ('ops', 'scrypt$x', 1700000000000), ('night', 'scrypt$y', 1700000000000)`).run();
  const insertToken = old.prepare(`INSERT INTO api_tokens (name, token_hash, created_by, created_at, revoked_at) VALUES (?, ?, 'ops', 1700000000000, ?)`);
  insertToken.run('pbx', sha256('hp_live-token-from-before'), null);
  insertToken.run('old script', sha256('hp_revoked-token-from-before'), 1700000000001);
  old.close();

  const t = await startTestServer({ env: { HOTPROV_DB: path } });
  try {
    const db = t.hotprov.database.sqlite;
    assert.equal(db.prepare(`SELECT username, role, tenant_id FROM admins ORDER BY username`).all(), [
      { username: 'night', role: 'provider', tenant_id: null },
      { username: 'ops', role: 'provider', tenant_id: null },
    ]);
    assert.equal(db.prepare(`SELECT name, role, tenant_id FROM api_tokens ORDER BY id`).all(), [
      { name: 'pbx', role: 'provider', tenant_id: null },
      { name: 'old script', role: 'provider', tenant_id: null },
    ]);
    assert.equal(db.prepare(`SELECT slug, retired_at FROM tenants`).all(), [{ slug: 'default', retired_at: null }]);

    // The token made before acts as the provider: tenant management, and the default tenant at /api/v1.
    const tenants = await callAs(t, 'hp_live-token-from-before', 'GET', '/api/v1/tenants');
    assert.is(tenants.status, 200);
    assert.equal(
      tenants.body.map((x: { slug: string; name: string }) => [x.slug, x.name]),
      [['default', 'Head Office']],
    );
    const users = await callAs(t, 'hp_live-token-from-before', 'GET', '/api/v1/users');
    assert.equal(
      users.body.map((u: { extension: string; displayName: string }) => [u.extension, u.displayName]),
      [['101', 'Alice Old']],
    );
    assert.is((await callAs(t, 'hp_live-token-from-before', 'GET', '/api/v1/tenants/default/users/101')).status, 200);
    // A token revoked before stays revoked.
    assert.is((await callAs(t, 'hp_revoked-token-from-before', 'GET', '/api/v1/users')).status, 401);
  } finally {
    await t.close();
  }
});

Upgrade.run();

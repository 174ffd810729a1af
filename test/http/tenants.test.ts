import { count, isNull } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tablesOf } from '../../src/db/client.ts';
import { listAudit } from '../../src/domain/audit.ts';
import { findActiveTenantBySlug } from '../../src/domain/tenants.ts';
import { startTestServer, TEST_TOKEN, type TestServer } from '../helpers/server.ts';
import { callAs, tenantWithToken, tokenOf } from '../helpers/tenants.ts';

interface Context {
  t: TestServer;
}

const Tenants = suite<Context>('http/tenants: the provider manages tenants and their tokens');
Tenants.before.each(async (ctx) => {
  ctx.t = await startTestServer();
});
Tenants.after.each((ctx) => ctx.t.close());

const provider = (t: TestServer, method: string, path: string, body?: unknown) => callAs(t, TEST_TOKEN, method, path, body);
const alice = { extension: '101', displayName: 'Alice Acme', sipPassword: 'acme-sip-101', pin: '4826', hotdesk: true };
const yealink = { mac: '00:15:65:AC:E0:01', vendor: 'yealink', model: 'T46U', hotdesk: true };

Tenants('a tenant is created with the default settings, listed, read by its slug and changed; the default tenant comes first', async ({ t }) => {
  const created = await provider(t, 'POST', '/api/v1/tenants', { name: 'Acme', slug: 'acme' });
  assert.is(created.status, 201);
  assert.is(created.headers.get('location'), '/api/v1/tenants/acme');
  assert.is(created.body.slug, 'acme');
  assert.is(created.body.name, 'Acme');
  assert.is(created.body.loginCode, '*35');
  assert.equal(
    (await provider(t, 'GET', '/api/v1/tenants')).body.map((x: { slug: string }) => x.slug),
    ['default', 'acme'],
  );
  const changed = await provider(t, 'PATCH', '/api/v1/tenants/acme', { name: 'Acme Ltd', loginCode: '*77' });
  assert.is(changed.status, 200);
  assert.equal([changed.body.name, changed.body.loginCode], ['Acme Ltd', '*77']);
  const read = await provider(t, 'GET', '/api/v1/tenants/acme');
  assert.equal([read.body.name, read.body.loginCode], ['Acme Ltd', '*77']);
  // The default tenant is untouched.
  assert.equal([(await provider(t, 'GET', '/api/v1/tenant')).body.name, (await provider(t, 'GET', '/api/v1/tenant')).body.loginCode], ['Default', '*35']);
  // The same settings route works under the slug, and a secret is never answered.
  const relay = await provider(t, 'PATCH', '/api/v1/tenants/acme/tenant', { relaySecret: 'acme-relay-secret' });
  assert.is(relay.status, 200);
  assert.not.ok(relay.text.includes('acme-relay-secret'));
  assert.is(relay.body.relaySecretSet, true);
});

Tenants('400 names the field for a bad slug or name, 409 for a slug taken', async ({ t }) => {
  for (const [body, message] of [
    [{ name: 'Acme', slug: 'Acme' }, /^slug: /],
    [{ name: 'Acme', slug: '-acme' }, /^slug: /],
    [{ name: 'Acme', slug: 'a' }, /^slug: /],
    [{ name: 'Acme', slug: 'a'.repeat(33) }, /^slug: /],
    [{ name: '', slug: 'acme' }, /^name: /],
    [{ slug: 'acme' }, /^name: is required$/],
    [{ name: 'Acme', slug: 'acme', colour: 'red' }, /^colour: is not a known field$/],
  ] as const) {
    const res = await provider(t, 'POST', '/api/v1/tenants', body);
    assert.is(res.status, 400, JSON.stringify(body));
    assert.match(res.body.error.message, message);
  }
  assert.is((await provider(t, 'POST', '/api/v1/tenants', { name: 'Acme', slug: 'acme' })).status, 201);
  const taken = await provider(t, 'POST', '/api/v1/tenants', { name: 'Other', slug: 'acme' });
  assert.equal([taken.status, taken.body.error.code], [409, 'slug_taken']);
  const defaultTaken = await provider(t, 'POST', '/api/v1/tenants', { name: 'Other', slug: 'default' });
  assert.is(defaultTaken.status, 409);
});

Tenants('50 creations of one slug at once: exactly one 201, the others 409, one tenant', async ({ t }) => {
  const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => provider(t, 'POST', '/api/v1/tenants', { name: `Race ${i}`, slug: 'race' })));
  const statuses = answers.map((a) => a.status).sort();
  assert.equal(statuses, [201, ...Array.from({ length: 49 }, () => 409)]);
  assert.is((await provider(t, 'GET', '/api/v1/tenants')).body.filter((x: { slug: string }) => x.slug === 'race').length, 1);
});

Tenants("a tenant's token acts in its tenant at /api/v1 and under its own slug, and is answered once, without being kept", async ({ t }) => {
  const made = await tenantWithToken(t, 'acme', 'Acme');
  assert.match(made, /^hp_/);
  assert.is((await callAs(t, made, 'POST', '/api/v1/users', alice)).status, 201);
  assert.equal(
    (await callAs(t, made, 'GET', '/api/v1/tenants/acme/users')).body.map((u: { extension: string }) => u.extension),
    ['101'],
  );
  // In acme, not in the default tenant where the provider acts at /api/v1.
  assert.equal((await provider(t, 'GET', '/api/v1/users')).body, []);
  assert.is((await provider(t, 'GET', '/api/v1/tenants/acme/users/101')).body.displayName, 'Alice Acme');

  const token = await provider(t, 'POST', '/api/v1/tenants/acme/tokens', { name: 'pbx dialplan', role: 'admin' });
  assert.is(token.status, 201);
  assert.is(token.headers.get('cache-control'), 'no-store');
  assert.equal([token.body.name, token.body.role, token.body.createdBy, token.body.revokedAt], ['pbx dialplan', 'admin', 'api', null]);
  const list = await provider(t, 'GET', '/api/v1/tenants/acme/tokens');
  assert.equal(
    list.body.map((x: { name: string; role: string }) => [x.name, x.role]),
    [
      ['acme admin', 'admin'],
      ['pbx dialplan', 'admin'],
    ],
  );
  assert.not.ok(list.text.includes(token.body.token), 'a listed token shows its value');
  assert.not.ok(/token_?hash|"hash"/i.test(list.text), 'a listed token shows its hash');
  // Audited in that tenant, by name and role, never the value.
  const acme = await findActiveTenantBySlug(t.hotprov.database.db, 'acme');
  const audit = (await listAudit(t.hotprov.database.db, acme?.id ?? -1, {})).filter((e) => e.action === 'api_token.created');
  assert.is(audit.length, 2);
  assert.not.ok(JSON.stringify(audit).includes(token.body.token));
  assert.is((await listAudit(t.hotprov.database.db, (await t.hotprov.deps.tenant()).id, {})).filter((e) => e.action === 'api_token.created').length, 0);
});

Tenants('400 for a token role other than admin or helpdesk: a provider token is not made through the API', async ({ t }) => {
  await tenantWithToken(t, 'acme', 'Acme');
  for (const body of [
    { name: 'root', role: 'provider' },
    { name: 'x', role: 'owner' },
    { name: '', role: 'admin' },
  ]) {
    const res = await provider(t, 'POST', '/api/v1/tenants/acme/tokens', body);
    assert.is(res.status, 400, JSON.stringify(body));
  }
});

Tenants("a tenant admin makes, lists and revokes its own tenant's tokens at /api/v1/tokens; a revoked token is refused", async ({ t }) => {
  const admin = await tenantWithToken(t, 'acme', 'Acme');
  const other = await tenantWithToken(t, 'other-co', 'Other');
  const otherToken = (await callAs(t, other, 'GET', '/api/v1/tokens')).body[0];
  const desk = await callAs(t, admin, 'POST', '/api/v1/tokens', { name: 'front desk', role: 'helpdesk' });
  assert.is(desk.status, 201);
  assert.is(desk.headers.get('cache-control'), 'no-store');
  assert.is((await callAs(t, desk.body.token, 'GET', '/api/v1/users')).status, 200);
  assert.is((await callAs(t, desk.body.token, 'POST', '/api/v1/tokens', { name: 'mine', role: 'admin' })).status, 403);
  assert.is((await callAs(t, desk.body.token, 'GET', '/api/v1/tokens')).status, 403);
  assert.equal(
    (await callAs(t, admin, 'GET', '/api/v1/tokens')).body.map((x: { name: string }) => x.name),
    ['acme admin', 'front desk'],
  );
  // Another tenant's token is not found, and stays live.
  const foreign = await callAs(t, admin, 'DELETE', `/api/v1/tokens/${otherToken.id}`);
  assert.equal([foreign.status, foreign.body.error.code], [404, 'not_found']);
  assert.is((await callAs(t, other, 'GET', '/api/v1/users')).status, 200);

  assert.is((await callAs(t, admin, 'DELETE', `/api/v1/tokens/${desk.body.id}`)).status, 204);
  const refused = await callAs(t, desk.body.token, 'GET', '/api/v1/users');
  assert.equal([refused.status, refused.headers.get('www-authenticate')], [401, 'Bearer realm="hotprov"']);
  assert.is((await callAs(t, admin, 'DELETE', `/api/v1/tokens/${desk.body.id}`)).status, 404);
  const revoked = (await callAs(t, admin, 'GET', '/api/v1/tokens')).body.find((x: { id: number }) => x.id === desk.body.id);
  assert.ok(revoked.revokedAt !== null);
});

Tenants('50 revocations of one token at once: exactly one 204, the others 404', async ({ t }) => {
  const admin = await tenantWithToken(t, 'acme', 'Acme');
  const desk = await callAs(t, admin, 'POST', '/api/v1/tokens', { name: 'front desk', role: 'helpdesk' });
  const answers = await Promise.all(Array.from({ length: 50 }, () => callAs(t, admin, 'DELETE', `/api/v1/tokens/${desk.body.id}`)));
  assert.equal(answers.map((a) => a.status).sort(), [204, ...Array.from({ length: 49 }, () => 404)]);
});

Tenants('a slug that does not exist and one the token may not act in get the same 404', async ({ t }) => {
  const admin = await tenantWithToken(t, 'acme', 'Acme');
  await tenantWithToken(t, 'bravo', 'Bravo');
  const foreign = await callAs(t, admin, 'GET', '/api/v1/tenants/bravo/users');
  const missing = await callAs(t, admin, 'GET', '/api/v1/tenants/nowhere/users');
  assert.equal([foreign.status, foreign.body], [404, { error: { code: 'unknown_tenant', message: 'no tenant by that slug' } }]);
  assert.equal([missing.status, missing.text], [foreign.status, foreign.text]);
  assert.is((await provider(t, 'GET', '/api/v1/tenants/nowhere/users')).text, foreign.text);
  // The provider acts in any tenant; the default tenant by its slug too.
  assert.is((await provider(t, 'GET', '/api/v1/tenants/bravo/users')).status, 200);
  assert.is((await provider(t, 'GET', '/api/v1/tenants/default/users')).status, 200);
});

Tenants('admins and helpdesks get 403 for tenant management, even of their own tenant', async ({ t }) => {
  const admin = await tenantWithToken(t, 'acme', 'Acme');
  const helpdesk = await tokenOf(t, 'acme', 'helpdesk');
  for (const token of [admin, helpdesk]) {
    for (const [method, path, body] of [
      ['GET', '/api/v1/tenants', undefined],
      ['POST', '/api/v1/tenants', { name: 'Mine', slug: 'mine' }],
      ['GET', '/api/v1/tenants/acme', undefined],
      ['PATCH', '/api/v1/tenants/acme', { name: 'Renamed' }],
      ['DELETE', '/api/v1/tenants/acme', undefined],
      ['GET', '/api/v1/tenants/nowhere', undefined],
    ] as const) {
      const res = await callAs(t, token, method, path, body);
      assert.equal([res.status, res.body.error.code], [403, 'forbidden'], `${method} ${path}`);
      assert.match(res.body.error.message, /only the provider manages tenants/);
    }
  }
  assert.is((await provider(t, 'GET', '/api/v1/tenants/acme')).body.name, 'Acme');
});

Tenants(
  'deleting a tenant: refused while a desk is seated, forced it retires every device (the phone gets its wipe file), its tokens stop working',
  async ({ t }) => {
    const admin = await tenantWithToken(t, 'acme', 'Acme');
    // Loopback is acme's office network here: the phone's first fetch activates it.
    assert.is((await provider(t, 'PATCH', '/api/v1/tenants/acme', { trustedNetworks: ['127.0.0.0/8'] })).status, 200);
    await callAs(t, admin, 'POST', '/api/v1/users', alice);
    await callAs(t, admin, 'POST', '/api/v1/devices', yealink);
    await callAs(t, admin, 'POST', '/api/v1/devices', { ...yealink, mac: '00:15:65:AC:E0:02' });
    assert.is((await callAs(t, admin, 'POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' })).status, 200);
    const seated = await t.phone('/001565ace001.cfg');
    assert.match(await seated.text(), /^account\.1\.password = acme-sip-101$/m);

    const refused = await provider(t, 'DELETE', '/api/v1/tenants/acme');
    assert.equal([refused.status, refused.body.error.code, refused.body.error.seated], [409, 'tenant_in_use', 1]);
    assert.is((await callAs(t, admin, 'GET', '/api/v1/hotdesk/sessions')).body.length, 1, 'a refused delete changes nothing');

    assert.is((await provider(t, 'DELETE', '/api/v1/tenants/acme?force=true')).status, 204);
    const wiped = await t.phone('/001565ace001.cfg');
    assert.is(wiped.status, 200);
    const file = await wiped.text();
    assert.match(file, /^account\.1\.enable = 0$/m);
    assert.not.ok(file.includes('acme-sip-101'), 'the user account stays on the phone');
    assert.is((await callAs(t, admin, 'GET', '/api/v1/users')).status, 401);
    assert.is((await provider(t, 'GET', '/api/v1/tenants/acme')).body.error.code, 'unknown_tenant');
    assert.is((await provider(t, 'GET', '/api/v1/tenants/acme/users')).body.error.code, 'unknown_tenant');
    assert.equal(
      (await provider(t, 'GET', '/api/v1/tenants')).body.map((x: { slug: string }) => x.slug),
      ['default'],
    );
    const { db } = t.hotprov.database;
    const { devices, hotdeskSessions } = tablesOf(db);
    assert.equal(await db.select({ n: count() }).from(devices).where(isNull(devices.retiredAt)), [{ n: 0 }]);
    assert.equal(await db.select({ n: count() }).from(hotdeskSessions).where(isNull(hotdeskSessions.endedAt)), [{ n: 0 }]);
    // Its slug stays taken: its retired phones still belong to it.
    assert.is((await provider(t, 'POST', '/api/v1/tenants', { name: 'Acme again', slug: 'acme' })).status, 409);
    // Enrolling a retired MAC again elsewhere starts it over.
    assert.is((await provider(t, 'POST', '/api/v1/devices', yealink)).status, 201);
  },
);

Tenants('a tenant without seated desks is deleted without force; the default tenant never', async ({ t }) => {
  const admin = await tenantWithToken(t, 'acme', 'Acme');
  await callAs(t, admin, 'POST', '/api/v1/devices', yealink);
  assert.is((await provider(t, 'DELETE', '/api/v1/tenants/acme')).status, 204);
  assert.is((await provider(t, 'GET', '/api/v1/devices/001565ace001')).status, 404);
  const kept = await provider(t, 'DELETE', '/api/v1/tenants/default?force=true');
  assert.equal([kept.status, kept.body.error.code], [409, 'default_tenant']);
  assert.is((await provider(t, 'GET', '/api/v1/tenant')).status, 200);
});

Tenants('50 deletions of one tenant at once: exactly one 204, the others 404', async ({ t }) => {
  await tenantWithToken(t, 'acme', 'Acme');
  const answers = await Promise.all(Array.from({ length: 50 }, () => provider(t, 'DELETE', '/api/v1/tenants/acme')));
  assert.equal(answers.map((a) => a.status).sort(), [204, ...Array.from({ length: 49 }, () => 404)]);
});

Tenants.run();

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, TEST_TOKEN, type TestServer } from '../helpers/server.ts';
import { callAs, tenantWithToken } from '../helpers/tenants.ts';

interface Context {
  t: TestServer;
}

/** The provider's quotas over real HTTP: who sets them, and that 50 requests at once never pass them. */
const Quotas = suite<Context>('http/quotas: per-tenant limits on devices and users');
Quotas.before.each(async (ctx) => {
  ctx.t = await startTestServer();
});
Quotas.after.each((ctx) => ctx.t.close());

const provider = (t: TestServer, method: string, path: string, body?: unknown) => callAs(t, TEST_TOKEN, method, path, body);
const macOf = (i: number) => `00:15:65:00:01:${i.toString(16).padStart(2, '0')}`;

Quotas('the provider sets quotas when creating and changing a tenant; they are shown, and 400 for a bad value', async ({ t }) => {
  const created = await provider(t, 'POST', '/api/v1/tenants', { name: 'Acme', slug: 'acme', maxDevices: 50, maxUsers: 20 });
  assert.is(created.status, 201);
  assert.equal([created.body.maxDevices, created.body.maxUsers], [50, 20]);
  const listed = (await provider(t, 'GET', '/api/v1/tenants')).body.find((x: { slug: string }) => x.slug === 'acme');
  assert.equal([listed.maxDevices, listed.maxUsers], [50, 20]);
  const changed = await provider(t, 'PATCH', '/api/v1/tenants/acme', { maxDevices: null, maxUsers: 0 });
  assert.is(changed.status, 200);
  assert.equal([changed.body.maxDevices, changed.body.maxUsers], [null, 0]);
  for (const bad of [{ maxDevices: -1 }, { maxDevices: 2.5 }, { maxUsers: '10' }]) {
    const res = await provider(t, 'PATCH', '/api/v1/tenants/acme', bad);
    assert.is(res.status, 400, JSON.stringify(bad));
    assert.match(res.body.error.message, /^max(Devices|Users): /);
  }
});

Quotas('a tenant admin sees its quotas but cannot change them: 400 naming whose they are, nothing changed', async ({ t }) => {
  const admin = await tenantWithToken(t, 'acme', 'Acme');
  await provider(t, 'PATCH', '/api/v1/tenants/acme', { maxDevices: 5 });
  assert.is((await callAs(t, admin, 'GET', '/api/v1/tenant')).body.maxDevices, 5);
  for (const body of [{ maxDevices: 500 }, { maxUsers: null }, { name: 'Acme', maxDevices: 500 }]) {
    const res = await callAs(t, admin, 'PATCH', '/api/v1/tenant', body);
    assert.is(res.status, 400, JSON.stringify(body));
    assert.is(res.body.error.code, 'invalid_field');
    assert.match(res.body.error.message, /^max(Devices|Users): quotas are set by the provider \(PATCH \/api\/v1\/tenants\/:tenant\)/);
  }
  const after = (await callAs(t, admin, 'GET', '/api/v1/tenant')).body;
  assert.equal([after.maxDevices, after.maxUsers], [5, null]);
});

Quotas('50 enrolments at once against a limit of 10: exactly 10 enrolled, 40 refused with quota_exceeded', async ({ t }) => {
  const admin = await tenantWithToken(t, 'acme', 'Acme');
  await provider(t, 'PATCH', '/api/v1/tenants/acme', { maxDevices: 10 });
  const answers = await Promise.all(
    Array.from({ length: 50 }, (_, i) => callAs(t, admin, 'POST', '/api/v1/devices', { mac: macOf(i), vendor: 'yealink', model: 'T46U' })),
  );
  assert.is(answers.filter((a) => a.status === 201).length, 10);
  const refused = answers.filter((a) => a.status === 409);
  assert.is(refused.length, 40);
  for (const r of refused) {
    assert.equal(r.body.error.code, 'quota_exceeded');
    assert.is(r.body.error.message, 'this tenant may have at most 10 devices');
  }
  assert.is((await callAs(t, admin, 'GET', '/api/v1/devices')).body.length, 10);
  // The provider's overview shows the tenant at its quota.
  const acme = (await provider(t, 'GET', '/api/v1/tenants')).body.find((x: { slug: string }) => x.slug === 'acme');
  assert.equal([acme.overview.devices, acme.overview.maxDevices, acme.overview.phonesUnseen], [10, 10, 0]);
});

Quotas('50 user creations at once against a limit of 10: exactly 10 created, 40 refused with quota_exceeded', async ({ t }) => {
  const admin = await tenantWithToken(t, 'acme', 'Acme');
  await provider(t, 'PATCH', '/api/v1/tenants/acme', { maxUsers: 10 });
  const answers = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      callAs(t, admin, 'POST', '/api/v1/users', { extension: String(200 + i), displayName: `User ${200 + i}`, sipPassword: `pw-${200 + i}-secret` }),
    ),
  );
  assert.is(answers.filter((a) => a.status === 201).length, 10);
  const refused = answers.filter((a) => a.status === 409);
  assert.is(refused.length, 40);
  for (const r of refused) assert.is(r.body.error.code, 'quota_exceeded');
  assert.is((await callAs(t, admin, 'GET', '/api/v1/users')).body.length, 10);
});

Quotas('the error carries the limit and the kind; a quota lowered below the count refuses further creations', async ({ t }) => {
  const admin = await tenantWithToken(t, 'acme', 'Acme');
  for (let i = 0; i < 3; i++) assert.is((await callAs(t, admin, 'POST', '/api/v1/devices', { mac: macOf(i), vendor: 'yealink', model: 'T46U' })).status, 201);
  assert.is((await provider(t, 'PATCH', '/api/v1/tenants/acme', { maxDevices: 2 })).status, 200);
  assert.is((await callAs(t, admin, 'GET', '/api/v1/devices')).body.length, 3);
  const refused = await callAs(t, admin, 'POST', '/api/v1/devices', { mac: macOf(9), vendor: 'yealink', model: 'T46U' });
  assert.is(refused.status, 409);
  assert.equal(refused.body.error, { code: 'quota_exceeded', message: 'this tenant may have at most 2 devices', limit: 2, kind: 'devices' });
});

Quotas.run();

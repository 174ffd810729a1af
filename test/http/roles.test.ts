import { eq } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tablesOf } from '../../src/db/client.ts';
import { startTestServer, TEST_TOKEN, type TestServer } from '../helpers/server.ts';
import { type ApiRoute, apiRoutes, callAs, tenantWithToken, tokenOf } from '../helpers/tenants.ts';

/**
 * Every route of the API × every role: the provider may do everything, a tenant's admin everything in its tenant
 * but tenant management, a helpdesk only read the sessions, devices and users and log a desk out. The routes are
 * read from the routers, so a route added without a case here fails the test.
 */

interface Fixture {
  /** The id of a spare token of the tenant, to revoke. */
  spareTokenId: number;
  /** The id of a spare console account of the tenant, to reset and delete. */
  spareAdminId: number;
  /** A webhook of the tenant and one of its deliveries (the login's), to change, test, send again and delete. */
  webhookId: number;
  deliveryId: number;
}

interface Case {
  /** The request, relative to where the role's token acts (`/api/v1` or `/api/v1/tenants/acme`). */
  readonly request: (fx: Fixture) => { path: string; body?: unknown };
  /** What a caller allowed to make it gets (a refusal that is not about the caller, such as 409, counts too). */
  readonly allowed: number;
}

const yealink = (mac: string) => ({ mac, vendor: 'yealink', model: 'T46U', hotdesk: true });
const user = (extension: string, displayName: string) => ({ extension, displayName, sipPassword: `sip-${extension}-secret`, pin: '4826', hotdesk: true });

/** The tenant's routes, in an order in which each one's allowed answer is what it should be. */
const TENANT_CASES: Record<string, Case> = {
  'GET /users': { request: () => ({ path: '/users' }), allowed: 200 },
  'GET /users/:extension': { request: () => ({ path: '/users/101' }), allowed: 200 },
  'POST /users': { request: () => ({ path: '/users', body: user('103', 'Carol Role') }), allowed: 201 },
  'PATCH /users/:extension': { request: () => ({ path: '/users/103', body: { displayName: 'Carol R.' } }), allowed: 200 },
  'POST /users/:extension/pin': { request: () => ({ path: '/users/103/pin' }), allowed: 200 },
  'GET /devices': { request: () => ({ path: '/devices' }), allowed: 200 },
  'GET /devices/:device': { request: () => ({ path: '/devices/HD0001' }), allowed: 200 },
  'POST /devices': { request: () => ({ path: '/devices', body: yealink('00:15:65:00:00:03') }), allowed: 201 },
  'PATCH /devices/:device': { request: () => ({ path: '/devices/HD0002', body: { label: 'Window desk' } }), allowed: 200 },
  // No redirect service is set up, and nobody claimed HD0002: refusals about the device, not the caller.
  'POST /devices/:device/redirect': { request: () => ({ path: '/devices/HD0002/redirect' }), allowed: 409 },
  'POST /devices/:device/activate': { request: () => ({ path: '/devices/HD0002/activate' }), allowed: 409 },
  'POST /devices/:device/activation-code': { request: () => ({ path: '/devices/HD0002/activation-code' }), allowed: 200 },
  'POST /devices/:device/unclaim': { request: () => ({ path: '/devices/HD0002/unclaim' }), allowed: 200 },
  'GET /devices/:device/web-password': { request: () => ({ path: '/devices/HD0001/web-password' }), allowed: 200 },
  'POST /devices/:device/reboot': { request: () => ({ path: '/devices/HD0001/reboot' }), allowed: 202 },
  'POST /devices/:device/resync': { request: () => ({ path: '/devices/HD0001/resync' }), allowed: 202 },
  'GET /devices/:device/idle-account': { request: () => ({ path: '/devices/HD0001/idle-account' }), allowed: 200 },
  'GET /devices/:device/config': { request: () => ({ path: '/devices/HD0001/config' }), allowed: 200 },
  'POST /hotdesk/code': { request: () => ({ path: '/hotdesk/code', body: { device: 'HD0002', digits: '*35' } }), allowed: 200 },
  'POST /hotdesk/login': { request: () => ({ path: '/hotdesk/login', body: { device: 'HD0002', extension: '102', pin: '4826' } }), allowed: 200 },
  'POST /hotdesk/logout': { request: () => ({ path: '/hotdesk/logout', body: { device: 'HD0001' } }), allowed: 200 },
  'GET /hotdesk/sessions': { request: () => ({ path: '/hotdesk/sessions' }), allowed: 200 },
  'GET /occupancy': { request: () => ({ path: '/occupancy' }), allowed: 200 },
  'GET /tenant': { request: () => ({ path: '/tenant' }), allowed: 200 },
  'PATCH /tenant': { request: () => ({ path: '/tenant', body: { name: 'Acme Ltd' } }), allowed: 200 },
  'GET /tokens': { request: () => ({ path: '/tokens' }), allowed: 200 },
  'POST /tokens': { request: () => ({ path: '/tokens', body: { name: 'front desk', role: 'helpdesk' } }), allowed: 201 },
  'DELETE /tokens/:id': { request: (fx) => ({ path: `/tokens/${fx.spareTokenId}` }), allowed: 204 },
  'GET /templates': { request: () => ({ path: '/templates' }), allowed: 200 },
  'GET /templates/:vendor/:name': { request: () => ({ path: '/templates/yealink/device.cfg?model=T46U' }), allowed: 200 },
  'POST /templates/:vendor/:name': { request: () => ({ path: '/templates/yealink/device.cfg', body: { source: '## roles\n', model: 'T46U' } }), allowed: 200 },
  // No such revision: the refusal is about the revision, not the caller.
  'POST /templates/:vendor/:name/restore': { request: () => ({ path: '/templates/yealink/device.cfg/restore', body: { revision: 999999 } }), allowed: 404 },
  'POST /templates/:vendor/:name/merge': { request: () => ({ path: '/templates/yealink/device.cfg/merge', body: { model: 'T46U' } }), allowed: 200 },
  'POST /templates/:vendor/:name/reset': { request: () => ({ path: '/templates/yealink/device.cfg/reset', body: { model: 'T46U' } }), allowed: 200 },
  'POST /templates/:vendor/:name/resync': { request: () => ({ path: '/templates/yealink/device.cfg/resync', body: { model: 'T46U' } }), allowed: 202 },
  'GET /admins': { request: () => ({ path: '/admins' }), allowed: 200 },
  'GET /audit': { request: () => ({ path: '/audit?action=user&limit=5' }), allowed: 200 },
  'POST /admins': { request: () => ({ path: '/admins', body: { username: 'role-check', password: 'role-check-pass', role: 'helpdesk' } }), allowed: 201 },
  'POST /admins/:id/password': { request: (fx) => ({ path: `/admins/${fx.spareAdminId}/password`, body: { password: 'another-pass-1' } }), allowed: 200 },
  'DELETE /admins/:id': { request: (fx) => ({ path: `/admins/${fx.spareAdminId}` }), allowed: 204 },
  'GET /webhooks': { request: () => ({ path: '/webhooks' }), allowed: 200 },
  'POST /webhooks': { request: () => ({ path: '/webhooks', body: { url: 'https://hooks.example.test/roles', events: ['hotdesk.lockout'] } }), allowed: 201 },
  'GET /webhooks/:id': { request: (fx) => ({ path: `/webhooks/${fx.webhookId}` }), allowed: 200 },
  'PATCH /webhooks/:id': { request: (fx) => ({ path: `/webhooks/${fx.webhookId}`, body: { description: 'roles' } }), allowed: 200 },
  'POST /webhooks/:id/test': { request: (fx) => ({ path: `/webhooks/${fx.webhookId}/test` }), allowed: 202 },
  'POST /webhooks/:id/deliveries/:delivery/resend': {
    request: (fx) => ({ path: `/webhooks/${fx.webhookId}/deliveries/${fx.deliveryId}/resend` }),
    allowed: 202,
  },
  'POST /webhooks/:id/secret': { request: (fx) => ({ path: `/webhooks/${fx.webhookId}/secret` }), allowed: 200 },
  'DELETE /webhooks/:id': { request: (fx) => ({ path: `/webhooks/${fx.webhookId}` }), allowed: 204 },
  'DELETE /users/:extension': { request: () => ({ path: '/users/103' }), allowed: 204 },
  'DELETE /devices/:device': { request: () => ({ path: '/devices/HD0002' }), allowed: 204 },
};

/** Tenant management, by its whole path. */
const MANAGEMENT_CASES: Record<string, Case> = {
  'GET /api/v1/tenants': { request: () => ({ path: '/api/v1/tenants' }), allowed: 200 },
  'POST /api/v1/tenants': { request: () => ({ path: '/api/v1/tenants', body: { name: 'Other', slug: 'other' } }), allowed: 201 },
  'GET /api/v1/tenants/:tenant': { request: () => ({ path: '/api/v1/tenants/spare' }), allowed: 200 },
  'PATCH /api/v1/tenants/:tenant': { request: () => ({ path: '/api/v1/tenants/spare', body: { name: 'Spare Ltd' } }), allowed: 200 },
  'DELETE /api/v1/tenants/:tenant': { request: () => ({ path: '/api/v1/tenants/spare' }), allowed: 204 },
};

/** What a helpdesk may call: reading sessions, devices and users, and logging a desk out. */
const HELPDESK_MAY = new Set(['GET /users', 'GET /users/:extension', 'GET /devices', 'GET /devices/:device', 'POST /hotdesk/logout', 'GET /hotdesk/sessions']);

interface Context {
  t: TestServer;
  routes: ApiRoute[];
}

const Roles = suite<Context>('http/roles: every route × every role');
Roles.before.each(async (ctx) => {
  ctx.t = await startTestServer();
  ctx.routes = apiRoutes(ctx.t.hotprov.deps);
});
Roles.after.each((ctx) => ctx.t.close());

/** Tenant acme with users 101 (seated at HD0001) and 102, devices HD0001 and HD0002, a spare token; tenant spare. */
async function fixture(t: TestServer): Promise<{ fx: Fixture; admin: string; helpdesk: string }> {
  const admin = await tenantWithToken(t, 'acme', 'Acme');
  const helpdesk = await tokenOf(t, 'acme', 'helpdesk');
  const spare = await callAs(t, TEST_TOKEN, 'POST', '/api/v1/tenants/acme/tokens', { name: 'spare', role: 'admin' });
  const spareAdmin = await callAs(t, TEST_TOKEN, 'POST', '/api/v1/tenants/acme/admins', {
    username: 'spare-admin',
    password: 'spare-admin-pass',
    role: 'admin',
  });
  assert.is((await callAs(t, TEST_TOKEN, 'POST', '/api/v1/tenants', { name: 'Spare', slug: 'spare' })).status, 201);
  const base = '/api/v1/tenants/acme';
  for (const body of [user('101', 'Alice Role'), user('102', 'Bob Role')]) assert.is((await callAs(t, TEST_TOKEN, 'POST', `${base}/users`, body)).status, 201);
  for (const mac of ['00:15:65:00:00:01', '00:15:65:00:00:02']) assert.is((await callAs(t, TEST_TOKEN, 'POST', `${base}/devices`, yealink(mac))).status, 201);
  const hook = await callAs(t, TEST_TOKEN, 'POST', `${base}/webhooks`, { url: 'https://hooks.example.test/acme', events: ['hotdesk.login'] });
  assert.is(hook.status, 201);
  const seated = await callAs(t, TEST_TOKEN, 'POST', `${base}/hotdesk/login`, { device: 'HD0001', extension: '101', pin: '4826' });
  assert.is(seated.status, 200);
  const deliveries = (await callAs(t, TEST_TOKEN, 'GET', `${base}/webhooks/${hook.body.id}`)).body.deliveries as { id: number }[];
  const fx = { spareTokenId: spare.body.id, spareAdminId: spareAdmin.body.id, webhookId: hook.body.id, deliveryId: deliveries[0]?.id ?? 0 };
  return { fx, admin, helpdesk };
}

Roles('the case tables name every route of the API, and every tenant route is mounted at /api/v1 and under /api/v1/tenants/:tenant', ({ routes }) => {
  for (const route of routes) {
    const cases = route.mount === 'tenants' ? MANAGEMENT_CASES : TENANT_CASES;
    assert.ok(cases[route.key] !== undefined, `no case for ${route.key} (${route.mount}): add one`);
  }
  const own = routes.filter((r) => r.mount === 'own').map((r) => r.key);
  const slug = routes.filter((r) => r.mount === 'slug').map((r) => r.key);
  assert.equal(own, slug);
  assert.equal(own.sort(), Object.keys(TENANT_CASES).sort());
});

/** Runs every route as one role, asserting who is let through and who gets 403 forbidden. */
async function runAs(t: TestServer, routes: ApiRoute[], token: string, base: string, may: (route: ApiRoute) => boolean, fx: Fixture): Promise<void> {
  const tenantRoutes = routes.filter((r) => r.mount === 'own');
  const ordered = Object.keys(TENANT_CASES).map((key) => tenantRoutes.find((r) => r.key === key));
  for (const route of [...ordered, ...routes.filter((r) => r.mount === 'tenants')]) {
    if (route === undefined) continue;
    const management = route.mount === 'tenants';
    const c = (management ? MANAGEMENT_CASES : TENANT_CASES)[route.key];
    if (c === undefined) throw new Error(`no case for ${route.key}`);
    const { path, body } = c.request(fx);
    const res = await callAs(t, token, route.method, management ? path : `${base}${path}`, body);
    if (may(route)) {
      assert.is(res.status, c.allowed, `${route.key}: ${res.text}`);
    } else {
      assert.is(res.status, 403, `${route.key} must be refused: ${res.status} ${res.text}`);
      assert.is(res.body.error.code, 'forbidden');
    }
  }
}

Roles('the provider may call every route, in any tenant', async ({ t, routes }) => {
  const { fx } = await fixture(t);
  await runAs(t, routes, TEST_TOKEN, '/api/v1/tenants/acme', () => true, fx);
});

Roles("a tenant's admin may call every route of its tenant, and no tenant management", async ({ t, routes }) => {
  const { fx, admin } = await fixture(t);
  await runAs(t, routes, admin, '/api/v1', (r) => r.mount !== 'tenants', fx);
  // Tenant management refused: the spare tenant is still there.
  assert.is((await callAs(t, TEST_TOKEN, 'GET', '/api/v1/tenants/spare')).status, 200);
});

Roles('a helpdesk reads sessions, devices and users and logs a desk out; every other route is 403 and changes nothing', async ({ t, routes }) => {
  const { fx, helpdesk } = await fixture(t);
  await runAs(t, routes, helpdesk, '/api/v1', (r) => r.mount !== 'tenants' && HELPDESK_MAY.has(r.key), fx);
  const users = await callAs(t, TEST_TOKEN, 'GET', '/api/v1/tenants/acme/users');
  assert.equal(
    users.body.map((u: { extension: string }) => u.extension),
    ['101', '102'],
  );
  const devices = await callAs(t, TEST_TOKEN, 'GET', '/api/v1/tenants/acme/devices');
  assert.equal(
    devices.body.map((d: { idleAccount: string; label: string }) => [d.idleAccount, d.label]),
    [
      ['HD0001', ''],
      ['HD0002', ''],
    ],
  );
  assert.equal(
    (await callAs(t, TEST_TOKEN, 'GET', '/api/v1/tenants/acme/tokens')).body.filter((k: { revokedAt: string | null }) => k.revokedAt !== null),
    [],
  );
  assert.is((await callAs(t, TEST_TOKEN, 'GET', '/api/v1/tenants/acme/tenant')).body.name, 'Acme');
  const hooks = (await callAs(t, TEST_TOKEN, 'GET', '/api/v1/tenants/acme/webhooks')).body as { url: string; description: string; pendingDeliveries: number }[];
  assert.equal(
    hooks.map((h) => [h.url, h.description, h.pendingDeliveries]),
    [['https://hooks.example.test/acme', '', 1]],
    'the webhook as it was: not changed, tested, sent again or deleted',
  );
});

Roles('what a helpdesk reads holds no secret: no SIP or web password, PIN, activation code or credentials', async ({ t }) => {
  const { helpdesk } = await fixture(t);
  const secrets = await callAs(t, TEST_TOKEN, 'GET', '/api/v1/tenants/acme/devices/HD0001/web-password');
  const idle = await callAs(t, TEST_TOKEN, 'GET', '/api/v1/tenants/acme/devices/HD0001/idle-account');
  const { db } = t.hotprov.database;
  const { devices } = tablesOf(db);
  const [row] = await db
    .select({ provPassword: devices.provPassword, screenSecret: devices.screenSecret })
    .from(devices)
    .where(eq(devices.idleAccount, 'HD0001'));
  const forbidden = [
    'sip-101-secret',
    'sip-102-secret',
    '4826',
    'scrypt',
    idle.body.password,
    row?.provPassword,
    row?.screenSecret,
    ...Object.values(secrets.body),
  ]
    .filter((s): s is string => typeof s === 'string' && s.length >= 4)
    .filter((s) => s !== 'HD0001');
  for (const path of ['/users', '/users/101', '/devices', '/devices/HD0001', '/hotdesk/sessions']) {
    const res = await callAs(t, helpdesk, 'GET', `/api/v1${path}`);
    assert.is(res.status, 200);
    for (const secret of forbidden) assert.not.ok(res.text.includes(secret), `${path} shows a secret to a helpdesk`);
  }
});

Roles.run();

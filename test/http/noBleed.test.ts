import { and, eq, inArray, like } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tablesOf } from '../../src/db/client.ts';
import { startTestServer, TEST_TOKEN, type TestServer } from '../helpers/server.ts';
import { type Answer, type ApiRoute, apiRoutes, callAs, tenantWithToken, tokenOf } from '../helpers/tenants.ts';

/**
 * No bleed between tenants through the API. Tenants alpha-co (A) and bravo-co (B) both have extension 101, a
 * seated desk and devices; B also has users A has not. For every route of the API (read from the routers, so a new
 * route cannot be forgotten), A's admin aims at B's objects: B's MACs, B's extensions, B's token, B's slug. Each
 * answer must be the one A gets for something that exists nowhere, and hold none of B's values; B is unchanged.
 */

const A = { slug: 'alpha-co', name: 'Alpha Corp' };
const B = { slug: 'bravo-co', name: 'Bravo Industries' };
const B_MACS = ['001565b2b201', '001565b2b202'] as const;
/** Extensions B has and A has not. */
const B_ONLY_EXTENSIONS = ['202', '203', '204'] as const;
/** What stands in for B's objects in the same request, to get A's answer for something that exists nowhere. */
const NOWHERE: Record<string, string> = { '001565b2b201': '001565fefe01', '001565b2b202': '001565fefe02', '202': '299', 'bravo-co': 'no-such-co' };

interface Fixture {
  t: TestServer;
  /** A's admin token. */
  alpha: string;
  /** B's admin token. */
  bravo: string;
  bravoTokenId: number;
  /** B's console account. */
  bravoAdminId: number;
  /** B's webhook, and one of its deliveries. */
  bravoWebhookId: number;
  bravoDeliveryId: number;
  /** Every string of B's that A must never see (names, secrets, MACs in every spelling, its slug). */
  secrets: string[];
}

interface Case {
  /** The request A's admin makes; `i` counts the mounts tried, for routes that create something. */
  readonly request: (fx: Fixture, i: number) => { path: string; body?: unknown };
  readonly status: number;
  /** Whether the answer must equal the one for objects that exist nowhere (not for routes that create). */
  readonly sameAsNowhere: boolean;
}

const macB = B_MACS[0];
const refusal = (request: Case['request'], status = 404): Case => ({ request, status, sameAsNowhere: true });
const ownList = (path: string): Case => ({ request: () => ({ path }), status: 200, sameAsNowhere: true });

/** A's admin aimed at B, per route of a tenant (relative to /api/v1 or /api/v1/tenants/alpha-co). */
const CASES: Record<string, Case> = {
  'GET /users': ownList('/users'),
  'POST /users': {
    request: (_fx, i) => ({
      path: '/users',
      body: { extension: B_ONLY_EXTENSIONS[1 + i], displayName: 'Alpha New', sipPassword: 'alpha-new-sip', pin: '4826' },
    }),
    status: 201,
    sameAsNowhere: false,
  },
  'GET /users/:extension': refusal(() => ({ path: '/users/202' })),
  'PATCH /users/:extension': refusal(() => ({ path: '/users/202', body: { displayName: 'Taken Over' } })),
  'POST /users/:extension/pin': refusal(() => ({ path: '/users/202/pin' })),
  'DELETE /users/:extension': refusal(() => ({ path: '/users/202' })),
  'GET /devices': ownList('/devices'),
  // B holds the MAC: refused, without saying where or as what.
  'POST /devices': { request: () => ({ path: '/devices', body: { mac: macB, vendor: 'yealink', model: 'T46U' } }), status: 409, sameAsNowhere: false },
  'GET /devices/:device': refusal(() => ({ path: `/devices/${macB}` })),
  'PATCH /devices/:device': refusal(() => ({ path: `/devices/${macB}`, body: { label: 'Taken Over' } })),
  'DELETE /devices/:device': refusal(() => ({ path: `/devices/${macB}` })),
  'POST /devices/:device/redirect': refusal(() => ({ path: `/devices/${macB}/redirect` })),
  'POST /devices/:device/activate': refusal(() => ({ path: `/devices/${macB}/activate` })),
  'POST /devices/:device/activation-code': refusal(() => ({ path: `/devices/${macB}/activation-code` })),
  'POST /devices/:device/unclaim': refusal(() => ({ path: `/devices/${macB}/unclaim` })),
  'GET /devices/:device/web-password': refusal(() => ({ path: `/devices/${macB}/web-password` })),
  'POST /devices/:device/reboot': refusal(() => ({ path: `/devices/${macB}/reboot` })),
  'POST /devices/:device/resync': refusal(() => ({ path: `/devices/${macB}/resync` })),
  'GET /devices/:device/idle-account': refusal(() => ({ path: `/devices/${macB}/idle-account` })),
  'GET /devices/:device/config': refusal(() => ({ path: `/devices/${macB}/config?secrets=show` })),
  'POST /hotdesk/login': refusal(() => ({ path: '/hotdesk/login', body: { device: B_MACS[1], extension: '202', pin: '5937' } })),
  'POST /hotdesk/logout': refusal(() => ({ path: '/hotdesk/logout', body: { device: macB } })),
  // Always 200 for the dialplan: the result says unknown_device, as for a MAC nobody has.
  'POST /hotdesk/code': refusal(() => ({ path: '/hotdesk/code', body: { device: macB, digits: '*35*202*5937' } }), 200),
  'GET /hotdesk/sessions': ownList('/hotdesk/sessions'),
  'GET /occupancy': ownList('/occupancy'),
  'GET /tenant': ownList('/tenant'),
  'PATCH /tenant': { request: () => ({ path: '/tenant', body: { name: A.name } }), status: 200, sameAsNowhere: true },
  'GET /tokens': ownList('/tokens'),
  'POST /tokens': { request: (_fx, i) => ({ path: '/tokens', body: { name: `alpha desk ${i}`, role: 'helpdesk' } }), status: 201, sameAsNowhere: false },
  'DELETE /tokens/:id': refusal((fx) => ({ path: `/tokens/${fx.bravoTokenId}` })),
  // A device's version of a template, aimed at B's device: not found, as for a device nowhere.
  'GET /templates': ownList('/templates'),
  'GET /templates/:vendor/:name': refusal(() => ({ path: `/templates/yealink/device.cfg?device=${macB}` })),
  'POST /templates/:vendor/:name': refusal(() => ({ path: '/templates/yealink/device.cfg', body: { source: '## alpha\n', device: macB } })),
  'POST /templates/:vendor/:name/restore': refusal(() => ({ path: '/templates/yealink/device.cfg/restore', body: { revision: 1, device: macB } })),
  'POST /templates/:vendor/:name/reset': refusal(() => ({ path: '/templates/yealink/device.cfg/reset', body: { device: macB } })),
  'POST /templates/:vendor/:name/merge': refusal(() => ({ path: '/templates/yealink/device.cfg/merge', body: { device: macB } })),
  'POST /templates/:vendor/:name/resync': refusal(() => ({ path: '/templates/yealink/device.cfg/resync', body: { device: macB } })),
  'GET /audit': ownList('/audit?user=202'),
  'GET /admins': ownList('/admins'),
  'POST /admins': {
    request: (_fx, i) => ({ path: '/admins', body: { username: `alpha-desk-${i}`, password: 'alpha-desk-pass', role: 'helpdesk' } }),
    status: 201,
    sameAsNowhere: false,
  },
  // B's account is not found, as no account is: its id is all A has of it.
  'POST /admins/:id/password': {
    request: (fx) => ({ path: `/admins/${fx.bravoAdminId}/password`, body: { password: 'taken-over-pass' } }),
    status: 404,
    sameAsNowhere: false,
  },
  'DELETE /admins/:id': { request: (fx) => ({ path: `/admins/${fx.bravoAdminId}` }), status: 404, sameAsNowhere: false },
  // B's webhook by its id (all A has of it): not found, as no webhook is; A's own list and new ones are A's.
  'GET /webhooks': ownList('/webhooks'),
  'POST /webhooks': {
    request: (_fx, i) => ({ path: '/webhooks', body: { url: `https://hooks.alpha.example/desk-${i}`, events: ['hotdesk.login'] } }),
    status: 201,
    sameAsNowhere: false,
  },
  'GET /webhooks/:id': { request: (fx) => ({ path: `/webhooks/${fx.bravoWebhookId}` }), status: 404, sameAsNowhere: false },
  'PATCH /webhooks/:id': {
    request: (fx) => ({ path: `/webhooks/${fx.bravoWebhookId}`, body: { url: 'https://hooks.alpha.example/stolen' } }),
    status: 404,
    sameAsNowhere: false,
  },
  'DELETE /webhooks/:id': { request: (fx) => ({ path: `/webhooks/${fx.bravoWebhookId}` }), status: 404, sameAsNowhere: false },
  'POST /webhooks/:id/secret': { request: (fx) => ({ path: `/webhooks/${fx.bravoWebhookId}/secret` }), status: 404, sameAsNowhere: false },
  'POST /webhooks/:id/test': { request: (fx) => ({ path: `/webhooks/${fx.bravoWebhookId}/test` }), status: 404, sameAsNowhere: false },
  'POST /webhooks/:id/deliveries/:delivery/resend': {
    request: (fx) => ({ path: `/webhooks/${fx.bravoWebhookId}/deliveries/${fx.bravoDeliveryId}/resend` }),
    status: 404,
    sameAsNowhere: false,
  },
};

/** Tenant management, aimed at B: refused to a tenant's admin whatever the slug. */
const MANAGEMENT_CASES: Record<string, Case> = {
  'GET /api/v1/tenants': refusal(() => ({ path: '/api/v1/tenants' }), 403),
  'POST /api/v1/tenants': { request: () => ({ path: '/api/v1/tenants', body: { name: 'Bravo Two', slug: 'bravo-two' } }), status: 403, sameAsNowhere: false },
  'GET /api/v1/tenants/:tenant': refusal(() => ({ path: `/api/v1/tenants/${B.slug}` }), 403),
  'PATCH /api/v1/tenants/:tenant': refusal(() => ({ path: `/api/v1/tenants/${B.slug}`, body: { name: 'Taken Over' } }), 403),
  'DELETE /api/v1/tenants/:tenant': refusal(() => ({ path: `/api/v1/tenants/${B.slug}?force=true` }), 403),
};

const NoBleed = suite<{ fx: Fixture }>("http/no bleed: no route answers tenant B's data to tenant A's admin");
NoBleed.before.each(async (ctx) => {
  ctx.fx = await twoTenants();
});
NoBleed.after.each((ctx) => ctx.fx.t.close());

const yealink = (mac: string, extra: Record<string, unknown> = {}) => ({ mac, vendor: 'yealink', model: 'T46U', hotdesk: true, ...extra });
const user = (extension: string, displayName: string, sipPassword: string, pin: string) => ({ extension, displayName, sipPassword, pin, hotdesk: true });

async function twoTenants(): Promise<Fixture> {
  const t = await startTestServer();
  const ok = async (answer: Promise<Answer>, status: number) => {
    const res = await answer;
    assert.is(res.status, status, res.text);
    return res;
  };
  const alpha = await tenantWithToken(t, A.slug, A.name);
  const bravo = await tenantWithToken(t, B.slug, B.name);
  const bravoTool = await tokenOf(t, B.slug, 'helpdesk', 'bravo wallboard');
  await ok(callAs(t, alpha, 'POST', '/api/v1/users', user('101', 'Anna Alpha', 'alpha-sip-101', '4826')), 201);
  await ok(callAs(t, alpha, 'POST', '/api/v1/devices', yealink('001565a1a101')), 201);
  await ok(callAs(t, alpha, 'POST', '/api/v1/devices', yealink('001565a1a102')), 201);
  await ok(callAs(t, alpha, 'POST', '/api/v1/hotdesk/login', { device: '001565a1a101', extension: '101', pin: '4826' }), 200);

  await ok(callAs(t, bravo, 'PATCH', '/api/v1/tenant', { registrarHost: 'pbx.bravo-industries.example', loginCode: '*77' }), 200);
  const bravoUsers = [
    user('101', 'Boris Bravo', 'bravo-sip-101', '5937'),
    user('202', 'Bella Bravo', 'bravo-sip-202', '5937'),
    user('203', 'Bert Bravo', 'bravo-sip-203', '5937'),
    user('204', 'Bea Bravo', 'bravo-sip-204', '5937'),
  ];
  for (const u of bravoUsers) await ok(callAs(t, bravo, 'POST', '/api/v1/users', u), 201);
  const enrolled = [];
  for (const [i, mac] of B_MACS.entries()) {
    enrolled.push(
      (await ok(callAs(t, bravo, 'POST', '/api/v1/devices', yealink(mac, { label: `Bravo desk ${i}`, idlePassword: `bravo-idle-pw-${i}` })), 201)).body,
    );
  }
  const bravoHook = (
    await ok(callAs(t, bravo, 'POST', '/api/v1/webhooks', { url: 'https://hooks.bravo-industries.example/desks', events: ['hotdesk.login'] }), 201)
  ).body as { id: number; secret: string };
  await ok(callAs(t, bravo, 'POST', '/api/v1/hotdesk/login', { device: B_MACS[0], extension: '101', pin: '5937' }), 200);
  await ok(callAs(t, bravo, 'POST', '/api/v1/hotdesk/login', { device: B_MACS[1], extension: '202', pin: '5937' }), 200);
  const bravoTokenId = (await callAs(t, bravo, 'GET', '/api/v1/tokens')).body.find((k: { name: string }) => k.name === 'bravo wallboard').id as number;
  const bravoAdminId = (await ok(callAs(t, bravo, 'POST', '/api/v1/admins', { username: 'bravo-boss', password: 'bravo-boss-pass', role: 'admin' }), 201)).body
    .id as number;
  const bravoDeliveryId = (await ok(callAs(t, bravo, 'GET', `/api/v1/webhooks/${bravoHook.id}`), 200)).body.deliveries[0].id as number;

  // Every secret of B's, as the provider and the database know them.
  const secrets = [
    B.slug,
    B.name,
    'bravo',
    'Bravo',
    'pbx.bravo-industries.example',
    bravo,
    bravoTool,
    'bravo wallboard',
    'bravo-boss',
    bravoHook.secret,
    'hooks.bravo-industries.example',
    ...bravoUsers.map((u) => u.sipPassword),
  ];
  for (const device of enrolled) {
    secrets.push(device.mac, device.mac.toUpperCase(), device.mac.replaceAll(':', ''), device.mac.replaceAll(':', '').toUpperCase(), device.activationCode);
    const web = await ok(callAs(t, bravo, 'GET', `/api/v1/devices/${device.mac}/web-password`), 200);
    secrets.push(...Object.values(web.body as Record<string, unknown>).filter((v): v is string => typeof v === 'string' && v.length >= 8));
  }
  const { db } = t.hotprov.database;
  const { devices } = tablesOf(db);
  const rows = await db
    .select({ idlePassword: devices.idlePassword, provPassword: devices.provPassword, screenSecret: devices.screenSecret, webPassword: devices.webPassword })
    .from(devices)
    .where(inArray(devices.mac, [...B_MACS]));
  for (const row of rows) secrets.push(...Object.values(row).filter((v): v is string => typeof v === 'string' && v.length >= 8));
  return { t, alpha, bravo, bravoTokenId, bravoAdminId, bravoWebhookId: bravoHook.id, bravoDeliveryId, secrets: [...new Set(secrets)] };
}

/** The strings a request carried (path segments, body values): an answer may say back what the caller sent. */
function sentStrings(path: string, body: unknown): Set<string> {
  const sent = new Set(path.split(/[/?=&]/).filter((s) => s !== ''));
  const walk = (v: unknown): void => {
    if (typeof v === 'string') sent.add(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(body);
  return sent;
}

/** Every string value in a JSON answer. */
function stringsIn(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.flatMap(stringsIn);
  if (v !== null && typeof v === 'object') return Object.values(v).flatMap(stringsIn);
  return [];
}

/** Fails when the answer holds any of B's values, other than what the caller itself sent (or made A's own since). */
function assertNothingOfB(fx: Fixture, label: string, answer: Answer, sent: Set<string>, alphaOwn: Set<string>): void {
  let text = answer.text;
  for (const s of sent) text = text.replaceAll(s, '');
  for (const secret of fx.secrets) assert.not.ok(text.includes(secret), `${label} answers B's ${JSON.stringify(secret)}: ${answer.text}`);
  // Short values are compared whole: B's extensions are digits any time stamp may hold.
  for (const value of stringsIn(answer.body)) {
    if (sent.has(value) || alphaOwn.has(value)) continue;
    assert.not.ok((B_ONLY_EXTENSIONS as readonly string[]).includes(value), `${label} answers B's extension ${value}: ${answer.text}`);
  }
}

/** The same request with B's objects replaced by ones that exist nowhere; its answer, spelt back with B's. */
async function askNowhere(fx: Fixture, token: string, method: string, path: string, body: unknown): Promise<{ status: number; text: string }> {
  const swap = (s: string, map: Record<string, string>) => Object.entries(map).reduce((acc, [from, to]) => acc.replaceAll(from, to), s);
  const back = Object.fromEntries(Object.entries(NOWHERE).map(([from, to]) => [to, from]));
  const tokenId = String(fx.bravoTokenId);
  const pathNowhere = swap(path, NOWHERE).replace(new RegExp(`/tokens/${tokenId}$`), '/tokens/999999');
  const answer = await callAs(fx.t, token, method, pathNowhere, body === undefined ? undefined : JSON.parse(swap(JSON.stringify(body), NOWHERE)));
  return { status: answer.status, text: swap(answer.text, back).replaceAll('999999', tokenId) };
}

NoBleed("every route, at /api/v1, at A's own slug and at B's slug, aimed at B's objects with A's admin token", async ({ fx }) => {
  const routes: ApiRoute[] = apiRoutes(fx.t.hotprov.deps);
  for (const route of routes) {
    const cases = route.mount === 'tenants' ? MANAGEMENT_CASES : CASES;
    assert.ok(cases[route.key] !== undefined, `no no-bleed case for ${route.key} (${route.mount}): add one`);
  }
  const tenantRoutes = routes.filter((r) => r.mount === 'own');
  const attempts: { label: string; method: string; path: string; body: unknown; c: Case }[] = [];
  for (const [i, base] of ['/api/v1', `/api/v1/tenants/${A.slug}`].entries()) {
    for (const route of tenantRoutes) {
      const c = CASES[route.key] as Case;
      const { path, body } = c.request(fx, i);
      attempts.push({ label: `${route.method} ${base}${path}`, method: route.method, path: `${base}${path}`, body, c });
    }
  }
  // B's slug: the same 404 as a tenant that does not exist, whatever the route.
  for (const route of routes.filter((r) => r.mount === 'slug')) {
    const { path, body } = (CASES[route.key] as Case).request(fx, 2);
    const full = `/api/v1/tenants/${B.slug}${path}`;
    attempts.push({
      label: `${route.method} ${full}`,
      method: route.method,
      path: full,
      body,
      c: { request: () => ({ path }), status: 404, sameAsNowhere: true },
    });
  }
  for (const route of routes.filter((r) => r.mount === 'tenants')) {
    const c = MANAGEMENT_CASES[route.key] as Case;
    const { path, body } = c.request(fx, 0);
    attempts.push({ label: `${route.method} ${path}`, method: route.method, path, body, c });
  }

  // Extensions of B's that A created for itself on the way (POST /users): A's own from then on.
  const alphaOwn = new Set<string>();
  for (const { label, method, path, body, c } of attempts) {
    const answer = await callAs(fx.t, fx.alpha, method, path, body);
    assert.is(answer.status, c.status, `${label}: ${answer.text}`);
    if (c.status === 200 && path.endsWith('/hotdesk/code')) assert.is(answer.body.result, 'unknown_device', label);
    assertNothingOfB(fx, label, answer, sentStrings(path, body), alphaOwn);
    if (method === 'POST' && path.endsWith('/users') && answer.status === 201) alphaOwn.add(answer.body.extension);
    if (c.sameAsNowhere) {
      const nowhere = await askNowhere(fx, fx.alpha, method, path, body);
      assert.equal({ status: answer.status, text: answer.text }, nowhere, `${label} answers otherwise than for objects that exist nowhere`);
    }
  }

  // B is as it was: its users, devices, seated desks, token and settings.
  const asB = (path: string) => callAs(fx.t, fx.bravo, 'GET', `/api/v1${path}`);
  assert.equal(
    (await asB('/users')).body.map((u: { extension: string; displayName: string }) => [u.extension, u.displayName]),
    [
      ['101', 'Boris Bravo'],
      ['202', 'Bella Bravo'],
      ['203', 'Bert Bravo'],
      ['204', 'Bea Bravo'],
    ],
  );
  assert.equal(
    (await asB('/devices')).body.map((d: { idleAccount: string; label: string; state: string }) => [d.idleAccount, d.label, d.state]),
    [
      ['HD0001', 'Bravo desk 0', 'in_use'],
      ['HD0002', 'Bravo desk 1', 'in_use'],
    ],
  );
  assert.is((await asB('/hotdesk/sessions')).body.length, 2);
  assert.equal([(await asB('/tenant')).body.name, (await asB('/tenant')).body.loginCode], [B.name, '*77']);
  assert.equal(
    (await asB('/tokens')).body.map((k: { name: string; revokedAt: string | null }) => [k.name, k.revokedAt]),
    [
      [`${B.slug} admin`, null],
      ['bravo wallboard', null],
    ],
  );
  const hooks = (await asB('/webhooks')).body as { id: number; url: string; enabled: boolean; pendingDeliveries: number }[];
  assert.equal(
    hooks.map((h) => [h.id, h.url, h.enabled, h.pendingDeliveries]),
    [[fx.bravoWebhookId, 'https://hooks.bravo-industries.example/desks', true, 2]],
    "B's webhook, its URL and its waiting deliveries as they were",
  );
  const { db } = fx.t.hotprov.database;
  const { auditEvents, tenants } = tablesOf(db);
  const [bTenant] = await db.select({ id: tenants.id }).from(tenants).where(eq(tenants.slug, B.slug));
  const touched = await db
    .select({ action: auditEvents.action, actor: auditEvents.actor })
    .from(auditEvents)
    .where(and(eq(auditEvents.tenantId, bTenant?.id ?? -1), like(auditEvents.actor, `api:${A.slug}%`)));
  assert.equal(touched, [], "A's admin left events in B's audit log");
});

NoBleed("the provider at /api/v1/tenants/bravo-co/users sees B's users only, and A's admin sees A's only", async ({ fx }) => {
  const asProvider = await callAs(fx.t, TEST_TOKEN, 'GET', `/api/v1/tenants/${B.slug}/users`);
  assert.equal(
    asProvider.body.map((u: { extension: string }) => u.extension),
    ['101', '202', '203', '204'],
  );
  for (const alphaValue of ['Anna Alpha', 'alpha-sip-101']) assert.not.ok(asProvider.text.includes(alphaValue));
  const asAlpha = await callAs(fx.t, fx.alpha, 'GET', '/api/v1/users');
  assert.equal(
    asAlpha.body.map((u: { extension: string; displayName: string }) => [u.extension, u.displayName]),
    [['101', 'Anna Alpha']],
  );
  const sessions = await callAs(fx.t, TEST_TOKEN, 'GET', `/api/v1/tenants/${A.slug}/hotdesk/sessions`);
  assert.equal(
    sessions.body.map((s: { device: { mac: string }; user: { displayName: string } }) => [s.device.mac, s.user.displayName]),
    [['00:15:65:a1:a1:01', 'Anna Alpha']],
  );
});

NoBleed.run();

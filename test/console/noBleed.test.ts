import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ROUTE_ACCESS } from '../../src/console/permissions.ts';
import { consoleRouter } from '../../src/console/routes.ts';
import { listAdmins, listApiTokens } from '../../src/domain/admins.ts';
import { listAudit } from '../../src/domain/audit.ts';
import { getDevice } from '../../src/domain/lookup.ts';
import { listOpenSessions } from '../../src/domain/sessions.ts';
import { findActiveTenantBySlug as findTenantBySlug, getTenant } from '../../src/domain/tenants.ts';
import { listUsers } from '../../src/domain/users.ts';
import { createWebhook, getWebhook, sendTestEvent } from '../../src/domain/webhooks.ts';
import { CONSOLE_PASSWORD } from '../helpers/browser.ts';
import { type ConsoleClient, fetchSignInForm, postSignIn, signInOverHttp } from '../helpers/consoleHttp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { ACCOUNT_PASSWORD, type TenantObjects, twoTenants } from './tenantWorld.ts';

/**
 * No bleed, route by route: tenant Alpha's admin aims every console route at tenant Bravo's objects (its MAC,
 * idle account, extension, token id, admin id, template revision, slug). Each answer is a refusal (403, 404) or
 * Alpha's own page, none contains a value of Bravo's that Alpha did not send itself, and afterwards Bravo's
 * objects are as they were. The routes are read from the console router: a new route without a case fails.
 */
interface World {
  t: TestServer;
  alpha: TenantObjects;
  bravo: TenantObjects;
  /** A revision of a template saved by a provider while in Bravo. */
  bravoRevision: number;
  /** Bravo's webhook and a delivery of it; Alpha's own webhook, to aim Bravo's delivery through. */
  bravoWebhook: { readonly id: number; readonly delivery: number };
  alphaWebhook: number;
  /** Alpha's admin, signed in over HTTP. */
  a: ConsoleClient;
}

/** One request of a case: a path, and for a POST the form (its CSRF token is added). */
interface Probe {
  readonly path: string;
  readonly form?: Record<string, string>;
}

const T = 'yealink/device.cfg';

/** Bravo's values, in groups of spellings: a page may echo a group only when Alpha's request held one of them. */
const bravoValues = (b: TenantObjects): string[][] => [
  [b.mac, b.mac.replace(/:/g, ''), b.mac.replace(/:/g, '-')],
  [b.idle],
  [b.label],
  [b.location],
  [b.displayName],
  [b.sipPassword],
  [b.admin.username],
  [b.helpdesk.username],
  [b.token.name],
  [b.name],
  [b.registrarHost],
  ['bravo-template-marker'],
  [BRAVO_WEBHOOK_URL],
  ['bravo-webhook-marker'],
];

const BRAVO_WEBHOOK_URL = 'https://bravo-hooks.example.com/receive';

const CASES: Record<string, (w: World) => Probe[]> = {
  'GET /console/assets/console.css': () => [{ path: '/console/assets/console.css' }],
  'GET /console/assets/icon.svg': () => [{ path: '/console/assets/icon.svg' }],
  'GET /console/login': () => [{ path: '/console/login' }],
  // The sign-in is probed apart (it has its own form); this case is there so the route is not forgotten.
  'POST /console/login': () => [],
  'POST /console/logout': () => [],
  'POST /console/tenant': ({ bravo }) => [{ path: '/console/tenant', form: { tenant: bravo.slug } }],
  'GET /console': () => [{ path: '/console/' }],
  'GET /console/board-rows': () => [{ path: '/console/board-rows' }],
  'POST /console/devices/:device/logout': ({ bravo }) => [{ path: `/console/devices/${bravo.mac}/logout` }, { path: `/console/devices/${bravo.idle}/logout` }],
  'POST /console/logout-all': () => [{ path: '/console/logout-all' }],
  'GET /console/devices': ({ bravo }) => [{ path: '/console/devices' }, { path: `/console/devices?q=${encodeURIComponent(bravo.label)}` }],
  'GET /console/devices/:device': ({ alpha, bravo }) => [
    { path: `/console/devices/${bravo.mac}` },
    { path: `/console/devices/${bravo.idle}` },
    { path: `/console/devices/${alpha.idle}?as=${bravo.extension}` },
    { path: `/console/devices/${alpha.idle}?as=${bravo.extension}&reveal=1` },
  ],
  'GET /console/devices.csv': () => [{ path: '/console/devices.csv' }],
  'POST /console/devices': ({ bravo }) => [{ path: '/console/devices', form: { mac: bravo.mac, model: 'yealink/T46U', label: 'taken?' } }],
  'POST /console/devices/:device': ({ bravo }) => [{ path: `/console/devices/${bravo.mac}`, form: { label: 'Alpha was here' } }],
  'POST /console/devices/:device/approve': ({ bravo }) => [{ path: `/console/devices/${bravo.mac}/approve` }],
  'POST /console/devices/:device/activation-code': ({ bravo }) => [{ path: `/console/devices/${bravo.mac}/activation-code` }],
  'POST /console/devices/:device/unclaim': ({ bravo }) => [{ path: `/console/devices/${bravo.mac}/unclaim` }],
  'POST /console/devices/:device/web-password': ({ bravo }) => [{ path: `/console/devices/${bravo.idle}/web-password` }],
  'POST /console/devices/:device/delete': ({ bravo }) => [{ path: `/console/devices/${bravo.mac}/delete` }],
  'GET /console/devices/:device/file': ({ alpha, bravo }) => [
    { path: `/console/devices/${bravo.mac}/file?name=${bravo.mac.replace(/:/g, '')}.cfg` },
    { path: `/console/devices/${bravo.idle}/file?name=y000000000000.cfg` },
    { path: `/console/devices/${alpha.idle}/file?name=${alpha.mac.replace(/:/g, '')}.cfg&as=${bravo.extension}` },
  ],
  'POST /console/devices/:device/reboot': ({ bravo }) => [{ path: `/console/devices/${bravo.mac}/reboot` }],
  'POST /console/devices/:device/resync': ({ bravo }) => [{ path: `/console/devices/${bravo.idle}/resync` }],
  'POST /console/bulk/devices': ({ bravo }) => [
    { path: '/console/bulk/devices', form: { device: bravo.mac, action: 'reboot' } },
    { path: '/console/bulk/devices', form: { device: bravo.idle, action: 'delete' } },
  ],
  'POST /console/import/devices': ({ bravo }) => [
    { path: '/console/import/devices', form: { csv: `mac,vendor,model,label\n${bravo.mac},yealink,T46U,x`, action: 'import' } },
  ],
  'GET /console/users': ({ bravo }) => [{ path: '/console/users' }, { path: `/console/users?q=${bravo.extension}` }],
  'GET /console/users/:extension': ({ bravo }) => [{ path: `/console/users/${bravo.extension}` }],
  'GET /console/users.csv': () => [{ path: '/console/users.csv' }],
  'POST /console/users/:extension': ({ bravo }) => [{ path: `/console/users/${bravo.extension}`, form: { displayName: 'Alpha was here' } }],
  'POST /console/users/:extension/pin': ({ bravo }) => [{ path: `/console/users/${bravo.extension}/pin` }],
  'POST /console/pins': ({ bravo }) => [{ path: '/console/pins', form: { extension: bravo.extension, scope: 'selected' } }],
  'POST /console/users/:extension/delete': ({ bravo }) => [{ path: `/console/users/${bravo.extension}/delete` }],
  'POST /console/import/users': ({ bravo }) => [
    { path: '/console/import/users', form: { csv: `extension,display_name,sip_password\n${bravo.extension},Dup,pw-123456`, action: 'preview' } },
  ],
  // Last of the user routes: Alpha may have an extension Bravo has; from here on that number is Alpha's own.
  'POST /console/users': ({ bravo }) => [
    { path: '/console/users', form: { extension: bravo.extension, displayName: 'Alpha Twin', sipPassword: 'alpha-twin-pw' } },
  ],
  'GET /console/templates': () => [{ path: '/console/templates' }],
  'GET /console/templates/:vendor/:name': () => [{ path: `/console/templates/${T}` }],
  'GET /console/templates/:vendor/:name/revisions/:id': ({ bravoRevision }) => [{ path: `/console/templates/${T}/revisions/${bravoRevision}` }],
  'POST /console/templates/:vendor/:name': () => [{ path: `/console/templates/${T}`, form: { source: '# nothing', action: 'preview' } }],
  'POST /console/templates/:vendor/:name/restore/:id': ({ bravoRevision }) => [{ path: `/console/templates/${T}/restore/${bravoRevision}` }],
  'POST /console/templates/:vendor/:name/reset': () => [{ path: `/console/templates/${T}/reset` }],
  'POST /console/templates/:vendor/:name/reprovision': () => [{ path: `/console/templates/${T}/reprovision` }],
  'POST /console/templates/:vendor/:name/merge': () => [{ path: `/console/templates/${T}/merge` }],
  // A model's version is Alpha's own (a model is no tenant's); Bravo's revision is not one of it.
  'GET /console/templates/:vendor/:name/models/:model': () => [{ path: `/console/templates/${T}/models/T46U` }],
  'GET /console/templates/:vendor/:name/models/:model/revisions/:id': ({ bravoRevision }) => [
    { path: `/console/templates/${T}/models/T46U/revisions/${bravoRevision}` },
  ],
  'POST /console/templates/:vendor/:name/models/:model': () => [
    { path: `/console/templates/${T}/models/T46U`, form: { source: '# nothing', action: 'preview' } },
  ],
  'POST /console/templates/:vendor/:name/models/:model/restore/:id': ({ bravoRevision }) => [
    { path: `/console/templates/${T}/models/T46U/restore/${bravoRevision}` },
  ],
  'POST /console/templates/:vendor/:name/models/:model/reset': () => [{ path: `/console/templates/${T}/models/T46U/reset` }],
  'POST /console/templates/:vendor/:name/models/:model/reprovision': () => [{ path: `/console/templates/${T}/models/T46U/reprovision` }],
  'POST /console/templates/:vendor/:name/models/:model/merge': () => [{ path: `/console/templates/${T}/models/T46U/merge` }],
  // A device's version: Bravo's device is not found, Alpha's own is Alpha's.
  'GET /console/templates/:vendor/:name/devices/:device': ({ alpha, bravo }) => [
    { path: `/console/templates/${T}/devices/${bravo.idle}` },
    { path: `/console/templates/${T}/devices/${alpha.idle}` },
  ],
  'GET /console/templates/:vendor/:name/devices/:device/revisions/:id': ({ alpha, bravo, bravoRevision }) => [
    { path: `/console/templates/${T}/devices/${bravo.idle}/revisions/${bravoRevision}` },
    { path: `/console/templates/${T}/devices/${alpha.idle}/revisions/${bravoRevision}` },
  ],
  'POST /console/templates/:vendor/:name/devices/:device': ({ bravo }) => [
    { path: `/console/templates/${T}/devices/${bravo.idle}`, form: { source: '# by alpha', action: 'save' } },
  ],
  'POST /console/templates/:vendor/:name/devices/:device/restore/:id': ({ alpha, bravoRevision }) => [
    { path: `/console/templates/${T}/devices/${alpha.idle}/restore/${bravoRevision}` },
  ],
  'POST /console/templates/:vendor/:name/devices/:device/reset': ({ bravo }) => [{ path: `/console/templates/${T}/devices/${bravo.idle}/reset` }],
  'POST /console/templates/:vendor/:name/devices/:device/reprovision': ({ bravo }) => [{ path: `/console/templates/${T}/devices/${bravo.idle}/reprovision` }],
  'POST /console/templates/:vendor/:name/devices/:device/merge': ({ bravo }) => [{ path: `/console/templates/${T}/devices/${bravo.idle}/merge` }],
  'GET /console/occupancy': () => [{ path: '/console/occupancy' }, { path: '/console/occupancy?from=2020-01-01&to=2020-01-31' }],
  'GET /console/occupancy.csv': () => [{ path: '/console/occupancy.csv?view=day' }, { path: '/console/occupancy.csv?view=user' }],
  'GET /console/audit': ({ bravo }) => [{ path: '/console/audit' }, { path: `/console/audit?device=${bravo.mac}&user=${bravo.extension}` }],
  'GET /console/audit.csv': ({ bravo }) => [{ path: `/console/audit.csv?device=${bravo.mac}` }],
  'GET /console/settings': () => [{ path: '/console/settings' }],
  'POST /console/settings': () => [{ path: '/console/settings', form: { loginCode: '*35', timezone: 'UTC' } }],
  'POST /console/tokens': () => [{ path: '/console/tokens', form: { name: 'alpha-provider-try', role: 'provider' } }],
  'POST /console/tokens/:id/revoke': ({ bravo }) => [{ path: `/console/tokens/${bravo.token.id}/revoke` }],
  'GET /console/webhooks': () => [{ path: '/console/webhooks' }],
  'GET /console/webhooks/:id': ({ bravoWebhook }) => [{ path: `/console/webhooks/${bravoWebhook.id}` }],
  'POST /console/webhooks/:id': ({ bravoWebhook }) => [
    { path: `/console/webhooks/${bravoWebhook.id}`, form: { url: 'https://alpha.example.com/hook', events: 'hotdesk.login', enabled: 'on' } },
  ],
  'POST /console/webhooks/:id/test': ({ bravoWebhook }) => [{ path: `/console/webhooks/${bravoWebhook.id}/test` }],
  'POST /console/webhooks/:id/secret': ({ bravoWebhook }) => [{ path: `/console/webhooks/${bravoWebhook.id}/secret` }],
  'POST /console/webhooks/:id/deliveries/:delivery/resend': ({ alphaWebhook, bravoWebhook }) => [
    { path: `/console/webhooks/${bravoWebhook.id}/deliveries/${bravoWebhook.delivery}/resend` },
    { path: `/console/webhooks/${alphaWebhook}/deliveries/${bravoWebhook.delivery}/resend` },
  ],
  'POST /console/webhooks/:id/delete': ({ bravoWebhook }) => [{ path: `/console/webhooks/${bravoWebhook.id}/delete` }],
  'POST /console/webhooks': () => [{ path: '/console/webhooks', form: { url: BRAVO_WEBHOOK_URL, events: 'hotdesk.login' } }],
  'GET /console/admins': () => [{ path: '/console/admins' }],
  'POST /console/admins': () => [{ path: '/console/admins', form: { username: 'alpha-made-provider', password: 'a-long-password', role: 'provider' } }],
  'POST /console/admins/:id/delete': ({ bravo }) => [
    { path: `/console/admins/${bravo.admin.id}/delete` },
    { path: `/console/admins/${bravo.helpdesk.id}/delete` },
  ],
  'POST /console/admins/:id/password': ({ bravo }) => [{ path: `/console/admins/${bravo.admin.id}/password`, form: { password: 'taken-over-by-alpha' } }],
  'GET /console/tenants': () => [{ path: '/console/tenants' }],
  'POST /console/tenants': () => [{ path: '/console/tenants', form: { name: 'Alpha Two', slug: 'alpha-two' } }],
  'POST /console/tenants/:tenant': ({ bravo }) => [{ path: `/console/tenants/${bravo.slug}`, form: { name: 'Renamed by Alpha' } }],
  'POST /console/tenants/:tenant/delete': ({ bravo }) => [{ path: `/console/tenants/${bravo.slug}/delete`, form: { force: 'on' } }],
  'POST /console/tenants/:tenant/quotas': ({ bravo }) => [{ path: `/console/tenants/${bravo.slug}/quotas`, form: { maxDevices: '0', maxUsers: '0' } }],
  'GET /console/overview': () => [{ path: '/console/overview' }],
};

/** Every route of the console router, as `METHOD path` (HEAD goes with GET). */
function consoleRoutes(t: TestServer): string[] {
  const router = consoleRouter(t.hotprov.deps);
  return router.stack.flatMap((layer) => layer.methods.filter((m) => m !== 'HEAD').map((m) => `${m} ${layer.path}`));
}

const NoBleed = suite<World>('console: no bleed between tenants, route by route');
NoBleed.before(async (ctx) => {
  ctx.t = await startTestServer({ env: { HOTPROV_ADMIN_PASSWORD: CONSOLE_PASSWORD } });
  const { alpha, bravo } = await twoTenants(ctx.t);
  ctx.alpha = alpha;
  ctx.bravo = bravo;
  // A provider, switched to Bravo, saves a template with a marker.
  const provider = await signInOverHttp(ctx.t.url, 'admin', CONSOLE_PASSWORD);
  await provider.post('/console/tenant', { tenant: bravo.slug });
  const page = await provider.get(`/console/templates/${T}`);
  const source = /<textarea[^>]*name="source"[^>]*>([\s\S]*?)<\/textarea>/.exec(page.body)?.[1] ?? '';
  const decoded = source
    .replace(/&#x3D;/g, '=')
    .replace(/&quot;/g, '"')
    .replace(/&#x27;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
  const saved = await provider.post(`/console/templates/${T}`, { source: `${decoded}\n# bravo-template-marker\n`, action: 'save' });
  assert.ok(saved.status < 400, `the provider's template save failed: ${saved.status}`);
  const revision = /\/revisions\/(\d+)/.exec((await provider.get(`/console/templates/${T}`)).body)?.[1];
  assert.ok(revision !== undefined, 'the saved revision is listed');
  ctx.bravoRevision = Number(revision);
  // Each tenant has a webhook; Bravo's has a delivery waiting.
  const { domain, config } = ctx.t.hotprov.deps;
  const hook = (tenantId: number, url: string, description: string) =>
    createWebhook(domain, tenantId, { name: 'test' }, { url, description, events: ['hotdesk.logout'] }, config.webhooks);
  const bravoHook = await hook(bravo.id, BRAVO_WEBHOOK_URL, 'bravo-webhook-marker');
  const delivery = await sendTestEvent(domain, bravo.id, { name: 'test' }, bravoHook.endpoint.id);
  ctx.bravoWebhook = { id: bravoHook.endpoint.id, delivery: delivery.id };
  ctx.alphaWebhook = (await hook(alpha.id, 'https://alpha.example.com/hook', 'Alpha hook')).endpoint.id;
  ctx.a = await signInOverHttp(ctx.t.url, alpha.admin.username, ACCOUNT_PASSWORD);
});
NoBleed.after(async ({ t }) => {
  await t.close();
});

NoBleed('every console route has a case here, and every case a route', ({ t }) => {
  const routes = consoleRoutes(t);
  const missing = routes.filter((r) => !(r in CASES));
  assert.equal(missing, [], `console routes without a no-bleed case: ${missing.join(', ')}`);
  const stale = Object.keys(CASES).filter((c) => !routes.includes(c));
  assert.equal(stale, [], `cases of routes that are gone: ${stale.join(', ')}`);
});

NoBleed('every console route says who may use it (console/permissions.ts), and every entry there is a route', ({ t }) => {
  const routes = consoleRoutes(t);
  assert.equal(
    routes.filter((r) => !(r in ROUTE_ACCESS)),
    [],
  );
  assert.equal(
    Object.keys(ROUTE_ACCESS).filter((r) => !routes.includes(r)),
    [],
  );
});

NoBleed("Alpha's admin aimed at Bravo's objects gets a refusal or its own data, never Bravo's", async (w) => {
  const { a, bravo } = w;
  const groups = bravoValues(bravo);
  const leaks: string[] = [];
  const look = (route: string, probe: Probe, status: number, pages: readonly string[]) => {
    const sent = `${decodeURIComponent(probe.path)} ${Object.values(probe.form ?? {}).join(' ')}`.toLowerCase();
    if (status >= 500) leaks.push(`${route} ${probe.path}: ${status}`);
    for (const group of groups) {
      if (group.some((v) => sent.includes(v.toLowerCase()))) continue;
      for (const body of pages) {
        const hit = group.find((v) => body.toLowerCase().includes(v.toLowerCase()));
        if (hit !== undefined) leaks.push(`${route} ${probe.path}: shows ${hit}`);
      }
    }
  };
  // In the order of the cases (the coverage test above holds them to the router's routes).
  for (const [route, probes] of Object.entries(CASES)) {
    const method = route.split(' ')[0];
    for (const probe of probes(w)) {
      if (method === 'GET') {
        const res = await a.get(probe.path);
        look(route, probe, res.status, [res.body]);
      } else {
        const res = await a.submit(probe.path, probe.form);
        look(route, probe, res.status, res.steps);
      }
    }
  }
  // The sign-in with Bravo's admin name and a wrong password: refused, nothing of Bravo's shown.
  const form = await fetchSignInForm(w.t.url);
  const refused = await postSignIn(w.t.url, form, bravo.admin.username, 'wrong-password-x');
  look('POST /console/login', { path: '/console/login', form: { username: bravo.admin.username } }, refused.status, [await refused.text()]);
  assert.equal(refused.status, 401);
  // The failure is logged in Bravo's audit log, where its admins look, not in Alpha's or the default tenant's.
  const db = w.t.hotprov.deps.domain.db;
  const failedFor = async (tenantId: number) =>
    (await listAudit(db, tenantId, { action: 'console.sign_in_failed' })).filter((e) => (e.detail ?? '').includes(bravo.admin.username)).length;
  assert.equal([await failedFor(bravo.id), await failedFor(w.alpha.id), await failedFor((await w.t.hotprov.deps.tenant()).id)], [1, 0, 0]);
  // Signing out ends Alpha's session only.
  const another = await signInOverHttp(w.t.url, w.alpha.admin.username, ACCOUNT_PASSWORD);
  const out = await another.post('/console/logout');
  assert.equal(out.location, '/console/login');
  assert.equal((await another.get('/console/')).location, '/console/login');
  assert.equal((await a.get('/console/')).status, 200, "another session's sign-out leaves this one signed in");

  assert.equal(leaks, [], `Bravo's data reached Alpha:\n${leaks.join('\n')}`);
});

NoBleed('50 pages at once, Alpha’s and Bravo’s admins and a provider switched to each, every one of its own tenant', async (w) => {
  const { alpha, bravo, t } = w;
  const bAdmin = await signInOverHttp(t.url, bravo.admin.username, ACCOUNT_PASSWORD);
  const inAlpha = await signInOverHttp(t.url, 'admin', CONSOLE_PASSWORD);
  const inBravo = await signInOverHttp(t.url, 'admin', CONSOLE_PASSWORD);
  await inAlpha.post('/console/tenant', { tenant: alpha.slug });
  await inBravo.post('/console/tenant', { tenant: bravo.slug });
  const clients = [
    { client: w.a, own: alpha.label, other: bravo.label },
    { client: bAdmin, own: bravo.label, other: alpha.label },
    { client: inAlpha, own: alpha.label, other: bravo.label },
    { client: inBravo, own: bravo.label, other: alpha.label },
  ];
  const answers = await Promise.all(
    Array.from({ length: 50 }, async (_, i) => {
      const c = clients[i % clients.length];
      if (c === undefined) throw new Error('no client');
      const page = await c.client.get(i % 3 === 0 ? '/console/board-rows' : '/console/devices');
      return { i, ok: page.status === 200 && page.body.includes(c.own) && !page.body.includes(c.other) };
    }),
  );
  assert.equal(
    answers.filter((a) => !a.ok).map((a) => a.i),
    [],
  );
  // And 50 forged settings POSTs of Alpha's helpdesk at once, each with the valid CSRF token: every one refused.
  const helpdesk = await signInOverHttp(t.url, alpha.helpdesk.username, ACCOUNT_PASSWORD);
  const forged = await Promise.all(Array.from({ length: 50 }, (_, i) => helpdesk.post('/console/settings', { loginCode: `*9${i % 10}` })));
  assert.equal([...new Set(forged.map((f) => f.status))], [403]);
  assert.is((await getTenant(t.hotprov.deps.domain.db, alpha.id)).loginCode, '*35');
});

NoBleed('afterwards Bravo is as it was: its desk seated, device, user, token, accounts and tenant untouched', async (w) => {
  const { db } = w.t.hotprov.deps.domain;
  const { bravo } = w;
  const device = await getDevice(db, bravo.id, bravo.mac);
  assert.is(device.label, bravo.label);
  assert.is(device.access, 'unclaimed');
  const seated = await listOpenSessions(db, bravo.id);
  assert.equal(
    seated.map((s) => [s.device.idleAccount, s.user.extension]),
    [[bravo.idle, bravo.extension]],
  );
  const user = (await listUsers(db, bravo.id)).find((u) => u.extension === bravo.extension);
  assert.is(user?.displayName, bravo.displayName);
  assert.equal(
    (await listApiTokens(db, bravo.id)).map((t) => [t.name, t.revokedAt]),
    [[bravo.token.name, null]],
  );
  assert.equal(
    (await listAdmins(db, bravo.id)).map((x) => x.username),
    [bravo.admin.username, bravo.helpdesk.username],
  );
  const tenant = await findTenantBySlug(db, bravo.slug);
  assert.is(tenant?.name, bravo.name);
  assert.is(tenant?.retiredAt, null);
  // Bravo's admin still signs in with its own password.
  await signInOverHttp(w.t.url, bravo.admin.username, ACCOUNT_PASSWORD);
  // Nothing Alpha tried was written in Bravo's audit log in Alpha's name.
  const byAlpha = (await listAudit(db, bravo.id, { limit: 1000 })).filter((e) => e.actor.includes(w.alpha.admin.username));
  assert.equal(byAlpha, []);
  // Alpha made no provider account and no tenant.
  assert.equal(
    (await listAdmins(db, null)).map((x) => x.username),
    ['admin'],
  );
  assert.is(await findTenantBySlug(db, 'alpha-two'), undefined);
  // Bravo's webhook is as it was, its delivery neither sent again nor gone.
  const webhook = await getWebhook(db, bravo.id, w.bravoWebhook.id);
  assert.equal([webhook.endpoint.url, webhook.endpoint.events, webhook.endpoint.enabled], [BRAVO_WEBHOOK_URL, ['hotdesk.logout'], true]);
  assert.equal(
    webhook.deliveries.map((d) => [d.id, d.state, d.attempts]),
    [[w.bravoWebhook.delivery, 'pending', 0]],
  );
  assert.equal(await listAudit(db, bravo.id, { action: 'webhook.secret_rotated' }), []);
});

NoBleed.run();

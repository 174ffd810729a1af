import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { findDeviceByMac } from '../../src/domain/lookup.ts';
import type { Mac } from '../../src/domain/mac.ts';
import { readBootstrap } from '../helpers/bootstrap.ts';
import { type FakeService, fakeYealinkRps } from '../helpers/redirectFakes.ts';
import { LOOPBACK_NETWORKS, startTestServer, TEST_TOKEN, type TestServer } from '../helpers/server.ts';
import { callAs, tenantWithToken } from '../helpers/tenants.ts';
import { createTestPki, type TestPki } from '../helpers/tls.ts';

/**
 * A provider white-labels a tenant: acme's phones are handed https://prov.acme-voice.example (a name pointing at
 * this hotprov), the default tenant's keep HOTPROV_BASE_URL. Over real HTTP: files, screens, a claim's bootstrap
 * file and redirect registrations carry the tenant's address; the other tenant does not change by a byte.
 */
interface Context {
  t: TestServer;
  /** acme's admin token. */
  admin: string;
  /** Each tenant's Yealink RPS account, on a local fake. */
  rps: { default: FakeService; acme: FakeService };
}

const INSTANCE = 'http://prov.example.test:8080';
const ACME = 'https://prov.acme-voice.example';
const SECRET = 'rps-secret-0123456789';
/** A seated Yealink and an idle Snom in each tenant. */
const MACS = { default: ['805ec0aa0001', '000413aa0002'], acme: ['805ec0bb0001', '000413bb0002'] } as const;
const MODELS = [
  { vendor: 'yealink', model: 'T54W' },
  { vendor: 'snom', model: 'D785' },
] as const;

const BaseUrl = suite<Context>('http/tenant base URL: a provider-only address per tenant for its phones');
BaseUrl.before.each(async (ctx) => {
  const t = await startTestServer();
  ctx.t = t;
  ctx.admin = await tenantWithToken(t, 'acme', 'Acme');
  ctx.rps = { default: await fakeYealinkRps('AK-default', SECRET), acme: await fakeYealinkRps('AK-acme', SECRET) };
  for (const [slug, prefix, settingsPath] of [
    ['default', '/api/v1', '/api/v1/tenant'],
    ['acme', '/api/v1/tenants/acme', '/api/v1/tenants/acme'],
  ] as const) {
    const settings = await t.api('PATCH', settingsPath, {
      trustedNetworks: [...LOOPBACK_NETWORKS],
      yealinkRpsUrl: ctx.rps[slug].url,
      yealinkRpsKeyId: `AK-${slug}`,
      yealinkRpsSecret: SECRET,
    });
    assert.is(settings.status, 200, JSON.stringify(settings.body));
    for (const [i, mac] of MACS[slug].entries()) assert.is((await t.api('POST', `${prefix}/devices`, { mac, ...MODELS[i] })).status, 201);
    assert.is(
      (await t.api('POST', `${prefix}/users`, { extension: '101', displayName: `Ann of ${slug}`, sipPassword: `sip-${slug}`, pin: '4826' })).status,
      201,
    );
    assert.is((await t.api('POST', `${prefix}/hotdesk/login`, { device: MACS[slug][0], extension: '101', pin: '4826' })).status, 200);
  }
  await t.hotprov.redirects.settled();
});
BaseUrl.after.each(async (ctx) => {
  await ctx.t.close();
  await ctx.rps.default.close();
  await ctx.rps.acme.close();
});

const provider = (t: TestServer, method: string, path: string, body?: unknown) => callAs(t, TEST_TOKEN, method, path, body);

/** Every file of every phone of a tenant as the phone fetches it (with its credentials): status, ETag and body. */
async function filesOf(t: TestServer, slug: keyof typeof MACS): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const mac of MACS[slug]) {
    const device = await findDeviceByMac(t.hotprov.database.db, mac as Mac);
    const adapter = t.hotprov.adapters.find((a) => a.id === device?.vendor);
    const model = adapter?.profile.models.get(device?.model ?? '');
    if (adapter === undefined || model === undefined) throw new Error(`${mac} is not enrolled`);
    for (const name of adapter.deviceFiles(mac as Mac, model)) {
      const res = await t.phone(`/${name}`);
      out.set(`${mac} ${name}`, `${res.status} ${res.headers.get('etag')}\n${await res.text()}`);
    }
  }
  return out;
}

/** The phone's screen at a path under /phone/<mac>/<secret>/, found through the URL its main file holds. */
async function loginScreen(t: TestServer, mac: string, file: string): Promise<{ url: string; body: string }> {
  const main = await (await t.phone(file)).text();
  const url = /(https?:\/\/[^\s<"]+\/phone\/[0-9a-f]{12}\/[0-9a-f]+\/login)\b/.exec(main)?.[1];
  if (url === undefined) throw new Error(`${mac}: no login key URL in its main file`);
  // Whatever host it names, the screen is this hotprov's.
  const res = await fetch(`${t.url}${new URL(url).pathname}`);
  assert.is(res.status, 200);
  return { url, body: await res.text() };
}

BaseUrl('the base URL reaches the tenant’s files and screens; the other tenant’s stay byte for byte and ETag for ETag', async ({ t }) => {
  const before = { default: await filesOf(t, 'default'), acme: await filesOf(t, 'acme') };
  for (const files of Object.values(before)) for (const body of files.values()) assert.not.ok(body.includes(ACME));

  const set = await provider(t, 'PATCH', '/api/v1/tenants/acme', { baseUrl: `${ACME}/` });
  assert.is(set.status, 200, JSON.stringify(set.body));
  assert.is(set.body.baseUrl, ACME, 'kept without its trailing slash');

  const after = { default: await filesOf(t, 'default'), acme: await filesOf(t, 'acme') };
  assert.equal([...after.default], [...before.default], "the default tenant's files, bodies and ETags, did not move");
  const yealink = after.acme.get(`${MACS.acme[0]} ${MACS.acme[0]}.cfg`) ?? '';
  assert.match(yealink, `${ACME}/phone/${MACS.acme[0]}/`, "the seated Yealink's Logout key is on acme's address");
  for (const [name, body] of after.acme) {
    assert.not.ok(body.includes('prov.example.test'), `${name} still names the instance's address`);
  }

  // The screens the keys open: acme's on its address, the default tenant's on the instance's.
  await t.api('POST', '/api/v1/tenants/acme/hotdesk/logout', { device: MACS.acme[0] });
  await t.api('POST', '/api/v1/hotdesk/logout', { device: MACS.default[0] });
  const acmeScreen = await loginScreen(t, MACS.acme[0], `/${MACS.acme[0]}.cfg`);
  assert.ok(acmeScreen.url.startsWith(`${ACME}/phone/`), acmeScreen.url);
  assert.match(acmeScreen.body, `${ACME}/phone/${MACS.acme[0]}/`);
  assert.not.match(acmeScreen.body, 'prov.example.test');
  const defaultScreen = await loginScreen(t, MACS.default[0], `/${MACS.default[0]}.cfg`);
  assert.ok(defaultScreen.url.startsWith(`${INSTANCE}/phone/`), defaultScreen.url);
  assert.match(defaultScreen.body, `${INSTANCE}/phone/${MACS.default[0]}/`);
  assert.not.match(defaultScreen.body, ACME);

  // Back to the instance's address: acme's files are the instance's again.
  assert.is((await provider(t, 'PATCH', '/api/v1/tenants/acme', { baseUrl: null })).body.baseUrl, null);
  for (const [name, body] of await filesOf(t, 'acme')) assert.not.ok(body.includes(ACME), name);
});

BaseUrl('a claim’s bootstrap file points the phone at its tenant’s address; a decoy keeps the instance’s', async ({ t }) => {
  await provider(t, 'PATCH', '/api/v1/tenants/acme', { baseUrl: ACME });
  assert.is((await t.api('POST', '/api/v1/tenants/acme/devices', { mac: '805ec0bb0009', vendor: 'yealink', model: 'T54W' })).status, 201);
  assert.is((await t.api('POST', '/api/v1/devices', { mac: '805ec0aa0009', vendor: 'yealink', model: 'T54W' })).status, 201);
  const claimed = readBootstrap('yealink', await (await t.anonymous('/805ec0bb0009.cfg')).text());
  assert.is(claimed.url, `${ACME}/prov/`);
  assert.ok(claimed.activationUrl.startsWith(`${ACME}/phone/805ec0bb0009/`), claimed.activationUrl);
  assert.is(
    (await t.anonymous('/prov/805ec0bb0009.cfg', '', { headers: { authorization: `Basic ${btoa(`${claimed.username}:${claimed.password}`)}` } })).status,
    200,
  );
  const other = readBootstrap('yealink', await (await t.anonymous('/805ec0aa0009.cfg')).text());
  assert.is(other.url, `${INSTANCE}/prov/`, "the default tenant's claim keeps the instance's address");
  // Asked again, nothing is proven: a decoy, which must not tell the MAC's tenant.
  const decoy = readBootstrap('yealink', await (await t.anonymous('/805ec0bb0009.cfg')).text());
  assert.is(decoy.url, `${INSTANCE}/prov/`);
  assert.is.not(decoy.password, claimed.password);
});

BaseUrl('a change re-syncs only the tenant’s phones and registers them again at its redirect service', async ({ t, rps }) => {
  assert.is(rps.acme.registered.get(MACS.acme[0])?.url, `${INSTANCE}/prov/`);
  const syncOf = async (prefix: string, mac: string) => JSON.stringify((await t.api('GET', `${prefix}/devices/${mac}`)).body.sync);
  const defaultSyncs = await Promise.all(MACS.default.map((mac) => syncOf('/api/v1', mac)));
  const acmeSyncs = await Promise.all(MACS.acme.map((mac) => syncOf('/api/v1/tenants/acme', mac)));
  const announced = t.changes.length;
  const defaultCalls = rps.default.calls;

  assert.is((await provider(t, 'PATCH', '/api/v1/tenants/acme', { baseUrl: ACME })).status, 200);
  await t.hotprov.redirects.settled();

  const acmeIds = await Promise.all(MACS.acme.map(async (mac) => (await findDeviceByMac(t.hotprov.database.db, mac as Mac))?.id));
  assert.equal(
    t.changes.slice(announced).map((c) => [...c.deviceIds].sort()),
    [acmeIds.sort()],
    "one profile change, of acme's devices only",
  );
  assert.equal(await Promise.all(MACS.default.map((mac) => syncOf('/api/v1', mac))), defaultSyncs, "no re-sync of the default tenant's phones");
  const acmeAfter = await Promise.all(MACS.acme.map((mac) => syncOf('/api/v1/tenants/acme', mac)));
  acmeAfter.forEach((s, i) => {
    assert.is.not(s, acmeSyncs[i], `${MACS.acme[i]} is re-synced`);
  });
  assert.is(rps.acme.registered.get(MACS.acme[0])?.url, `${ACME}/prov/`, 'registered again, at the tenant’s address');
  assert.is(rps.default.registered.get(MACS.default[0])?.url, `${INSTANCE}/prov/`);
  assert.is(rps.default.calls, defaultCalls, "the default tenant's service is not called");
});

BaseUrl('only the provider sets it: a tenant admin gets 400 and nothing changes; an invalid URL is 400', async ({ t, admin }) => {
  for (const body of [{ baseUrl: ACME }, { baseUrl: null }, { name: 'Acme', baseUrl: ACME }]) {
    const res = await callAs(t, admin, 'PATCH', '/api/v1/tenant', body);
    assert.is(res.status, 400, JSON.stringify(body));
    assert.is(res.body.error.code, 'invalid_field');
    assert.match(res.body.error.message, /^baseUrl: the base URL is set by the provider \(PATCH \/api\/v1\/tenants\/:tenant\)/);
  }
  assert.is((await callAs(t, admin, 'GET', '/api/v1/tenant')).body.baseUrl, null, 'the admin sees it, unchanged');
  for (const baseUrl of [
    'prov.acme-voice.example',
    'ftp://prov.acme-voice.example',
    'https://user:pass@prov.acme-voice.example',
    'https://prov.acme-voice.example/?tenant=acme',
    'https://prov.acme-voice.example/#x',
    42,
  ]) {
    const res = await provider(t, 'PATCH', '/api/v1/tenants/acme', { baseUrl });
    assert.is(res.status, 400, String(baseUrl));
    assert.match(res.body.error.message, /^baseUrl: /);
  }
  assert.is((await provider(t, 'GET', '/api/v1/tenants/acme')).body.baseUrl, null);
  const listed = (await provider(t, 'GET', '/api/v1/tenants')).body.find((x: { slug: string }) => x.slug === 'acme');
  assert.is(listed.baseUrl, null);
});

BaseUrl.run();

/** With HTTPS on, a tenant's http:// address is handed to phones on https:// and HOTPROV_HTTPS_PORT, as the instance's is. */
const OverHttps = suite<{ t: TestServer; pki: TestPki }>('http/tenant base URL with HTTPS');
OverHttps.before(async (ctx) => {
  ctx.pki = createTestPki();
  ctx.t = await startTestServer({ env: ctx.pki.env() });
});
OverHttps.after(async (ctx) => {
  await ctx.t.close();
  ctx.pki.remove();
});

OverHttps('an http:// base URL becomes its https:// variant for phones; an https:// one stays', async ({ t }) => {
  const port = t.hotprov.deps.config.https?.port;
  assert.ok(port !== undefined);
  for (const [slug, baseUrl, handed, mac] of [
    ['acme', 'http://prov.acme-voice.example:8080', `https://prov.acme-voice.example:${port}`, '805ec0bb0011'],
    ['bravo', 'https://bravo.prov.example', 'https://bravo.prov.example', '805ec0cc0011'],
  ] as const) {
    assert.is((await provider(t, 'POST', '/api/v1/tenants', { name: slug, slug })).status, 201);
    const set = await provider(t, 'PATCH', `/api/v1/tenants/${slug}`, { baseUrl, trustedNetworks: [...LOOPBACK_NETWORKS] });
    assert.is(set.body.baseUrl, baseUrl, 'shown as the provider gave it');
    assert.is((await t.api('POST', `/api/v1/tenants/${slug}/devices`, { mac, vendor: 'yealink', model: 'T54W' })).status, 201);
    assert.is(readBootstrap('yealink', await (await t.anonymous(`/${mac}.cfg`)).text()).url, `${handed}/prov/`);
  }
});

OverHttps.run();

import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { DeviceRow } from '../../src/db/schema.ts';
import { recordDeviceSeen } from '../../src/domain/devices.ts';
import { findDevice } from '../../src/domain/lookup.ts';
import { markSyncUndeliverable, openSyncJob } from '../../src/domain/syncJobs.ts';
import { findActiveTenantBySlug } from '../../src/domain/tenants.ts';
import { CONSOLE_PASSWORD, launchBrowser } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { callAs } from '../helpers/tenants.ts';
import { ACCOUNT_PASSWORD, type TenantObjects, twoTenants } from './tenantWorld.ts';

/** The provider's Overview page and the Tenants page's quotas and base URLs, in a real browser. */
interface Ctx {
  browser: Browser;
  t: TestServer;
  page: Page;
  alpha: TenantObjects;
  bravo: TenantObjects;
}
const Overview = suite<Ctx>('console: the provider overview and quotas');
Overview.before(async (ctx) => {
  ctx.browser = await launchBrowser();
});
Overview.after(async ({ browser }) => {
  await browser.close();
});
Overview.before.each(async (ctx) => {
  ctx.t = await startTestServer({ env: { HOTPROV_ADMIN_PASSWORD: CONSOLE_PASSWORD } });
  const { alpha, bravo } = await twoTenants(ctx.t);
  ctx.alpha = alpha;
  ctx.bravo = bravo;
  ctx.page = await ctx.browser.newPage();
});
Overview.after.each(async ({ page, t }) => {
  await page.close();
  await t.close();
});

async function signIn(page: Page, t: TestServer, username: string, password: string): Promise<void> {
  await page.goto(`${t.url}/console/`);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
}

const figures = async (page: Page, slug: string) => {
  const row = page.locator(`#overview tr[data-tenant="${slug}"]`);
  const cell = async (name: string) => ((await row.locator(`[data-figure="${name}"]`).textContent()) ?? '').trim();
  return {
    devices: await cell('devices'),
    users: await cell('users'),
    seated: await cell('seated'),
    failed: await cell('failed'),
    unseen: await cell('unseen'),
  };
};

Overview(
  'a provider opens the overview from the menu: each tenant’s devices, users, seated desks, failed re-syncs and unseen phones',
  async ({ t, page, alpha, bravo }) => {
    const db = t.hotprov.deps.domain.db;
    // Each tenant's seated desk got a re-sync its phone could not be told of (no contact known): one failure each.
    await t.hotprov.deps.resync.settled();
    const device = async (tenant: TenantObjects, mac: string) => (await findDevice(db, tenant.id, mac)) as DeviceRow;
    // Bravo: one device's latest re-sync failed too, another last fetched its file two days ago; Alpha's phone fetched now.
    const failing = await device(bravo, '00:15:65:b2:00:01');
    const job = await openSyncJob(
      db,
      {
        tenantId: bravo.id,
        deviceId: failing.id,
        deviceMac: failing.mac,
        reason: 'test',
        mode: 'direct',
        target: failing.idleAccount,
        event: 'check-sync',
        targetEtag: '"r1"',
      },
      new Date(),
    );
    await markSyncUndeliverable(db, job.id, new Date(), 'no contact');
    const seen = (d: DeviceRow, at: Date) => recordDeviceSeen(db, d.id, { at, ip: '127.0.0.1', userAgent: 'Yealink SIP-T46U 108.86.0.45', firmware: null });
    await seen(await device(bravo, '00:15:65:b2:00:02'), new Date(Date.now() - 2 * 24 * 60 * 60 * 1000));
    await seen(await device(alpha, alpha.mac), new Date());

    await signIn(page, t, 'admin', CONSOLE_PASSWORD);
    await page.click('nav >> text=Overview');
    assert.match((await page.textContent('h1')) ?? '', /Overview/);
    assert.equal(await figures(page, 'bravo'), { devices: '3', users: '1', seated: '1', failed: '2', unseen: '1' });
    assert.equal(await figures(page, 'alpha'), { devices: '1', users: '1', seated: '1', failed: '1', unseen: '0' });
    assert.equal(await figures(page, 'default'), { devices: '0', users: '0', seated: '0', failed: '0', unseen: '0' });
    // What needs a look is marked.
    assert.is(await page.locator('#overview tr[data-tenant="bravo"] [data-figure="failed"].warning').count(), 1);
    assert.is(await page.locator('#overview tr[data-tenant="default"] [data-figure="failed"].warning').count(), 0);
    assert.is(await page.locator('#overview tr[data-tenant="bravo"] [data-figure="unseen"].warning').count(), 1);
    assert.not.match((await page.locator('#overview tr[data-tenant="alpha"] [data-figure="activity"]').textContent()) ?? '', /never/);
  },
);

Overview('quotas set on the Tenants page show in the overview and refuse an enrolment past them', async ({ t, page, alpha }) => {
  await signIn(page, t, 'admin', CONSOLE_PASSWORD);
  await page.goto(`${t.url}/console/tenants`);
  const row = page.locator('#tenants tr[data-tenant="alpha"]');
  await row.locator('input[name=maxDevices]').fill('1');
  await row.locator('input[name=maxUsers]').fill('5');
  await row.locator('button:has-text("Save quotas")').click();
  assert.match((await page.textContent('.notice')) ?? '', /Quotas of alpha saved/);
  const tenant = await findActiveTenantBySlug(t.hotprov.deps.domain.db, 'alpha');
  assert.equal([tenant?.maxDevices, tenant?.maxUsers], [1, 5]);
  await page.click('nav >> text=Overview');
  const devices = page.locator('#overview tr[data-tenant="alpha"] [data-figure="devices"]');
  assert.is(((await devices.textContent()) ?? '').trim(), '1 / 1');
  assert.is(await devices.evaluate((el) => el.classList.contains('warning')), true);
  assert.is(((await page.locator('#overview tr[data-tenant="alpha"] [data-figure="users"]').textContent()) ?? '').trim(), '1 / 5');

  // A new tenant with quotas from the form; a blank quota is no limit.
  await page.goto(`${t.url}/console/tenants`);
  await page.fill('form[action="/console/tenants"] input[name=name]', 'Charlie GmbH');
  await page.fill('form[action="/console/tenants"] input[name=slug]', 'charlie');
  await page.fill('form[action="/console/tenants"] input[name=maxDevices]', '0');
  await page.click('form[action="/console/tenants"] button[type=submit]');
  const charlie = await findActiveTenantBySlug(t.hotprov.deps.domain.db, 'charlie');
  assert.equal([charlie?.maxDevices, charlie?.maxUsers], [0, null]);

  // Alpha, at its quota, cannot enrol another phone.
  const refused = await callAs(t, alpha.token.value, 'POST', '/api/v1/devices', { mac: '00:15:65:a1:00:02', vendor: 'yealink', model: 'T46U' });
  assert.is(refused.status, 409);
  assert.is(refused.body.error.message, 'this tenant may have at most 1 device');

  // Alpha's admin sees no Overview and may not open it.
  await page.click('button:has-text("Sign out")');
  await signIn(page, t, alpha.admin.username, ACCOUNT_PASSWORD);
  assert.is(await page.locator('nav >> text=Overview').count(), 0);
  assert.is((await page.goto(`${t.url}/console/overview`))?.status(), 403);
});

Overview('the Tenants page sets a tenant’s base URL beside its quotas: kept, shown, refused when not a URL, blank for the instance’s', async ({ t, page }) => {
  await signIn(page, t, 'admin', CONSOLE_PASSWORD);
  await page.goto(`${t.url}/console/tenants`);
  const row = page.locator('#tenants tr[data-tenant="alpha"]');
  assert.is(await row.locator('input[name=baseUrl]').getAttribute('placeholder'), 'http://prov.example.test:8080', "blank shows the instance's");
  await row.locator('input[name=baseUrl]').fill('https://prov.alpha-voice.example/');
  await row.locator('button:has-text("Save quotas")').click();
  assert.match((await page.textContent('.notice')) ?? '', /Quotas of alpha saved/);
  const db = t.hotprov.deps.domain.db;
  assert.is((await findActiveTenantBySlug(db, 'alpha'))?.baseUrl, 'https://prov.alpha-voice.example');
  assert.is((await findActiveTenantBySlug(db, 'bravo'))?.baseUrl, null);
  assert.is(await page.locator('#tenants tr[data-tenant="alpha"] input[name=baseUrl]').inputValue(), 'https://prov.alpha-voice.example');

  // The browser would refuse a malformed URL itself; one it takes but hotprov does not is refused with why.
  await page.locator('#tenants tr[data-tenant="alpha"] input[name=baseUrl]').fill('https://prov.alpha-voice.example/?tenant=alpha');
  await page.locator('#tenants tr[data-tenant="alpha"] button:has-text("Save quotas")').click();
  assert.match((await page.textContent('.error')) ?? '', /baseUrl: must not carry credentials, a query or a fragment/);
  assert.is((await findActiveTenantBySlug(db, 'alpha'))?.baseUrl, 'https://prov.alpha-voice.example');

  await page.goto(`${t.url}/console/tenants`);
  await page.locator('#tenants tr[data-tenant="alpha"] input[name=baseUrl]').fill('');
  await page.locator('#tenants tr[data-tenant="alpha"] button:has-text("Save quotas")').click();
  assert.is((await findActiveTenantBySlug(db, 'alpha'))?.baseUrl, null);
});

Overview.run();

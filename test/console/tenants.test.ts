import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { listAdmins, listApiTokens } from '../../src/domain/admins.ts';
import { findDevice } from '../../src/domain/lookup.ts';
import { findActiveTenantBySlug as findTenantBySlug, getTenant } from '../../src/domain/tenants.ts';
import { CONSOLE_PASSWORD, launchBrowser } from '../helpers/browser.ts';
import { signInOverHttp } from '../helpers/consoleHttp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { ACCOUNT_PASSWORD, type TenantObjects, twoTenants } from './tenantWorld.ts';

/** Tenants in the console, in a real browser: the provider's switcher and Tenants page, a tenant admin, a helpdesk. */
interface Ctx {
  browser: Browser;
  t: TestServer;
  page: Page;
  alpha: TenantObjects;
  bravo: TenantObjects;
}
const Tenants = suite<Ctx>('console: tenants, roles and the switcher');
Tenants.before(async (ctx) => {
  ctx.browser = await launchBrowser();
});
Tenants.after(async ({ browser }) => {
  await browser.close();
});
Tenants.before.each(async (ctx) => {
  ctx.t = await startTestServer({ env: { HOTPROV_ADMIN_PASSWORD: CONSOLE_PASSWORD } });
  const { alpha, bravo } = await twoTenants(ctx.t);
  ctx.alpha = alpha;
  ctx.bravo = bravo;
  ctx.page = await ctx.browser.newPage();
  // Forms that ask for a second thought are confirmed, as a person who means it would.
  ctx.page.on('dialog', (d) => void d.accept());
});
Tenants.after.each(async ({ page, t }) => {
  await page.close();
  await t.close();
});

async function signIn(page: Page, t: TestServer, username: string, password: string): Promise<void> {
  await page.goto(`${t.url}/console/`);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
}

const switchTo = async (page: Page, name: string) => {
  await page.selectOption('#tenant-switcher select', { label: name });
  await page.click('#tenant-switcher button');
};
const deviceTable = async (page: Page, t: TestServer) => {
  await page.goto(`${t.url}/console/devices`);
  return (await page.textContent('table')) ?? '';
};

Tenants('a provider switches tenants and sees each tenant’s devices only, also 390 px wide', async ({ t, page, alpha, bravo }) => {
  await signIn(page, t, 'admin', CONSOLE_PASSWORD);
  // At first the default tenant, which has no devices.
  assert.is(await page.locator('#tenant-switcher select').inputValue(), 'default');
  assert.match(await deviceTable(page, t), /No devices/);

  await switchTo(page, alpha.name);
  assert.match((await page.textContent('.notice')) ?? '', /Now in Alpha Ltd/);
  assert.match((await page.textContent('#board')) ?? '', /Alpha window desk.*Alpha Person \(101\)/s);
  let devices = await deviceTable(page, t);
  assert.match(devices, /00:15:65:a1:00:01/);
  assert.not.match(devices, /00:15:65:b2/);

  await switchTo(page, bravo.name);
  devices = await deviceTable(page, t);
  assert.equal(devices.match(/00:15:65:b2:00:0\d/g), ['00:15:65:b2:00:01', '00:15:65:b2:00:02', '00:15:65:b2:00:03']);
  assert.not.match(devices, /00:15:65:a1/);
  // The choice is kept in the session: every page acts in Bravo until switched again.
  await page.goto(`${t.url}/console/users`);
  assert.match((await page.textContent('table')) ?? '', /7301.*Bravo Person/s);
  assert.not.match((await page.textContent('table')) ?? '', /Alpha Person/);

  // On a phone-sized screen the switcher is on screen and works.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${t.url}/console/`);
  for (const part of ['#tenant-switcher select', '#tenant-switcher button']) {
    const box = await page.locator(part).boundingBox();
    assert.ok(box !== null && box.x >= 0 && box.x + box.width <= 390, `${part} fits in 390 px: ${JSON.stringify(box)}`);
  }
  await switchTo(page, alpha.name);
  assert.match((await page.textContent('#board')) ?? '', /Alpha window desk/);
  assert.not.match((await page.textContent('#board')) ?? '', /Bravo/);
});

Tenants('a provider creates, renames and deletes tenants; a seated desk needs the force box', async ({ t, page, bravo }) => {
  await signIn(page, t, 'admin', CONSOLE_PASSWORD);
  await page.click('nav >> text=Tenants');
  await page.fill('form[action="/console/tenants"] input[name=name]', 'Charlie GmbH');
  await page.fill('form[action="/console/tenants"] input[name=slug]', 'charlie');
  await page.click('button:has-text("Create tenant")');
  assert.match((await page.textContent('.notice')) ?? '', /Tenant created/);
  assert.match((await page.textContent('#tenants tr[data-tenant="charlie"]')) ?? '', /Charlie GmbH/);
  // A slug taken is refused with the reason.
  await page.fill('form[action="/console/tenants"] input[name=name]', 'Another Charlie');
  await page.fill('form[action="/console/tenants"] input[name=slug]', 'charlie');
  await page.click('button:has-text("Create tenant")');
  assert.match((await page.textContent('.error')) ?? '', /slug charlie is taken/);

  const charlie = page.locator('#tenants tr[data-tenant="charlie"]');
  await charlie.locator('input[name=name]').fill('Charlie AG');
  await charlie.locator('button:has-text("Rename")').click();
  assert.match((await page.textContent('#tenants tr[data-tenant="charlie"]')) ?? '', /Charlie AG/);
  assert.match((await page.textContent('#tenant-switcher select')) ?? '', /Charlie AG/);

  // Bravo has a seated desk: the warning is shown, and without the box the deletion is refused.
  const row = page.locator(`#tenants tr[data-tenant="${bravo.slug}"]`);
  assert.match((await row.textContent()) ?? '', /1 desk\(s\) seated/);
  await row.locator('button:has-text("Delete")').click();
  assert.match((await page.textContent('.error')) ?? '', /1 desk is seated in this tenant; log them out first, or force the deletion/);
  const db = t.hotprov.deps.domain.db;
  assert.ok((await findTenantBySlug(db, bravo.slug)) !== undefined);
  await page.locator(`#tenants tr[data-tenant="${bravo.slug}"] input[name=force]`).check();
  await page.locator(`#tenants tr[data-tenant="${bravo.slug}"] button:has-text("Delete")`).click();
  assert.match((await page.textContent('.notice')) ?? '', /Tenant bravo deleted/);
  assert.is(await page.locator(`#tenants tr[data-tenant="${bravo.slug}"]`).count(), 0);
  assert.not.match((await page.textContent('#tenant-switcher select')) ?? '', /Bravo/);
  // Its devices are retired (their phones get wiped at their next fetch), and its accounts sign in no more.
  assert.is(await findDevice(db, bravo.id, bravo.mac), undefined);
  const form = await fetch(`${t.url}/console/login`);
  assert.is(form.status, 200);
  let refused = false;
  try {
    const bravoAdmin = await signInOverHttp(t.url, bravo.admin.username, ACCOUNT_PASSWORD);
    refused = (await bravoAdmin.get('/console/')).location === '/console/login';
  } catch {
    refused = true;
  }
  assert.ok(refused, 'an admin of a deleted tenant is not let in');
  // The default tenant is never deleted.
  assert.is(await page.locator('#tenants tr[data-tenant="default"] button:has-text("Delete")').count(), 0);
});

Tenants('a tenant admin sees no switcher, only its tenant, and no other tenant’s device by URL', async ({ t, page, alpha, bravo }) => {
  await signIn(page, t, alpha.admin.username, ACCOUNT_PASSWORD);
  assert.match((await page.textContent('h1')) ?? '', /Hot desks/);
  assert.is(await page.locator('#tenant-switcher').count(), 0);
  assert.match((await page.textContent('header')) ?? '', /Alpha Ltd/);
  assert.is(await page.locator('nav >> text=Tenants').count(), 0);
  assert.match((await page.textContent('#board')) ?? '', /Alpha window desk/);

  for (const ref of [bravo.mac, bravo.idle]) {
    const res = await page.goto(`${t.url}/console/devices/${ref}`);
    assert.is(res?.status(), 404, `Bravo's ${ref}`);
    assert.not.match((await page.content()) ?? '', /Bravo/);
  }
  assert.is((await page.goto(`${t.url}/console/users/${bravo.extension}`))?.status(), 404);
  assert.is((await page.goto(`${t.url}/console/tenants`))?.status(), 403);
  // Its own device opens.
  assert.is((await page.goto(`${t.url}/console/devices/${alpha.idle}`))?.status(), 200);

  // Admins: only its tenant's accounts; it makes a helpdesk account, resets its password, deletes it.
  await page.goto(`${t.url}/console/admins`);
  const accounts = (await page.textContent('#accounts')) ?? '';
  assert.match(accounts, /alpha-admin.*alpha-helpdesk/s);
  assert.not.match(accounts, /bravo|\badmin\b.*provider/);
  assert.is(await page.locator('#providers').count(), 0);
  assert.equal(await page.locator('#new-account select[name=role] option').allTextContents(), ['admin', 'helpdesk']);
  await page.fill('input[name=username]', 'alpha-desk2');
  await page.fill('form[action="/console/admins"] input[name=password]', 'first-password-1');
  await page.selectOption('select[name=role]', 'helpdesk');
  await page.click('button:has-text("Create account")');
  assert.match((await page.textContent('.notice')) ?? '', /Account created/);
  const db = t.hotprov.deps.domain.db;
  const made = (await listAdmins(db, alpha.id)).find((a) => a.username === 'alpha-desk2');
  assert.equal([made?.role, made?.tenantId], ['helpdesk', alpha.id]);

  const row = page.locator('#accounts tr[data-admin="alpha-desk2"]');
  await row.locator('input[name=password]').fill('second-password-2');
  await row.locator('button:has-text("Set")').click();
  assert.match((await page.textContent('.notice')) ?? '', /Password changed/);
  await signInOverHttp(t.url, 'alpha-desk2', 'second-password-2');

  await page.locator('#accounts tr[data-admin="alpha-desk2"] button:has-text("Delete")').click();
  assert.match((await page.textContent('.notice')) ?? '', /Account deleted/);
  assert.is(
    (await listAdmins(db, alpha.id)).find((a) => a.username === 'alpha-desk2'),
    undefined,
  );
  // Its own account has no Delete button.
  assert.is(await page.locator(`#accounts tr[data-admin="${alpha.admin.username}"] button:has-text("Delete")`).count(), 0);
});

Tenants('a helpdesk logs a desk out but sees no forms or secrets, and a forged POST to settings gets 403', async ({ t, page, alpha, bravo }) => {
  await signIn(page, t, alpha.helpdesk.username, ACCOUNT_PASSWORD);
  const nav = (await page.textContent('nav')) ?? '';
  assert.match(nav, /Hot desks.*Devices.*Users/s);
  assert.not.match(nav, /Templates|Audit|Settings|Webhooks|Admins|Tenants/);
  assert.is(await page.locator('button:has-text("Log everyone out")').count(), 0);

  const desk = page.locator(`#board tr[data-device="${alpha.idle}"]`);
  assert.match((await desk.textContent()) ?? '', /Alpha Person \(101\)/);
  await desk.locator('button:has-text("Log out")').click();
  assert.match((await page.textContent('.notice')) ?? '', new RegExp(`Logged out ${alpha.idle}`));
  assert.match((await page.textContent(`#board tr[data-device="${alpha.idle}"]`)) ?? '', /idle|logging out/);

  // Devices and users read-only: no form that changes anything, no secret.
  await page.goto(`${t.url}/console/devices`);
  assert.is(await page.locator('form[method=post]:not(.signout)').count(), 0);
  await page.goto(`${t.url}/console/devices/${alpha.idle}`);
  assert.is(await page.locator('form[method=post]:not(.signout)').count(), 0);
  assert.is(await page.locator('input[name=reveal]').count(), 0);
  assert.match((await page.textContent('#device-details')) ?? '', /Alpha window desk/);
  assert.is((await page.goto(`${t.url}/console/devices/${alpha.idle}?reveal=1`))?.status(), 403);
  await page.goto(`${t.url}/console/users/101`);
  assert.is(await page.locator('form[method=post]:not(.signout)').count(), 0);
  assert.match((await page.textContent('main')) ?? '', /Alpha Person/);
  assert.is((await page.goto(`${t.url}/console/settings`))?.status(), 403);
  assert.is((await page.goto(`${t.url}/console/templates`))?.status(), 403);

  // A forged POST with the session's valid CSRF token is refused on the server, and changes nothing.
  const helpdesk = await signInOverHttp(t.url, alpha.helpdesk.username, ACCOUNT_PASSWORD);
  assert.ok(helpdesk.csrf.length > 10);
  const forged = await helpdesk.post('/console/settings', { loginCode: '*99', timezone: 'UTC' });
  assert.is(forged.status, 403);
  assert.match(forged.body, /may not do this/);
  assert.is((await getTenant(t.hotprov.deps.domain.db, alpha.id)).loginCode, '*35');
  for (const [path, form] of [
    ['/console/logout-all', {}],
    [`/console/devices/${alpha.idle}/web-password`, {}],
    [`/console/devices/${alpha.idle}/delete`, {}],
    ['/console/users/101/pin', {}],
    ['/console/tokens', { name: 'sneaky' }],
    ['/console/admins', { username: 'sneaky', password: 'a-long-password', role: 'admin' }],
  ] as const) {
    assert.is((await helpdesk.post(path, form)).status, 403, path);
  }
  assert.is((await listApiTokens(t.hotprov.deps.domain.db, alpha.id)).length, 1);
  // A log-out of another tenant's desk is not found, and Bravo's user stays seated.
  await helpdesk.post(`/console/devices/${bravo.idle}/logout`);
  assert.ok((await findDevice(t.hotprov.deps.domain.db, bravo.id, bravo.idle)) !== undefined);
  assert.match((await signInOverHttp(t.url, bravo.admin.username, ACCOUNT_PASSWORD).then((b) => b.get('/console/'))).body, /Bravo Person \(7301\)/);
});

Tenants('API tokens made in the console carry the tenant and a role; each tenant lists its own', async ({ t, alpha, bravo }) => {
  const provider = await signInOverHttp(t.url, 'admin', CONSOLE_PASSWORD);
  await provider.post('/console/tenant', { tenant: alpha.slug });
  const made = await provider.post('/console/tokens', { name: 'alpha-helpdesk-token', role: 'helpdesk' });
  assert.match(made.body, /id="new-token"/);
  const db = t.hotprov.deps.domain.db;
  const row = (await listApiTokens(db, alpha.id)).find((x) => x.name === 'alpha-helpdesk-token');
  assert.equal([row?.role, row?.tenantId], ['helpdesk', alpha.id]);
  await provider.post('/console/tokens', { name: 'provider-wide', role: 'provider' });
  assert.equal(
    (await listApiTokens(db, null)).map((x) => x.name),
    ['provider-wide'],
  );

  const alphaAdmin = await signInOverHttp(t.url, alpha.admin.username, ACCOUNT_PASSWORD);
  const settings = (await alphaAdmin.get('/console/admins')).body;
  assert.match(settings, /alpha-pbx-token/);
  assert.match(settings, /alpha-helpdesk-token/);
  assert.not.match(settings, /bravo-pbx-token|provider-wide/);
  const bravoAdmin = await signInOverHttp(t.url, bravo.admin.username, ACCOUNT_PASSWORD);
  const bravoSettings = (await bravoAdmin.get('/console/admins')).body;
  assert.match(bravoSettings, /bravo-pbx-token/);
  assert.not.match(bravoSettings, /alpha-/);
  // A token an admin makes is its tenant's, at most an admin's.
  await alphaAdmin.post('/console/tokens', { name: 'alpha-made', role: 'admin' });
  const own = (await listApiTokens(db, alpha.id)).find((x) => x.name === 'alpha-made');
  assert.equal([own?.role, own?.tenantId], ['admin', alpha.id]);
});

Tenants.run();

import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { TenantUpdateBody } from '../../src/domain/inputs.ts';
import { launchBrowser, CONSOLE_PASSWORD as PASSWORD, signInToConsole } from '../helpers/browser.ts';
import { fakeAsterisk } from '../helpers/fakeAsterisk.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** Settings that cannot break delivery, in a real browser, against a fake Asterisk manager on loopback. */
interface Ctx {
  browser: Browser;
  t: TestServer;
  page: Page;
}
const Settings = suite<Ctx>('console settings in a browser');
Settings.before(async (ctx) => {
  ctx.browser = await launchBrowser();
});
Settings.after(async ({ browser }) => {
  await browser.close();
});
Settings.before.each(async (ctx) => {
  ctx.t = await startTestServer({ env: { HOTPROV_ADMIN_PASSWORD: PASSWORD } });
  ctx.page = await ctx.browser.newPage();
});
Settings.after.each(async ({ page, t }) => {
  await page.close();
  await t.close();
});

const scrollsSideways = (page: Page) => page.evaluate<boolean>('document.documentElement.scrollWidth > document.documentElement.clientWidth');

const save = async (page: Page) => {
  await page.click('button:has-text("Save settings")');
  return { notice: (await page.locator('.notice').allTextContents()).join(' '), error: (await page.locator('.error').allTextContents()).join(' ') };
};

Settings('NOTIFYs go through Asterisk only once the relay lets hotprov log in; nothing is saved before', async ({ t, page }) => {
  const pbx = await fakeAsterisk('ami-secret');
  try {
    await signInToConsole(page, t.url);
    await page.click('nav >> text=Settings');
    await page.selectOption('select[name=notifyMode]', 'asterisk');
    assert.match((await save(page)).error, /need the manager \(AMI\) user/);
    assert.is((await t.api('GET', '/api/v1/tenant')).body.notifyMode, 'direct', 'refused: NOTIFYs still go directly');

    await page.selectOption('select[name=notifyMode]', 'asterisk');
    await page.fill('input[name=relayHost]', '127.0.0.1');
    await page.fill('input[name=relayPort]', String(pbx.port));
    await page.fill('input[name=relayUsername]', 'hotprov');
    await page.fill('input[name=relaySecret]', 'wrong-secret');
    assert.match((await save(page)).error, new RegExp(`Asterisk at 127\\.0\\.0\\.1:${pbx.port} did not let hotprov log in .*nothing was saved`));
    assert.is((await t.api('GET', '/api/v1/tenant')).body.notifyMode, 'direct');

    await page.selectOption('select[name=notifyMode]', 'asterisk');
    await page.fill('input[name=relayHost]', '127.0.0.1');
    await page.fill('input[name=relayPort]', String(pbx.port));
    await page.fill('input[name=relayUsername]', 'hotprov');
    await page.fill('input[name=relaySecret]', 'ami-secret');
    assert.match((await save(page)).notice, /Settings saved/);
    const tenant = (await t.api('GET', '/api/v1/tenant')).body;
    assert.equal([tenant.notifyMode, tenant.relayHost, tenant.relayPort, tenant.relayUsername], ['asterisk', '127.0.0.1', pbx.port, 'hotprov']);
    assert.is(tenant.relaySecret, undefined, 'the secret is never answered');
    assert.is(await page.inputValue('input[name=relaySecret]'), '', 'nor shown');
    assert.match((await page.getAttribute('input[name=relaySecret]', 'placeholder')) ?? '', /stored; blank keeps it/);

    // Saved again without the secret: kept, and nothing about the relay moved, so it is not tried again.
    pbx.server.close();
    assert.match((await save(page)).notice, /Settings saved/);
    assert.is((await t.api('GET', '/api/v1/tenant')).body.notifyMode, 'asterisk');
  } finally {
    pbx.server.close();
  }
});

Settings('only a change to what phone files hold re-provisions phones; redirect credentials do not', async ({ t, page }) => {
  await t.api('POST', '/api/v1/devices', { mac: '001565aabbcc', vendor: 'yealink', model: 'T46U' });
  await signInToConsole(page, t.url);
  await page.click('nav >> text=Settings');
  const before = t.changes.length;
  await page.fill('input[name=yealinkRpsKeyId]', 'rps-key');
  await page.fill('input[name=yealinkRpsSecret]', 'rps-secret');
  await page.fill('input[name=trustedNetworks]', '10.0.0.0/8');
  assert.match((await save(page)).notice, /No phone file changed, so no phone is re-provisioned/);
  assert.is(t.changes.length, before, 'no phone was re-provisioned');
  const tenant = (await t.api('GET', '/api/v1/tenant')).body;
  assert.equal([tenant.yealinkRpsConfigured, tenant.trustedNetworks], [true, ['10.0.0.0/8']]);

  await page.fill('input[name=pickupCode]', '**');
  assert.match((await save(page)).notice, /1 phone\(s\) are being re-provisioned/);
  assert.is(t.changes.length, before + 1);
  assert.is(t.changes.at(-1)?.reason, 'tenant settings changed');
  assert.is((await t.api('GET', '/api/v1/tenant')).body.pickupCode, '**');

  await page.setViewportSize({ width: 390, height: 844 });
  assert.is(await scrollsSideways(page), false, 'the settings page fits a 390 px screen');
});

Settings('every setting of PATCH /api/v1/tenant has a field on the settings page', async ({ t, page }) => {
  await signInToConsole(page, t.url);
  await page.click('nav >> text=Settings');
  const fields = new Set(await page.locator('form[action="/console/settings"] [name]').evaluateAll((els) => els.map((e) => e.getAttribute('name'))));
  const missing = Object.keys(TenantUpdateBody.shape).filter((s) => !fields.has(s));
  assert.equal(missing, []);
});

Settings.run();

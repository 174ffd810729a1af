import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { launchBrowser, CONSOLE_PASSWORD as PASSWORD, signInToConsole } from '../helpers/browser.ts';
import { signInOverHttp } from '../helpers/consoleHttp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** Console accounts and API tokens in a real browser. */
interface Ctx {
  browser: Browser;
  t: TestServer;
  page: Page;
}
const Admins = suite<Ctx>('console admins and tokens in a browser');
Admins.before(async (ctx) => {
  ctx.browser = await launchBrowser();
});
Admins.after(async ({ browser }) => {
  await browser.close();
});
Admins.before.each(async (ctx) => {
  ctx.t = await startTestServer({ env: { HOTPROV_ADMIN_PASSWORD: PASSWORD } });
  ctx.page = await ctx.browser.newPage();
});
Admins.after.each(async ({ page, t }) => {
  await page.close();
  await t.close();
});

const scrollsSideways = (page: Page) => page.evaluate<boolean>('document.documentElement.scrollWidth > document.documentElement.clientWidth');

Admins('a token is shown once, listed with its last use, and once revoked it stops working', async ({ t, page }) => {
  await signInToConsole(page, t.url);
  await page.click('nav >> text=Admins');
  await page.fill('#new-token-form input[name=name]', 'asterisk');
  await page.selectOption('#new-token-form select[name=role]', 'helpdesk');
  await page.click('button:has-text("Create token")');
  const token = (await page.textContent('#new-token code')) ?? '';
  assert.match(token, /^hp_/);
  const row = page.locator('#token-list tr[data-token="asterisk"]');
  assert.match((await row.textContent()) ?? '', /asterisk\s*helpdesk.*admin.*never/s);
  assert.match((await page.textContent('#token-list tr[data-token="configured"]')) ?? '', /HOTPROV_ADMIN_TOKEN/, 'the configured token is listed too');

  await page.goto(`${t.url}/console/admins`);
  assert.not.ok(((await page.content()) ?? '').includes(token), 'shown once: not on the page again');
  const call = () => fetch(`${t.url}/api/v1/hotdesk/sessions`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
  assert.is(await call(), 200);
  await page.reload();
  assert.match((await row.locator('td').nth(4).textContent()) ?? '', /^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/, 'last used, with its zone');

  page.once('dialog', (d) => void d.accept());
  await row.locator('button:has-text("Revoke")').click();
  assert.match((await page.textContent('.notice')) ?? '', /Token revoked/);
  assert.match((await row.textContent()) ?? '', /revoked/);
  assert.is(await call(), 401);
  const audit = (await t.api('GET', '/api/v1/tokens')).body as { name: string; revokedAt: string | null; lastUsedAt: string | null }[];
  assert.ok(
    audit.some((x) => x.name === 'asterisk' && x.revokedAt !== null && x.lastUsedAt !== null),
    'the API lists it with its last use',
  );
});

Admins('an admin makes a helpdesk account, gives it a new password, deletes it; the page fits 390 px', async ({ t, page }) => {
  await signInToConsole(page, t.url);
  await page.goto(`${t.url}/console/admins`);
  await page.fill('#new-account input[name=username]', 'desk-help');
  await page.fill('#new-account input[name=password]', 'first-password-1');
  await page.selectOption('#new-account select[name=role]', 'helpdesk');
  await page.click('button:has-text("Create account")');
  assert.match((await page.textContent('.notice')) ?? '', /Account created/);
  const row = page.locator('tr[data-admin="desk-help"]');
  assert.match((await row.textContent()) ?? '', /desk-help\s*helpdesk/);

  await row.locator('input[name=password]').fill('second-password-2');
  await row.locator('button:has-text("Set")').click();
  assert.match((await page.textContent('.notice')) ?? '', /Password changed/);
  const signsIn = (password: string) =>
    signInOverHttp(t.url, 'desk-help', password).then(
      () => true,
      () => false,
    );
  assert.is(await signsIn('first-password-1'), false, 'the old password is refused');
  assert.is(await signsIn('second-password-2'), true);

  await page.setViewportSize({ width: 390, height: 844 });
  assert.is(await scrollsSideways(page), false, 'the admins page fits a 390 px screen');
  page.once('dialog', (d) => void d.accept());
  await row.locator('button:has-text("Delete")').click();
  assert.match((await page.textContent('.notice')) ?? '', /Account deleted/);
  assert.is(await row.count(), 0);
  const deleted = (await t.api('GET', '/api/v1/admins')).body as { username: string }[];
  assert.not.ok(
    deleted.some((a) => a.username === 'desk-help'),
    'gone for the API too',
  );
});

Admins.run();

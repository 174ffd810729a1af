import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readSheet } from '../../src/console/csv.ts';
import { launchBrowser, CONSOLE_PASSWORD as PASSWORD, signInToConsole } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** The audit log in a real browser: pages with a total, an action picker, who by name, details in words, CSV. */
interface Ctx {
  browser: Browser;
  t: TestServer;
  page: Page;
}
const Audit = suite<Ctx>('console audit log in a browser');
Audit.before(async (ctx) => {
  ctx.browser = await launchBrowser();
});
Audit.after(async ({ browser }) => {
  await browser.close();
});
Audit.before.each(async (ctx) => {
  ctx.t = await startTestServer({ env: { HOTPROV_ADMIN_PASSWORD: PASSWORD } });
  ctx.page = await ctx.browser.newPage();
});
Audit.after.each(async ({ page, t }) => {
  await page.close();
  await t.close();
});

const scrollsSideways = (page: Page) => page.evaluate<boolean>('document.documentElement.scrollWidth > document.documentElement.clientWidth');

Audit('55 users added by a named API token: pages of 50 with the total, the token named, filtered by action, exported', async ({ t, page }) => {
  const token = (await t.api('POST', '/api/v1/tokens', { name: 'asterisk', role: 'admin' })).body.token as string;
  for (let i = 0; i < 55; i++) {
    const res = await fetch(`${t.url}/api/v1/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ extension: String(200 + i), displayName: `User ${200 + i}`, sipPassword: 'pw' }),
    });
    assert.is(res.status, 201);
  }
  await t.api('PATCH', '/api/v1/users/200', { displayName: 'Renamed', hotdesk: false });
  await signInToConsole(page, t.url);
  await page.click('nav >> text=Audit');
  // 55 users, a change, the token, the sign-in.
  assert.match((await page.textContent('#audit-total')) ?? '', /Events 1–50 of 58 \(page 1 of 2\)/);
  assert.is(await page.locator('#audit tbody tr').count(), 50);
  await page.click('a:has-text("Older")');
  assert.match((await page.textContent('#audit-total')) ?? '', /Events 51–58 of 58 \(page 2 of 2\)/);

  await page.selectOption('select[name=action]', { label: 'User changed' });
  await page.click('#audit-filter button:has-text("Filter")');
  assert.match((await page.textContent('#audit-total')) ?? '', /Events 1–1 of 1/);
  const changed = await page.locator('#audit tbody tr').first().locator('td').allTextContents();
  assert.equal(changed.slice(1, 3), ['API (the configured admin token)', 'User changed']);
  assert.is(changed[6], 'changed: display name, hotdesk', 'details in words, not JSON');

  await page.selectOption('select[name=action]', { label: 'All: users' });
  await page.selectOption('select[name=actor]', { label: 'API token “asterisk”' });
  await page.click('#audit-filter button:has-text("Filter")');
  assert.match((await page.textContent('#audit-total')) ?? '', /of 55 /);
  const row = await page.locator('#audit tbody tr').first().locator('td').allTextContents();
  assert.equal(row.slice(1, 3), ['API token “asterisk”', 'User added']);
  assert.match(row[0] ?? '', /UTC$/, 'a time says its zone');

  const href = (await page.getAttribute('#audit-csv', 'href')) ?? '';
  const csv = readSheet(await (await page.request.get(`${t.url}${href}`)).text()).rows;
  assert.is(csv.length, 56, 'the whole filtered set, not a page of it');
  assert.equal(csv[1]?.slice(1, 4), ['API token “asterisk”', 'api:asterisk', 'User added']);

  await page.setViewportSize({ width: 390, height: 844 });
  assert.is(await scrollsSideways(page), false, 'the audit log fits a 390 px screen');
});

Audit.run();

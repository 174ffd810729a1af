import { count } from 'drizzle-orm';
import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tablesOf } from '../../src/db/client.ts';
import { launchBrowser, CONSOLE_PASSWORD as PASSWORD, signInToConsole } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** CSV in and out of the console in a real browser: the exports read back unchanged, a sheet changes what it names. */
interface Ctx {
  browser: Browser;
  t: TestServer;
  page: Page;
}
const Csv = suite<Ctx>('console CSV round trip in a browser');
Csv.before(async (ctx) => {
  ctx.browser = await launchBrowser();
});
Csv.after(async ({ browser }) => {
  await browser.close();
});
Csv.before.each(async (ctx) => {
  ctx.t = await startTestServer({ env: { HOTPROV_ADMIN_PASSWORD: PASSWORD } });
  ctx.page = await ctx.browser.newPage();
});
Csv.after.each(async ({ page, t }) => {
  await page.close();
  await t.close();
});

const auditCount = async (t: TestServer) => {
  const { db } = t.hotprov.database;
  const { auditEvents } = tablesOf(db);
  return (await db.select({ n: count() }).from(auditEvents))[0]?.n ?? 0;
};

/** Chooses a file for the import form, as an admin picking it from disk would. */
const chooseFile = (page: Page, name: string, text: string) =>
  page.setInputFiles('#csv-file', { name, mimeType: 'text/csv', buffer: Buffer.from(text, 'utf8') });

/** Whether the page is wider than the window (it scrolls sideways). */
const scrollsSideways = (page: Page) => page.evaluate<boolean>('document.documentElement.scrollWidth > document.documentElement.clientWidth');

Csv('the exports imported again change nothing, and the audit log shows no change', async ({ t, page }) => {
  await t.api('POST', '/api/v1/devices', { mac: '001565aabbcc', vendor: 'yealink', model: 'T46U', label: '-Window, "north"', location: 'Floor 2' });
  await t.api('POST', '/api/v1/devices', { mac: '000413000001', vendor: 'snom', model: 'D785', hotdesk: false, expansionModules: 1 });
  await t.api('POST', '/api/v1/users', {
    extension: '101',
    displayName: 'Alice Martin',
    sipPassword: 'sip-101',
    pin: '4826',
    keys: [
      { type: 'blf', value: '102', label: 'Bob | desk: 2' },
      { type: 'speed', value: '+31612345678', label: 'Mobile' },
    ],
  });
  await t.api('POST', '/api/v1/users', { extension: '102', displayName: 'Bob', sipPassword: 'sip-102', sipUser: 'bob', hotdesk: false });
  await signInToConsole(page, t.url);
  const before = await auditCount(t);

  for (const what of ['users', 'devices']) {
    const exported = await (await page.request.get(`${t.url}/console/${what}.csv`)).text();
    assert.not.match(exported, /sip-10[12]/, 'no SIP password in an export');
    await page.goto(`${t.url}/console/${what}`);
    await chooseFile(page, `hotprov-${what}.csv`, exported);
    await page.click('#import-form button:has-text("Check the rows")');
    assert.match((await page.textContent('#import-summary')) ?? '', /Read as comma-separated\. 0 new, 0 to change, 2 unchanged\./, what);
    assert.match((await page.textContent('#nothing-to-do')) ?? '', /Nothing to change/);
    assert.is(await page.locator('button:has-text("Import")').count(), 0, 'nothing to import');
  }
  assert.is(await auditCount(t), before, 'no audit event: nothing changed');
  assert.equal((await t.api('GET', '/api/v1/users/101')).body.keys, [
    { type: 'blf', value: '102', label: 'Bob | desk: 2' },
    { type: 'speed', value: '+31612345678', label: 'Mobile' },
  ]);
});

Csv('a semicolon sheet changes a user by extension with keys, adds one, and only the good rows are imported', async ({ t, page }) => {
  await t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice', sipPassword: 'sip-101' });
  await signInToConsole(page, t.url);
  await page.goto(`${t.url}/console/users`);
  await chooseFile(
    page,
    'staff.csv',
    '\uFEFFextension;display_name;sip_password;keys\r\n101;Alice Martin;;blf:102:Bob|speed:0612345678:Mobile\r\n102;Bob;pw-102;\r\n10x;Nobody;pw;\r\n',
  );
  await page.click('#import-form button:has-text("Check the rows")');
  assert.match((await page.textContent('#import-summary')) ?? '', /Read as semicolon-separated\. 1 new, 1 to change, 0 unchanged, 1 with a problem/);
  const rows = await page.locator('#import-preview tbody tr').allTextContents();
  assert.match(rows[0] ?? '', /change: display_name, keys/);
  assert.match(rows[1] ?? '', /new/);
  assert.match(rows[2] ?? '', /extension: must be 1 to 15 digits/);
  assert.is(await page.locator('button[value=import]').count(), 0, 'the whole sheet cannot be imported');

  await page.setViewportSize({ width: 390, height: 844 });
  assert.is(await scrollsSideways(page), false, 'the preview fits a 390 px screen');
  await page.click('button:has-text("Import the 2 good rows, skip 1")');
  assert.match((await page.textContent('.notice')) ?? '', /Imported users: 1 created, 1 changed, 0 unchanged, 1 skipped/);
  const alice = (await t.api('GET', '/api/v1/users/101')).body;
  assert.equal([alice.displayName, alice.keys.length], ['Alice Martin', 2]);
  assert.is((await t.api('GET', '/api/v1/users/102')).status, 200);
  for (const path of ['/console/users', '/console/devices']) {
    await page.goto(`${t.url}${path}`);
    assert.is(await scrollsSideways(page), false, `${path} fits a 390 px screen`);
  }
});

Csv('a device sheet changes the device it names by MAC and enrols the new one', async ({ t, page }) => {
  await t.api('POST', '/api/v1/devices', { mac: '001565aabbcc', vendor: 'yealink', model: 'T46U', label: 'Desk 1' });
  await signInToConsole(page, t.url);
  await page.goto(`${t.url}/console/devices`);
  await page.fill('#import-form textarea', 'mac\tvendor\tmodel\tlabel\n00:15:65:AA:BB:CC\tyealink\tT46U\tWindow desk\n000413000001\tsnom\tD785\tDoor\n');
  await page.click('#import-form button:has-text("Check the rows")');
  assert.match((await page.textContent('#import-summary')) ?? '', /Read as tab-separated\. 1 new, 1 to change, 0 unchanged\./);
  await page.click('button:has-text("Import: 1 new, 1 changed")');
  assert.match((await page.textContent('.notice')) ?? '', /Imported devices: 1 created, 1 changed/);
  assert.is((await t.api('GET', '/api/v1/devices/001565aabbcc')).body.label, 'Window desk');
  assert.is((await t.api('GET', '/api/v1/devices/000413000001')).body.label, 'Door');
});

Csv.run();

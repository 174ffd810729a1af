import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CONSOLE_PASSWORD, launchBrowser, signInToConsole } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** The device page says which version of which template each of the phone's files comes from. */
interface Ctx {
  browser: Browser;
  t: TestServer;
  page: Page;
}
const Levels = suite<Ctx>('console: which template each device file comes from');
Levels.before(async (ctx) => {
  ctx.browser = await launchBrowser();
});
Levels.after(async ({ browser }) => {
  await browser.close();
});
Levels.before.each(async (ctx) => {
  ctx.t = await startTestServer({ env: { HOTPROV_ADMIN_PASSWORD: CONSOLE_PASSWORD } });
  ctx.page = await ctx.browser.newPage();
});
Levels.after.each(async ({ page, t }) => {
  await page.close();
  await t.close();
});

/** Each file's name and what its summary says of its template. */
const levels = async (page: Page): Promise<Record<string, string>> =>
  Object.fromEntries(
    await page
      .locator('details summary')
      .evaluateAll((summaries) => summaries.map((s) => [s.firstChild?.textContent?.trim() ?? '', s.querySelector('.template-level')?.textContent ?? ''])),
  );

/** The device's own file, whose details hold its text. */
const deviceFile = (page: Page) => page.locator('details').filter({ has: page.locator('summary', { hasText: /^001565000001\.cfg / }) });

Levels('shipped until the tenant edits a template, then that file says so; reset brings it back', async ({ t, page }) => {
  const enrolled = await t.api('POST', '/api/v1/devices', { mac: '00:15:65:00:00:01', vendor: 'yealink', model: 'T46U' });
  assert.is(enrolled.status, 201);
  await signInToConsole(page, t.url);
  await page.goto(`${t.url}/console/devices/HD0001`);
  const shipped = await levels(page);
  assert.is(shipped['001565000001.cfg'], 'the shipped template yealink/device.cfg');
  assert.ok(
    Object.values(shipped).every((level) => /^the shipped template yealink\//.test(level)),
    JSON.stringify(shipped),
  );

  // From the device's file to its template, edited and saved there.
  await deviceFile(page).locator('summary').click();
  await page.click('text=Edit yealink/device.cfg');
  const source = await page.inputValue('textarea[name=source]');
  await page.fill('textarea[name=source]', `${source}\n## edited for this office\n`);
  await page.click('button[value=save]');
  await page.goto(`${t.url}/console/devices/HD0001`);
  const edited = await levels(page);
  assert.is(edited['001565000001.cfg'], "this tenant's edited template yealink/device.cfg");
  const others = Object.entries(edited).filter(([name]) => name !== '001565000001.cfg');
  assert.ok(others.length > 0 && others.every(([, level]) => level.startsWith('the shipped template')), JSON.stringify(edited));
  assert.match((await deviceFile(page).locator('pre').textContent()) ?? '', /## edited for this office/);

  page.on('dialog', (dialog) => void dialog.accept());
  await page.goto(`${t.url}/console/templates/yealink/device.cfg`);
  await page.click('button:has-text("Reset to default")');
  await page.goto(`${t.url}/console/devices/HD0001`);
  assert.is((await levels(page))['001565000001.cfg'], 'the shipped template yealink/device.cfg');
});

Levels.run();

import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { TEMPLATES_DIR } from '../../src/provisioning/templates.ts';
import { CONSOLE_PASSWORD, launchBrowser, signInToConsole } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { throwawayDatabase } from '../helpers/testDatabase.ts';

/**
 * A model's and one device's own version of a vendor template, edited from the device page; and an upgrade that
 * changes a shipped file the admin customised, shown beside the customisation and merged, in a real browser.
 */
const UA = 'Yealink SIP-T46U 108.86.0.40';

const Levels = suite<{ browser: Browser; dir: string }>('console: model and device templates, shipped changes');
Levels.before(async (ctx) => {
  ctx.browser = await launchBrowser();
});
Levels.after(async ({ browser }) => {
  await browser.close();
});
Levels.before.each((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'tpl-console-'));
  cpSync(TEMPLATES_DIR, join(ctx.dir, 'templates'), { recursive: true });
});
Levels.after.each(({ dir }) => rmSync(dir, { recursive: true, force: true }));

const MACS = { one: '001565000001', two: '001565000002', three: '001565000003' } as const;
const phoneFile = async (t: TestServer, mac: string) => (await t.phone(`/${mac}.cfg`, UA)).text();
const editor = (page: Page) => page.locator('#editor textarea');
/** What a device file's summary on the device page says of its template. */
const levelOf = async (page: Page, t: TestServer, idle: string, mac: string) => {
  await page.goto(`${t.url}/console/devices/${idle}`);
  return (
    (await page
      .locator('details summary', { hasText: `${mac}.cfg` })
      .locator('.template-level')
      .textContent()) ?? ''
  );
};
/** Opens the device's own file on its page and follows one of its template links. */
const follow = async (page: Page, t: TestServer, idle: string, mac: string, link: string) => {
  await page.goto(`${t.url}/console/devices/${idle}`);
  const file = page.locator('details').filter({ has: page.locator('summary', { hasText: `${mac}.cfg` }) });
  await file.locator('summary').click();
  await file.locator(`a:has-text("${link}")`).click();
};
const appendAndSave = async (page: Page, line: string) => {
  const source = await editor(page).inputValue();
  await editor(page).fill(`${source}${line}\n`);
  await page.click('button[value=save]');
  assert.match((await page.textContent('#reprovision')) ?? '', /Saved\./);
};

Levels("a device's and a model's own version: the most specific wins, each for its phones only", async ({ browser, dir }) => {
  const t = await startTestServer({ env: { HOTPROV_ADMIN_PASSWORD: CONSOLE_PASSWORD }, templatesDir: join(dir, 'templates') });
  const page = await browser.newPage();
  try {
    for (const [mac, model] of [
      [MACS.one, 'T46U'],
      [MACS.two, 'T46U'],
      [MACS.three, 'T54W'],
    ]) {
      assert.is((await t.api('POST', '/api/v1/devices', { mac, vendor: 'yealink', model })).status, 201);
    }
    // Every phone has fetched its file: the render cache holds them all.
    for (const mac of Object.values(MACS)) assert.not.match(await phoneFile(t, mac), /## (desk one|model T46U)/);
    await signInToConsole(page, t.url);

    await follow(page, t, 'HD0001', MACS.one, "Edit this device's own version");
    assert.match((await page.textContent('h1')) ?? '', /for device HD0001 \(T46U\) only/);
    await appendAndSave(page, '## desk one');
    assert.match(await phoneFile(t, MACS.one), /## desk one/);
    assert.not.match(await phoneFile(t, MACS.two), /## desk one/, 'the other T46U keeps its file');
    assert.is(await levelOf(page, t, 'HD0001', MACS.one), "this device's own version of yealink/device.cfg");

    await follow(page, t, 'HD0002', MACS.two, "Edit the T46U's version");
    assert.match((await page.textContent('h1')) ?? '', /for every yealink T46U/);
    await appendAndSave(page, '## model T46U');
    assert.match(await phoneFile(t, MACS.two), /## model T46U/);
    assert.not.match(await phoneFile(t, MACS.three), /## model T46U/, 'a T54W is another model');
    assert.not.match(await phoneFile(t, MACS.one), /## model T46U/, "the device's own version wins over its model's");
    assert.is(await levelOf(page, t, 'HD0002', MACS.two), "the T46U's version of yealink/device.cfg");
    assert.is(await levelOf(page, t, 'HD0003', MACS.three), 'the shipped template yealink/device.cfg');

    // The vendor's page lists the narrower versions; the device's version is reset to its model's.
    await page.goto(`${t.url}/console/templates/yealink/device.cfg`);
    assert.match((await page.textContent('#model-versions')) ?? '', /T46U \(own version\)/);
    await page.click('#device-versions a:has-text("HD0001")');
    page.once('dialog', (d) => void d.accept());
    await page.click('button:has-text("Reset to the version for the T46U")');
    assert.match(await phoneFile(t, MACS.one), /## model T46U/);
    assert.not.match(await phoneFile(t, MACS.one), /## desk one/);
    assert.is(await levelOf(page, t, 'HD0001', MACS.one), "the T46U's version of yealink/device.cfg");
  } finally {
    await page.close();
    await t.close();
  }
});

Levels("an upgrade's change to a customised shipped file is shown beside the customisation and merged", async ({ browser, dir }) => {
  const database = await throwawayDatabase(join(dir, 'hotprov.sqlite'));
  const start = async () =>
    await startTestServer({ env: { HOTPROV_ADMIN_PASSWORD: CONSOLE_PASSWORD, HOTPROV_DB: database.location }, templatesDir: join(dir, 'templates') });
  const page = await browser.newPage();
  try {
    const before = await start();
    assert.is((await before.api('POST', '/api/v1/devices', { mac: MACS.one, vendor: 'yealink', model: 'T46U' })).status, 201);
    await signInToConsole(page, before.url);
    await page.goto(`${before.url}/console/templates/yealink/device.cfg/models/T46U`);
    const shipped = await editor(page).inputValue();
    await editor(page).fill(shipped.replace('sip.notify_reboot_enable = 0\n', 'sip.notify_reboot_enable = 0\n## ours\n'));
    await page.click('button[value=save]');
    assert.not.ok(await page.isVisible('#shipped-change'), 'nothing shipped changed yet');
    await before.close();

    // The upgrade: the shipped file gains a vendor fix.
    const file = join(dir, 'templates', 'yealink', 'device.cfg.hbs');
    writeFileSync(file, `## vendor fix 2\n${readFileSync(file, 'utf8')}`);
    const t = await start();
    try {
      // The console session is in the database the upgrade kept: still signed in.
      await page.goto(`${t.url}/console/templates`);
      if (await page.isVisible('input[name=username]')) await signInToConsole(page, t.url);
      await page.goto(`${t.url}/console/templates`);
      assert.match((await page.textContent('tr:has(a[href="/console/templates/yealink/device.cfg"])')) ?? '', /shipped file changed since/);
      await page.goto(`${t.url}/console/templates/yealink/device.cfg/models/T46U`);
      assert.match((await page.textContent('#shipped-change .added')) ?? '', /\+ ## vendor fix 2/);
      assert.not.match(await phoneFile(t, MACS.one), /vendor fix 2/, 'the customisation is what the phone gets until merged');

      await page.click('button:has-text("Merge the shipped change")');
      assert.match((await page.textContent('#merged')) ?? '', /merged into the text below/);
      const merged = await editor(page).inputValue();
      assert.match(merged, /^## vendor fix 2\n/);
      assert.match(merged, /## ours\n/);
      await page.click('button[value=save]');
      const got = await phoneFile(t, MACS.one);
      assert.match(got, /## vendor fix 2/);
      assert.match(got, /## ours/);
      assert.not.ok(await page.isVisible('#shipped-change'), 'merged: nothing left to show');
    } finally {
      await t.close();
    }
  } finally {
    await page.close();
    await database.drop();
  }
});

Levels.run();

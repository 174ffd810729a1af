import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { auditEvents } from '../../src/db/schema.ts';
import { launchBrowser, CONSOLE_PASSWORD as PASSWORD, signInToConsole } from '../helpers/browser.ts';
import { fetchSignInForm, postSignIn } from '../helpers/consoleHttp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** The console resists framing, forged forms and messages planted in a URL, in a real browser. */
const Hardening = suite<{ browser: Browser; t: TestServer; page: Page; violations: string[] }>('console hardening');
Hardening.before(async (ctx) => {
  ctx.browser = await launchBrowser();
});
Hardening.after(async ({ browser }) => {
  await browser.close();
});
Hardening.before.each(async (ctx) => {
  ctx.t = await startTestServer({ env: { HOTPROV_ADMIN_PASSWORD: PASSWORD } });
  const page = await ctx.browser.newPage();
  const violations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
  });
  ctx.page = page;
  ctx.violations = violations;
});
Hardening.after.each(async ({ page, t }) => {
  await page.close();
  await t.close();
});

/** A page of another origin (another port on loopback) that frames the console. */
async function framingSite(target: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(`<!doctype html><iframe id="victim" src="${target}" width="800" height="600"></iframe>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return { url: `http://localhost:${port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

Hardening('a signed-in console cannot be shown in a frame of another page', async ({ t, page }) => {
  await signInToConsole(page, t.url);
  assert.match((await page.textContent('h1')) ?? '', /Hot desks/);
  const site = await framingSite(`${t.url}/console/`);
  try {
    await page.goto(site.url);
    await page.waitForTimeout(500);
    const frame = page.frames().find((f) => f !== page.mainFrame());
    assert.ok(frame !== undefined, 'the iframe exists');
    const forms = await frame
      .locator('form')
      .count()
      .catch(() => 0);
    assert.is(forms, 0, 'the framed console shows its live forms');
    assert.not.match(frame.url(), /\/console\//);
  } finally {
    await site.close();
  }
});

Hardening('every page works under the CSP: no script or style is blocked, confirmations still ask', async ({ t, page, violations }) => {
  await signInToConsole(page, t.url);
  await t.api('POST', '/api/v1/devices', { mac: '80:5E:C0:11:22:33', vendor: 'yealink', model: 'T54W' });
  await t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice', sipPassword: 'x-secret', pin: '4826' });
  for (const path of [
    '/console/',
    '/console/devices',
    '/console/devices/HD0001',
    '/console/users',
    '/console/users/101',
    '/console/templates',
    '/console/audit',
    '/console/settings',
  ]) {
    await page.goto(`${t.url}${path}`);
  }
  // The user page's script adds a key row: scripts with the page's nonce run.
  await page.goto(`${t.url}/console/users/101`);
  const rows = await page.locator('#keys tbody tr').count();
  await page.click('#add-key');
  assert.is(await page.locator('#keys tbody tr').count(), rows + 1);
  // Deleting a device asks first; declining keeps it.
  await page.goto(`${t.url}/console/devices/HD0001`);
  let asked = '';
  page.once('dialog', (d) => {
    asked = d.message();
    void d.dismiss();
  });
  await page.click('button:has-text("Delete")');
  assert.match(asked, /Delete HD0001/);
  assert.is((await t.api('GET', '/api/v1/devices/HD0001')).status, 200, 'declined, still there');
  assert.equal(violations, []);
});

Hardening('a message in the URL is not shown; a refused change shows its reason once', async ({ t, page }) => {
  await signInToConsole(page, t.url);
  await page.goto(`${t.url}/console/devices?error=${encodeURIComponent('Your session expired: call 0800 123 to sign in')}&notice=planted`);
  assert.is(await page.locator('.error').count(), 0);
  assert.is(await page.locator('.notice').count(), 0);
  assert.not.match((await page.content()) ?? '', /0800 123|planted/);
  // A refused enrolment: the reason comes back on the next page, in the session, and only once.
  await page.goto(`${t.url}/console/devices`);
  await page.fill('input[name=mac]', 'not-a-mac');
  await page.click('button:has-text("Enrol")');
  assert.match((await page.textContent('.error')) ?? '', /mac/i);
  assert.not.match(page.url(), /error=/);
  await page.reload();
  assert.is(await page.locator('.error').count(), 0, 'the flash is shown once');
});

Hardening('revealing a phone’s passwords in the console is audited', async ({ t, page }) => {
  await signInToConsole(page, t.url);
  await t.api('POST', '/api/v1/devices', { mac: '80:5E:C0:11:22:33', vendor: 'yealink', model: 'T54W' });
  await page.goto(`${t.url}/console/devices/HD0001`);
  const before = (await t.hotprov.database.db.select().from(auditEvents)).filter((e) => e.action === 'console.secrets_revealed');
  assert.is(before.length, 0, 'looking with masked passwords is not a reveal');
  await page.goto(`${t.url}/console/devices/HD0001?reveal=1`);
  const events = (await t.hotprov.database.db.select().from(auditEvents)).filter((e) => e.action === 'console.secrets_revealed');
  assert.is(events.length, 1);
  assert.is(events[0]?.actor, 'admin:admin');
  assert.is(events[0]?.idleAccount, 'HD0001');
});

Hardening('the sign-in form needs its CSRF token and cookie; a forged post signs nobody in', async ({ t }) => {
  const forged = await fetch(`${t.url}/console/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: 'admin', password: PASSWORD }),
    redirect: 'manual',
  });
  assert.is(forged.status, 403);
  assert.not.match(forged.headers.get('set-cookie') ?? '', /hotprov_session=[^;]/);
  const form = await fetchSignInForm(t.url);
  const wrongToken = await postSignIn(t.url, { ...form, csrf: 'forged' }, 'admin', PASSWORD);
  assert.is(wrongToken.status, 403);
  const noCookie = await postSignIn(t.url, { ...form, cookie: '' }, 'admin', PASSWORD);
  assert.is(noCookie.status, 403);
  const good = await postSignIn(t.url, form, 'admin', PASSWORD);
  assert.is(good.status, 302);
  assert.match(good.headers.get('set-cookie') ?? '', /hotprov_session=[^;]+/);
});

Hardening.run();

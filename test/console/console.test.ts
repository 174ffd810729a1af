import { eq } from 'drizzle-orm';
import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tablesOf } from '../../src/db/client.ts';
import { launchBrowser, CONSOLE_PASSWORD as PASSWORD, signInToConsole } from '../helpers/browser.ts';
import { fetchSignInForm, postSignIn } from '../helpers/consoleHttp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** The console in a real browser (Debian's Chromium driven by Playwright), against a real hotprov. */
interface Ctx {
  browser: Browser;
  t: TestServer;
  page: Page;
}
const Console = suite<Ctx>('console in a browser');
Console.before(async (ctx) => {
  ctx.browser = await launchBrowser();
});
Console.after(async ({ browser }) => {
  await browser.close();
});
Console.before.each(async (ctx) => {
  ctx.t = await startTestServer({ env: { HOTPROV_ADMIN_PASSWORD: PASSWORD } });
  ctx.page = await ctx.browser.newPage();
});
Console.after.each(async ({ page, t }) => {
  await page.close();
  await t.close();
});

const signIn = ({ page, t }: Pick<Ctx, 'page' | 't'>, password = PASSWORD) => signInToConsole(page, t.url, password);

const rowOf = (page: Page, device: string) => page.locator(`#board tr[data-device="${device}"]`);

Console('sign in, enrol a phone, add a user with BLFs, see where the keys land', async ({ t, page }) => {
  await signIn({ page, t }, 'wrong-password-here');
  assert.match((await page.textContent('.error')) ?? '', /wrong user name or password/);
  await signIn({ page, t });
  assert.match((await page.textContent('h1')) ?? '', /Hot desks/);

  await page.click('nav >> text=Devices');
  await page.fill('input[name=mac]', '00-15-65-AA-BB-CC');
  await page.selectOption('select[name=model]', 'yealink/T46U');
  await page.fill('input[name=label]', 'Window desk');
  await page.click('button:has-text("Enrol")');
  assert.match((await page.textContent('.notice')) ?? '', /Device enrolled\. Activation code \(shown once\): \d{8}/);
  await page.click('nav >> text=Devices');
  assert.match((await page.textContent('table')) ?? '', /HD0001.*00:15:65:aa:bb:cc.*Window desk.*waiting for the phone/s);

  await page.click('nav >> text=Users');
  await page.fill('input[name=extension]', '101');
  await page.fill('input[name=displayName]', 'Alice Martin');
  await page.fill('input[name=sipPassword]', 'sip-secret-101');
  await page.click('button:has-text("Add user")');
  assert.match((await page.textContent('h1')) ?? '', /Alice Martin/);

  for (let i = 0; i < 14; i++) {
    if (i > 0) await page.click('#add-key');
    const row = page.locator('#keys tbody tr').nth(i);
    await row.locator('input[name=value]').fill(String(200 + i));
    await row.locator('input[name=label]').fill(`Desk ${200 + i}`);
  }
  await page.click('#save-user');
  assert.match((await page.textContent('.notice')) ?? '', /Saved/);
  // The picture of the phone, for a model chosen: where each key lands, and what does not fit.
  const keyTitle = async (where: string) => (await page.locator(`#phone-picture svg ${where} title`).first().textContent()) ?? '';
  const unplaced = async () =>
    (await page.locator('#phone-picture svg [data-unplaced] title').allTextContents()).map((t) => t.replace(/^–: BLF (\d+).*$/, '$1'));
  await page.selectOption('#picture-choice select[name=model]', 'yealink/T33G');
  await page.click('#picture-choice button');
  assert.is(await keyTitle('[data-module="0"][data-index="3"]'), '3: BLF 200 “Desk 200”', 'key 3 is the first BLF on a T33G');
  assert.is(await keyTitle('[data-module="0"][data-index="12"]'), '12: BLF 209 “Desk 209”', 'key 12 the last that fits');
  assert.equal(await unplaced(), ['210', '211', '212', '213'], 'what does not fit on a T33G is named');
  await page.selectOption('#picture-choice select[name=model]', 'yealink/T46U');
  await page.click('#picture-choice button');
  assert.equal(await unplaced(), [], 'a T46U holds all 14');
  await page.selectOption('#picture-choice select[name=model]', 'polycom/VVX250');
  await page.click('#picture-choice button');
  assert.is(await keyTitle('[data-module="0"][data-index="4"]'), '4: BLF 201 “Desk 201”');
  const missing = await unplaced();
  assert.equal([missing[0], missing.at(-1), missing.length], ['202', '213', 12]);

  await page.click('button:has-text("Generate PIN")');
  const pin = (await page.textContent('#new-pin strong')) ?? '';
  assert.match(pin, /^\d{4}$/);
  const api = await t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin });
  assert.is(api.body.result, 'logged_in', 'the generated PIN works');
});

Console('the board follows logins on its own, and an admin logs a phone out', async ({ t, page }) => {
  await t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice Martin', sipPassword: 'x', pin: '4826' });
  await t.api('POST', '/api/v1/devices', { mac: '001565aabbcc', vendor: 'yealink', model: 'T46U', label: 'Window desk' });
  await t.api('POST', '/api/v1/devices', { mac: '001565aabbcd', vendor: 'yealink', model: 'T46U', label: 'Door desk' });
  await signIn({ page, t });
  assert.match((await rowOf(page, 'HD0001').textContent()) ?? '', /idle/);

  await t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  await rowOf(page, 'HD0001').locator('text=Alice Martin (101)').waitFor({ timeout: 8000 });
  assert.match((await rowOf(page, 'HD0001').textContent()) ?? '', /\bAPI\b/, '"How" in words');

  await rowOf(page, 'HD0001').locator('button:has-text("Log out")').click();
  assert.match((await page.textContent('.notice')) ?? '', /Logged out HD0001/);
  assert.match((await rowOf(page, 'HD0001').textContent()) ?? '', /idle/);
  assert.equal((await t.api('GET', '/api/v1/hotdesk/sessions')).body, []);

  await t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0002', extension: '101', pin: '4826' });
  await page.reload();
  page.once('dialog', (d) => void d.accept());
  await page.click('button:has-text("Log everyone out")');
  assert.match((await page.textContent('.notice')) ?? '', /Everyone is logged out/);
  const { db } = t.hotprov.database;
  const { auditEvents } = tablesOf(db);
  const audit = await db.select({ actor: auditEvents.actor, method: auditEvents.method }).from(auditEvents).where(eq(auditEvents.action, 'hotdesk.logout'));
  assert.equal(audit, [
    { actor: 'admin:admin', method: 'admin' },
    { actor: 'admin:admin', method: 'admin' },
  ]);
});

Console('the device page shows what the phone would get, as any user, passwords masked until revealed', async ({ t, page }) => {
  await t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice Martin', sipPassword: 'sip-secret-101', pin: '4826' });
  await t.api('POST', '/api/v1/devices', { mac: '001565aabbcc', vendor: 'yealink', model: 'T46U', idlePassword: 'idle-secret-123' });
  await signIn({ page, t });
  await page.goto(`${t.url}/console/devices/HD0001`);
  await page.click('summary:text-is("001565aabbcc.cfg")');
  let config = (await page.textContent('details:has(summary:text-is("001565aabbcc.cfg")) pre')) ?? '';
  assert.match(config, /account\.1\.user_name = HD0001/);
  assert.match(config, /account\.1\.password = \*{8}/);
  await page.selectOption('#config-view select[name=as]', '101');
  await page.click('#config-view button');
  await page.click('summary:text-is("001565aabbcc.cfg")');
  config = (await page.textContent('details:has(summary:text-is("001565aabbcc.cfg")) pre')) ?? '';
  assert.match(config, /account\.1\.user_name = 101/);
  assert.not.match(config, /sip-secret-101/);
  await page.check('#config-view input[name=reveal]');
  await page.click('#config-view button');
  await page.click('summary:text-is("001565aabbcc.cfg")');
  config = (await page.textContent('details:has(summary:text-is("001565aabbcc.cfg")) pre')) ?? '';
  assert.match(config, /account\.1\.password = sip-secret-101/);
  assert.equal((await t.api('GET', '/api/v1/hotdesk/sessions')).body, [], 'a preview logs nobody in');
});

Console('a page for something that does not exist is a page, not JSON', async ({ t, page }) => {
  await signIn({ page, t });
  const res = await page.goto(`${t.url}/console/devices/HD0999`);
  assert.is(res?.status(), 404);
  assert.match((await page.textContent('.error')) ?? '', /no device HD0999/);
});

Console('a form posted without its CSRF token is refused', async ({ t, page }) => {
  await signIn({ page, t });
  const status = await page.evaluate(async () => {
    const res = await fetch('/console/logout-all', { method: 'POST', body: new URLSearchParams({ _csrf: 'forged' }) });
    return res.status;
  });
  assert.is(status, 403);
});

Console('repeated wrong passwords lock the account; the session cookie is HttpOnly and SameSite', async ({ t, page }) => {
  for (let i = 0; i < 5; i++) await signIn({ page, t }, 'wrong-password-here');
  await signIn({ page, t });
  assert.match((await page.textContent('.error')) ?? '', /too many failed sign-ins/);
  const t2 = await startTestServer({ env: { HOTPROV_ADMIN_PASSWORD: PASSWORD } });
  try {
    const res = await postSignIn(t2.url, await fetchSignInForm(t2.url), 'admin', PASSWORD);
    assert.is(res.status, 302);
    assert.match(res.headers.get('set-cookie') ?? '', /hotprov_session=.*; path=\/console.*samesite=lax; httponly/i);
  } finally {
    await t2.close();
  }
});

Console('an API token made in the console works, once revoked it does not', async ({ t, page }) => {
  await signIn({ page, t });
  await page.click('nav >> text=Admins');
  await page.fill('input[name=name]', 'asterisk');
  await page.click('button:has-text("Create token")');
  const token = (await page.textContent('#new-token code')) ?? '';
  assert.match(token, /^hp_/);
  const call = () => fetch(`${t.url}/api/v1/users`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
  assert.is(await call(), 200);
  page.once('dialog', (d) => void d.accept());
  await page.click('button:has-text("Revoke")');
  assert.is(await call(), 401);
});

Console('a phone claimed from the internet: the admin sees who claimed it, approves it, shows its web password', async ({ t, page }) => {
  await t.api('PATCH', '/api/v1/tenant', { trustedNetworks: [] });
  await t.api('POST', '/api/v1/devices', { mac: '805ec0112233', vendor: 'yealink', model: 'T54W' });
  const ua = 'Yealink SIP-T54W 96.86.0.70 80:5e:c0:11:22:33';
  await (await t.anonymous('/805ec0112233.cfg', ua)).text();
  await signIn({ page, t });
  await page.goto(`${t.url}/console/devices/HD0001`);
  const access = page.locator('#access');
  assert.match((await access.textContent()) ?? '', /claimed — waiting for approval/);
  assert.match((await access.textContent()) ?? '', /from 127\.0\.0\.1.*Yealink SIP-T54W 96\.86\.0\.70/s);
  await page.click('#access button:has-text("New activation code")');
  assert.match((await page.textContent('#once')) ?? '', /Activation code.*\d{8}/s);
  assert.not.match(page.url(), /\d{8}/, 'the code never travels in a URL');
  await page.click('#access button:has-text("Approve")');
  assert.match((await page.textContent('#access')) ?? '', /active \(by admin/);
  await page.click('#access button:has-text("Show web interface password")');
  const shown = (await page.textContent('#once')) ?? '';
  const web = (await t.api('GET', '/api/v1/devices/HD0001/web-password')).body.password as string;
  assert.ok(shown.includes(web));
});

Console('the settings page sets what every phone gets, warns that Yealink needs relay mode; a desk has its own time zone', async ({ t, page }) => {
  await t.api('POST', '/api/v1/devices', { mac: '001565aabbcc', vendor: 'yealink', model: 'T46U' });
  await signIn({ page, t });
  await page.click('nav >> text=Settings');
  assert.match((await page.textContent('#yealink-direct')) ?? '', /Yealink phones take SIP only from their registrar/);
  await page.fill('input[name=pickupCode]', '**');
  await page.selectOption('select[name=pollMode]', 'nightly');
  await page.fill('input[name=phoneTimezone]', 'Europe/Amsterdam');
  await page.fill('input[name=ntpServer]', 'ntp.example.test');
  await page.selectOption('select[name=phoneLanguage]', 'nl');
  await page.fill('input[name=voicemailNumber]', '*97');
  await page.fill('input[name=codecs]', 'g722, pcma');
  await page.selectOption('select[name=srtp]', 'optional');
  await page.click('button:has-text("Save settings")');
  const tenant = (await t.api('GET', '/api/v1/tenant')).body;
  assert.equal(
    [tenant.pickupCode, tenant.pollMode, tenant.phoneTimezone, tenant.ntpServer, tenant.phoneLanguage, tenant.voicemailNumber, tenant.codecs, tenant.srtp],
    ['**', 'nightly', 'Europe/Amsterdam', 'ntp.example.test', 'nl', '*97', ['g722', 'pcma'], 'optional'],
  );
  await page.fill('input[name=phoneTimezone]', 'Mars/Olympus');
  await page.click('button:has-text("Save settings")');
  assert.match((await page.textContent('.error')) ?? '', /phoneTimezone/);

  await page.goto(`${t.url}/console/devices/HD0001`);
  await page.fill('input[name=phoneTimezone]', 'America/New_York');
  await page.click('button:has-text("Save")');
  const file = await t.phone('/001565aabbcc.cfg').then((r) => r.text());
  assert.match(file, /^local_time\.time_zone = -5$/m);
  assert.match(file, /^lang\.gui = Dutch$/m);
  assert.is((await t.api('GET', '/api/v1/devices/HD0001')).body.phoneTimezone, 'America/New_York');
});

Console.run();

import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { launchBrowser, CONSOLE_PASSWORD as PASSWORD, signInToConsole } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** Templates, CSV import and the audit log, in a real browser. */
const UA = 'Yealink SIP-T46U 108.86.0.40';

const Console = suite<{ browser: Browser; t: TestServer; page: Page }>('console: templates, import, audit');
Console.before(async (ctx) => {
  ctx.browser = await launchBrowser();
});
Console.after(async ({ browser }) => {
  await browser.close();
});
Console.before.each(async (ctx) => {
  const t = await startTestServer({ env: { HOTPROV_ADMIN_PASSWORD: PASSWORD } });
  ctx.t = t;
  await t.api('POST', '/api/v1/devices', { mac: '001565aabbcc', vendor: 'yealink', model: 'T46U', label: 'Window desk' });
  await t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice Martin', sipPassword: 'sip-secret-101', pin: '4826' });
  ctx.page = await ctx.browser.newPage();
  await signInToConsole(ctx.page, t.url);
});
Console.after.each(async ({ page, t }) => {
  await page.close();
  await t.close();
});

const phoneFile = async (t: TestServer) => (await t.phone('/001565aabbcc.cfg', UA)).text();
const editor = (page: Page) => page.locator('#editor textarea');

Console('a broken template is refused with its line; a good one is saved; the previous revision comes back', async ({ t, page }) => {
  await page.click('nav >> text=Templates');
  await page.click('a[href="/console/templates/yealink/device.cfg"]');
  const shipped = await editor(page).inputValue();

  await editor(page).fill(`${shipped}\n{{#each lineKeys}}\nbroken = {{type}}\n`);
  await page.click('button[value=save]');
  assert.match((await page.textContent('.error')) ?? '', /Not saved: the template does not compile: Parse error on line \d+/);
  assert.not.match(await phoneFile(t), /broken/);

  await editor(page).fill(`${shipped}\nnot_a_value = {{nothing.here}}\n`);
  await page.click('button[value=save]');
  assert.match((await page.textContent('.error')) ?? '', /fails to render \(sample idle: 001565999999\.cfg\): "here" not defined in undefined - \d+:\d+/);

  await editor(page).fill(shipped.replace('sip.notify_reboot_enable = 0\n', 'sip.notify_reboot_enable = 0\nfeatures.config_dsskey_length = 1\n'));
  await page.selectOption('select[name=device]', 'HD0001');
  await page.click('button[value=preview]');
  assert.match((await page.textContent('details')) ?? '', /features\.config_dsskey_length = 1/);
  assert.not.match(await phoneFile(t), /config_dsskey_length/, 'a preview changes nothing');

  await page.click('button[value=save]');
  assert.match((await page.textContent('#reprovision')) ?? '', /Saved\. 1 yealink phone\(s\)/);
  assert.match(await phoneFile(t), /^features\.config_dsskey_length = 1$/m);
  t.changes.length = 0;
  await page.click('#reprovision button');
  assert.equal(
    t.changes.map((c) => c.reason),
    ['template yealink/device.cfg changed'],
  );

  await page.click('#revisions a >> nth=0');
  assert.match((await page.textContent('#diff-shipped')) ?? '', /\+ features\.config_dsskey_length = 1/);
});

Console('restore and reset: any revision can come back, and the shipped file too', async ({ t, page }) => {
  await page.goto(`${t.url}/console/templates/yealink/device.cfg`);
  const shipped = await editor(page).inputValue();
  await editor(page).fill(shipped.replace('sip.notify_reboot_enable = 0\n', 'sip.notify_reboot_enable = 0\n## first change\n'));
  await page.click('button[value=save]');
  await editor(page).fill(shipped.replace('sip.notify_reboot_enable = 0\n', 'sip.notify_reboot_enable = 0\n## second change\n'));
  await page.click('button[value=save]');
  assert.match(await phoneFile(t), /## second change/);

  await page.click('#revisions tr:has-text("saved") >> nth=1 >> button:has-text("Restore")');
  assert.match(await phoneFile(t), /## first change/);
  assert.match((await page.textContent('#revisions')) ?? '', /restored #1/);

  page.once('dialog', (d) => void d.accept());
  await page.click('button:has-text("Reset to default")');
  assert.not.match(await phoneFile(t), /## (first|second) change/);
  assert.match((await page.textContent('h1')) ?? '', /as shipped/);
});

Console("a CSV import shows every row's problem first and writes nothing until all are fine", async ({ t, page }) => {
  await page.click('nav >> text=Devices');
  const csv = [
    'mac,vendor,model,label,location,hotdesk',
    '00:04:13:00:00:01,snom,D785,Desk A,Floor 1,yes',
    'not-a-mac,snom,D785,Desk B,,yes',
    '00:04:f2:00:00:01,polycom,VVX999,Desk C,,yes',
    '001565aabbcc,yealink,T46U,Dup,,yes',
  ].join('\n');
  await page.fill('#import-form textarea', csv);
  await page.click('#import-form button[value=preview]');
  const preview = (await page.textContent('#import-preview')) ?? '';
  assert.match(preview, /2.*new/s);
  assert.match(preview, /“not-a-mac” is not a MAC address/);
  assert.match(preview, /unknown vendor\/model “polycom VVX999”/);
  assert.match(preview, /5.*change: label/s, 'an enrolled MAC is that device, changed');
  assert.is(await page.locator('button[value=import]').count(), 0, 'no import while a row is wrong');
  assert.is((await t.api('GET', '/api/v1/devices')).body.length, 1, 'nothing written');

  await page.fill(
    'textarea[name=csv]',
    ['mac,vendor,model,label,location,hotdesk', '00:04:13:00:00:01,snom,D785,Desk A,Floor 1,yes', '00:04:f2:00:00:01,polycom,VVX450,Desk C,,no'].join('\n'),
  );
  await page.click('button[value=preview]');
  await page.click('button[value=import]');
  assert.match((await page.textContent('.notice')) ?? '', /Imported devices: 2 created, 0 changed/);
  const devices = (await t.api('GET', '/api/v1/devices')).body as { idleAccount: string; hotdesk: boolean }[];
  assert.equal(
    devices.map((d) => [d.idleAccount, d.hotdesk]),
    [
      ['HD0001', true],
      ['HD0002', true],
      ['HD0003', false],
    ],
  );

  const exported = await page.evaluate(async () => (await fetch('/console/devices.csv')).text());
  assert.match(
    exported,
    /^mac,vendor,model,label,location,hotdesk,expansion_modules,idle_account\r\n00:15:65:aa:bb:cc,yealink,T46U,Window desk,,yes,0,HD0001\r\n/,
  );
});

Console('users come in by CSV too: checked first, then all at once, PINs hashed and never shown', async ({ t, page }) => {
  await page.click('nav >> text=Users');
  await page.fill(
    '#import-form textarea',
    ['extension,display_name,sip_password,hotdesk,pin', '201,Bea,pw-201,yes,1234', '101,Dup,pw,yes,', '202,Cas,pw-202,no,7391'].join('\n'),
  );
  await page.click('#import-form button[value=preview]');
  const preview = (await page.textContent('#import-preview')) ?? '';
  assert.match(preview, /pin: a run of consecutive digits is too easy to guess/);
  assert.match(preview, /change: display_name, sip_password/, 'an existing extension is that user, changed');
  assert.not.match(preview, /7391/, 'a PIN is not shown back');
  await page.fill('textarea[name=csv]', ['extension,display_name,sip_password,hotdesk,pin', '201,Bea,pw-201,yes,5820', '202,Cas,pw-202,no,7391'].join('\n'));
  await page.click('button[value=preview]');
  await page.click('button[value=import]');
  assert.match((await page.textContent('.notice')) ?? '', /Imported users: 2 created, 0 changed/);
  const bea = await t.api('GET', '/api/v1/users/201');
  assert.equal([bea.body.displayName, bea.body.hotdesk, bea.body.pinSet], ['Bea', true, true]);
  assert.is((await t.api('GET', '/api/v1/users/202')).body.hotdesk, false);
  const exported = await page.evaluate(async () => (await fetch('/console/users.csv')).text());
  assert.match(exported, /\r\n201,Bea,yes,201,201,,yes\r\n202,Cas,no,202,202,,yes\r\n/);
});

Console('the audit log filters by device, user and action, and exports CSV', async ({ t, page }) => {
  await t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  await t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '1111' });
  await page.click('nav >> text=Audit log');
  await page.selectOption('select[name=action]', { label: 'All: logins and logouts' });
  await page.fill('input[name=user]', '101');
  await page.click('#audit-filter button');
  const rows = await page.locator('#audit tbody tr').allTextContents();
  assert.is(rows.length, 2);
  assert.match(rows[0] ?? '', /Login refused.*reason: wrong pin/s);
  assert.match(rows[1] ?? '', /Logged in at a desk.*HD0001.*101/s);
  const csv = await page.evaluate(async () => (await fetch(`/console/audit.csv?${new URLSearchParams({ action: 'hotdesk', user: '101' })}`)).text());
  assert.is(csv.trim().split('\r\n').length, 3, 'header and two events');
  assert.not.match(csv, /1111|4826/, 'no PIN in the audit');
});

Console.run();

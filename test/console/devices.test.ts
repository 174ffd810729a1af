import { createSocket, type Socket } from 'node:dgram';
import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { findDeviceByMac } from '../../src/domain/lookup.ts';
import type { Mac } from '../../src/domain/mac.ts';
import { recordRedirectResult } from '../../src/domain/redirect.ts';
import { CONSOLE_PASSWORD, launchBrowser, signInToConsole } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * The devices an admin looks after, in a browser: the list with each phone's health (last seen with its time zone,
 * address, firmware, re-provisioning, redirect service), filtered, sorted and paged by the database; bulk actions;
 * the device page with Reboot, Log out and Send again; the enrol form that keeps what was typed; states in words
 * on the board; and no page that scrolls sideways on a 390 px phone screen.
 */
interface Ctx {
  browser: Browser;
  t: TestServer;
  page: Page;
  /** hotprov's clock, moved on by the tests. */
  clock: Date;
  /** A phone on UDP that answers every NOTIFY 200 OK; `notifies` are the events it was sent. */
  phone: Socket;
  notifies: string[];
}
const Devices = suite<Ctx>('console: devices');
Devices.before(async (ctx) => {
  ctx.browser = await launchBrowser();
});
Devices.after(async ({ browser }) => {
  await browser.close();
});
Devices.before.each(async (ctx) => {
  ctx.clock = new Date('2026-03-02T09:00:00Z');
  ctx.t = await startTestServer({ now: () => ctx.clock, env: { HOTPROV_ADMIN_PASSWORD: CONSOLE_PASSWORD } });
  ctx.notifies = [];
  const phone = createSocket('udp4');
  phone.on('message', (data, from) => {
    const text = data.toString();
    ctx.notifies.push(/^Event: (.*)$/im.exec(text)?.[1]?.trim() ?? '');
    const keep = text.split('\r\n').filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l));
    phone.send(['SIP/2.0 200 OK', ...keep, 'Content-Length: 0', '', ''].join('\r\n'), from.port, from.address);
  });
  await new Promise<void>((resolve) => phone.bind(0, '127.0.0.1', resolve));
  ctx.phone = phone;
  ctx.page = await ctx.browser.newPage();
});
Devices.after.each(async ({ page, t, phone }) => {
  await page.close();
  await t.close();
  await new Promise<void>((resolve) => phone.close(() => resolve()));
});

const later = (ctx: Ctx, hours: number) => {
  ctx.clock = new Date(ctx.clock.getTime() + hours * 3_600_000);
};
const rowOf = (page: Page, device: string) => page.locator(`#devices tr[data-device="${device}"]`);
const shownDevices = async (page: Page) => page.locator('#devices tbody tr[data-device]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-device')));
const text = async (page: Page, selector: string) => (await page.textContent(selector)) ?? '';

/** A phone on a TCP port nobody listens on: every NOTIFY to it cannot be sent. */
const UNREACHABLE = 'sip:HD0002@127.0.0.1:9;transport=tcp';

Devices('the list shows each phone’s health; filters, sorting and pages come from the database', async (ctx) => {
  const { t, page } = ctx;
  await t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice Martin', sipPassword: 'user-secret', pin: '4826' });
  await t.api('POST', '/api/v1/devices', { mac: '00:15:65:00:00:01', vendor: 'yealink', model: 'T54W', label: 'Window desk' });
  await t.api('POST', '/api/v1/devices', { mac: '00:15:65:00:00:02', vendor: 'yealink', model: 'T46U', label: 'Door desk', sipContact: UNREACHABLE });
  await t.api('POST', '/api/v1/devices', { mac: '00:04:13:00:00:03', vendor: 'snom', model: 'D785', label: 'Corner desk' });
  await t.phone('/001565000001.cfg', 'Yealink SIP-T54W 96.86.0.70 00:15:65:00:00:01');
  later(ctx, 25);
  await t.phone('/001565000002.cfg', 'Yealink SIP-T46U 108.86.0.45 00:15:65:00:00:02');
  // Alice logs in at the desk whose phone cannot be reached: failed at once, with the reason.
  await t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0002', extension: '101', pin: '4826' });
  await t.hotprov.resync.settled();
  const snom = await findDeviceByMac(t.hotprov.database.db, '000413000003' as Mac);
  if (snom === undefined) throw new Error('the snom phone is enrolled');
  await recordRedirectResult(t.hotprov.deps.domain, snom, { status: 'error', message: 'the service refused the key' });

  await signInToConsole(page, t.url);
  await page.goto(`${t.url}/console/devices`);
  const seen = await text(page, '#devices tr[data-device="HD0001"]');
  assert.match(seen, /25 h ago/);
  assert.match(seen, /2026-03-02 09:00 UTC/, 'the absolute time carries its zone');
  assert.match(seen, /127\.0\.0\.1/);
  assert.match(seen, /96\.86\.0\.70/, 'the firmware from the User-Agent');
  const failed = await text(page, '#devices tr[data-device="HD0002"]');
  assert.match(failed, /in use by Alice Martin/);
  assert.match(failed, /could not be sent: TCP to 127\.0\.0\.1:9: .*ECONNREFUSED/);
  assert.match(await text(page, '#devices tr[data-device="HD0003"]'), /never/);
  assert.match(await text(page, '#devices tr[data-device="HD0003"]'), /failed: the service refused the key/);

  await page.check('#filters input[name=unseen]');
  await page.click('#filters button');
  assert.equal(await shownDevices(page), ['HD0001', 'HD0003'], 'not seen for 24 h: the one seen 25 h ago and the one never seen');
  await page.uncheck('#filters input[name=unseen]');
  await page.check('#filters input[name=failed]');
  await page.click('#filters button');
  assert.equal(await shownDevices(page), ['HD0002', 'HD0003'], 'failed: the re-provisioning and the redirect registration');
  await page.uncheck('#filters input[name=failed]');
  await page.selectOption('#filters select[name=phone]', 'snom');
  await page.click('#filters button');
  assert.equal(await shownDevices(page), ['HD0003']);
  await page.selectOption('#filters select[name=phone]', 'yealink/T54W');
  await page.click('#filters button');
  assert.equal(await shownDevices(page), ['HD0001']);
  await page.selectOption('#filters select[name=phone]', '');
  await page.selectOption('#filters select[name=state]', 'in_use');
  await page.click('#filters button');
  assert.equal(await shownDevices(page), ['HD0002']);
  await page.selectOption('#filters select[name=state]', '');
  await page.fill('#filters input[name=q]', 'corner');
  await page.click('#filters button');
  assert.equal(await shownDevices(page), ['HD0003']);
  await page.fill('#filters input[name=q]', '00-15-65-00-00-02');
  await page.click('#filters button');
  assert.equal(await shownDevices(page), ['HD0002'], 'a MAC in any spelling');

  await page.goto(`${t.url}/console/devices`);
  await page.click('#devices th a:text("Last seen")');
  assert.equal(await shownDevices(page), ['HD0001', 'HD0002', 'HD0003'], 'oldest first, never seen last');
  await page.click('#devices th a:text("Last seen")');
  assert.equal(await shownDevices(page), ['HD0002', 'HD0001', 'HD0003'], 'newest first, never seen still last');
  await page.click('#devices th a:text("Label")');
  assert.equal(await shownDevices(page), ['HD0003', 'HD0002', 'HD0001']);

  // 60 devices: two pages of 50; the filters stay with the pages.
  for (let i = 4; i <= 60; i++) {
    await t.api('POST', '/api/v1/devices', { mac: `00:15:65:00:01:${i.toString(16).padStart(2, '0')}`, vendor: 'yealink', model: 'T46U' });
  }
  await page.goto(`${t.url}/console/devices?phone=yealink`);
  assert.match(await text(page, 'h1'), /59 matching/);
  assert.match(await text(page, '.pager'), /Page 1 of 2/);
  assert.is((await shownDevices(page)).length, 50);
  await page.click('.pager a:text("Next")');
  assert.match(await text(page, '.pager'), /Page 2 of 2/);
  assert.is((await shownDevices(page)).length, 9);
  assert.not.ok((await shownDevices(page)).includes('HD0003'), 'the vendor filter holds on page 2');
});

Devices('bulk: log out, reboot, send again and delete the ticked devices; what cannot be done is said', async (ctx) => {
  const { t, page, phone } = ctx;
  const contact = (n: number) => `sip:HD000${n}@127.0.0.1:${phone.address().port}`;
  await t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice Martin', sipPassword: 'user-secret', pin: '4826' });
  await t.api('POST', '/api/v1/users', { extension: '102', displayName: 'Bob Stone', sipPassword: 'user-secret', pin: '4826' });
  await t.api('POST', '/api/v1/devices', { mac: '00:15:65:00:00:01', vendor: 'yealink', model: 'T54W', sipContact: contact(1) });
  await t.api('POST', '/api/v1/devices', { mac: '00:15:65:00:00:02', vendor: 'yealink', model: 'T46U', sipContact: contact(2) });
  await t.api('POST', '/api/v1/devices', { mac: '00:04:f2:00:00:03', vendor: 'polycom', model: 'VVX450', sipContact: contact(3) });
  await t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  await t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0002', extension: '102', pin: '4826' });
  await t.hotprov.resync.settled();

  await signInToConsole(page, t.url);
  await page.goto(`${t.url}/console/devices`);
  await rowOf(page, 'HD0001').locator('input[name=device]').check();
  await rowOf(page, 'HD0002').locator('input[name=device]').check();
  await page.click('#bulk button:text("Log out")');
  assert.match(await text(page, '.notice'), /Logged out HD0001, HD0002/);
  assert.equal((await t.api('GET', '/api/v1/hotdesk/sessions')).body, []);

  await t.hotprov.resync.settled(); // the logouts' own NOTIFYs are not counted below
  ctx.notifies.length = 0;
  await page.click('#select-all');
  await page.click('#bulk button:text("Reboot")');
  assert.match(await text(page, '.notice'), /Rebooting HD0001, HD0002/);
  assert.match(await text(page, '.error'), /Not rebooted: HD0003 \(a polycom phone cannot be rebooted by NOTIFY/);
  await t.hotprov.resync.settled();
  assert.equal(ctx.notifies, ['check-sync;reboot=true', 'check-sync;reboot=true']);

  ctx.notifies.length = 0;
  await rowOf(page, 'HD0003').locator('input[name=device]').check();
  await page.click('#bulk button:text("Send again")');
  assert.match(await text(page, '.notice'), /Sent again to HD0003/);
  await t.hotprov.resync.settled();
  assert.equal(ctx.notifies, ['check-sync']);
  assert.match(await text(page, '#devices tr[data-device="HD0003"]'), /waiting for phone/);

  await rowOf(page, 'HD0002').locator('input[name=device]').check();
  await rowOf(page, 'HD0003').locator('input[name=device]').check();
  page.once('dialog', (d) => void d.accept());
  await page.click('#bulk button:text("Delete")');
  assert.match(await text(page, '.notice'), /Deleted HD0002, HD0003/);
  assert.equal(await shownDevices(page), ['HD0001']);

  await page.click('#bulk button:text("Reboot")');
  assert.match(await text(page, '.error'), /tick at least one device/);
});

Devices('the device page: its health, the files with links, Reboot, Send again and Log out; states in words', async (ctx) => {
  const { t, page, phone } = ctx;
  await t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice Martin', sipPassword: 'user-secret', pin: '4826' });
  await t.api('POST', '/api/v1/devices', {
    mac: '00:15:65:00:00:01',
    vendor: 'yealink',
    model: 'T54W',
    label: 'Window desk',
    sipContact: `sip:HD0001@127.0.0.1:${phone.address().port}`,
  });
  await t.phone('/001565000001.cfg', 'Yealink SIP-T54W 96.86.0.70 00:15:65:00:00:01');
  later(ctx, 2);
  await t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  await t.hotprov.resync.settled();

  await signInToConsole(page, t.url);
  await page.goto(`${t.url}/console/devices/HD0001`);
  assert.match(await text(page, '#device-seen'), /2 h ago \(2026-03-02 09:00 UTC\)/);
  assert.match(await text(page, '#device-address'), /127\.0\.0\.1/);
  assert.match(await text(page, '#device-firmware'), /96\.86\.0\.70/);
  assert.match(await text(page, '#device-state'), /In use by Alice Martin \(101\)/);
  assert.match(await text(page, '#device-sync'), /waiting for phone/);
  assert.match(await text(page, '#device-redirect'), /not used/);

  // The phone fetches what the NOTIFY was about: updated.
  await t.phone('/001565000001.cfg', 'Yealink SIP-T54W 96.86.0.70 00:15:65:00:00:01');
  await page.reload();
  assert.match(await text(page, '#device-sync'), /phone updated/);

  // A file the phone would get, on its own, passwords masked.
  const href = await page.locator('#files ul.files a:text-is("001565000001.cfg")').getAttribute('href');
  const file = await page.goto(`${t.url}${href}`);
  const body = (await file?.text()) ?? '';
  assert.match(body, /account\.1\.user_name = 101/);
  assert.not.match(body, /user-secret/);
  await page.goto(`${t.url}/console/devices/HD0001`);

  ctx.notifies.length = 0;
  page.once('dialog', (d) => void d.accept());
  await page.click('#status button:text("Reboot")');
  assert.match(await text(page, '.notice'), /Reboot sent/);
  await page.click('#status button:text("Send again")');
  assert.match(await text(page, '.notice'), /Sent again/);
  await t.hotprov.resync.settled();
  assert.equal(ctx.notifies, ['check-sync;reboot=true', 'check-sync;reboot=false']);
  assert.match(await text(page, '#device-sync'), /waiting for phone.*after: sent again/s);

  await page.click('#status button:text("Log out Alice Martin")');
  assert.match(await text(page, '.notice'), /Logged out HD0001/);
  assert.match(await text(page, 'h1'), /HD0001/, 'back on the device page');
  assert.equal((await t.api('GET', '/api/v1/hotdesk/sessions')).body, []);
});

Devices('a NOTIFY that cannot be sent is failed at once on the board, the reason in the row; How in words', async (ctx) => {
  const { t, page } = ctx;
  await t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice Martin', sipPassword: 'user-secret', pin: '4826' });
  await t.api('POST', '/api/v1/devices', { mac: '00:15:65:00:00:02', vendor: 'yealink', model: 'T46U', sipContact: UNREACHABLE });
  await t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  await t.hotprov.resync.settled();

  await signInToConsole(page, t.url);
  const row = page.locator('#board tr[data-device="HD0001"]');
  const seen = (await row.textContent()) ?? '';
  assert.match(seen, /could not be sent: TCP to 127\.0\.0\.1:9: .*ECONNREFUSED/, 'failed at once, the reason in the row');
  assert.match(seen, /next try 2026-03-02 09:\d\d UTC/);
  assert.match(seen, /\bAPI\b/, 'How: the API');
  assert.match(seen, /2026-03-02 09:00 UTC/, 'since when, with its zone');
  assert.match((await row.locator('.sync').textContent()) ?? '', /^could not be sent: /, 'the badge itself says it, never a plain "sent"');
  // A failure stays visible without a tooltip: the text is in the row itself.
  assert.is(await row.locator('[title]').count(), 0);

  // Logged in through a token of the tenant's own: How names it. A feature code says so in words.
  const token = (await t.api('POST', '/api/v1/tokens', { name: 'Reception kiosk', role: 'admin' })).body.token;
  await t.api('POST', '/api/v1/devices', { mac: '00:15:65:00:00:03', vendor: 'yealink', model: 'T46U', sipContact: UNREACHABLE });
  await fetch(`${t.url}/api/v1/hotdesk/login`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ device: 'HD0002', extension: '101', pin: '4826' }),
  });
  await t.api('POST', '/api/v1/users', { extension: '102', displayName: 'Bob Stone', sipPassword: 'user-secret', pin: '4826' });
  await t.api('POST', '/api/v1/hotdesk/code', { device: 'HD0001', digits: '*35*102*4826' });
  await page.reload();
  assert.match((await page.locator('#board tr[data-device="HD0002"] td[data-label="How"]').textContent()) ?? '', /^API: Reception kiosk$/);
  assert.match((await page.locator('#board tr[data-device="HD0001"] td[data-label="How"]').textContent()) ?? '', /^feature code$/);
});

Devices('the enrol form keeps what was typed after a refusal, expansion modules included', async ({ t, page }) => {
  await signInToConsole(page, t.url);
  await page.goto(`${t.url}/console/devices`);
  await page.fill('#enrol input[name=mac]', '00:15:65:zz:00:01');
  await page.selectOption('#enrol select[name=model]', 'yealink/T54W');
  await page.fill('#enrol input[name=label]', 'Reception');
  await page.fill('#enrol input[name=location]', 'Ground floor');
  await page.fill('#enrol input[name=expansionModules]', '2');
  await page.uncheck('#enrol input[name=hotdesk]');
  await page.click('#enrol button:text("Enrol")');
  assert.match(await text(page, '.error'), /mac/i);
  assert.is(await page.inputValue('#enrol input[name=mac]'), '00:15:65:zz:00:01');
  assert.is(await page.inputValue('#enrol select[name=model]'), 'yealink/T54W');
  assert.is(await page.inputValue('#enrol input[name=label]'), 'Reception');
  assert.is(await page.inputValue('#enrol input[name=location]'), 'Ground floor');
  assert.is(await page.inputValue('#enrol input[name=expansionModules]'), '2');
  assert.is(await page.isChecked('#enrol input[name=hotdesk]'), false);

  await page.fill('#enrol input[name=mac]', '00:15:65:aa:00:01');
  await page.click('#enrol button:text("Enrol")');
  assert.match(await text(page, '.notice'), /Device enrolled/);
  const device = (await t.api('GET', '/api/v1/devices/HD0001')).body;
  assert.equal([device.label, device.location, device.expansionModules, device.hotdesk], ['Reception', 'Ground floor', 2, false]);
});

Devices('at 390 px no page of devices or the board scrolls sideways, and the board’s Log out is on screen', async ({ t, page }) => {
  await t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice Martin', sipPassword: 'user-secret', pin: '4826' });
  await t.api('POST', '/api/v1/devices', { mac: '00:15:65:00:00:01', vendor: 'yealink', model: 'T54W', label: 'Window desk', sipContact: UNREACHABLE });
  await t.phone('/001565000001.cfg', 'Yealink SIP-T54W 96.86.0.70 00:15:65:00:00:01');
  await t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  await t.hotprov.resync.settled();
  await page.setViewportSize({ width: 390, height: 844 });
  await signInToConsole(page, t.url);
  for (const path of ['/console/', '/console/devices', '/console/devices?failed=1', '/console/devices/HD0001']) {
    await page.goto(`${t.url}${path}`);
    const widths = await page.locator('html').evaluate((html) => ({ page: html.scrollWidth, screen: html.clientWidth }));
    assert.ok(widths.page <= widths.screen, `${path} is ${widths.page} px wide on a ${widths.screen} px screen`);
  }
  await page.goto(`${t.url}/console/`);
  const logout = page.locator('#board tr[data-device="HD0001"] button:text("Log out")');
  const box = await logout.boundingBox();
  assert.ok(box !== null && box.x >= 0 && box.x + box.width <= 390, `the Log out button is on screen: ${JSON.stringify(box)}`);
  await logout.click();
  assert.match(await text(page, '.notice'), /Logged out HD0001/);
});

Devices.run();

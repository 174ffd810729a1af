import { createSocket, type Socket } from 'node:dgram';
import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { syncWatchdog } from '../../src/jobs/schedules.ts';
import { silentLogger } from '../../src/log.ts';
import { CONSOLE_PASSWORD, launchBrowser, signInToConsole } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * What an admin sees in the console when a logout does not reach the phone: the desk is "logging out", never idle,
 * while the phone still registers as the user; a re-provisioning that finally failed says why and when it is tried
 * again, on the board, the device page and in the audit log; and the desk is idle once the phone fetched.
 */
const UA = 'Yealink SIP-T54W 96.86.0.70 00:15:65:12:34:56';

interface Ctx {
  browser: Browser;
  t: TestServer;
  page: Page;
  /** A phone that takes no SIP: every NOTIFY goes unanswered. */
  deafPhone: Socket;
  /** hotprov's clock, moved on by the test. */
  clock: Date;
}
const Desks = suite<Ctx>('console: a desk whose phone did not follow');
Desks.before(async (ctx) => {
  ctx.browser = await launchBrowser();
});
Desks.after(async ({ browser }) => {
  await browser.close();
});
Desks.before.each(async (ctx) => {
  ctx.clock = new Date('2026-03-02T09:00:00Z');
  ctx.t = await startTestServer({
    now: () => ctx.clock,
    env: { HOTPROV_ADMIN_PASSWORD: CONSOLE_PASSWORD, HOTPROV_SYNC_FETCH_TIMEOUT: '30', HOTPROV_SYNC_RETRIES: '1' },
  });
  const deafPhone = createSocket('udp4');
  await new Promise<void>((resolve) => deafPhone.bind(0, '127.0.0.1', resolve));
  ctx.deafPhone = deafPhone;
  ctx.page = await ctx.browser.newPage();
});
Desks.after.each(async ({ page, t, deafPhone }) => {
  await page.close();
  await t.close();
  await new Promise<void>((resolve) => deafPhone.close(() => resolve()));
});

const rowOf = (page: Page, device: string) => page.locator(`#board tr[data-device="${device}"]`);

Desks('logged out on the board, but the phone never fetched: "logging out", then failed with the retry time, idle once it fetched', async (ctx) => {
  const { t, page, deafPhone } = ctx;
  await t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice Martin', sipPassword: 'user-secret', pin: '4826' });
  await t.api('POST', '/api/v1/devices', {
    mac: '00:15:65:12:34:56',
    vendor: 'yealink',
    model: 'T54W',
    sipContact: `sip:HD0001@127.0.0.1:${deafPhone.address().port}`,
  });
  await t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  await t.phone('/001565123456.cfg', UA); // the phone now registers as Alice
  await t.hotprov.resync.settled();

  await signInToConsole(page, t.url);
  await rowOf(page, 'HD0001').locator('button:has-text("Log out")').click();
  await t.hotprov.resync.settled();
  await page.goto(`${t.url}/console/`);
  let row = (await rowOf(page, 'HD0001').textContent()) ?? '';
  assert.match(row, /logging out — phone not updated/);
  assert.match(row, /still registered as Alice Martin \(101\)/);
  assert.not.match(row, /\bidle\b/);

  for (let i = 0; i < 2; i++) {
    ctx.clock = new Date(ctx.clock.getTime() + 31_000);
    await syncWatchdog.run({ domain: t.hotprov.deps.domain, resync: t.hotprov.resync, log: silentLogger });
  }
  await page.goto(`${t.url}/console/`);
  row = (await rowOf(page, 'HD0001').textContent()) ?? '';
  assert.match(row, /logging out — phone not updated/);
  assert.match(row, /phone did not answer/);
  assert.match(row, /no answer from 127\.0\.0\.1:\d+ \(\d+ transmissions\) \(after 2 NOTIFYs\)\s*next try 2026-03-02 09:16 UTC/);

  await page.goto(`${t.url}/console/devices/HD0001`);
  const devicePage = (await page.textContent('main')) ?? (await page.textContent('body')) ?? '';
  assert.match(devicePage, /Logging out — phone not updated: it still registers as 101/);
  assert.match(devicePage, /phone did not answer\s*no answer from .*next try 2026-03-02 09:16 UTC.*\(after: logout\)/s);

  await page.goto(`${t.url}/console/audit`);
  assert.match((await page.textContent('#audit tr[data-action="sync.failed"]')) ?? '', /Phone did not re-provision/);

  // The phone polls at last and gets its idle profile.
  await t.phone('/001565123456.cfg', UA);
  await page.goto(`${t.url}/console/`);
  row = (await rowOf(page, 'HD0001').textContent()) ?? '';
  assert.match(row, /\bidle\b/);
  assert.match(row, /phone updated/);
  assert.not.match(row, /logging out/);
});

Desks.run();

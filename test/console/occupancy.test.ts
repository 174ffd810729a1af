import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CONSOLE_PASSWORD, launchBrowser, signInToConsole } from '../helpers/browser.ts';
import { startTestServer, TEST_TOKEN, type TestServer } from '../helpers/server.ts';

/**
 * Desk occupancy in the browser, against a hotprov whose clock the test moves: two desks, three people over two
 * days, read as a facilities team would (the chart, the tables, the CSV), and the same from the API.
 */
interface Ctx {
  browser: Browser;
  t: TestServer;
  page: Page;
  clock: { at: Date };
}
const Occupancy = suite<Ctx>('console: desk occupancy');
Occupancy.before(async (ctx) => {
  ctx.browser = await launchBrowser();
});
Occupancy.after(async ({ browser }) => {
  await browser.close();
});
Occupancy.before.each(async (ctx) => {
  ctx.clock = { at: new Date('2026-03-02T08:00:00Z') };
  ctx.t = await startTestServer({ env: { HOTPROV_ADMIN_PASSWORD: CONSOLE_PASSWORD }, now: () => ctx.clock.at });
  ctx.page = await ctx.browser.newPage();
});
Occupancy.after.each(async ({ page, t }) => {
  await page.close();
  await t.close();
});

const ok = async (t: TestServer, method: string, path: string, body?: unknown) => {
  const res = await t.api(method, path, body);
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
};

/** Two desks (one named with markup), three users; sessions on 2 and 3 March (UTC), one still open. */
async function aWeekOfDesks(ctx: Ctx): Promise<void> {
  const { t } = ctx;
  await ok(t, 'POST', '/api/v1/devices', { mac: '00:15:65:00:00:01', vendor: 'yealink', model: 'T46U', label: 'Window <b>desk</b>' });
  await ok(t, 'POST', '/api/v1/devices', { mac: '00:15:65:00:00:02', vendor: 'yealink', model: 'T46U', label: 'Door' });
  await ok(t, 'POST', '/api/v1/devices', { mac: '00:15:65:00:00:03', vendor: 'yealink', model: 'T46U', label: 'Never used' });
  for (const [extension, name] of [
    ['101', 'Alice Martin'],
    ['102', 'Bob Stone'],
    ['103', 'Chloé Durand'],
  ]) {
    await ok(t, 'POST', '/api/v1/users', { extension, displayName: name, sipPassword: `sip-secret-${extension}`, pin: '4826' });
  }
  const at = async (iso: string, path: string, body: unknown) => {
    ctx.clock.at = new Date(iso);
    await ok(t, 'POST', path, body);
  };
  await at('2026-03-02T09:00:00Z', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  await at('2026-03-02T13:00:00Z', '/api/v1/hotdesk/logout', { device: 'HD0001' });
  await at('2026-03-02T14:00:00Z', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '102', pin: '4826' });
  await at('2026-03-02T16:00:00Z', '/api/v1/hotdesk/logout', { device: 'HD0001' });
  await at('2026-03-03T08:00:00Z', '/api/v1/hotdesk/login', { device: 'HD0002', extension: '103', pin: '4826' });
  // Still seated when the report is read at 11:00: three hours so far.
  ctx.clock.at = new Date('2026-03-03T11:00:00Z');
}

const cells = async (page: Page, row: string) => (await page.locator(row).locator('td').allTextContents()).map((c) => c.trim());

Occupancy('a facilities lead reads who used which desk, for how long, on a chart, in tables and as CSV', async (ctx) => {
  const { t, page } = ctx;
  await aWeekOfDesks(ctx);
  await signInToConsole(page, t.url);
  await page.click('nav >> text=Occupancy');
  assert.match(
    (await page.textContent('h1')) ?? '',
    /Desk occupancy.*2026-02-02 to 2026-03-03.*days in UTC/s,
    'the last 30 days, and the zone days are counted in',
  );

  // The chart: one bar per desk, the most used longest, the name escaped (markup shown as text, not made bold).
  const bars = page.locator('#occupancy-chart g.bar');
  assert.is(await bars.count(), 3);
  assert.equal(await bars.locator('tspan.value').allTextContents(), ['6 h', '3 h', '0 h']);
  const widths = await bars.locator('rect.used').evaluateAll((rects) => rects.map((r) => r.getAttribute('width')));
  assert.equal(widths, ['100%', '50%', '0%'], 'bars in proportion');
  assert.is(await bars.first().locator('tspan.name').textContent(), 'Window <b>desk</b> (HD0001)');
  assert.is(await page.locator('#occupancy-chart b').count(), 0, 'no element made from a label');

  assert.equal((await cells(page, '#occupancy-desks tr[data-device="HD0001"]')).slice(2), ['6', '1', '2', '2'], 'hours, days, people, sessions');
  assert.equal(await cells(page, '#occupancy-days tr[data-device="HD0001"][data-day="2026-03-02"]'), ['2026-03-02', 'Window <b>desk</b> (HD0001)', '6', '2']);
  assert.equal(await cells(page, '#occupancy-days tr[data-device="HD0002"][data-day="2026-03-03"]'), ['2026-03-03', 'Door (HD0002)', '3', '1']);
  assert.equal((await cells(page, '#occupancy-users tr[data-extension="103"]')).slice(0, 5), ['103 Chloé Durand', 'Door (HD0002)', '3', '1', '1']);

  // A narrower range, typed in the form: only the 3rd.
  await page.fill('#occupancy-range input[name=from]', '2026-03-03');
  await page.fill('#occupancy-range input[name=to]', '2026-03-03');
  await page.click('#occupancy-range button[type=submit]');
  assert.equal(await page.locator('#occupancy-days tbody tr').count(), 1);
  assert.equal((await cells(page, '#occupancy-desks tr[data-device="HD0001"]')).slice(2, 3), ['0']);

  // The CSV of that range, downloaded as a browser does.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('text=per desk and day')]);
  const csv = await readFile((await download.path()) ?? '', 'utf8');
  assert.is(csv, 'day,time_zone,device,mac,label,location,hours,people\r\n2026-03-03,UTC,HD0002,00:15:65:00:00:02,Door,,3,1\r\n');

  // A backwards range is refused in words, and the last 30 days are shown instead.
  await page.goto(`${t.url}/console/occupancy?from=2026-03-03&to=2026-03-01`);
  assert.match((await page.textContent('.error')) ?? '', /to: must not be before from/);
  assert.equal(await page.locator('#occupancy-days tbody tr').count(), 2);
});

Occupancy('the API answers the same report as JSON and as CSV, days in the tenant’s time zone', async (ctx) => {
  const { t } = ctx;
  await aWeekOfDesks(ctx);
  await ok(t, 'PATCH', '/api/v1/tenant', { timezone: 'America/New_York' });
  const report = await ok(t, 'GET', '/api/v1/occupancy?from=2026-03-02&to=2026-03-03');
  assert.is(report.timeZone, 'America/New_York');
  // New York is UTC-5: 09:00-13:00Z and 14:00-16:00Z fall on the 2nd there, 08:00Z on the 3rd at 03:00.
  assert.equal(
    report.days.map((d: { day: string; device: string; hours: number; people: number }) => [d.day, d.device, d.hours, d.people]),
    [
      ['2026-03-02', 'HD0001', 6, 2],
      ['2026-03-03', 'HD0002', 3, 1],
    ],
  );
  assert.equal(
    report.users.map((u: { extension: string; device: string }) => `${u.extension}@${u.device}`),
    ['101@HD0001', '102@HD0001', '103@HD0002'],
  );
  const res = await fetch(`${t.url}/api/v1/occupancy?from=2026-03-02&to=2026-03-03&format=csv&view=desk`, {
    headers: { authorization: `Bearer ${TEST_TOKEN}` },
  });
  assert.match(res.headers.get('content-type') ?? '', /^text\/csv/);
  const lines = (await res.text()).trim().split('\r\n');
  assert.is(lines[0], 'from,to,time_zone,device,mac,label,location,hours,days_occupied,people,sessions');
  assert.ok(lines.includes('2026-03-02,2026-03-03,America/New_York,HD0001,00:15:65:00:00:01,Window <b>desk</b>,,6,1,2,2'), lines.join('\n'));
  const refused = await t.api('GET', '/api/v1/occupancy?from=2025-01-01&to=2026-03-03');
  assert.is(refused.status, 400);
  assert.match(refused.body.error.message, /at most 366 days/);
});

Occupancy.run();

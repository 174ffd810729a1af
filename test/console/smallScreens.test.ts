import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ROUTE_ACCESS } from '../../src/console/permissions.ts';
import { CONSOLE_PASSWORD, launchBrowser, signInToConsole } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * The console on a phone (390 px wide) and from the keyboard: no page scrolls sideways, every control can be
 * reached with Tab and shows where the focus is, the tab has an icon, and there is one Sign out.
 */
interface Ctx {
  browser: Browser;
  t: TestServer;
  page: Page;
  /** The webhook whose page is visited. */
  webhook: string;
}
const Small = suite<Ctx>('console: small screens, keyboard, icon');
Small.before(async (ctx) => {
  ctx.browser = await launchBrowser();
  ctx.t = await startTestServer({ env: { HOTPROV_ADMIN_PASSWORD: CONSOLE_PASSWORD } });
  ctx.webhook = await aSmallOffice(ctx.t);
});
Small.after(async ({ browser, t }) => {
  await browser.close();
  await t.close();
});
Small.before.each(async (ctx) => {
  ctx.page = await ctx.browser.newPage({ viewport: { width: 390, height: 844 } });
});
Small.after.each(async ({ page }) => {
  await page.close();
});

const ok = async (t: TestServer, method: string, path: string, body?: unknown) => {
  const res = await t.api(method, path, body);
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
};

/**
 * Long names where they hurt most: a desk and a user, one seated, with keys; a second tenant for the provider's pages;
 * a webhook with a long URL and a delivery waiting. Answers the webhook's id.
 */
async function aSmallOffice(t: TestServer): Promise<string> {
  await ok(t, 'POST', '/api/v1/devices', {
    mac: '00:15:65:00:00:01',
    vendor: 'yealink',
    model: 'T46U',
    label: 'Second floor, east wing, window desk by the big plant',
    location: 'Building A, 2nd floor, room 2.071, Herengracht 182, Amsterdam',
  });
  await ok(t, 'POST', '/api/v1/devices', { mac: '00:04:13:00:00:02', vendor: 'snom', model: 'D785', label: 'Door' });
  await ok(t, 'POST', '/api/v1/users', {
    extension: '101',
    displayName: 'Alexandra Konstantinopoulou-Vanderbilt',
    sipPassword: 'sip-secret-101',
    pin: '4826',
    keys: Array.from({ length: 6 }, (_, i) => ({ type: 'blf', value: String(200 + i), label: `Colleague with a long name ${i}` })),
  });
  await ok(t, 'POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  await ok(t, 'POST', '/api/v1/tenants', { name: 'Second Company With A Long Name B.V.', slug: 'second' });
  const webhook = await ok(t, 'POST', '/api/v1/webhooks', {
    url: 'https://room-booking.facilities.example.com/integrations/hotprov/webhooks/receive-every-desk-event',
    description: 'The room-booking system of the facilities department, second floor',
    events: ['hotdesk.login', 'hotdesk.logout', 'hotdesk.forced_logout', 'device.unseen'],
  });
  await ok(t, 'POST', `/api/v1/webhooks/${webhook.id}/test`);
  return String(webhook.id);
}

/** A page for each of the console's GET routes, with its parameters filled from the office above. */
const PARAMS: Record<string, string> = { device: 'HD0001', extension: '101', vendor: 'yealink', name: 'device.cfg', model: 'T46U' };
/** The saved revision of each template scope a page may show: the vendor's, the model's, the device's. */
interface Revisions {
  readonly vendor: string;
  readonly model: string;
  readonly device: string;
}
function consolePages(revisions: Revisions, webhook: string): string[] {
  return (
    Object.keys(ROUTE_ACCESS)
      .filter((route) => route.startsWith('GET '))
      .map((route) => route.slice(4))
      .filter((path) => !/\.(csv|css|ico|svg)$/.test(path) && path !== '/console/board-rows' && path !== '/console/login')
      .map((path) => (path === '/console' ? '/console/' : path))
      .map((path) => {
        // An `id` is a template revision's, except on a webhook's page.
        const revision = path.startsWith('/console/webhooks/')
          ? webhook
          : path.includes('/models/')
            ? revisions.model
            : path.includes('/devices/:device/revisions/')
              ? revisions.device
              : revisions.vendor;
        return path.replace(/:(\w+)/g, (_, param: string) => (param === 'id' ? revision : (PARAMS[param] ?? `:${param}`)));
      })
      // The device's file page names its file.
      .map((path) => (path === '/console/devices/HD0001/file' ? `${path}?name=001565000001.cfg` : path))
  );
}

/** How far a page reaches past the viewport's right edge, and what sticks out (run in the page: the tests have no DOM types). */
const SIDEWAYS = `(() => {
  const root = document.scrollingElement;
  const width = root.clientWidth;
  const wide = [...document.querySelectorAll('body *')]
    .filter((e) => e.getBoundingClientRect().right > width + 1)
    .slice(0, 3)
    .map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (typeof e.className === 'string' && e.className ? '.' + e.className.split(' ')[0] : ''));
  return { over: root.scrollWidth - width, wide };
})()`;
const sideways = (page: Page) => page.evaluate<{ over: number; wide: string[] }>(SIDEWAYS);

Small('no console page scrolls sideways at 390 px', async ({ t, page, webhook }) => {
  await page.goto(`${t.url}/console/login`);
  assert.is((await sideways(page)).over, 0, 'the sign-in page');
  await signInToConsole(page, t.url);
  // A saved template for the vendor, the model and the device, so their revision pages exist.
  const saved: string[] = [];
  for (const scope of ['', '/models/T46U', '/devices/HD0001']) {
    await page.goto(`${t.url}/console/templates/yealink/device.cfg${scope}`);
    await page.click('button[value=save]');
    const revision = (await page.locator('#revisions a[href*="/revisions/"]').first().textContent())?.trim() ?? '';
    assert.match(revision, /^\d+$/);
    saved.push(revision);
  }
  const [vendor = '', model = '', device = ''] = saved;
  const problems: string[] = [];
  for (const path of consolePages({ vendor, model, device }, webhook)) {
    const answer = await page.goto(`${t.url}${path}`);
    assert.is(answer?.status(), 200, `${path} answered ${answer?.status()}`);
    const { over, wide } = await sideways(page);
    if (over > 0) problems.push(`${path}: ${over} px too wide (${wide.join(', ')})`);
  }
  assert.equal(problems, []);
});

/** What has the focus, and whether it shows: its outline, its text, where it is on the screen. */
const FOCUSED = `(() => {
  const e = document.activeElement;
  const style = getComputedStyle(e);
  const box = e.getBoundingClientRect();
  return { tag: e.tagName.toLowerCase(), text: (e.textContent || e.getAttribute('aria-label') || e.name || '').trim(), outline: style.outlineStyle === 'none' ? 0 : parseFloat(style.outlineWidth), right: box.right, width: document.scrollingElement.clientWidth };
})()`;
interface Focused {
  tag: string;
  text: string;
  outline: number;
  right: number;
  width: number;
}

Small('from the keyboard alone at 390 px: past the menu, to a seated desk’s Log out, every stop outlined', async ({ t, page }) => {
  await signInToConsole(page, t.url);
  assert.match((await page.textContent('h1')) ?? '', /Hot desks/);
  const stops: Focused[] = [];
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate<Focused>(FOCUSED);
    stops.push(focused);
    if (focused.tag === 'button' && focused.text === 'Log out') break;
  }
  assert.is(stops[0]?.text, 'Skip to content', 'the first Tab offers to skip the menu');
  for (const name of ['Hot desks', 'Devices', 'Users', 'Occupancy', 'Sign out']) {
    assert.ok(
      stops.some((s) => s.text === name),
      `${name} is reached with Tab`,
    );
  }
  const logOut = stops[stops.length - 1];
  assert.is(logOut?.text, 'Log out', `the seated desk's Log out is reached: ${stops.map((s) => s.text).join(' | ')}`);
  assert.equal(
    stops.filter((s) => s.outline < 2).map((s) => `${s.tag} ${s.text}`),
    [],
    'every stop shows where the focus is',
  );
  assert.ok((logOut?.right ?? Infinity) <= (logOut?.width ?? 0), 'the Log out button is on screen, not off to the right');
  await page.keyboard.press('Enter');
  assert.match((await page.textContent('.notice')) ?? '', /logged out|Logged out/i);
  assert.is(await page.locator('#board tr[data-device="HD0001"] button:has-text("Log out")').count(), 0);
});

Small('one quiet Sign out on every page, and it signs out', async ({ t, page }) => {
  await signInToConsole(page, t.url);
  for (const path of ['/console/', '/console/devices', '/console/occupancy']) {
    await page.goto(`${t.url}${path}`);
    const signOut = page.getByRole('button', { name: 'Sign out' });
    assert.is(await signOut.count(), 1, `${path}: one Sign out`);
    const background = await page.evaluate<string>("getComputedStyle(document.querySelector('.signout button')).backgroundColor");
    assert.is(background, 'rgba(0, 0, 0, 0)', 'a quiet button, not a filled call to action');
  }
  await page.getByRole('button', { name: 'Sign out' }).click();
  assert.match(page.url(), /\/console\/login$/);
  await page.goto(`${t.url}/console/devices`);
  assert.match(page.url(), /\/console\/login$/, 'signed out for real');
});

Small('the icon: /favicon.ico and the pages’ rel=icon are a small SVG, never a 404', async ({ t, page }) => {
  await page.goto(`${t.url}/console/login`);
  const href = await page.locator('link[rel=icon]').getAttribute('href');
  assert.ok(href !== null, 'the page names its icon');
  for (const path of ['/favicon.ico', href ?? '']) {
    const res = await fetch(`${t.url}${path}`);
    assert.is(res.status, 200, path);
    assert.is(res.headers.get('content-type'), 'image/svg+xml', path);
    const body = await res.text();
    assert.match(body, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.ok(body.length < 1024, 'small');
  }
});

Small.run();

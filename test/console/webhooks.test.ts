import { createServer } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { launchBrowser, CONSOLE_PASSWORD as PASSWORD, signInToConsole } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** A tenant's webhooks in a real browser: adding, the secret shown once, editing, a test event, its outcome, deleting. */
interface Ctx {
  browser: Browser;
  t: TestServer;
  page: Page;
}
const Webhooks = suite<Ctx>('console webhooks in a browser');
Webhooks.before(async (ctx) => {
  ctx.browser = await launchBrowser();
});
Webhooks.after(async ({ browser }) => {
  await browser.close();
});
Webhooks.before.each(async (ctx) => {
  // Loopback is allowed, so an endpoint can be on this machine: the tests reach nothing else.
  ctx.t = await startTestServer({ env: { HOTPROV_ADMIN_PASSWORD: PASSWORD, HOTPROV_WEBHOOK_ALLOW: '127.0.0.0/8' } });
  ctx.page = await ctx.browser.newPage();
});
Webhooks.after.each(async ({ page, t }) => {
  await page.close();
  await t.close();
});

/** A loopback port where nothing listens: one the system gave out, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const UTC_TIME = /\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/;

Webhooks('an endpoint added in the form shows its secret once and is in the API; an http:// URL is refused', async ({ t, page }) => {
  const url = `https://127.0.0.1:${await closedPort()}/hook`;
  await signInToConsole(page, t.url);
  await page.click('nav >> text=Webhooks');
  assert.match((await page.textContent('#webhooks')) ?? '', /No webhooks yet/);

  await page.fill('#new-webhook input[name=url]', url);
  await page.fill('#new-webhook input[name=description]', 'Room booking');
  await page.getByLabel('A user logged in at a free desk').check();
  await page.getByLabel('A user logged out').check();
  await page.click('button:has-text("Add endpoint")');
  const secret = (await page.textContent('#new-secret code')) ?? '';
  assert.match(secret, /^whsec_[\w-]{43}$/);
  assert.match((await page.textContent('#new-secret')) ?? '', /Hotprov-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">/, 'how to check it');
  const row = page.locator('#webhooks tr[data-webhook]');
  assert.is(await row.count(), 1);
  const rowText = (await row.textContent()) ?? '';
  for (const seen of [url, 'Room booking', 'A user logged in at a free desk', 'A user logged out', 'enabled', 'No delivery yet']) {
    assert.ok(rowText.includes(seen), `the row shows ${seen}: ${rowText}`);
  }

  await page.goto(`${t.url}/console/webhooks`);
  assert.is(await page.locator('#new-secret').count(), 0);
  assert.not.ok((await page.content()).includes(secret), 'shown once: not on the page again');
  const listed = (await t.api('GET', '/api/v1/webhooks')).body as { url: string; description: string; events: string[] }[];
  assert.equal(
    listed.map((w) => ({ url: w.url, description: w.description, events: w.events })),
    [{ url, description: 'Room booking', events: ['hotdesk.login', 'hotdesk.logout'] }],
  );

  await page.fill('#new-webhook input[name=url]', 'http://127.0.0.1/hook');
  await page.getByLabel('A phone did not re-provision').check();
  await page.click('button:has-text("Add endpoint")');
  assert.match((await page.textContent('.error')) ?? '', /url: must start with https:\/\//);
  assert.is(await row.count(), 1, 'nothing added');
});

Webhooks('edit and pause, a test event, its failure and retry time, sending it again, deleting', async ({ t, page }) => {
  const url = `https://127.0.0.1:${await closedPort()}/hook`;
  const made = (await t.api('POST', '/api/v1/webhooks', { url, events: ['hotdesk.login'] })).body as { id: number };
  await signInToConsole(page, t.url);
  await page.goto(`${t.url}/console/webhooks`);
  await page.click(`#webhooks a:has-text("${url}")`);
  assert.match(page.url(), new RegExp(`/console/webhooks/${made.id}$`));

  // Other events, and paused.
  await page.getByLabel('A user logged in at a free desk').uncheck();
  await page.getByLabel('A phone has not fetched its file for a day').check();
  await page.getByLabel('Enabled').uncheck();
  await page.click('#webhook-form button:has-text("Save")');
  assert.match((await page.textContent('.notice')) ?? '', /Saved/);
  assert.match((await page.textContent('#webhook-state')) ?? '', /paused/);
  assert.is(await page.getByLabel('A phone has not fetched its file for a day').isChecked(), true);
  assert.is(await page.getByLabel('A user logged in at a free desk').isChecked(), false);
  const api = (await t.api('GET', `/api/v1/webhooks/${made.id}`)).body as { events: string[]; enabled: boolean };
  assert.equal({ events: api.events, enabled: api.enabled }, { events: ['device.unseen'], enabled: false });

  // A test event waits while the endpoint is paused.
  await page.click('button:has-text("Send test event")');
  assert.match((await page.textContent('.notice')) ?? '', /Test event queued/);
  const delivery = page.locator('#deliveries tr[data-delivery]');
  assert.is(await delivery.count(), 1);
  const cells = async () => (await delivery.locator('td').allTextContents()).map((c) => c.trim());
  const [event, created, state, attempts] = await cells();
  assert.match(event ?? '', /Test event/);
  assert.match(created ?? '', UTC_TIME);
  assert.equal([state, attempts], ['pending', '0']);
  await t.hotprov.webhooks.pump();
  await t.hotprov.webhooks.settled();
  await page.reload();
  assert.equal((await cells()).slice(2, 4), ['pending', '0'], 'not sent while paused');

  // Enabled again, it is sent: nothing listens there.
  await page.getByLabel('Enabled').check();
  await page.click('#webhook-form button:has-text("Save")');
  await t.hotprov.webhooks.pump();
  await t.hotprov.webhooks.settled();
  await page.reload();
  const outcome = (await page.textContent('#last-outcome')) ?? '';
  assert.match(outcome, new RegExp(`^Failed: connection refused — retry at ${UTC_TIME.source}$`));
  const [, , stateAfter, attemptsAfter, lastError, next] = await cells();
  assert.equal([stateAfter, attemptsAfter, lastError], ['pending', '1', 'connection refused']);
  assert.match(next ?? '', UTC_TIME);
  await page.click('nav >> text=Webhooks');
  const row = page.locator(`#webhooks tr[data-webhook="${made.id}"]`);
  assert.is((await row.locator('.last-outcome').textContent())?.trim(), outcome.trim(), 'the list shows the same outcome');
  assert.match((await row.textContent()) ?? '', /A phone has not fetched its file for a day/);

  // Sent again: its retries from the start, due now.
  await row.locator('a').click();
  await delivery.locator('button:has-text("Send again")').click();
  assert.match((await page.textContent('.notice')) ?? '', /sent again/);
  assert.equal((await cells()).slice(2, 4), ['pending', '0']);

  page.once('dialog', (d) => void d.accept());
  await page.click('#delete-webhook button');
  assert.match((await page.textContent('.notice')) ?? '', /Webhook deleted/);
  assert.match(page.url(), /\/console\/webhooks$/);
  assert.match((await page.textContent('#webhooks')) ?? '', /No webhooks yet/);
  assert.equal((await t.api('GET', '/api/v1/webhooks')).body, []);
});

Webhooks.run();

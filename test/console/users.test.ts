import { createSocket, type Socket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { eq } from 'drizzle-orm';
import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tablesOf } from '../../src/db/client.ts';
import { createAdmin } from '../../src/domain/admins.ts';
import { verifySecret } from '../../src/domain/credentials.ts';
import { createLogger } from '../../src/log.ts';
import { CONSOLE_PASSWORD, launchBrowser, signInToConsole } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Users in the console, in a real browser: who sits where, deleting a seated user, every field the API has, new
 * PINs for many as a one-time CSV, the key editor (drag, and arrows that work without JavaScript), and the picture
 * of the phone on the user and device pages; none of these pages scrolls sideways on a 390 px phone.
 */
interface Ctx {
  browser: Browser;
  t: TestServer;
  page: Page;
  /** Every line hotprov logged during the test. */
  logs: string[];
  /** Fake phones' sockets, closed after each test. */
  sockets: Socket[];
}
const Users = suite<Ctx>('console: users');
Users.before(async (ctx) => {
  ctx.browser = await launchBrowser();
});
Users.after(async ({ browser }) => {
  await browser.close();
});
Users.before.each(async (ctx) => {
  ctx.logs = [];
  ctx.sockets = [];
  ctx.t = await startTestServer({
    env: { HOTPROV_ADMIN_PASSWORD: CONSOLE_PASSWORD },
    log: createLogger('debug', (line) => ctx.logs.push(line)),
  });
  ctx.page = await ctx.browser.newPage();
  ctx.page.on('dialog', (d) => void d.accept());
});
Users.after.each(async ({ page, t, sockets }) => {
  await page.close();
  await t.close();
  for (const socket of sockets) await new Promise<void>((resolve) => socket.close(() => resolve()));
});

const blfs = (n: number, from = 200) => Array.from({ length: n }, (_, i) => ({ type: 'blf', value: String(from + i), label: `Desk ${from + i}` }));
const keyValues = async (t: TestServer, extension: string) =>
  ((await t.api('GET', `/api/v1/users/${extension}`)).body.keys as { value: string }[]).map((k) => k.value);
/** The hover title of one key of the picture, e.g. `3: BLF 200 “Desk 200”`. */
const keyTitle = async (page: Page, module: number, index: number) =>
  (await page.locator(`#phone-picture svg [data-module="${module}"][data-index="${index}"] title`).textContent()) ?? '';

/** On a 390 px wide screen the page does not scroll sideways. */
async function fitsPhoneWidth(page: Page, url: string): Promise<void> {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(url);
  const [scroll, client] = (await page.evaluate('[document.documentElement.scrollWidth, document.documentElement.clientWidth]')) as [number, number];
  assert.ok(scroll <= client, `${url} is ${scroll} px wide in a ${client} px window`);
  await page.setViewportSize({ width: 1280, height: 900 });
}

/** A phone on loopback that answers every NOTIFY with 200 and keeps their Event headers. */
async function fakePhone(ctx: Pick<Ctx, 'sockets'>): Promise<{ socket: Socket; events: string[] }> {
  const socket = createSocket('udp4');
  ctx.sockets.push(socket);
  const events: string[] = [];
  socket.on('message', (data, from) => {
    const text = data.toString();
    if (!text.startsWith('NOTIFY ')) return;
    events.push(/^Event: (.*)$/im.exec(text)?.[1]?.trim() ?? '');
    const keep = text.split('\r\n').filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l));
    socket.send(['SIP/2.0 200 OK', ...keep, 'Content-Length: 0', '', ''].join('\r\n'), from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, events };
}

Users('the list says who sits where since when; deleting a seated user sends their phone idle', async ({ t, page, sockets }) => {
  const phone = await fakePhone({ sockets });
  await t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice Martin', sipPassword: 'sip-secret-101', pin: '4826' });
  await t.api('POST', '/api/v1/users', { extension: '102', displayName: 'Bob Stone', sipPassword: 'sip-secret-102' });
  await t.api('POST', '/api/v1/devices', {
    mac: '001565aabbcc',
    vendor: 'yealink',
    model: 'T46U',
    label: 'Window desk',
    sipContact: `sip:HD0001@127.0.0.1:${phone.socket.address().port}`,
  });
  await t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  await t.hotprov.resync.settled();
  const notifiesBefore = phone.events.length;
  await signInToConsole(page, t.url);

  await page.goto(`${t.url}/console/users`);
  const alice = page.locator('#users tr[data-extension="101"]');
  assert.match((await alice.locator('.seat').textContent()) ?? '', /HD0001\s+Window desk/);
  assert.match((await alice.locator('.since').textContent()) ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
  assert.is(((await page.locator('#users tr[data-extension="102"] .seat').textContent()) ?? '').trim(), '—');
  await alice.locator('.seat a').click();
  assert.match((await page.textContent('h1')) ?? '', /HD0001/, 'the seat links to the device');

  await page.goto(`${t.url}/console/users/101`);
  assert.match((await page.textContent('#seat')) ?? '', /Seated at HD0001 \(Window desk\) since .* UTC/);
  const changesBefore = t.changes.length;
  await page.click('#delete-user button');
  assert.match((await page.textContent('.notice')) ?? '', /Deleted user 101\. The phone at HD0001 goes idle\./);
  assert.not.match((await page.textContent('#users')) ?? '', /Alice Martin/);
  assert.is((await t.api('GET', '/api/v1/users/101')).status, 404);
  assert.equal((await t.api('GET', '/api/v1/hotdesk/sessions')).body, []);
  // The phone is re-provisioned to idle, by the same path as a logout: a profile change, then a re-sync.
  assert.ok(
    t.changes.slice(changesBefore).some((c) => c.reason === 'user 101 deleted'),
    'the deletion announced the device change',
  );
  const device = (await t.api('GET', '/api/v1/devices/HD0001')).body;
  assert.is(device.state, 'idle');
  assert.is(device.sync?.reason, 'user 101 deleted', 'a re-sync (check-sync NOTIFY) was started for the phone');
  await t.hotprov.resync.settled();
  assert.equal(phone.events.slice(notifiesBefore), ['check-sync;reboot=false'], 'the phone was told to re-provision (not reboot), once');
  const config = await (await t.phone('/001565aabbcc.cfg')).text();
  assert.match(config, /account\.1\.user_name = HD0001/, 'the phone gets its idle account');
});

Users('every field the API has is edited in the console; secrets only for roles that may see them', async ({ t, page }) => {
  await t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice Martin', sipPassword: 'sip-secret-101' });
  await signInToConsole(page, t.url);
  await page.goto(`${t.url}/console/users/101`);
  assert.is(await page.inputValue('input[name=sipUser]'), '101');
  assert.is(await page.inputValue('input[name=sipPassword]'), '', 'the SIP password is never put in the page');
  await page.fill('input[name=displayName]', 'Alice M. Martin');
  await page.fill('input[name=sipUser]', 'alice.martin');
  await page.fill('input[name=authName]', 'auth-alice');
  await page.fill('input[name=sipPassword]', 'new-sip-secret');
  await page.fill('input[name=pin]', '5829');
  await page.uncheck('input[name=hotdesk]');
  await page.click('#save-user');
  assert.match((await page.textContent('.notice')) ?? '', /Saved/);
  const user = (await t.api('GET', '/api/v1/users/101')).body;
  assert.equal([user.displayName, user.sipUser, user.authName, user.hotdesk, user.pinSet], ['Alice M. Martin', 'alice.martin', 'auth-alice', false, true]);
  const { db } = t.hotprov.database;
  const { users } = tablesOf(db);
  const [row] = await db.select().from(users).where(eq(users.extension, '101'));
  assert.is(row?.sipPassword, 'new-sip-secret');
  assert.ok(await verifySecret('5829', row?.pinHash ?? ''), 'the PIN typed is the PIN set');

  // Blank password fields leave the secrets as they are.
  await page.fill('input[name=displayName]', 'Alice Martin');
  await page.click('#save-user');
  const [after] = await db.select().from(users).where(eq(users.extension, '101'));
  assert.equal([after?.displayName, after?.sipPassword, after?.pinHash], ['Alice Martin', 'new-sip-secret', row?.pinHash]);

  // A refused value comes back with the API's message, and changes nothing.
  await page.fill('input[name=sipUser]', 'alice martin');
  await page.click('#save-user');
  assert.match((await page.textContent('.error')) ?? '', /sipUser: must be 1 to 64 letters, digits or/);
  assert.is(await page.inputValue('input[name=sipUser]'), 'alice.martin', 'back on the user page, as it is');
  assert.is((await t.api('GET', '/api/v1/users/101')).body.sipUser, 'alice.martin');

  // A helpdesk reads the SIP names but gets no field for a secret, and no delete.
  const tenantId = row?.tenantId ?? 0;
  await createAdmin(db, new Date(), 'desk-helper', 'desk-helper-password', { role: 'helpdesk', tenantId });
  const helpdesk = await page.context().browser()?.newPage();
  assert.ok(helpdesk !== undefined);
  await helpdesk.goto(`${t.url}/console/login`);
  await helpdesk.fill('input[name=username]', 'desk-helper');
  await helpdesk.fill('input[name=password]', 'desk-helper-password');
  await helpdesk.click('button[type=submit]');
  await helpdesk.goto(`${t.url}/console/users/101`);
  assert.match((await helpdesk.textContent('main')) ?? '', /SIP user name: alice\.martin · Authentication name: auth-alice/);
  assert.is(await helpdesk.locator('input[type=password], #delete-user, input[name=extension][type=checkbox]').count(), 0);
  await helpdesk.close();
});

Users('new PINs for everyone without one: a CSV downloaded once, PINs that work, never logged', async ({ t, page, logs }) => {
  for (const [extension, name] of [
    ['101', 'Alice Martin'],
    ['102', 'Bob Stone'],
    ['103', 'Chloé "CJ" Dupont'],
  ]) {
    await t.api('POST', '/api/v1/users', { extension, displayName: name, sipPassword: `sip-secret-${extension}` });
  }
  await t.api('POST', '/api/v1/users', { extension: '104', displayName: 'Dana Lee', sipPassword: 'sip-secret-104', pin: '4826' });
  await t.api('POST', '/api/v1/devices', { mac: '001565aabbcc', vendor: 'yealink', model: 'T46U' });
  await signInToConsole(page, t.url);
  await page.goto(`${t.url}/console/users`);

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('button:has-text("For every user without a PIN (3)")')]);
  assert.match(download.suggestedFilename(), /^hotprov-pins-\d{4}-\d\d-\d\d\.csv$/);
  const csv = await readFile((await download.path()) ?? '', 'utf8');
  const lines = csv.trim().split('\r\n');
  assert.is(lines[0], 'extension,display_name,pin');
  assert.equal(
    lines.slice(1).map((l) => l.replace(/,\d{4}$/, ',PIN')),
    ['101,Alice Martin,PIN', '102,Bob Stone,PIN', '103,"Chloé ""CJ"" Dupont",PIN'],
  );
  const pins = new Map(lines.slice(1).map((l) => [l.slice(0, 3), l.slice(-4)]));
  for (const [extension, pin] of pins) {
    const login = await t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension, pin });
    assert.match(login.body.result, /^(logged_in|switched)$/, `the PIN of ${extension} from the CSV works`);
  }
  // Not kept in clear, not logged, not in the audit log; no address gives the file again.
  const { db } = t.hotprov.database;
  const { users, auditEvents } = tablesOf(db);
  const stored = JSON.stringify(await db.select().from(users));
  const audited = JSON.stringify(await db.select().from(auditEvents));
  for (const pin of pins.values()) {
    assert.not.ok(
      logs.some((l) => l.includes(pin)),
      `PIN ${pin} is not in the log`,
    );
    assert.not.ok(stored.includes(`"${pin}"`) || audited.includes(pin), `PIN ${pin} is not stored`);
  }
  assert.ok(logs.length > 0, 'the log was captured');
  assert.is((await page.goto(`${t.url}/console/pins`))?.status(), 405, 'the download cannot be fetched again');

  // Now everyone has one; the ticked users get new ones, and their old PINs stop working.
  await page.goto(`${t.url}/console/users`);
  assert.ok(await page.locator('button:has-text("For every user without a PIN (0)")').isDisabled());
  await page.check('input[name=extension][value="102"]');
  await page.check('input[name=extension][value="104"]');
  const [again] = await Promise.all([page.waitForEvent('download'), page.click('button:has-text("For the selected users")')]);
  const renewed = (await readFile((await again.path()) ?? '', 'utf8')).trim().split('\r\n').slice(1);
  assert.equal(
    renewed.map((l) => l.slice(0, 4)),
    ['102,', '104,'],
  );
  const old = await t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '104', pin: '4826' });
  assert.is(old.body.error?.code, 'wrong_pin', 'the old PIN no longer works');
  const fresh = await t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '104', pin: renewed[1]?.slice(-4) });
  assert.match(fresh.body.result, /^(logged_in|switched)$/);

  // One box ticks everyone shown.
  await page.goto(`${t.url}/console/users?q=10`);
  await page.check('#select-all');
  assert.equal(await page.locator('#users input[name=extension]:checked').count(), 4);
  await page.uncheck('#select-all');

  // Nothing ticked: told so, nothing changed.
  await page.goto(`${t.url}/console/users`);
  await page.click('button:has-text("For the selected users")');
  assert.match((await page.textContent('.error')) ?? '', /no user was chosen/);
});

Users('keys reordered and removed with the arrows, without JavaScript', async ({ t, browser }) => {
  await t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice', sipPassword: 'sip-secret-101', keys: blfs(3) });
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signInToConsole(page, t.url);
  await page.goto(`${t.url}/console/users/101`);
  await page.click('button[aria-label="Move key 3 up"]');
  assert.match((await page.textContent('.notice')) ?? '', /Saved; key 3 moved up\./);
  assert.match(page.url(), /#key-2$/, 'back at the row moved');
  assert.equal(await keyValues(t, '101'), ['200', '202', '201']);
  await page.click('button[aria-label="Move key 1 down"]');
  assert.equal(await keyValues(t, '101'), ['202', '200', '201']);
  await page.click('button[aria-label="Remove key 2"]');
  assert.match((await page.textContent('.notice')) ?? '', /Saved; key 2 removed\./);
  assert.equal(await keyValues(t, '101'), ['202', '201']);
  assert.ok(await page.locator('button[aria-label="Move key 1 up"]').isDisabled(), 'the first key cannot go up');
  // Enter in a field saves; it does not press a key's arrow.
  await page.fill('input[aria-label="Label of key 1"]', 'Reception');
  await page.press('input[aria-label="Label of key 1"]', 'Enter');
  assert.match((await page.textContent('.notice')) ?? '', /^Saved\.$/);
  assert.equal(await keyValues(t, '101'), ['202', '201']);
  await context.close();
});

Users('keys reordered by dragging, and by keyboard', async ({ t, page }) => {
  await t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice', sipPassword: 'sip-secret-101', keys: blfs(3) });
  await signInToConsole(page, t.url);
  await page.goto(`${t.url}/console/users/101`);
  const rows = page.locator('#keys tbody tr');
  await rows
    .nth(2)
    .locator('.drag-handle')
    .dragTo(rows.nth(0), { targetPosition: { x: 10, y: 3 } });
  assert.equal(await page.locator('#keys tbody tr .position').allTextContents(), ['1', '2', '3', '4']);
  assert.is(await page.inputValue('input[aria-label="Number of key 1"]'), '202', 'the dragged row is first, renumbered');
  await page.click('#save-user');
  assert.equal(await keyValues(t, '101'), ['202', '200', '201']);

  // Keyboard: tab to an arrow and press it.
  await page.focus('button[aria-label="Move key 2 down"]');
  await page.keyboard.press('Enter');
  await page.locator('.notice:has-text("key 2 moved down")').waitFor();
  assert.equal(await keyValues(t, '101'), ['202', '201', '200']);
});

Users('the user page pictures the keys on the phone they sit at; else on the tenant’s most common model', async ({ t, page }) => {
  await t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice', sipPassword: 'sip-secret-101', pin: '4826', keys: blfs(30) });
  await t.api('POST', '/api/v1/devices', { mac: '001565aabbcc', vendor: 'yealink', model: 'T46U', expansionModules: 1 });
  for (const mac of ['000413000001', '000413000002']) await t.api('POST', '/api/v1/devices', { mac, vendor: 'snom', model: 'D785' });
  await signInToConsole(page, t.url);

  await page.goto(`${t.url}/console/users/101`);
  assert.is(await page.inputValue('#picture-choice select[name=model]'), 'snom/D785', 'not seated: the tenant’s most common model');
  assert.match((await page.textContent('#phone-picture svg > title')) ?? '', /Alice on a Snom D785/);
  assert.is(await page.inputValue('#picture-choice select[name=modules]'), '1', 'as many D7C modules as the keys need');
  assert.is(await keyTitle(page, 1, 1), '1: BLF 222 “Desk 222”');

  await t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  await page.reload();
  assert.is(await page.inputValue('#picture-choice select[name=model]'), 'yealink/T46U', 'seated: the model they sit at');
  assert.is(await page.inputValue('#picture-choice select[name=modules]'), '1', 'with the modules of that desk');
  assert.is(await keyTitle(page, 0, 1), '1: line “101 Alice”');
  assert.is(await keyTitle(page, 0, 2), '2: Logout *35');
  assert.is(await keyTitle(page, 0, 27), '27: BLF 224 “Desk 224”');
  assert.is(await page.getAttribute('#phone-picture svg [data-module="0"][data-index="27"]', 'data-page'), '3');
  assert.is(await keyTitle(page, 1, 1), '1: BLF 225 “Desk 225”');

  // Without the module, what does not fit is drawn apart.
  await page.selectOption('#picture-choice select[name=modules]', '0');
  await page.click('#picture-choice button');
  assert.match((await page.textContent('#phone-picture svg [data-part="unplaced"]')) ?? '', /5 keys do not fit \(up to 3 EXP43 modules fit this phone\)/);
  assert.is(await page.locator('#phone-picture svg [data-part="module-1"]').count(), 0);
});

Users('the device page pictures whoever sits there, or the idle layout', async ({ t, page }) => {
  await t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice <b>Martin</b>', sipPassword: 'sip-secret-101', pin: '4826', keys: blfs(30) });
  await t.api('POST', '/api/v1/devices', { mac: '001565aabbcc', vendor: 'yealink', model: 'T46U', expansionModules: 1 });
  await signInToConsole(page, t.url);
  await page.goto(`${t.url}/console/devices/HD0001`);
  assert.is(await keyTitle(page, 0, 1), '1: line “HD0001”');
  assert.is(await keyTitle(page, 0, 2), '2: Login *35');
  assert.is(await keyTitle(page, 0, 3), '3: empty');

  await t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  await page.reload();
  assert.is(await keyTitle(page, 0, 1), '1: line “101 Alice <b>Martin</b>”', 'the name is text, not markup');
  assert.is(await page.locator('#phone-picture b').count(), 0);
  assert.is(await keyTitle(page, 0, 2), '2: Logout *35');
  assert.is(await keyTitle(page, 1, 5), '5: BLF 229 “Desk 229”', 'on the expansion module the desk has');
  assert.match((await page.textContent('#phone-picture svg > title')) ?? '', /Alice <b>Martin<\/b> on a Yealink SIP-T46U/);
});

Users('on a 390 px phone, the users list, a user and a device page do not scroll sideways', async ({ t, page }) => {
  await t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice Martin-Lefebvre', sipPassword: 'sip-secret-101', pin: '4826', keys: blfs(30) });
  await t.api('POST', '/api/v1/devices', { mac: '001565aabbcc', vendor: 'yealink', model: 'T46U', expansionModules: 1, label: 'Window desk by the stairs' });
  await t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  await signInToConsole(page, t.url);
  for (const path of ['/console/users', '/console/users/101', '/console/users/101?model=yealink/T46U&modules=3', '/console/devices/HD0001']) {
    await fitsPhoneWidth(page, `${t.url}${path}`);
  }
  // The picture is scaled to the screen, not cut.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${t.url}/console/users/101`);
  const box = await page.locator('#phone-picture svg').boundingBox();
  assert.ok(box !== null && box.x >= 0 && box.x + box.width <= 390, `the picture fits: ${JSON.stringify(box)}`);
});

Users.run();

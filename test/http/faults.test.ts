import { eq } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tablesOf } from '../../src/db/client.ts';
import { createLogger } from '../../src/log.ts';
import { fetchSignInForm, postSignIn } from '../helpers/consoleHttp.ts';
import { logEntries } from '../helpers/logs.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { fillTheDisk, makeReadOnly } from '../helpers/testDatabase.ts';

/** What hotprov answers when the database cannot be written, when a change is empty, and the headers it always sends. */
/** Each test's own server, and the log lines it wrote. */
interface FaultsContext {
  t: TestServer;
  logged: string[];
}
const Faults = suite<FaultsContext>('http/faults and headers', {} as FaultsContext);
Faults.before.each(async (ctx) => {
  const logged: string[] = [];
  ctx.logged = logged;
  ctx.t = await startTestServer({ env: { HOTPROV_ADMIN_PASSWORD: 'correct-horse-battery' }, log: createLogger('info', (l) => logged.push(l)) });
  const { t } = ctx;
  await t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice', sipPassword: 'sip-secret-101', pin: '4826' });
  await t.api('POST', '/api/v1/devices', { mac: '80:5E:C0:11:22:33', vendor: 'yealink', model: 'T54W' });
});
Faults.after.each(({ t }) => t.close());

/** PIN or password checks reserved (counted before they run) in a throttle table: none may outlive a refused request. */
async function reservedChecks(t: TestServer, table: 'loginThrottles' | 'signInThrottles'): Promise<number> {
  const { db } = t.hotprov.database;
  const throttles = tablesOf(db)[table];
  return (await db.select({ pending: throttles.pending }).from(throttles)).reduce((sum, row) => sum + row.pending, 0);
}

Faults('a full disk: logins and admin writes answer 503 naming the cause; all works again when space returns', async ({ t }) => {
  const freeSpace = await fillTheDisk(t.hotprov.database);
  const login = await t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  assert.is(login.status, 503);
  assert.is(login.body.error.code, 'storage_unavailable');
  assert.match(login.body.error.message, /disk is full/);
  const created = await t.api('POST', '/api/v1/users', { extension: '102', displayName: 'Bob', sipPassword: 'sip-secret-102' });
  assert.is(created.status, 503);
  const code = await t.api('POST', '/api/v1/hotdesk/code', { device: 'HD0001', digits: '*35*101*4826' });
  assert.is(code.status, 503);
  const patched = await t.api('PATCH', '/api/v1/tenant', { loginCode: '*36' });
  assert.is(patched.status, 503);
  assert.is(await reservedChecks(t, 'loginThrottles'), 0, 'a refused login leaves no PIN check reserved');
  // Reading still works.
  assert.is((await t.api('GET', '/api/v1/users')).status, 200);

  await freeSpace();
  const again = await t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  assert.is(again.status, 200, JSON.stringify(again.body));
  assert.is(again.body.result, 'logged_in');
  assert.is((await t.api('POST', '/api/v1/users', { extension: '102', displayName: 'Bob', sipPassword: 'sip-secret-102' })).status, 201);
});

Faults('a database that cannot be written costs no phone its file: answered, recorded once it can, one warning', async ({ t, logged }) => {
  await (await t.phone('/805ec0112233.cfg')).text(); // the phone claimed its credentials and is in service
  await t.api('POST', '/api/v1/devices', { mac: '80:5E:C0:11:22:44', vendor: 'yealink', model: 'T54W' });
  const writable = await makeReadOnly(t.hotprov.database); // every write now fails, as on a read-only or locked database
  for (let i = 1; i <= 20; i++) {
    // A new firmware each time: each fetch has something to record.
    const res = await t.phone('/805ec0112233.cfg', `Yealink SIP-T54W 96.86.0.${i}`);
    assert.is(res.status, 200);
    assert.match(await res.text(), /^account\.1\.user_name = HD0001$/m);
  }
  // A phone that has not claimed yet is handed nothing that could not be put on record.
  const claim = await t.anonymous('/805ec0112244.cfg', 'Yealink SIP-T54W 96.86.0.70');
  assert.is(claim.status, 200);
  assert.not.match(await claim.text(), /HD000\d/);
  assert.is(
    logEntries(logged).filter((e) => e.level === 'warn' && e.msg.startsWith('could not record what phones fetched')).length,
    1,
    'one warning, not one per fetch',
  );
  await writable();
  const { db } = t.hotprov.database;
  const { devices } = tablesOf(db);
  assert.equal(await db.select({ access: devices.access }).from(devices).where(eq(devices.mac, '805ec0112244')), [{ access: 'unclaimed' }]);
  // Written at the next turn a phone fetches (or by the retry on its own).
  await (await t.phone('/805ec0112233.cfg', 'Yealink SIP-T54W 96.86.0.21')).text();
  await new Promise((resolve) => setImmediate(resolve));
  assert.is((await t.api('GET', '/api/v1/devices/805ec0112233')).body.lastSeen.firmware, '96.86.0.21');
  assert.ok(logEntries(logged).some((e) => e.level === 'info' && e.msg.includes('recorded again')));
});

Faults('a full disk during console sign-in is a 503 page that says why', async ({ t }) => {
  const form = await fetchSignInForm(t.url);
  const freeSpace = await fillTheDisk(t.hotprov.database);
  const res = await postSignIn(t.url, form, 'admin', 'correct-horse-battery');
  assert.is(res.status, 503);
  assert.match(await res.text(), /disk is full/);
  assert.is(await reservedChecks(t, 'signInThrottles'), 0, 'a refused sign-in leaves no check reserved');
  await freeSpace();
  assert.is((await postSignIn(t.url, form, 'admin', 'correct-horse-battery')).status, 302);
});

Faults('PATCH with nothing to change is a 400 on every PATCH route, and changes nothing', async ({ t }) => {
  for (const path of ['/api/v1/tenant', '/api/v1/users/101', '/api/v1/devices/HD0001']) {
    const empty = await t.api('PATCH', path, {});
    assert.is(empty.status, 400, `${path} {}`);
    assert.is(empty.body.error.code, 'nothing_to_change');
    const none = await fetch(`${t.url}${path}`, { method: 'PATCH', headers: { authorization: 'Bearer test-token-0123456789abcdef' } });
    assert.is(none.status, 400, `${path} without a body`);
    const blank = await t.api('PATCH', path, ' ');
    assert.is(blank.status, 400, `${path} with a blank body`);
  }
});

Faults('every console and API answer forbids framing and sniffing and sends no referrer', async ({ t }) => {
  const answers = [
    await fetch(`${t.url}/console/login`),
    await fetch(`${t.url}/console/`, { redirect: 'manual' }),
    await fetch(`${t.url}/console/no-such-page`, { headers: { accept: 'text/html' } }),
    await fetch(`${t.url}/api/v1/users`, { headers: { authorization: 'Bearer test-token-0123456789abcdef' } }),
    await fetch(`${t.url}/api/v1/users`),
    await fetch(`${t.url}/api/v1/nothing`, { headers: { authorization: 'Bearer test-token-0123456789abcdef' } }),
  ];
  for (const res of answers) {
    assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, res.url);
    assert.is(res.headers.get('x-frame-options'), 'DENY', res.url);
    assert.is(res.headers.get('x-content-type-options'), 'nosniff', res.url);
    assert.is(res.headers.get('referrer-policy'), 'no-referrer', res.url);
  }
  // Each page's script nonce is its own.
  const a = answers[0]?.headers.get('content-security-policy');
  const b = (await fetch(`${t.url}/console/login`)).headers.get('content-security-policy');
  assert.is.not(a, b);
});

Faults('cookies are Secure when the request is HTTPS through a trusted proxy, and only then', async ({ t }) => {
  const plain = await fetchSignInForm(t.url, { 'x-forwarded-proto': 'https' });
  assert.not.match(plain.cookie, /Secure/i);
  const res = await fetch(`${t.url}/console/login`, { headers: { 'x-forwarded-proto': 'https' } });
  assert.not.match(res.headers.get('set-cookie') ?? '', /;\s*secure/i, 'an untrusted X-Forwarded-Proto is ignored');

  const proxied = await startTestServer({ env: { HOTPROV_ADMIN_PASSWORD: 'correct-horse-battery', HOTPROV_TRUST_PROXY: 'true' } });
  try {
    const headers = { 'x-forwarded-proto': 'https' };
    const page = await fetch(`${proxied.url}/console/login`, { headers });
    assert.match(page.headers.get('set-cookie') ?? '', /hotprov_signin=[^;]+;.*secure/i);
    const form = await fetchSignInForm(proxied.url, headers);
    const signedIn = await postSignIn(proxied.url, form, 'admin', 'correct-horse-battery', headers);
    assert.is(signedIn.status, 302);
    assert.match(signedIn.headers.get('set-cookie') ?? '', /hotprov_session=[^;]+;.*secure.*httponly/i);
  } finally {
    await proxied.close();
  }
});

Faults.run();

import { eq, like } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tablesOf } from '../../src/db/client.ts';
import { createLogger } from '../../src/log.ts';
import { readBootstrap } from '../helpers/bootstrap.ts';
import { basicAuthorization, startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Device-bound provisioning over real HTTP: a factory-fresh phone claims its credentials with its first fetch,
 * fetches from then on with them, and gets an account only once it is active. Each vendor's phone is played
 * by following exactly what its bootstrap file tells it.
 */
/** Each test's server, started by the test itself (trusting a network or none), and the log lines it wrote. */
interface AccessContext {
  t: TestServer;
  logged: string[];
}
const PHONES = {
  yealink: { mac: '805ec0112233', model: 'T54W', file: '805ec0112233.cfg', ua: 'Yealink SIP-T54W 96.86.0.70 80:5e:c0:11:22:33' },
  snom: {
    mac: '000413922d24',
    model: 'D785',
    file: '000413922D24.xml',
    ua: 'Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12-00004-g9ba52f5 000413922D24 SXM:0 UXM:0)',
  },
  polycom: { mac: '0004f274632f', model: 'VVX450', file: '0004f274632f-hotprov.cfg', ua: 'FileTransport PolycomVVX-VVX_450-UA/5.9.1.0615 Type/Application' },
} as const;
type Vendor = keyof typeof PHONES;
const VENDORS = Object.keys(PHONES) as Vendor[];

const unxml = (s: string) => s.replaceAll('&amp;', '&');
/** A URL as the phone has it, made to point at the test server. */
const local = ({ t }: AccessContext, url: string) => unxml(url).replace('http://prov.example.test:8080', t.url);

async function start(ctx: AccessContext, trusted: readonly string[]) {
  ctx.logged = [];
  const logged = ctx.logged;
  const t = await startTestServer({ env: { HOTPROV_TRUST_PROXY: 'true' }, log: createLogger('info', (line) => logged.push(line)) });
  ctx.t = t;
  await t.api('PATCH', '/api/v1/tenant', { trustedNetworks: trusted });
  await t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice Martin', sipPassword: 'sip-secret-101', pin: '4826' });
  const codes: Record<string, string> = {};
  for (const vendor of VENDORS) {
    const { mac, model } = PHONES[vendor];
    const enrolled = await t.api('POST', '/api/v1/devices', { mac, vendor, model });
    codes[vendor] = enrolled.body.activationCode;
  }
  return codes;
}

/** The phone's first fetch, with nothing but its MAC: what a factory-fresh phone sends. */
async function firstFetch({ t }: AccessContext, vendor: Vendor, ip?: string) {
  const { file, ua } = PHONES[vendor];
  const res = await t.anonymous(`/${file}`, ua, ip === undefined ? {} : { headers: { 'x-forwarded-for': ip } });
  assert.is(res.status, 200);
  return { res, body: await res.text() };
}

/** A fetch as the phone makes it once it read its bootstrap file: at the URL it was given, with its credentials. */
async function fetchWith(ctx: AccessContext, vendor: Vendor, settings: { url: string; username: string; password: string }) {
  const { file, ua } = PHONES[vendor];
  // The phone asks without credentials first, and sends them when challenged.
  const challenged = await fetch(local(ctx, `${settings.url}${file}`), { headers: { 'user-agent': ua } });
  assert.is(challenged.status, 401);
  assert.match(challenged.headers.get('www-authenticate') ?? '', /^Basic /);
  const res = await fetch(local(ctx, `${settings.url}${file}`), {
    headers: { 'user-agent': ua, authorization: basicAuthorization(settings.username, settings.password) },
  });
  return { status: res.status, body: await res.text() };
}

/** Audit events whose action starts with `prefix`, as the console lists them. */
const audited = async ({ t }: AccessContext, prefix: string) => {
  const { db } = t.hotprov.database;
  const { auditEvents } = tablesOf(db);
  return await db
    .select({ action: auditEvents.action, detail: auditEvents.detail })
    .from(auditEvents)
    .where(like(auditEvents.action, `${prefix}%`))
    .orderBy(auditEvents.id);
};

const device = async ({ t }: AccessContext, vendor: Vendor) => (await t.api('GET', `/api/v1/devices/${PHONES[vendor].mac}`)).body;

const Untrusted = suite<AccessContext>('device access on an untrusted network', {} as AccessContext);
Untrusted.after.each(({ t }) => t.close());

for (const vendor of VENDORS) {
  Untrusted(`${vendor}: the bootstrap file, then no account until the activation code is typed on the phone`, async (ctx) => {
    const codes = await start(ctx, []);
    const { res, body } = await firstFetch(ctx, vendor);
    assert.is(res.headers.get('cache-control'), 'no-store');
    assert.not.match(body, /HD000\d|sip-secret/, 'no account of anyone in a bootstrap file');
    const settings = readBootstrap(vendor, body);
    assert.is(settings.url, 'http://prov.example.test:8080/prov/');
    assert.is(settings.username, `hp${PHONES[vendor].mac}`);
    assert.match(settings.password, /^[0-9a-f]{32}$/);

    const claimed = await device(ctx, vendor);
    assert.is(claimed.access.state, 'claimed');
    assert.is(claimed.access.claim.ip, '127.0.0.1');
    assert.is(claimed.access.claim.userAgent, PHONES[vendor].ua);

    // With its credentials, while it waits: still no account, and the Activate key.
    const waiting = await fetchWith(ctx, vendor, settings);
    assert.is(waiting.status, 200);
    assert.not.match(waiting.body, /HD000\d|sip-secret/);
    const activation = readBootstrap(vendor, waiting.body).activationUrl;
    assert.match(activation, /\/activate$/);
    assert.is((await device(ctx, vendor)).lastSeen.ip, '127.0.0.1', 'an authenticated fetch is recorded');

    // The person at the desk presses Activate and types the code.
    const screen = await fetch(local(ctx, activation));
    assert.is(screen.status, 200);
    const wrong = await (await fetch(`${local(ctx, activation)}/submit?code=00000000`)).text();
    assert.match(wrong, /Wrong activation code/);
    const right = await (await fetch(`${local(ctx, activation)}/submit?code=${codes[vendor]}`)).text();
    assert.match(right, /activated/);
    assert.is((await device(ctx, vendor)).access.activatedBy, 'code');

    const idle = await fetchWith(ctx, vendor, settings);
    assert.is(idle.status, 200);
    assert.ok(idle.body.includes(claimed.idleAccount), 'the idle account, once active');
    // The screen secret the claimant saw no longer opens anything.
    assert.is((await fetch(local(ctx, activation))).status, 403);
  });
}

Untrusted('an admin approves a claimed phone after seeing who claimed it; approving an unclaimed one is refused', async (ctx) => {
  await start(ctx, []);
  const { t } = ctx;
  const early = await t.api('POST', '/api/v1/devices/805ec0112233/activate');
  assert.is(early.status, 409, 'nobody has claimed it: approving would activate whoever asks first');
  const settings = readBootstrap('yealink', (await firstFetch(ctx, 'yealink')).body);
  const approved = await t.api('POST', '/api/v1/devices/805ec0112233/activate');
  assert.is(approved.status, 200);
  assert.is(approved.body.access.state, 'active');
  assert.is(approved.body.access.activatedBy, 'admin');
  const idle = await fetchWith(ctx, 'yealink', settings);
  assert.match(idle.body, /^account\.1\.user_name = HD0001$/m);
  assert.is((await audited(ctx, 'device.activated')).length, 1);
});

Untrusted('a second claim is refused, audited and shown to admins; its credentials open nothing', async (ctx) => {
  await start(ctx, []);
  const first = readBootstrap('yealink', (await firstFetch(ctx, 'yealink')).body);
  const second = readBootstrap('yealink', (await firstFetch(ctx, 'yealink', '198.51.100.7')).body);
  assert.is.not(second.password, first.password);
  assert.is((await fetchWith(ctx, 'yealink', second)).status, 401);
  assert.is((await fetchWith(ctx, 'yealink', first)).status, 200);
  const d = await device(ctx, 'yealink');
  assert.is(d.access.refusedClaims.count, 1);
  assert.is((await audited(ctx, 'device.claim_refused')).length, 1);
});

Untrusted('the same claimant asking again before it used its credentials gets them again (a lost answer)', async (ctx) => {
  await start(ctx, []);
  const first = readBootstrap('snom', (await firstFetch(ctx, 'snom')).body);
  const again = readBootstrap('snom', (await firstFetch(ctx, 'snom')).body);
  assert.is(again.password, first.password);
  await fetchWith(ctx, 'snom', first);
  const later = readBootstrap('snom', (await firstFetch(ctx, 'snom')).body);
  assert.is.not(later.password, first.password, 'once used, they are never handed out again');
});

Untrusted('50 phones claiming one MAC at once: exactly one gets working credentials', async (ctx) => {
  await start(ctx, []);
  const { t } = ctx;
  const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => firstFetch(ctx, 'polycom', `203.0.113.${i + 1}`)));
  const passwords = new Set(answers.map((a) => readBootstrap('polycom', a.body).password));
  assert.is(passwords.size, 50, 'every answer looks alike');
  const { db } = t.hotprov.database;
  const { devices } = tablesOf(db);
  const [row] = await db.select({ provPassword: devices.provPassword }).from(devices).where(eq(devices.mac, '0004f274632f'));
  assert.is(answers.filter((a) => readBootstrap('polycom', a.body).password === row?.provPassword).length, 1);
  // Refused claims are put on record after their answers: on PostgreSQL some are still being written when the last
  // answer arrives, so the count is read until it is complete (or 10 s have passed).
  let refused = 0;
  for (const giveUp = Date.now() + 10_000; refused < 49 && Date.now() < giveUp; await new Promise((resolve) => setTimeout(resolve, 50))) {
    refused = (await device(ctx, 'polycom')).access.refusedClaims.count;
  }
  assert.is(refused, 49);
});

Untrusted('activation codes tried in parallel: no more than five are checked, the right one among them too', async (ctx) => {
  const codes = await start(ctx, []);
  const settings = readBootstrap('yealink', (await firstFetch(ctx, 'yealink')).body);
  const submit = `${local(ctx, settings.url.replace('/prov/', ''))}/phone/805ec0112233/${settings.activationUrl.split('/').at(-2)}/activate/submit`;
  const tries = Array.from({ length: 50 }, (_, i) => (i === 25 ? (codes.yealink ?? '') : String(10_000_000 + i)));
  const answers = await Promise.all(tries.map((code) => fetch(`${submit}?code=${code}`).then((r) => r.text())));
  const wrongChecked = (await audited(ctx, 'device.activation_code_wrong')).length;
  assert.ok(wrongChecked <= 5, `${wrongChecked} wrong codes were checked`);
  const activated = answers.filter((a) => /is activated/.test(a)).length;
  assert.ok(activated <= 1);
  assert.ok(answers.filter((a) => /Too many wrong codes/.test(a)).length >= 44);
  if (activated === 0) assert.is((await device(ctx, 'yealink')).access.state, 'claimed');
});

Untrusted('an admin resets a device: new credentials, unclaimed again, the old ones open nothing', async (ctx) => {
  await start(ctx, []);
  const { t } = ctx;
  const old = readBootstrap('yealink', (await firstFetch(ctx, 'yealink')).body);
  const reset = await t.api('POST', '/api/v1/devices/805ec0112233/unclaim');
  assert.is(reset.status, 200);
  assert.is(reset.body.access.state, 'unclaimed');
  assert.match(reset.body.activationCode, /^\d{8}$/);
  assert.is((await fetchWith(ctx, 'yealink', old)).status, 401);
  const fresh = readBootstrap('yealink', (await firstFetch(ctx, 'yealink')).body);
  assert.is((await fetchWith(ctx, 'yealink', fresh)).status, 200);
});
Untrusted.run();

const Trusted = suite<AccessContext>('device access on a trusted network', {} as AccessContext);
Trusted.after.each(({ t }) => t.close());

for (const vendor of VENDORS) {
  Trusted(`${vendor}: a phone plugged in on the office LAN ends up with its idle profile, nobody touching it`, async (ctx) => {
    await start(ctx, ['127.0.0.0/8']);
    const settings = readBootstrap(vendor, (await firstFetch(ctx, vendor)).body);
    const d = await device(ctx, vendor);
    assert.is(d.access.state, 'active');
    assert.is(d.access.activatedBy, 'trusted_network');
    const idle = await fetchWith(ctx, vendor, settings);
    assert.is(idle.status, 200);
    assert.ok(idle.body.includes(d.idleAccount));
  });
}

Trusted('a lost answer on the LAN: the phone asking again before it used them gets the same credentials', async (ctx) => {
  await start(ctx, ['127.0.0.0/8']);
  const first = readBootstrap('yealink', (await firstFetch(ctx, 'yealink')).body);
  const again = readBootstrap('yealink', (await firstFetch(ctx, 'yealink')).body);
  assert.is(again.password, first.password);
  assert.is((await fetchWith(ctx, 'yealink', again)).status, 200);
});

Trusted('a bootstrap claim gets credentials of its own, not the ones a redirect service was given at enrolment', async (ctx) => {
  await start(ctx, ['127.0.0.0/8']);
  const { t } = ctx;
  const { db } = t.hotprov.database;
  const { devices } = tablesOf(db);
  const [enrolled] = await db.select({ provPassword: devices.provPassword }).from(devices).where(eq(devices.mac, '805ec0112233'));
  const claimed = readBootstrap('yealink', (await firstFetch(ctx, 'yealink')).body);
  assert.is.not(claimed.password, enrolled?.provPassword);
});

Trusted('the web interface password is in every profile, and revealing it is audited', async (ctx) => {
  await start(ctx, ['127.0.0.0/8']);
  const { t } = ctx;
  const settings = readBootstrap('snom', (await firstFetch(ctx, 'snom')).body);
  const web = await t.api('GET', '/api/v1/devices/000413922d24/web-password');
  assert.is(web.body.username, 'admin');
  assert.match(web.body.password, /^[0-9a-f]{16}$/);
  const idle = await fetchWith(ctx, 'snom', settings);
  assert.ok(idle.body.includes(`<http_pass perm="R">${web.body.password}</http_pass>`));
  const reveals = await audited(ctx, 'device.web_password_revealed');
  assert.is(reveals.length, 1);
  assert.not.ok(JSON.stringify(reveals).includes(web.body.password));
});
Trusted.run();

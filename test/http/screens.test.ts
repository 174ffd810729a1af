import { inArray } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tablesOf } from '../../src/db/client.ts';
import { createLogger } from '../../src/log.ts';
import { logEntries } from '../helpers/logs.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { xmlError } from '../helpers/xml.ts';

/**
 * Logging in and out on the phone itself, with no PBX integration: each vendor's phone, simulated over HTTP,
 * follows its Login key, types extension and PIN, and gets the user's profile on its next fetch; the Logout key
 * brings it back to idle.
 */
interface Context {
  t: TestServer;
  logged: string[];
}

const Screens = suite<Context>('http/phone screens');
Screens.before.each(async (ctx) => {
  ctx.logged = [];
  ctx.t = await startTestServer({ log: createLogger('debug', (line) => ctx.logged.push(line)) });
  await ctx.t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice <A&B> "Martin"', sipPassword: 'sip-secret-101', pin: '4826' });
  await ctx.t.api('POST', '/api/v1/devices', { mac: '80:5E:C0:11:22:33', vendor: 'yealink', model: 'T54W' });
  await ctx.t.api('POST', '/api/v1/devices', { mac: '00:04:13:92:2D:24', vendor: 'snom', model: 'D785' });
  await ctx.t.api('POST', '/api/v1/devices', { mac: '00:04:F2:74:63:2F', vendor: 'polycom', model: 'VVX450' });
});
Screens.after.each((ctx) => ctx.t.close());

const PHONES = {
  yealink: { file: '/805ec0112233.cfg', ua: 'Yealink SIP-T54W 96.86.0.70 80:5e:c0:11:22:33' },
  snom: { file: '/000413922D24.xml', ua: 'Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12-00004-g9ba52f5 000413922D24 SXM:0 UXM:0)' },
  polycom: { file: '/0004f274632f-hotprov.cfg', ua: 'FileTransport PolycomVVX-VVX_450-UA/5.9.1.0615 Type/Application' },
} as const;

const unxml = (s: string) => s.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&quot;', '"').replaceAll('&apos;', "'").replaceAll('&amp;', '&');
/** A URL as the phone has it, made to point at the test server. */
const local = (ctx: Context, url: string) => unxml(url).replace('http://prov.example.test:8080', ctx.t.url);

/** A device file as the phone fetches it, with its credentials. */
async function phoneText(ctx: Context, path: string, ua: string): Promise<string> {
  const res = await ctx.t.phone(path, ua);
  assert.is(res.status, 200, `${path} answered ${res.status}`);
  return res.text();
}

async function fetchText(ctx: Context, url: string, ua: string): Promise<string> {
  const res = await fetch(local(ctx, url), { headers: { 'user-agent': ua } });
  assert.is(res.status, 200, `${url} answered ${res.status}`);
  return res.text();
}

/** The URL behind the profile's Login or Logout key, as each vendor writes it. */
function keyUrl(vendor: keyof typeof PHONES, profile: string, label: 'Login' | 'Logout'): string {
  const m =
    vendor === 'yealink'
      ? new RegExp(`^linekey\\.\\d+\\.type = 27\\nlinekey\\.\\d+\\.line = 1\\nlinekey\\.\\d+\\.value = (\\S+)\\nlinekey\\.\\d+\\.label = ${label}$`, 'm').exec(
          profile,
        )
      : vendor === 'snom'
        ? new RegExp(`<fkey idx="\\d+" context="active" label="${label}" perm="R">url ([^<]+)</fkey>`).exec(profile)
        : new RegExp(`softkey\\.1\\.label="${label}"\\s+softkey\\.1\\.action="([^"]+)"`).exec(profile);
  assert.ok(m?.[1] !== undefined, `no ${label} key in the ${vendor} profile`);
  return m[1];
}

/** Types extension and PIN into a vendor's login screen, as the phone would submit them. */
async function typeLogin(ctx: Context, vendor: keyof typeof PHONES, screen: string, extension: string, pin: string): Promise<string> {
  const ua = PHONES[vendor].ua;
  if (vendor === 'yealink') {
    const url = /<URL>([^<]+)<\/URL>/.exec(screen)?.[1] ?? '';
    assert.match(screen, /<Parameter>ext<\/Parameter>/);
    assert.match(screen, /<InputField type="number" password="yes" editable="yes">\s*<Prompt>PIN:<\/Prompt>\s*<Parameter>pin<\/Parameter>/);
    return fetchText(ctx, `${url}?ext=${extension}&pin=${pin}`, ua);
  }
  if (vendor === 'snom') {
    const first = /<Url>([^<]+)<\/Url>/.exec(screen)?.[1] ?? '';
    const pinScreen = await fetchText(ctx, first.replace('__X__', extension), ua);
    assert.match(pinScreen, /<InputFlags>pn<\/InputFlags>/, 'the PIN is typed masked');
    const second = /<Url>([^<]+)<\/Url>/.exec(pinScreen)?.[1] ?? '';
    return fetchText(ctx, second.replace('__X__', pin), ua);
  }
  const action = /<form method="get" action="([^"]+)">/.exec(screen)?.[1] ?? '';
  assert.match(screen, /<input type="password" name="pin"\/>/);
  return fetchText(ctx, `${action}?ext=${extension}&pin=${pin}`, ua);
}

for (const vendor of ['yealink', 'snom', 'polycom'] as const) {
  Screens(`${vendor}: Login key → screen → extension and PIN → user profile; Logout key → idle again`, async (ctx) => {
    const { file, ua } = PHONES[vendor];
    const idle = await phoneText(ctx, file, ua);
    const loginScreen = await fetchText(ctx, keyUrl(vendor, idle, 'Login'), ua);
    assert.is(xmlError(loginScreen), null);
    const welcome = await typeLogin(ctx, vendor, loginScreen, '101', '4826');
    assert.is(xmlError(welcome), null);
    assert.ok(welcome.includes('Welcome, Alice &lt;A&amp;B&gt; &quot;Martin&quot;'), welcome);

    const user = await phoneText(ctx, file, ua);
    assert.ok(user.includes('sip-secret-101'), 'the next fetch is the user profile');
    const confirm = await fetchText(ctx, keyUrl(vendor, user, 'Logout'), ua);
    assert.is(xmlError(confirm), null);
    const confirmUrl =
      /<URI>([^<]+\/logout\/confirm)<\/URI>/.exec(confirm)?.[1] ??
      /<URL>([^<]+\/logout\/confirm)<\/URL>/.exec(confirm)?.[1] ??
      /href="([^"]+)"/.exec(confirm)?.[1] ??
      '';
    const bye = await fetchText(ctx, confirmUrl, ua);
    assert.match(bye, /Goodbye/);
    assert.is(await phoneText(ctx, file, ua), idle);

    const { db } = ctx.t.hotprov.database;
    const { auditEvents } = tablesOf(db);
    const audit = await db
      .select({ action: auditEvents.action, method: auditEvents.method })
      .from(auditEvents)
      .where(inArray(auditEvents.action, ['hotdesk.login', 'hotdesk.logout']))
      .orderBy(auditEvents.id);
    assert.equal(audit, [
      { action: 'hotdesk.login', method: 'phone_screen' },
      { action: 'hotdesk.logout', method: 'phone_screen' },
    ]);
  });
}

Screens('a wrong secret, or a MAC that is not enrolled, is 403 and logs nobody out', async (ctx) => {
  const idle = await phoneText(ctx, PHONES.yealink.file, PHONES.yealink.ua);
  const login = keyUrl('yealink', idle, 'Login');
  const wrong = local(ctx, login).replace(/\/[0-9a-f]{32}\//, '/00000000000000000000000000000000/');
  for (const url of [
    wrong,
    `${wrong}/submit?ext=101&pin=4826`,
    local(ctx, login).replace('805ec0112233', '805ec0999999'),
    `${ctx.t.url}/phone/805ec0112233/x/logout/confirm`,
  ]) {
    const res = await fetch(url);
    assert.is(res.status, 403, url);
  }
  assert.equal((await ctx.t.api('GET', '/api/v1/hotdesk/sessions')).body, []);
});

Screens('every outcome is a screen: wrong PIN with tries left, then locked until when, unknown extension, not allowed', async (ctx) => {
  const { file, ua } = PHONES.yealink;
  const submit = `${local(ctx, keyUrl('yealink', await phoneText(ctx, file, ua), 'Login'))}/submit`;
  const say = async (ext: string, pin: string) => /<Text>([^<]*)<\/Text>/.exec(await fetchText(ctx, `${submit}?ext=${ext}&pin=${pin}`, ua))?.[1];
  assert.is(await say('101', '1111'), 'Wrong PIN. 4 tries left.');
  assert.is(await say('555', '1111'), 'Extension 555 is unknown.');
  await ctx.t.api('POST', '/api/v1/users', { extension: '102', displayName: 'Bob', sipPassword: 'x', pin: '4826', hotdesk: false });
  assert.is(await say('102', '4826'), 'Extension 102 may not log in at hot desks.');
  assert.is(await say('', ''), 'Enter your extension and your PIN, in digits.');
  for (let i = 0; i < 4; i++) await say('101', '1111');
  assert.match((await say('101', '4826')) ?? '', /^Too many wrong PINs\. Locked until \d\d:\d\d \(UTC\)\.$/);
});

Screens('neither the PIN nor the screen secret reaches a log line', async (ctx) => {
  const { file, ua } = PHONES.snom;
  const idle = await phoneText(ctx, file, ua);
  const login = keyUrl('snom', idle, 'Login');
  const secret = /\/phone\/[0-9a-f]{12}\/([0-9a-f]{32})\//.exec(login)?.[1] ?? 'missing';
  await typeLogin(ctx, 'snom', await fetchText(ctx, login, ua), '101', '4826');
  await typeLogin(ctx, 'snom', await fetchText(ctx, login, ua), '101', '7391');
  const text = ctx.logged.join('\n');
  assert.ok(
    logEntries(ctx.logged).some((e) => e.category === 'http' && e.msg.includes('/phone/000413922d24/[secret]/login')),
    'screen requests are logged, masked',
  );
  for (const s of [secret, '4826', '7391', 'sip-secret-101']) assert.not.ok(text.includes(s), `${s} was logged`);
});

Screens('tenants that prefer it keep a feature-code Login key', async (ctx) => {
  await ctx.t.api('PATCH', '/api/v1/tenant', { loginKeyMode: 'code' });
  const idle = await phoneText(ctx, PHONES.yealink.file, PHONES.yealink.ua);
  assert.match(idle, /^linekey\.2\.type = 13\nlinekey\.2\.line = 1\nlinekey\.2\.value = \*35\nlinekey\.2\.label = Login$/m);
  const poly = await phoneText(ctx, PHONES.polycom.file, PHONES.polycom.ua);
  assert.match(poly, /softkey\.1\.enable="0"/);
});

Screens.run();

import { request } from 'node:http';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** Each test's own server, three phones and a user; set by before.each. */
interface PhonesContext {
  t: TestServer;
}
const Phones = suite<PhonesContext>('http/phones', {} as PhonesContext);
Phones.before.each(async (ctx) => {
  ctx.t = await startTestServer();
  const { t } = ctx;
  await t.api('POST', '/api/v1/users', {
    extension: '101',
    displayName: 'Alice Martin',
    sipPassword: 'sip-secret-101',
    pin: '4826',
    keys: [
      { type: 'blf', value: '102', label: 'Bob' },
      { type: 'speed', value: '0612345678', label: 'Mobile' },
    ],
  });
  await t.api('POST', '/api/v1/devices', { mac: '80:5E:C0:11:22:33', vendor: 'yealink', model: 'T54W' });
  await t.api('POST', '/api/v1/devices', { mac: '00:04:13:92:2D:24', vendor: 'snom', model: 'D785' });
  await t.api('POST', '/api/v1/devices', { mac: '00:04:F2:74:63:2F', vendor: 'polycom', model: 'VVX450' });
});
Phones.after.each(({ t }) => t.close());

const UA = {
  yealink: 'Yealink SIP-T54W 96.86.0.70 80:5e:c0:11:22:33',
  snom: 'Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12-00004-g9ba52f5 000413922D24 SXM:0 UXM:0)',
  polycom: 'FileTransport PolycomVVX-VVX_450-UA/5.9.1.0615 Type/Application',
};

async function text(t: TestServer, path: string, ua: string): Promise<string> {
  const res = await t.phone(path, ua);
  assert.is(res.status, 200, `${path} answered ${res.status}`);
  return res.text();
}

const signIn = (t: TestServer, device: string) => t.api('POST', '/api/v1/hotdesk/login', { device, extension: '101', pin: '4826' });
const signOut = (t: TestServer, device: string) => t.api('POST', '/api/v1/hotdesk/logout', { device });

Phones('Yealink: idle HD account, then the user profile, then idle again with every user key reset', async ({ t }) => {
  const idle = await text(t, '/805ec0112233.cfg', UA.yealink);
  assert.match(idle, /^#!version:1\.0\.0\.1\n/);
  assert.match(idle, /^account\.1\.user_name = HD0001$/m);
  assert.match(
    idle,
    /^linekey\.2\.type = 27\nlinekey\.2\.line = 1\nlinekey\.2\.value = http:\/\/prov\.example\.test:8080\/phone\/805ec0112233\/[0-9a-f]{32}\/login\nlinekey\.2\.label = Login$/m,
  );
  assert.match(idle, /^sip\.notify_reboot_enable = 0$/m);
  assert.not.match(idle, /sip-secret-101|Alice/);

  await signIn(t, 'HD0001');
  const user = await text(t, '/805ec0112233.cfg', UA.yealink);
  assert.match(user, /^account\.1\.user_name = 101$/m);
  assert.match(user, /^account\.1\.password = sip-secret-101$/m);
  assert.match(user, /^linekey\.2\.value = http:\/\/prov\.example\.test:8080\/phone\/805ec0112233\/[0-9a-f]{32}\/logout\nlinekey\.2\.label = Logout$/m);
  assert.match(user, /^linekey\.3\.type = 16\nlinekey\.3\.line = 1\nlinekey\.3\.value = 102\nlinekey\.3\.label = Bob$/m);
  assert.match(user, /^linekey\.4\.type = 13\nlinekey\.4\.line = 1\nlinekey\.4\.value = 0612345678$/m);

  await signOut(t, 'HD0001');
  const back = await text(t, '/805ec0112233.cfg', UA.yealink);
  assert.is(back, idle);
  assert.match(back, /^linekey\.3\.type = 0\nlinekey\.3\.line = %NULL%\nlinekey\.3\.value = %NULL%\nlinekey\.3\.label = %NULL%$/m);
});

Phones('Yealink: the boot file and the model common file', async ({ t }) => {
  const boot = await text(t, '/805ec0112233.boot', UA.yealink);
  assert.match(boot, /^include:config "y000000000096\.cfg"\ninclude:config "805ec0112233\.cfg"$/m);
  const common = await text(t, '/y000000000096.cfg', UA.yealink);
  assert.match(common, /^sip\.notify_reboot_enable = 0$/m);
  assert.is((await t.phone('/y000000000999.cfg', UA.yealink)).status, 404);
});

Phones('Snom: model file, device index and settings; user keys reset to none on logout', async ({ t }) => {
  const model = await text(t, '/snomD785.htm', UA.snom);
  assert.match(model, /<update_policy perm="R">settings_only<\/update_policy>/);
  const index = await text(t, '/snomD785-000413922D24.htm', UA.snom);
  // The settings file under the credentialed path, with the phone's credentials in the URL as Snom takes them.
  assert.match(index, /<file url="http:\/\/hp000413922d24:[0-9a-f]{32}@prov\.example\.test:8080\/prov\/000413922D24\.xml"\/>/);
  const idle = await text(t, '/000413922D24.xml', UA.snom);
  assert.match(idle, /<user_name idx="1" perm="R">HD0002<\/user_name>/);
  assert.match(
    idle,
    /<fkey idx="1" context="active" label="Login" perm="R">url http:\/\/prov\.example\.test:8080\/phone\/000413922d24\/[0-9a-f]{32}\/login<\/fkey>/,
  );

  await signIn(t, '000413922d24');
  const user = await text(t, '/000413922D24.xml', UA.snom);
  assert.match(user, /<user_pass idx="1" perm="R">sip-secret-101<\/user_pass>/);
  assert.match(
    user,
    /<fkey idx="1" context="active" label="Logout" perm="R">url http:\/\/prov\.example\.test:8080\/phone\/000413922d24\/[0-9a-f]{32}\/logout<\/fkey>/,
  );
  assert.match(user, /<fkey idx="2" context="active" label="Bob" perm="R">blf sip:102@pbx\.example\.test\|\*8<\/fkey>/);

  await signOut(t, 'HD0002');
  const back = await text(t, '/000413922D24.xml', UA.snom);
  assert.is(back, idle);
  assert.match(back, /<fkey idx="2" context="active" label="" perm="R">none<\/fkey>/);
});

Phones('Polycom: master file names the device file, which is served with the directory', async ({ t }) => {
  const master = await text(t, '/0004f274632f.cfg', UA.polycom);
  assert.match(master, /CONFIG_FILES="0004f274632f-hotprov\.cfg"/);
  const generic = await text(t, '/000000000000.cfg', UA.polycom);
  assert.match(generic, /CONFIG_FILES="\[PHONE_MAC_ADDRESS\]-hotprov\.cfg"/);
  const idle = await text(t, '/0004f274632f-hotprov.cfg', UA.polycom);
  assert.match(idle, /reg\.1\.address="HD0003"/);
  assert.match(idle, /voIpProt\.SIP\.specialEvent\.checkSync\.alwaysReboot="0"/);

  await signIn(t, 'HD0003');
  const user = await text(t, '/0004f274632f-hotprov.cfg', UA.polycom);
  assert.match(user, /reg\.1\.auth\.password="sip-secret-101"/);
  assert.match(user, /lineKey\.3\.category="BLF"/);
  assert.match(user, /attendant\.resourceList\.1\.address="102"/);
  const directory = await text(t, '/0004f274632f-directory.xml', UA.polycom);
  assert.match(directory, /<fn>Logout<\/fn>\s*<ct>\*35<\/ct>\s*<sd>1<\/sd>/);
  assert.match(directory, /<fn>Mobile<\/fn>\s*<ct>0612345678<\/ct>\s*<sd>2<\/sd>/);

  await signOut(t, 'HD0003');
  const back = await text(t, '/0004f274632f-hotprov.cfg', UA.polycom);
  assert.is(back, idle);
  assert.match(back, /attendant\.resourceList\.1\.address=""/);
});

Phones('Polycom uploads (PUT) and probes (HEAD) of logs and overrides are accepted, never an error', async ({ t }) => {
  for (const name of ['0004f274632f-app.log', '0004f274632f-boot.log', '0004f274632f-web.cfg', '0004f274632f-calls.xml']) {
    const put = await t.phone(`/${name}`, UA.polycom, { method: 'PUT', body: 'log line\n'.repeat(1000) });
    assert.is(put.status, 204, name);
    const head = await t.phone(`/${name}`, UA.polycom, { method: 'HEAD' });
    assert.is(head.status, 204, name);
  }
  // A GET of an override that hotprov never stored is simply not there.
  assert.is((await t.phone('/0004f274632f-web.cfg', UA.polycom)).status, 404);
  // The settings changed on an idle phone are accepted and dropped, and an idle phone reads back none.
  assert.is((await t.phone('/0004f274632f-phone.cfg', UA.polycom, { method: 'PUT', body: '<PHONE_CONFIG/>' })).status, 204);
  assert.match(await text(t, '/0004f274632f-phone.cfg', UA.polycom), /<PHONE_CONFIG>\s*<OVERRIDES\/>\s*<\/PHONE_CONFIG>/);
  // The contact directory is served, and a phone that edited its contacts may send it back.
  const directory = await t.phone('/0004f274632f-directory.xml', UA.polycom, { method: 'PUT', body: '<directory/>' });
  assert.is(directory.status, 204);
  assert.is((await t.phone('/0004f274632f-directory.xml', UA.polycom)).status, 200);
  // Files phones only fetch are not overwritten by a PUT.
  assert.is((await t.phone('/0004f274632f-hotprov.cfg', UA.polycom, { method: 'PUT', body: 'x' })).status, 404);
  assert.is((await t.phone('/805ec0112233.cfg', UA.yealink, { method: 'PUT', body: 'x' })).status, 404);
});

Phones('the MAC may be asked for in any case', async ({ t }) => {
  assert.is((await t.phone('/805EC0112233.cfg', UA.yealink)).status, 200);
  assert.is((await t.phone('/snomD785-000413922d24.htm', UA.snom)).status, 200);
  assert.is((await t.phone('/0004F274632F.cfg', UA.polycom)).status, 200);
});

Phones('no account for a MAC that is not enrolled, and 404 for paths that are not a phone file', async ({ t }) => {
  for (const path of ['/001565999999.cfg', '/001565999999.boot', '/snomD785-000413999999.htm', '/000413999999.xml', '/0004f2999999-hotprov.cfg']) {
    const res = await t.anonymous(path);
    assert.is(res.status, 200, path);
    assert.not.match(await res.text(), /HD000\d|sip-secret|user_name|reg\.1\.address="[^"]/, path);
    assert.is((await t.anonymous(`/prov${path}`)).status, 401, `/prov${path}`);
  }
  for (const path of ['/../etc/passwd', '/%2e%2e/etc/passwd', '/%2e%2e%2fetc%2fpasswd', '/data/hotprov.db', '/etc/passwd']) {
    const res = await t.phone(path, UA.yealink);
    assert.is(res.status, 404, path);
  }
});

Phones('a fetch records when, from where and with which firmware the phone asked', async ({ t }) => {
  await t.phone('/805ec0112233.cfg', UA.yealink);
  const device = await t.api('GET', '/api/v1/devices/HD0001');
  assert.is(device.body.lastSeen.ip, '127.0.0.1');
  assert.is(device.body.lastSeen.userAgent, UA.yealink);
  assert.is(device.body.lastSeen.firmware, '96.86.0.70');
  assert.ok(Date.now() - Date.parse(device.body.lastSeen.at) < 60_000);
  await t.phone('/0004f274632f.cfg', 'FileTransport PolycomVVX-VVX_450-UA/5.9.1.0615 Type/Updater');
  const poly = await t.api('GET', '/api/v1/devices/HD0003');
  assert.is(poly.body.lastSeen.firmware, null, 'the updater stage must not overwrite the firmware');
});

/** A GET as a phone sends it: fetch() would add Cache-Control: no-cache to any conditional request. */
async function phoneGet(t: TestServer, path: string, headers: Record<string, string>): Promise<{ status: number; etag: string }> {
  const target = await t.phoneTarget(path);
  const authorization = target.authorization === null ? {} : { authorization: target.authorization };
  return new Promise((resolve, reject) => {
    const req = request(target.url, { headers: { 'user-agent': UA.yealink, ...authorization, ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, etag: String(res.headers.etag ?? '') }));
    });
    req.on('error', reject);
    req.end();
  });
}

Phones('an unchanged profile answers 304 to If-None-Match; a login changes the ETag', async ({ t }) => {
  const first = await phoneGet(t, '/805ec0112233.cfg', {});
  assert.is(first.status, 200);
  assert.ok(first.etag !== '');
  const again = await phoneGet(t, '/805ec0112233.cfg', { 'if-none-match': first.etag });
  assert.is(again.status, 304);
  await signIn(t, 'HD0001');
  const changed = await phoneGet(t, '/805ec0112233.cfg', { 'if-none-match': first.etag });
  assert.is(changed.status, 200);
  assert.is.not(changed.etag, first.etag);
});

Phones('If-None-Match in the forms RFC 9110 allows: a list, a weak tag, `*`; a shared file answers 304 too', async ({ t }) => {
  const { etag } = await phoneGet(t, '/805ec0112233.cfg', {});
  assert.is((await phoneGet(t, '/805ec0112233.cfg', { 'if-none-match': `"old", ${etag}` })).status, 304, 'one of a list');
  assert.is((await phoneGet(t, '/805ec0112233.cfg', { 'if-none-match': `W/${etag}` })).status, 304, 'weak comparison');
  assert.is((await phoneGet(t, '/805ec0112233.cfg', { 'if-none-match': '*' })).status, 304, 'any current file');
  assert.is((await phoneGet(t, '/805ec0112233.cfg', { 'if-none-match': '"old"' })).status, 200, 'another tag');
  const shared = await phoneGet(t, '/y000000000096.cfg', {});
  assert.is(shared.status, 200);
  assert.is((await phoneGet(t, '/y000000000096.cfg', { 'if-none-match': shared.etag })).status, 304, 'a model-wide file');
});

Phones('the phones trust whoever sends their NOTIFY: hotprov directly, or the PBX when it relays; Yealink only its PBX', async ({ t }) => {
  const direct = [
    await text(t, '/805ec0112233.cfg', UA.yealink),
    await text(t, '/000413922D24.xml', UA.snom),
    await text(t, '/0004f274632f-hotprov.cfg', UA.polycom),
  ];
  // Yealink cannot check who sent a NOTIFY, so it never takes SIP from anyone but its registrar (README).
  assert.match(direct[0] ?? '', /^sip\.trust_ctrl = 1$/m);
  assert.match(direct[1] ?? '', /<challenge_checksync perm="R">on<\/challenge_checksync>/);
  assert.match(direct[2] ?? '', /voIpProt\.SIP\.requestValidation\.1\.method="digest"/);
  await t.api('PATCH', '/api/v1/tenant', { notifyMode: 'asterisk', relayHost: '127.0.0.1', relayPort: 1 });
  const relay = [
    await text(t, '/805ec0112233.cfg', UA.yealink),
    await text(t, '/000413922D24.xml', UA.snom),
    await text(t, '/0004f274632f-hotprov.cfg', UA.polycom),
  ];
  assert.match(relay[0] ?? '', /^sip\.trust_ctrl = 1$/m);
  assert.match(relay[1] ?? '', /<challenge_checksync perm="R">off<\/challenge_checksync>/);
  assert.match(relay[2] ?? '', /voIpProt\.SIP\.requestValidation\.1\.method="source"/);
});

Phones('content types follow the file format', async ({ t }) => {
  assert.is((await t.phone('/805ec0112233.cfg', UA.yealink)).headers.get('content-type'), 'text/plain; charset=utf-8');
  assert.is((await t.phone('/000413922D24.xml', UA.snom)).headers.get('content-type'), 'application/xml; charset=utf-8');
});

Phones.run();

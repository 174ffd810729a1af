import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Hotprov } from '../../src/composition.ts';
import { clientCertificateOf } from '../../src/http/clientCertificate.ts';
import { CONSOLE_PASSWORD } from '../helpers/browser.ts';
import { fetchSignInForm, postSignIn } from '../helpers/consoleHttp.ts';
import { startTestServer, TEST_TOKEN, type TestServer } from '../helpers/server.ts';
import { type ClientPem, createTestPki, type HttpsAnswer, httpsRequest, type TestPki } from '../helpers/tls.ts';

/**
 * hotprov's own HTTPS listener over a real socket: the same app as HTTP (API, console, phones), and what a phone's
 * client certificate proved, as the routes see it in ctx.state.clientCert.
 */

/** The test PKI (made once per suite) and each test's own server. */
interface HttpsContext {
  pki: TestPki;
  t: TestServer;
}

/** A test-only route behind all of the app's own middleware: answers what the request's certificate proved. */
const PROBE = '/test/client-certificate';
const withProbe = (hotprov: Hotprov) => {
  hotprov.app.use(async (ctx, next) => {
    if (ctx.path === PROBE) ctx.body = clientCertificateOf(ctx);
    else await next();
  });
};

const get = ({ t, pki }: HttpsContext, path: string, client?: ClientPem, headers: Record<string, string> = {}): Promise<HttpsAnswer> =>
  httpsRequest(`${t.httpsUrl}${path}`, { ca: pki.serverCaPem, headers, ...(client === undefined ? {} : { client }) });
const proved = async (ctx: HttpsContext, client?: ClientPem) => {
  const res = await get(ctx, PROBE, client);
  assert.is(res.status, 200);
  return JSON.parse(res.body);
};

const Https = suite<HttpsContext>('http/https', {} as HttpsContext);
Https.before((ctx) => {
  ctx.pki = createTestPki();
});
Https.after(({ pki }) => pki.remove());
Https.before.each(async (ctx) => {
  const { pki } = ctx;
  ctx.t = await startTestServer({ env: { ...pki.env(), HOTPROV_ADMIN_PASSWORD: CONSOLE_PASSWORD }, beforeListen: withProbe });
});
Https.after.each(({ t }) => t.close());

Https('serves the API with its bearer token, and refuses it without', async (ctx) => {
  const { t, pki } = ctx;
  assert.match(t.httpsUrl ?? '', /^https:\/\/127\.0\.0\.1:\d+$/);
  const auth = { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' };
  const created = await httpsRequest(`${t.httpsUrl}/api/v1/devices`, {
    ca: pki.serverCaPem,
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ mac: '805ec0112233', vendor: 'yealink', model: 'T54W' }),
  });
  assert.is(created.status, 201, created.body);
  const list = await get(ctx, '/api/v1/devices', undefined, auth);
  assert.is(list.status, 200);
  assert.match(list.body, /805ec0112233/);
  assert.is((await get(ctx, '/api/v1/devices')).status, 401);
});

Https('serves the console sign-in page, and its session cookie is Secure over HTTPS only', async (ctx) => {
  const { t, pki } = ctx;
  const page = await get(ctx, '/console/login');
  assert.is(page.status, 200);
  assert.match(page.body, /<form[^>]*method="post"/i);

  // The sign-in form's CSRF token and its cookie, as the browser got them with the page.
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
  const formCookie = (page.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
  const form = { 'content-type': 'application/x-www-form-urlencoded', cookie: formCookie };
  const body = new URLSearchParams({ _csrf: csrf, username: 'admin', password: CONSOLE_PASSWORD }).toString();
  const overHttps = await httpsRequest(`${t.httpsUrl}/console/login`, { ca: pki.serverCaPem, method: 'POST', headers: form, body });
  assert.is(overHttps.status, 302);
  const secureCookie = (overHttps.headers['set-cookie'] ?? []).find((c) => c.startsWith('hotprov_session='));
  assert.ok(secureCookie !== undefined, 'signed in over HTTPS');
  assert.match(secureCookie ?? '', /;\s*secure/i, 'a browser never sends it back over plain HTTP');
  assert.match(secureCookie ?? '', /;\s*httponly/i);

  const plain = await fetchSignInForm(t.url);
  const overHttp = await postSignIn(t.url, plain, 'admin', CONSOLE_PASSWORD);
  assert.is(overHttp.status, 302);
  const plainCookie = overHttp.headers.getSetCookie().find((c) => c.startsWith('hotprov_session='));
  assert.ok(plainCookie !== undefined, 'signed in over HTTP');
  assert.not.match(plainCookie ?? '', /;\s*secure/i, 'over plain HTTP a Secure cookie would never come back');
});

Https('serves phones their shared files, the same bytes as over HTTP, with or without a certificate', async (ctx) => {
  const { t, pki } = ctx;
  await t.api('POST', '/api/v1/devices', { mac: '000413922d24', vendor: 'snom', model: 'D785' });
  const snomUa = { 'user-agent': 'Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12-00004-g9ba52f5 000413922D24 SXM:0 UXM:0)' };
  const overHttp = await (await t.phone('/snomD785.htm', snomUa['user-agent'])).text();
  const anonymous = await get(ctx, '/snomD785.htm', undefined, snomUa);
  assert.is(anonymous.status, 200);
  assert.match(anonymous.body, /<update_policy perm="R">settings_only<\/update_policy>/);
  assert.is(anonymous.body, overHttp);
  const withCertificate = await get(ctx, '/snomD785.htm', pki.deviceCertificate('000413922D24'), snomUa);
  assert.is(withCertificate.status, 200);
  assert.is(withCertificate.body, overHttp);
});

Https('a verified per-MAC certificate reaches the app as verified, with that MAC', async (ctx) => {
  const { pki } = ctx;
  const snom = pki.deviceCertificate('000413922D24');
  assert.equal(await proved(ctx, snom), {
    kind: 'verified',
    macs: ['000413922d24'],
    subject: 'O=Test Phone Vendor, CN=000413922D24',
    issuer: 'O=Test Phone Vendor, CN=Test Phone Vendor Device CA',
    fingerprint256: new X509Certificate(snom.cert).fingerprint256,
  });
  const yealink = await proved(
    ctx,
    pki.deviceCertificate('', {
      subject: '/C=CN/O=Yealink Network Technology Co., Ltd./OU=Yealink Equipment/CN=yealink.com/serialNumber=ffffffff-ffff-ffff-fff0-805EC0112233',
    }),
  );
  assert.is(yealink.kind, 'verified');
  assert.equal(yealink.macs, ['805ec0112233'], "Yealink's form: the MAC ends the subject's serialNumber");
  const generic = await proved(ctx, pki.deviceCertificate('', { subject: '/O=Yealink Network Technology Co., Ltd./CN=yealink.com' }));
  assert.equal([generic.kind, generic.macs], ['verified', []], 'a generic certificate proves no phone');
  const inAltName = await proved(
    ctx,
    pki.deviceCertificate('', { subject: '/O=Test Phone Vendor/CN=desk phone', subjectAltName: 'DNS:000413922d24.phones.example' }),
  );
  assert.equal([inAltName.kind, inAltName.macs], ['verified', []], 'no vendor documents a MAC in the subjectAltName');
});

Https('a certificate from another CA with the very same name is unverified; no certificate is none', async (ctx) => {
  const { pki } = ctx;
  const forged = await proved(ctx, pki.deviceCertificate('000413922D24', { signer: 'untrusted' }));
  assert.is(forged.kind, 'unverified');
  assert.is(forged.reason, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  assert.is(forged.macs, undefined, 'no MAC is offered for it');
  assert.equal(await proved(ctx), { kind: 'none' });
});

/** GET over a raw TLS connection that may resume an earlier session; answers the body and the session to resume. */
function overTls(
  { t, pki }: HttpsContext,
  path: string,
  client: ClientPem,
  version: 'TLSv1.2' | 'TLSv1.3',
  session?: Buffer,
): Promise<{ body: string; session?: Buffer; resumed: boolean }> {
  const { port } = new URL(t.httpsUrl ?? '');
  return new Promise((resolve, reject) => {
    let next: Buffer | undefined;
    let data = '';
    const socket = connect(
      {
        host: '127.0.0.1',
        port: Number(port),
        ca: pki.serverCaPem,
        cert: client.cert,
        key: client.key,
        minVersion: version,
        maxVersion: version,
        ...(session === undefined ? {} : { session }),
      },
      () => socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`),
    );
    socket.on('session', (s: Buffer) => {
      next = s;
    });
    socket.on('data', (d: Buffer) => {
      data += d.toString('utf8');
    });
    socket.on('end', () =>
      resolve({ body: data.slice(data.indexOf('\r\n\r\n') + 4), resumed: socket.isSessionReused(), ...(next === undefined ? {} : { session: next }) }),
    );
    socket.on('error', reject);
  });
}

Https('a phone resuming its TLS session (no certificate sent again) is still what its certificate proved', async (ctx) => {
  const { pki } = ctx;
  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    for (const [client, kind] of [
      [pki.deviceCertificate('000413922D24'), 'verified'],
      [pki.deviceCertificate('000413922D24', { signer: 'untrusted' }), 'unverified'],
    ] as const) {
      const first = await overTls(ctx, PROBE, client, version);
      assert.is(JSON.parse(first.body).kind, kind, `${version}, full handshake`);
      const again = await overTls(ctx, PROBE, client, version, first.session);
      assert.ok(again.resumed, `${version}: the session was resumed`);
      const resumed = JSON.parse(again.body);
      assert.is(resumed.kind, kind, `${version}, resumed`);
      if (kind === 'verified') assert.equal(resumed.macs, ['000413922d24']);
    }
  }
});

Https('plain HTTP never carries a certificate: none', async ({ t }) => {
  const res = await fetch(`${t.url}${PROBE}`);
  assert.equal(await res.json(), { kind: 'none' });
});

Https('50 phones connecting at once each get what their own certificate proved', async (ctx) => {
  const { pki } = ctx;
  const macs = Array.from({ length: 50 }, (_, i) => `0004f2aa${i.toString(16).padStart(4, '0')}`);
  // Every fifth phone brings a look-alike certificate, every seventh none at all.
  const clients = macs.map((mac, i) => (i % 7 === 3 ? undefined : pki.deviceCertificate(mac, i % 5 === 1 ? { signer: 'untrusted' } : {})));
  const answers = await Promise.all(clients.map((client) => proved(ctx, client)));
  answers.forEach((answer, i) => {
    const mac = macs[i] ?? '';
    if (i % 7 === 3) assert.equal(answer, { kind: 'none' }, `phone ${i}`);
    else if (i % 5 === 1) assert.is(answer.kind, 'unverified', `phone ${i}`);
    else assert.equal([answer.kind, answer.macs], ['verified', [mac]], `phone ${i}`);
  });
});

Https.run();

const NoClientCa = suite<HttpsContext>('http/https without HOTPROV_TLS_CLIENT_CA', {} as HttpsContext);
NoClientCa.before((ctx) => {
  ctx.pki = createTestPki();
});
NoClientCa.after(({ pki }) => pki.remove());
NoClientCa.before.each(async (ctx) => {
  const { pki } = ctx;
  ctx.t = await startTestServer({ env: pki.env({ clientCa: false }), beforeListen: withProbe });
});
NoClientCa.after.each(({ t }) => t.close());

NoClientCa('no certificate is asked for, so even a vendor-signed one proves nothing', async (ctx) => {
  const { pki } = ctx;
  assert.equal(await proved(ctx, pki.deviceCertificate('000413922D24')), { kind: 'none' });
  assert.is((await get(ctx, '/console/login')).status, 200);
});

NoClientCa.run();

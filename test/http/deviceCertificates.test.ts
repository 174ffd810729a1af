import { eq } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tablesOf } from '../../src/db/client.ts';
import { readBootstrap } from '../helpers/bootstrap.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { createTestPki, httpsRequest, type TestPki } from '../helpers/tls.ts';

/**
 * A phone that presents its factory certificate over HTTPS proves it is that phone: real TLS, a CA and per-MAC
 * client certificates made with openssl, on an untrusted network so nothing else would activate it.
 */
/** The test PKI (made once) and each test's own server, on an untrusted network with one phone enrolled. */
interface CertificatesContext {
  pki: TestPki;
  t: TestServer;
}
const MAC = '0004f274632f';
const FILE = `/${MAC}-hotprov.cfg`;
const UA = 'FileTransport PolycomVVX-VVX_450-UA/5.9.1.0615 Type/Application';

const Certificates = suite<CertificatesContext>('http/device certificates', {} as CertificatesContext);
Certificates.before((ctx) => {
  ctx.pki = createTestPki();
});
Certificates.after(({ pki }) => pki.remove());
Certificates.before.each(async (ctx) => {
  ctx.t = await startTestServer({ env: ctx.pki.env() });
  const { t } = ctx;
  await t.api('PATCH', '/api/v1/tenant', { trustedNetworks: [] });
  await t.api('POST', '/api/v1/devices', { mac: MAC, vendor: 'polycom', model: 'VVX450' });
});
Certificates.after.each(({ t }) => t.close());

const get = ({ t, pki }: CertificatesContext, path: string, client?: ReturnType<TestPki['deviceCertificate']>) =>
  httpsRequest(`${t.httpsUrl}${path}`, { ca: pki.serverCaPem, headers: { 'user-agent': UA }, ...(client === undefined ? {} : { client }) });

Certificates('a verified certificate for the MAC: served its idle profile and active, no code, no approval', async (ctx) => {
  const { t, pki } = ctx;
  const answer = await get(ctx, FILE, pki.deviceCertificate('0004F274632F'));
  assert.is(answer.status, 200);
  assert.match(answer.body, /reg\.1\.address="HD0001"/);
  const access = (await t.api('GET', `/api/v1/devices/${MAC}`)).body.access;
  assert.equal([access.state, access.claim.via, access.activatedBy], ['active', 'certificate', 'certificate']);
});

Certificates('the bootstrap file over HTTPS points the phone at the HTTPS listener', async (ctx) => {
  const answer = await get(ctx, FILE);
  const settings = readBootstrap('polycom', answer.body);
  assert.match(settings.url, /^https:\/\//);
});

Certificates("another phone's certificate is refused and audited, whoever holds it", async (ctx) => {
  const { t, pki } = ctx;
  const answer = await get(ctx, FILE, pki.deviceCertificate('0004F2000001'));
  assert.is(answer.status, 403);
  const { db } = t.hotprov.database;
  const { auditEvents } = tablesOf(db);
  const audits = await db.select({ detail: auditEvents.detail }).from(auditEvents).where(eq(auditEvents.action, 'security.phone_mismatch'));
  assert.is(audits.length, 1);
  assert.is(JSON.parse(audits[0]?.detail ?? '{}').reason, 'certificate_mac');
  assert.is((await t.api('GET', `/api/v1/devices/${MAC}`)).body.access.state, 'unclaimed');
});

Certificates('no certificate, or one from an untrusted CA: the claim flow, and no account', async (ctx) => {
  const { t, pki } = ctx;
  for (const client of [undefined, pki.deviceCertificate('0004F274632F', { signer: 'untrusted' })]) {
    const answer = await get(ctx, FILE, client);
    assert.is(answer.status, 200);
    assert.not.match(answer.body, /HD0001/);
  }
  const access = (await t.api('GET', `/api/v1/devices/${MAC}`)).body.access;
  assert.is(access.state, 'claimed');
});

Certificates('a phone proven by its certificate after someone else claimed its MAC: the earlier claimant gets nothing', async (ctx) => {
  const { t, pki } = ctx;
  const stolen = readBootstrap('polycom', (await get(ctx, FILE)).body); // claimed over HTTPS without a certificate
  const proven = await get(ctx, FILE, pki.deviceCertificate('0004F274632F'));
  assert.match(proven.body, /reg\.1\.address="HD0001"/);
  const withStolen = await httpsRequest(`${t.httpsUrl}/prov${FILE}`, {
    ca: pki.serverCaPem,
    headers: { 'user-agent': UA, authorization: `Basic ${Buffer.from(`${stolen.username}:${stolen.password}`).toString('base64')}` },
  });
  assert.is(withStolen.status, 401, 'the credentials the claimant got were replaced at the activation');
  // The phone itself was handed its new ones over its proven connection.
  assert.ok(!proven.body.includes(stolen.password));
  assert.match(proven.body, /device\.prov\.password="[0-9a-f]{32}"/);
});

Certificates.run();

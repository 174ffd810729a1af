import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createTcpServer } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tenants } from '../../src/db/schema.ts';
import { AsteriskRelay, type RelayConnection, type RelayResult } from '../../src/sip/relays.ts';
import { type FakeService, fakeYealinkRps } from '../helpers/redirectFakes.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * A stored secret never follows an endpoint an API user changed: moving a redirect service's URL or account, or
 * the relay's host, port or user, needs the secret again in the same request. Remote failures come back as a
 * short class, never the remote side's words.
 */
const SECRET = 'stored-secret-material';
const Secrets = suite<{ t: TestServer }>('secrets stay with their endpoint', { t: undefined as unknown as TestServer });
Secrets.before.each(async (ctx) => {
  const t = await startTestServer();
  ctx.t = t;
  const set = await t.api('PATCH', '/api/v1/tenant', {
    yealinkRpsUrl: 'https://rps.example.test',
    yealinkRpsKeyId: 'AK-1',
    yealinkRpsSecret: SECRET,
    yealinkXmlRpcUrl: 'https://rps.example.test/xmlrpc',
    yealinkXmlRpcUser: 'acct',
    yealinkXmlRpcPassword: SECRET,
    snomSrapsUrl: 'https://sraps.example.test/api/v1',
    snomSrapsKeyId: 'AK-2',
    snomSrapsSecret: SECRET,
    polyZtpUrl: 'https://ztp.example.test/v1',
    polyZtpApiKey: SECRET,
    notifyMode: 'asterisk',
    relayHost: 'pbx.example.test',
    relayPort: 5038,
    relayUsername: 'hotprov',
    relaySecret: SECRET,
  });
  assert.is(set.status, 200, JSON.stringify(set.body));
});
Secrets.after.each(({ t }) => t.close());

const row = async (t: TestServer) => (await t.hotprov.database.db.select().from(tenants))[0];

const moves: readonly [string, Record<string, unknown>, string][] = [
  ['Yealink RPS URL', { yealinkRpsUrl: 'https://evil.example.test' }, 'yealinkRpsSecret'],
  ['Yealink RPS key id', { yealinkRpsKeyId: 'AK-other' }, 'yealinkRpsSecret'],
  ['Yealink XML-RPC URL', { yealinkXmlRpcUrl: 'https://evil.example.test/xmlrpc' }, 'yealinkXmlRpcPassword'],
  ['Yealink XML-RPC user', { yealinkXmlRpcUser: 'other' }, 'yealinkXmlRpcPassword'],
  ['Snom SRAPS URL', { snomSrapsUrl: 'https://evil.example.test/api/v1' }, 'snomSrapsSecret'],
  ['Snom SRAPS key id', { snomSrapsKeyId: 'AK-other' }, 'snomSrapsSecret'],
  ['Poly ZTP URL', { polyZtpUrl: 'https://evil.example.test/v1' }, 'polyZtpApiKey'],
  ['relay host', { relayHost: 'evil.example.test' }, 'relaySecret'],
  ['relay port', { relayPort: 15038 }, 'relaySecret'],
  ['relay user', { relayUsername: 'other' }, 'relaySecret'],
  ['relay kind (a FreeSWITCH port)', { notifyMode: 'freeswitch' }, 'relaySecret'],
];

for (const [what, change, secret] of moves) {
  Secrets(`changing the ${what} without ${secret} is refused and changes nothing; with it, or with null, it is taken`, async ({ t }) => {
    // The mode decides the relay's port only when none is set.
    if ('notifyMode' in change) assert.is((await t.api('PATCH', '/api/v1/tenant', { relayPort: null, relaySecret: SECRET })).status, 200);
    const before = await row(t);
    const refused = await t.api('PATCH', '/api/v1/tenant', change);
    assert.is(refused.status, 400);
    assert.is(refused.body.error.code, 'secret_required');
    assert.match(refused.body.error.message, new RegExp(`give ${secret} again`));
    assert.not.ok(JSON.stringify(refused.body).includes(SECRET));
    assert.equal(await row(t), before, 'nothing changed');

    const cleared = await t.api('PATCH', '/api/v1/tenant', { ...change, [secret]: null });
    assert.is(cleared.status, 200);
    assert.is(((await row(t)) as Record<string, unknown>)[secret], null, 'the old secret is gone');
    const given = await t.api('PATCH', '/api/v1/tenant', { ...change, [secret]: 'a-new-secret' });
    assert.is(given.status, 200);
    assert.is(((await row(t)) as Record<string, unknown>)[secret], 'a-new-secret');
  });
}

Secrets('the same endpoint sent again, or other settings, need no secret', async ({ t }) => {
  const same = await t.api('PATCH', '/api/v1/tenant', { yealinkRpsUrl: 'https://rps.example.test', relayHost: 'pbx.example.test', loginCode: '*36' });
  assert.is(same.status, 200);
  assert.is((await row(t))?.yealinkRpsSecret, SECRET);
});

Secrets('with no relay host, the registrar is where the relay secret goes: moving it needs the secret', async ({ t }) => {
  assert.is((await t.api('PATCH', '/api/v1/tenant', { relayHost: null, relaySecret: SECRET })).status, 200);
  const moved = await t.api('PATCH', '/api/v1/tenant', { registrarHost: 'elsewhere.example.test' });
  assert.is(moved.status, 400);
  assert.is(moved.body.error.details?.field ?? moved.body.error.field, 'registrarHost');
});

Secrets('service URLs must be https, except on loopback, and carry no credentials', async ({ t }) => {
  for (const url of ['http://rps.example.test', 'http://10.0.0.1:8443', 'ftp://rps.example.test', 'https://user:pw@rps.example.test', 'javascript:alert(1)']) {
    const res = await t.api('PATCH', '/api/v1/tenant', { yealinkRpsUrl: url, yealinkRpsSecret: null });
    assert.is(res.status, 400, url);
    assert.is(res.body.error.field, 'yealinkRpsUrl');
  }
  for (const url of ['http://127.0.0.1:8443', 'http://[::1]:8443', 'http://localhost:1', 'https://rps.example.test:8443']) {
    assert.is((await t.api('PATCH', '/api/v1/tenant', { yealinkRpsUrl: url, yealinkRpsSecret: SECRET })).status, 200, url);
  }
});

Secrets('a redirect service that fails is reported by class: its status, never its body', async ({ t }) => {
  const loud: Server = createServer((_req, res) => {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('internal details: db password=hunter2 at /srv/app.js:12');
  });
  await new Promise<void>((resolve) => loud.listen(0, '127.0.0.1', () => resolve()));
  const port = (loud.address() as AddressInfo).port;
  try {
    await t.api('PATCH', '/api/v1/tenant', { yealinkRpsUrl: `http://127.0.0.1:${port}`, yealinkRpsSecret: SECRET });
    await t.api('POST', '/api/v1/devices', { mac: '001565aabbcc', vendor: 'yealink', model: 'T46U' });
    await t.hotprov.redirects.settled();
    const redirect = (await t.api('GET', '/api/v1/devices/001565aabbcc')).body.redirect;
    assert.is(redirect.status, 'error');
    assert.is(redirect.message, 'HTTP 500');
  } finally {
    loud.closeAllConnections();
    await new Promise((resolve) => loud.close(resolve));
  }
  // Nothing listens on that port now (a kept-alive socket the client had not yet seen closed reads as closed).
  const result = await t.hotprov.redirects.register(await (await import('../../src/domain/lookup.ts')).getDevice(t.hotprov.database.db, 1, '001565aabbcc'));
  assert.match(result?.message ?? '', /^connection (refused|closed by the remote side)$/);
});

Secrets('a redirect service that hangs is reported as timed out', async ({ t }) => {
  let rps: FakeService | null = null;
  try {
    rps = await fakeYealinkRps('AK-1', SECRET);
    rps.mode = 'hang';
    const { createYealinkRps } = await import('../../src/redirect/yealink.ts');
    const client = createYealinkRps({ baseUrl: rps.url, accessKeyId: 'AK-1', accessKeySecret: SECRET, timeoutMs: 200 });
    const { createRedirects } = await import('../../src/redirect/registrations.ts');
    const { silentLogger } = await import('../../src/log.ts');
    const redirects = createRedirects({
      db: t.hotprov.database.db,
      log: silentLogger,
      now: () => new Date(),
      phoneBaseUrlOf: () => 'http://prov.example.test:8080',
      credentialedPath: '/prov/',
      clientFor: () => client,
    });
    // The tenant's own services stay unused (their secrets cleared): the phone is registered by this test only, and
    // nothing asks the made-up hosts of before.each.
    assert.is((await t.api('PATCH', '/api/v1/tenant', { yealinkRpsSecret: null, yealinkXmlRpcPassword: null })).status, 200);
    await t.api('POST', '/api/v1/devices', { mac: '001565aabbdd', vendor: 'yealink', model: 'T46U' });
    const device = await (await import('../../src/domain/lookup.ts')).getDevice(t.hotprov.database.db, 1, '001565aabbdd');
    const result = await redirects.register(device);
    assert.is(result?.message, 'timed out');
  } finally {
    await rps?.close();
  }
});

/** One NOTIFY through a fresh relay, closed after: what the re-sync does for a tenant's PBX. */
async function notifyViaAsterisk(c: RelayConnection, endpoint: string, event: string): Promise<RelayResult> {
  const relay = new AsteriskRelay();
  try {
    const result = await relay.notify(c, endpoint, event);
    if (!result.ok) throw new Error(result.message);
    return result;
  } finally {
    relay.close();
  }
}

Secrets('a relay pointed at a closed port, or at something that is not a PBX, says only that', async () => {
  const closed = createTcpServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
  const closedPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const refused = await notifyViaAsterisk({ host: '127.0.0.1', port: closedPort, username: 'u', secret: SECRET }, 'HD0001', 'check-sync').catch(
    (e: Error) => e.message,
  );
  assert.is(refused, `relay 127.0.0.1:${closedPort}: connection refused`);

  const chatty = createTcpServer((socket) => socket.end('SSH-2.0-OpenSSH_9.6 secret banner\r\n\r\n'));
  await new Promise<void>((resolve) => chatty.listen(0, '127.0.0.1', () => resolve()));
  try {
    const port = (chatty.address() as AddressInfo).port;
    const answer = await notifyViaAsterisk({ host: '127.0.0.1', port, username: 'u', secret: SECRET }, 'HD0001', 'check-sync').then(
      (r: RelayResult) => r.message,
      (e: Error) => e.message,
    );
    assert.not.match(answer, /SSH|banner/);
  } finally {
    chatty.close();
  }
});

Secrets.run();

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Mac } from '../../src/domain/mac.ts';
import { createPolyZtp } from '../../src/redirect/polycom.ts';
import { createSnomSraps } from '../../src/redirect/snom.ts';
import type { RedirectClient } from '../../src/redirect/types.ts';
import { createYealinkRps } from '../../src/redirect/yealink.ts';
import { createYealinkXmlRpc } from '../../src/redirect/yealinkXmlRpc.ts';
import { type FakeService, fakePolyZtp, fakeSnomSraps, fakeYealinkRps, fakeYealinkXmlRpc } from '../helpers/redirectFakes.ts';

const KEY = 'AK-hotprov-test';
const SECRET = 's3cr3t-key-material';
const TARGET = { url: 'http://prov.example.test:8080/', username: 'hp-aabbcc', password: 'device-secret-1' };

interface Case {
  readonly vendor: string;
  readonly mac: Mac;
  start(): Promise<FakeService>;
  client(svc: FakeService, secret: string, timeoutMs?: number): RedirectClient;
}

const cases: Case[] = [
  {
    vendor: 'yealink',
    mac: '001565aabbcc' as Mac,
    start: () => fakeYealinkRps(KEY, SECRET),
    client: (svc, secret, timeoutMs) =>
      createYealinkRps({ baseUrl: svc.url, accessKeyId: KEY, accessKeySecret: secret, ...(timeoutMs === undefined ? {} : { timeoutMs }) }),
  },
  {
    vendor: 'yealink (XML-RPC)',
    mac: '805ec0aabbcc' as Mac,
    start: () => fakeYealinkXmlRpc(KEY, SECRET),
    client: (svc, secret, timeoutMs) =>
      createYealinkXmlRpc({ url: `${svc.url}/xmlrpc`, username: KEY, password: secret, ...(timeoutMs === undefined ? {} : { timeoutMs }) }),
  },
  {
    vendor: 'snom',
    mac: '000413aabbcc' as Mac,
    start: () => fakeSnomSraps(KEY, SECRET),
    client: (svc, secret, timeoutMs) =>
      createSnomSraps({ baseUrl: `${svc.url}/api/v1`, accessKeyId: KEY, accessKeySecret: secret, ...(timeoutMs === undefined ? {} : { timeoutMs }) }),
  },
  {
    vendor: 'polycom',
    mac: '0004f2aabbcc' as Mac,
    start: () => fakePolyZtp(SECRET),
    client: (svc, secret, timeoutMs) => createPolyZtp({ baseUrl: svc.url, apiKey: secret, ...(timeoutMs === undefined ? {} : { timeoutMs }) }),
  },
];

for (const c of cases) {
  const Redirect = suite<{ svc: FakeService }>(`redirect/${c.vendor}`, {} as { svc: FakeService });
  Redirect.before.each(async (ctx) => {
    ctx.svc = await c.start();
  });
  Redirect.after.each(({ svc }) => svc.close());

  Redirect('registers the MAC with the URL and the per-device credentials; check and deregister follow', async ({ svc }) => {
    const client = c.client(svc, SECRET);
    const result = await client.register(c.mac, TARGET);
    assert.is(result.status, 'registered', result.message);
    assert.equal(svc.registered.get(c.mac), { url: TARGET.url, username: TARGET.username, password: TARGET.password });
    assert.is((await client.check(c.mac)).status, 'registered');
    assert.is((await client.register(c.mac, { ...TARGET, password: 'rotated' })).status, 'registered', 'registering again updates');
    assert.is(svc.registered.get(c.mac)?.password, 'rotated');
    assert.is((await client.deregister(c.mac)).status, 'unknown');
    assert.is(svc.registered.has(c.mac), false);
    assert.is((await client.check(c.mac)).status, 'unknown');
    assert.is(svc.rejected, 0);
  });

  Redirect('a wrong secret is refused by the service, and reported as an error', async ({ svc }) => {
    const result = await c.client(svc, 'not-the-secret').register(c.mac, TARGET);
    assert.is(result.status, 'error');
    assert.ok(svc.rejected > 0, 'the stand-in checked the authentication');
    assert.is(svc.registered.size, 0);
    assert.not.ok(result.message.includes(SECRET));
  });

  Redirect('a MAC another account owns is a specific answer, not an error to retry', async ({ svc }) => {
    svc.foreign.add(c.mac);
    const result = await c.client(svc, SECRET).register(c.mac, TARGET);
    assert.is(result.status, 'registered_elsewhere', result.message);
  });

  Redirect("an invalid MAC is refused by the service: reported by class, never in the service's own words", async ({ svc }) => {
    const result = await c.client(svc, SECRET).register('0015' as Mac, TARGET);
    assert.is(result.status, 'error');
    assert.match(result.message, /HTTP \d{3}|refused|fault/i);
    assert.not.match(result.message, /invalid/i, 'the remote body is not passed on');
  });

  Redirect('server errors and time-outs are errors', async ({ svc }) => {
    svc.mode = 'error';
    assert.is((await c.client(svc, SECRET).register(c.mac, TARGET)).status, 'error');
    svc.mode = 'hang';
    const started = Date.now();
    const hung = await c
      .client(svc, SECRET, 300)
      .register(c.mac, TARGET)
      .catch((err: Error) => ({ status: 'error', message: err.message }));
    assert.is(hung.status, 'error');
    assert.ok(Date.now() - started < 3000);
  });

  Redirect.run();
}

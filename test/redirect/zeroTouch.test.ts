import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { redirectRetry } from '../../src/jobs/schedules.ts';
import { silentLogger } from '../../src/log.ts';
import { type FakeService, fakePolyZtp, fakeSnomSraps, fakeYealinkRps } from '../helpers/redirectFakes.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const KEY = 'AK-hotprov-test';
const SECRET = 's3cr3t-key-material';
interface ZeroTouch {
  t: TestServer;
  /** hotprov's clock: a test moves `clock.at` to make a back-off run out. */
  clock: { at: Date };
  yealink: FakeService;
  snom: FakeService;
  poly: FakeService;
}

const Zero = suite<ZeroTouch>('zero-touch', {} as ZeroTouch);
Zero.before.each(async (ctx) => {
  const clock = { at: new Date('2026-03-02T09:00:00Z') };
  const [yealink, snom, poly] = await Promise.all([fakeYealinkRps(KEY, SECRET), fakeSnomSraps(KEY, SECRET), fakePolyZtp(SECRET)]);
  const t = await startTestServer({ now: () => clock.at });
  Object.assign(ctx, { t, clock, yealink, snom, poly });
  const set = await t.api('PATCH', '/api/v1/tenant', {
    yealinkRpsUrl: yealink.url,
    yealinkRpsKeyId: KEY,
    yealinkRpsSecret: SECRET,
    snomSrapsUrl: `${snom.url}/api/v1`,
    snomSrapsKeyId: KEY,
    snomSrapsSecret: SECRET,
    polyZtpUrl: poly.url,
    polyZtpApiKey: SECRET,
  });
  assert.is(set.status, 200);
  assert.equal([set.body.yealinkRpsConfigured, set.body.snomSrapsConfigured, set.body.polyZtpConfigured], [true, true, true]);
  assert.not.ok(JSON.stringify(set.body).includes(SECRET), 'no secret in the answer');
});
Zero.after.each(async ({ t, yealink, snom, poly }) => {
  await t.close();
  await Promise.all([yealink.close(), snom.close(), poly.close()]);
});

const phones = [
  { vendor: 'yealink', model: 'T46U', mac: '001565aabbcc', file: '/001565aabbcc.cfg', fake: (c: ZeroTouch) => c.yealink },
  { vendor: 'snom', model: 'D785', mac: '000413aabbcc', file: '/000413AABBCC.xml', fake: (c: ZeroTouch) => c.snom },
  { vendor: 'polycom', model: 'VVX450', mac: '0004f2aabbcc', file: '/0004f2aabbcc-hotprov.cfg', fake: (c: ZeroTouch) => c.poly },
] as const;

for (const p of phones) {
  Zero(`${p.vendor}: enrolling registers the MAC pointing at hotprov with the phone's own credentials; deleting deregisters`, async (ctx) => {
    const { t } = ctx;
    await t.api('POST', '/api/v1/devices', { mac: p.mac, vendor: p.vendor, model: p.model });
    await t.hotprov.redirects.settled();
    const registered = p.fake(ctx).registered.get(p.mac);
    assert.is(registered?.url, 'http://prov.example.test:8080/prov/');
    assert.is(registered?.username, `hp${p.mac}`);
    assert.match(registered?.password ?? '', /^[0-9a-f]{32}$/);
    const device = await t.api('GET', `/api/v1/devices/${p.mac}`);
    assert.equal([device.body.redirect.status, device.body.access.state], ['registered', 'unclaimed']);
    assert.not.ok(JSON.stringify(device.body).includes(registered?.password ?? 'x'), 'the credentials are not in the API');

    assert.is((await t.anonymous(`/prov${p.file}`)).status, 401, 'a guessed MAC gets nothing');
    const basic = `Basic ${Buffer.from(`${registered?.username}:${registered?.password}`).toString('base64')}`;
    assert.is((await t.anonymous(`/prov${p.file}`, '', { headers: { authorization: basic } })).status, 200);
    // Credentials from a redirect service are a claim; the test tenant trusts loopback, so the phone is active.
    const claimed = (await t.api('GET', `/api/v1/devices/${p.mac}`)).body.access;
    assert.equal([claimed.state, claimed.claim.via, claimed.activatedBy], ['active', 'redirect', 'trusted_network']);

    await t.api('DELETE', `/api/v1/devices/${p.mac}`);
    await t.hotprov.redirects.settled();
    assert.is(p.fake(ctx).registered.has(p.mac), false);
  });
}

Zero('a failing service is retried with back-off, and its error is visible on the device', async ({ t, clock, yealink }) => {
  yealink.mode = 'error';
  await t.api('POST', '/api/v1/devices', { mac: '001565aabbcc', vendor: 'yealink', model: 'T46U' });
  await t.hotprov.redirects.settled();
  let redirect = (await t.api('GET', '/api/v1/devices/HD0001')).body.redirect;
  assert.equal([redirect.status, redirect.attempts, redirect.nextAttemptAt], ['error', 1, '2026-03-02T09:01:00.000Z']);
  assert.match(redirect.message, /HTTP 500/);

  const deps = { domain: t.hotprov.deps.domain, resync: t.hotprov.resync, redirects: t.hotprov.redirects, log: silentLogger };
  await redirectRetry.run(deps);
  assert.is((await t.api('GET', '/api/v1/devices/HD0001')).body.redirect.attempts, 1, 'not before its time');
  clock.at = new Date('2026-03-02T09:01:01Z');
  await redirectRetry.run(deps);
  redirect = (await t.api('GET', '/api/v1/devices/HD0001')).body.redirect;
  assert.equal([redirect.attempts, redirect.nextAttemptAt], [2, '2026-03-02T09:03:01.000Z'], 'the wait doubles');

  yealink.mode = 'normal';
  clock.at = new Date('2026-03-02T09:04:00Z');
  await redirectRetry.run(deps);
  redirect = (await t.api('GET', '/api/v1/devices/HD0001')).body.redirect;
  assert.equal([redirect.status, redirect.attempts], ['registered', 0]);
});

Zero('a MAC another account owns is reported and not retried in a loop', async ({ t, clock, snom }) => {
  snom.foreign.add('000413aabbcc');
  await t.api('POST', '/api/v1/devices', { mac: '000413aabbcc', vendor: 'snom', model: 'D785' });
  await t.hotprov.redirects.settled();
  const redirect = (await t.api('GET', '/api/v1/devices/HD0001')).body.redirect;
  assert.is(redirect.status, 'registered_elsewhere');
  assert.match(redirect.message, /Snom SRAPS: HTTP 403/);
  assert.not.match(redirect.message, /lacks permission/, "the service's own words stay out");
  const calls = snom.calls;
  clock.at = new Date('2026-03-03T09:00:00Z');
  await redirectRetry.run({ domain: t.hotprov.deps.domain, resync: t.hotprov.resync, redirects: t.hotprov.redirects, log: silentLogger });
  assert.is(snom.calls, calls);
});

Zero('moving hotprov to another base URL registers every phone again', async ({ yealink }) => {
  const dir = mkdtempSync(join(tmpdir(), 'hotprov-zt-'));
  const db = join(dir, 'h.db');
  try {
    const first = await startTestServer({ env: { HOTPROV_DB: db } });
    await first.api('PATCH', '/api/v1/tenant', { yealinkRpsUrl: yealink.url, yealinkRpsKeyId: KEY, yealinkRpsSecret: SECRET });
    await first.api('POST', '/api/v1/devices', { mac: '001565aabbcd', vendor: 'yealink', model: 'T46U' });
    await first.hotprov.redirects.settled();
    assert.is(yealink.registered.get('001565aabbcd')?.url, 'http://prov.example.test:8080/prov/');
    await first.close();

    const moved = await startTestServer({ env: { HOTPROV_DB: db, HOTPROV_BASE_URL: 'https://hotprov.example.test' } });
    try {
      assert.is((await moved.api('GET', '/api/v1/devices/HD0001')).body.redirect.status, 'pending');
      await redirectRetry.run({ domain: moved.hotprov.deps.domain, resync: moved.hotprov.resync, redirects: moved.hotprov.redirects, log: silentLogger });
      assert.is(yealink.registered.get('001565aabbcd')?.url, 'https://hotprov.example.test/prov/');
    } finally {
      await moved.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Zero.run();

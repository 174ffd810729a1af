import { request } from 'node:http';
import { createRequire } from 'node:module';
import { count, isNotNull } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { tablesOf } from '../../src/db/client.ts';
import { MAIN_FILE_KIND } from '../../src/provisioning/rendering.ts';
import { fakeYealinkRps } from '../helpers/redirectFakes.ts';
import { startTestServer, TEST_TOKEN, type TestServer } from '../helpers/server.ts';

/**
 * `GET /metrics` as Prometheus scrapes it: over HTTP, after real phone fetches and logins, its text read by a
 * parser of the exposition format written by others (parse-prometheus-text-format, which refuses a line it cannot
 * read); refused without the token or from an address not allowed; and nothing secret in it.
 */

interface Sample {
  readonly value?: string;
  readonly labels?: Record<string, string>;
  readonly buckets?: Record<string, string>;
  readonly count?: string;
  readonly sum?: string;
}
interface Family {
  readonly name: string;
  readonly type: string;
  readonly metrics: readonly Sample[];
}
const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[];

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
const SIP_PASSWORD = 'sip-secret-101-metrics';
const PIN = '4826';
const YEALINK_UA = 'Yealink SIP-T54W 96.86.0.70 80:5e:c0:11:22:33';

/** A GET from a chosen loopback address (127.0.0.2 is not 127.0.0.1 to the server). */
function getFrom(url: string, localAddress: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { localAddress, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type'] ?? '') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The scrape, parsed: every line must be the exposition format, or the parser throws. */
async function scrape(t: TestServer): Promise<{ text: string; families: Family[] }> {
  const res = await getFrom(`${t.url}/metrics`, '127.0.0.1');
  assert.is(res.status, 200, res.body);
  assert.match(res.type, /^text\/plain; version=0\.0\.4/);
  return { text: res.body, families: parsePrometheus(res.body) };
}

/** The sum of a family's samples whose labels include these. */
function total(families: readonly Family[], name: string, labels: Record<string, string> = {}): number {
  const family = families.find((f) => f.name === name);
  assert.ok(family !== undefined, `${name} is exposed`);
  return family.metrics
    .filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
    .reduce((sum, m) => sum + Number(m.value ?? m.count ?? 0), 0);
}

/** A phone's GET with its own If-None-Match (fetch() would add headers of its own to a conditional request). */
async function phoneGet(t: TestServer, path: string, headers: Record<string, string> = {}): Promise<{ status: number; etag: string }> {
  const target = await t.phoneTarget(path);
  const res = await getFrom(target.url, '127.0.0.1', {
    'user-agent': YEALINK_UA,
    ...(target.authorization === null ? {} : { authorization: target.authorization }),
    ...headers,
  });
  return { status: res.status, etag: '' };
}

interface MetricsContext {
  t: TestServer;
  clock: number;
}
const Metrics = suite<MetricsContext>('metrics', { t: undefined as unknown as TestServer, clock: 0 });
Metrics.before.each(async (ctx) => {
  ctx.clock = Date.now();
  ctx.t = await startTestServer({
    env: { HOTPROV_METRICS_TOKEN: METRICS_TOKEN, HOTPROV_METRICS_ALLOW: '127.0.0.1/32' },
    now: () => new Date(ctx.clock),
  });
  await ctx.t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice Martin', sipPassword: SIP_PASSWORD, pin: PIN });
  await ctx.t.api('POST', '/api/v1/devices', { mac: '80:5E:C0:11:22:33', vendor: 'yealink', model: 'T54W' });
});
Metrics.after.each(({ t }) => t.close());

Metrics('phone fetches, the render cache, logins, lockouts, NOTIFYs and seated desks are counted and parse', async (ctx) => {
  const { t } = ctx;
  const target = await t.phoneTarget('/805ec0112233.cfg');
  const first = await fetch(target.url, {
    headers: { 'user-agent': YEALINK_UA, ...(target.authorization === null ? {} : { authorization: target.authorization }) },
  });
  assert.is(first.status, 200);
  const etag = first.headers.get('etag') ?? '';
  assert.is((await phoneGet(t, '/805ec0112233.cfg', { 'if-none-match': etag })).status, 304);
  assert.is((await t.anonymous('/no-such-file.txt')).status, 404);
  assert.is((await t.anonymous('/prov/805ec0112233.cfg', YEALINK_UA)).status, 401);

  assert.is((await t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: PIN })).status, 200);
  // The phone fetches the revision its NOTIFY asked for: the re-sync is confirmed.
  assert.is((await phoneGet(t, '/805ec0112233.cfg')).status, 200);
  let { families } = await scrape(t);
  for (let i = 0; i < 100 && total(families, 'hotprov_notifies_total', { outcome: 'fetched' }) === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    ({ families } = await scrape(t));
  }
  assert.ok(
    families.some((f) => f.name === 'process_cpu_seconds_total'),
    "prom-client's process metrics too",
  );
  const fetches = families.find((f) => f.name === 'hotprov_phone_fetches_total');
  assert.is(fetches?.type, 'COUNTER');
  assert.ok(total(families, 'hotprov_phone_fetches_total', { vendor: 'yealink', file: MAIN_FILE_KIND, status: '200' }) >= 2);
  assert.is(total(families, 'hotprov_phone_fetches_total', { vendor: 'yealink', file: MAIN_FILE_KIND, status: '304' }), 1);
  assert.is(total(families, 'hotprov_phone_fetches_total', { vendor: 'unknown', status: '404' }), 1);
  assert.is(total(families, 'hotprov_phone_fetches_total', { vendor: 'yealink', status: '401' }), 1);
  assert.ok(total(families, 'hotprov_render_cache_misses_total') >= 2, 'the first fetch and the one after the login rendered');
  assert.ok(total(families, 'hotprov_render_cache_hits_total') >= 1, 'the 304 came from the cache');
  assert.ok(total(families, 'hotprov_render_cache_bytes') > 0);
  assert.ok(total(families, 'hotprov_render_seconds') >= 2, 'each render timed');
  assert.is(total(families, 'hotprov_hotdesk_total', { action: 'login', method: 'api', result: 'logged_in' }), 1);
  assert.is(total(families, 'hotprov_seated_desks', { tenant: 'default' }), 1);
  assert.is(total(families, 'hotprov_notifies_total', { outcome: 'fetched' }), 1);
  assert.is(total(families, 'hotprov_notify_fetch_seconds'), 1, 'the latency to the confirmed fetch');

  // Wrong PINs until the user is locked; then the logout.
  for (let i = 0; i < 5; i++) await t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '0000' });
  assert.is((await t.api('POST', '/api/v1/hotdesk/logout', { device: 'HD0001' })).status, 200);
  ({ families } = await scrape(t));
  assert.is(total(families, 'hotprov_hotdesk_total', { action: 'login', result: 'wrong_pin' }), 5);
  assert.is(total(families, 'hotprov_lockouts_total', { method: 'api' }), 1);
  assert.is(total(families, 'hotprov_hotdesk_total', { action: 'logout', method: 'api', result: 'logged_out' }), 1);
  assert.is(total(families, 'hotprov_seated_desks', { tenant: 'default' }), 0);
});

Metrics('redirect-service calls by result, and a NOTIFY the PBX cannot relay counted as failed', async ({ t }) => {
  const rps = await fakeYealinkRps('AK-metrics', 'rps-secret-metrics');
  try {
    await t.api('PATCH', '/api/v1/tenant', { yealinkRpsUrl: rps.url, yealinkRpsKeyId: 'AK-metrics', yealinkRpsSecret: 'rps-secret-metrics' });
    assert.is((await t.api('POST', '/api/v1/devices', { mac: '80:5E:C0:11:22:44', vendor: 'yealink', model: 'T54W' })).status, 201);
    await t.hotprov.redirects.settled();
    rps.mode = 'error';
    assert.is((await t.api('POST', '/api/v1/devices', { mac: '80:5E:C0:11:22:55', vendor: 'yealink', model: 'T54W' })).status, 201);
    await t.hotprov.redirects.settled();
  } finally {
    await rps.close();
  }
  // The PBX that should relay the NOTIFY does not listen: nothing reaches the phone.
  await t.api('PATCH', '/api/v1/tenant', { notifyMode: 'asterisk', relayHost: '127.0.0.1', relayPort: 1 });
  assert.is((await phoneGet(t, '/805ec0112233.cfg')).status, 200);
  assert.is((await t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: PIN })).status, 200);
  await t.hotprov.resync.settled();
  const { text, families } = await scrape(t);
  assert.ok(total(families, 'hotprov_redirect_calls_total', { result: 'registered' }) >= 1);
  assert.ok(total(families, 'hotprov_redirect_calls_total', { result: 'error' }) >= 1);
  // The tenant's change re-syncs its phones too, and the login supersedes one of those: each job that failed is one.
  const { syncJobs } = tablesOf(t.hotprov.database.db);
  const failedJobs = await t.hotprov.database.db.select({ n: count() }).from(syncJobs).where(isNotNull(syncJobs.failedAt));
  assert.ok((failedJobs[0]?.n ?? 0) >= 1);
  assert.is(total(families, 'hotprov_notifies_total', { outcome: 'failed' }), failedJobs[0]?.n);
  assert.not.ok(text.includes('rps-secret-metrics'));
});

Metrics('a device that has not fetched for a day is counted per tenant at the scrape', async (ctx) => {
  const { t } = ctx;
  assert.is(total((await scrape(t)).families, 'hotprov_devices_unseen', { tenant: 'default' }), 0);
  ctx.clock += 25 * 60 * 60 * 1000;
  assert.is(total((await scrape(t)).families, 'hotprov_devices_unseen', { tenant: 'default' }), 1);
  assert.is((await phoneGet(t, '/805ec0112233.cfg')).status, 200);
  await t.hotprov.provisioning.flush();
  assert.is(total((await scrape(t)).families, 'hotprov_devices_unseen', { tenant: 'default' }), 0, 'seen again');
});

Metrics('refused without the token from an address not allowed; the token lets it in from anywhere', async ({ t }) => {
  const url = `${t.url}/metrics`;
  const bare = await getFrom(url, '127.0.0.2');
  assert.is(bare.status, 401);
  assert.not.match(bare.body, /hotprov_/);
  assert.is((await getFrom(url, '127.0.0.2', { authorization: 'Bearer not-the-metrics-token' })).status, 401);
  assert.is((await getFrom(url, '127.0.0.2', { authorization: `Bearer ${TEST_TOKEN}` })).status, 401, 'the API token is not the metrics token');
  const allowed = await getFrom(url, '127.0.0.2', { authorization: `Bearer ${METRICS_TOKEN}` });
  assert.is(allowed.status, 200);
  assert.match(allowed.body, /^# TYPE hotprov_phone_fetches_total counter$/m);
  assert.is((await getFrom(url, '127.0.0.1')).status, 200, 'an allowed address needs no token');
});

Metrics('no secret in the scrape: no token, password or PIN, not even as a label', async ({ t }) => {
  const device = await t.api('GET', '/api/v1/devices/805ec0112233');
  await t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: PIN });
  await phoneGet(t, '/805ec0112233.cfg');
  const { text, families } = await scrape(t);
  const secrets = [TEST_TOKEN, METRICS_TOKEN, SIP_PASSWORD, device.body?.provPassword, device.body?.idlePassword].filter(
    (s): s is string => typeof s === 'string' && s.length > 0,
  );
  assert.ok(secrets.length >= 3);
  for (const secret of secrets) assert.not.ok(text.includes(secret), 'a secret is in the scrape');
  for (const family of families)
    for (const sample of family.metrics)
      for (const value of Object.values(sample.labels ?? {})) assert.is.not(value, PIN, `${family.name} has the PIN as a label`);
});

Metrics.run();

const Access = suite('metrics access by default');

Access('without settings every loopback address may scrape, nothing else is let in', async () => {
  assert.equal([...loadConfig({}).metrics.allow], ['127.0.0.0/8', '::1']);
  assert.is(loadConfig({}).metrics.token, null);
  const t = await startTestServer();
  try {
    assert.is((await getFrom(`${t.url}/metrics`, '127.0.0.1')).status, 200);
    assert.is((await getFrom(`${t.url}/metrics`, '127.0.0.2')).status, 200, 'this machine is 127.0.0.0/8');
  } finally {
    await t.close();
  }
});

Access('an allow-list without a token refuses other addresses with 403, and a bearer token does not help', async () => {
  const t = await startTestServer({ env: { HOTPROV_METRICS_ALLOW: '127.0.0.1/32' } });
  try {
    assert.is((await getFrom(`${t.url}/metrics`, '127.0.0.1')).status, 200);
    assert.is((await getFrom(`${t.url}/metrics`, '127.0.0.2')).status, 403);
    assert.is((await getFrom(`${t.url}/metrics`, '127.0.0.2', { authorization: `Bearer ${TEST_TOKEN}` })).status, 403);
  } finally {
    await t.close();
  }
});

Access('a malformed allow-list or a short token is refused at start-up, naming the variable', () => {
  try {
    loadConfig({ HOTPROV_METRICS_ALLOW: '10.0.0.0/33', HOTPROV_METRICS_TOKEN: 'short' });
    assert.unreachable('accepted');
  } catch (err) {
    assert.instance(err, ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    assert.match(problems, /HOTPROV_METRICS_ALLOW/);
    assert.match(problems, /HOTPROV_METRICS_TOKEN must be at least 16 characters/);
    assert.not.match(problems, /short/);
  }
});

Access.run();

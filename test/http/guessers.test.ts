import { eq, isNull } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tablesOf } from '../../src/db/client.ts';
import { createLogger } from '../../src/log.ts';
import { readBootstrap } from '../helpers/bootstrap.ts';
import { logEntries } from '../helpers/logs.ts';
import { basicAuthorization, startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * What a client that only guesses MACs gets: nothing secret, nothing that tells enrolled MACs from unknown ones,
 * and soon nothing at all.
 */
/** Each test's server, started by the test itself (with its own budget), and the log lines it wrote. */
interface GuessersContext {
  t: TestServer;
  logged: string[];
}

/** Every vendor's OUIs the sweep covers, and the file that hands out credentials. */
const SWEEP = [
  { oui: '805ec0', file: (mac: string) => `${mac}.cfg`, ua: 'Yealink SIP-T54W 96.86.0.70' },
  { oui: '001565', file: (mac: string) => `${mac}.cfg`, ua: 'Yealink SIP-T46U 108.86.0.20' },
  { oui: '000413', file: (mac: string) => `${mac.toUpperCase()}.xml`, ua: 'Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12-00004-g9ba52f5)' },
  { oui: '0004f2', file: (mac: string) => `${mac}-hotprov.cfg`, ua: 'FileTransport PolycomVVX-VVX_450-UA/5.9.1.0615 Type/Application' },
  { oui: '64167f', file: (mac: string) => `${mac}-hotprov.cfg`, ua: 'FileTransport PolycomVVX-VVX_250-UA/6.4.0.0000 Type/Application' },
  { oui: '482567', file: (mac: string) => `${mac}-hotprov.cfg`, ua: 'FileTransport PolyEdge-Edge_E450-UA/8.0.0.15602 Type/Application' },
] as const;

/** Enrolled phones inside the sweep: in service (active, one of them seated), waiting, and deleted. */
const ENROLLED = [
  { mac: '805ec0000010', vendor: 'yealink', model: 'T54W' },
  { mac: '001565000020', vendor: 'yealink', model: 'T46U' },
  { mac: '000413000030', vendor: 'snom', model: 'D785' },
  { mac: '0004f2000040', vendor: 'polycom', model: 'VVX450' },
  { mac: '64167f000050', vendor: 'polycom', model: 'VVX250' },
  { mac: '482567000060', vendor: 'polycom', model: 'E450' },
] as const;

async function start(ctx: GuessersContext, env: Record<string, string> = {}): Promise<GuessersContext> {
  const logged: string[] = [];
  const t = await startTestServer({ env: { HOTPROV_TRUST_PROXY: 'true', ...env }, log: createLogger('info', (line) => logged.push(line)) });
  ctx.t = t;
  ctx.logged = logged;
  await t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice Martin', sipPassword: 'sip-secret-101', pin: '4826' });
  for (const d of ENROLLED) await t.api('POST', '/api/v1/devices', d);
  // Each phone claims its credentials from the office LAN (the test tenant trusts loopback) and is in service.
  for (const d of ENROLLED) {
    const sweep = SWEEP.find((s) => d.mac.startsWith(s.oui));
    if (sweep === undefined) continue;
    const first = await t.anonymous(`/${sweep.file(d.mac)}`, sweep.ua);
    await first.text();
    // …and fetches with the credentials it was given: in service.
    await (await t.phone(`/${sweep.file(d.mac)}`, sweep.ua)).text();
  }
  await t.api('POST', '/api/v1/hotdesk/login', { device: ENROLLED[0].mac, extension: '101', pin: '4826' });
  await t.api('DELETE', `/api/v1/devices/${ENROLLED[5].mac}`);
  return ctx;
}

/** Every secret hotprov holds for these phones: none may appear in any answer to a guesser. */
async function secrets(t: TestServer): Promise<string[]> {
  const { db } = t.hotprov.database;
  const { devices } = tablesOf(db);
  const rows = await db
    .select({ idlePassword: devices.idlePassword, provPassword: devices.provPassword, screenSecret: devices.screenSecret, webPassword: devices.webPassword })
    .from(devices);
  return ['sip-secret-101', ...rows.flatMap((r) => Object.values(r).filter((v): v is string => v !== null))];
}

const Guessers = suite<GuessersContext>('http/MAC guessers', {} as GuessersContext);
Guessers.after.each(({ t }) => t.close());

Guessers('a sweep of 10,000 MACs over six OUIs finds no secret, even without a budget', async (ctx) => {
  const { t } = await start(ctx, { HOTPROV_PHONE_FAILURE_BUDGET: '1000000' });
  const known = await secrets(t);
  let leaks = 0;
  let answered = 0;
  for (let batch = 0; batch < 100; batch++) {
    const bodies = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const n = batch * 100 + i;
        const sweep = SWEEP[n % SWEEP.length] ?? SWEEP[0];
        const mac = `${sweep.oui}${Math.floor(n / SWEEP.length)
          .toString(16)
          .padStart(6, '0')}`;
        const res = await t.anonymous(`/${sweep.file(mac)}`, sweep.ua);
        if (res.status === 200) answered++;
        return res.text();
      }),
    );
    for (const body of bodies) if (known.some((s) => body.includes(s))) leaks++;
  }
  assert.is(answered, 10_000, 'every guess gets the same kind of answer');
  assert.is(leaks, 0);
  // The sweep claimed nothing: every enrolled phone had claimed its own before.
  const { db } = t.hotprov.database;
  const { devices } = tablesOf(db);
  const states = await db.select({ access: devices.access }).from(devices).where(isNull(devices.retiredAt));
  assert.ok(states.every((s) => s.access === 'active'));
});

Guessers('past its budget an address gets 429 with Retry-After, with one audit event and one log line', async (ctx) => {
  const { t, logged } = await start(ctx, { HOTPROV_PHONE_FAILURE_BUDGET: '20', HOTPROV_PHONE_BLOCK_SECONDS: '600' });
  const statuses: number[] = [];
  for (let n = 0; n < 300; n++) {
    const mac = `805ec1${n.toString(16).padStart(6, '0')}`;
    const res = await t.anonymous(`/${mac}.cfg`, '', { headers: { 'x-forwarded-for': '198.51.100.23' } });
    statuses.push(res.status);
    if (res.status === 429) assert.match(res.headers.get('retry-after') ?? '', /^\d+$/);
    await res.arrayBuffer();
  }
  assert.is(statuses.filter((s) => s === 200).length, 20);
  assert.is(statuses.filter((s) => s === 429).length, 280);
  // A phone behind the same address that proves itself is still served; guesses from there are not.
  const proven = await t.phone(`/${ENROLLED[1].mac}.cfg`, '', { headers: { 'x-forwarded-for': '198.51.100.23' } });
  assert.is(proven.status, 200);
  const unproven = await t.anonymous(`/${ENROLLED[1].mac}.cfg`, '', { headers: { 'x-forwarded-for': '198.51.100.23' } });
  assert.is(unproven.status, 429);
  // Another address is not affected; an address the client writes before the proxy's own changes nothing.
  assert.is((await t.anonymous('/805ec1ffffff.cfg', '', { headers: { 'x-forwarded-for': '198.51.100.24' } })).status, 200);
  assert.is((await t.anonymous('/805ec1fffffe.cfg', '', { headers: { 'x-forwarded-for': '198.51.100.24, 198.51.100.23' } })).status, 429);
  const { db } = t.hotprov.database;
  const { auditEvents } = tablesOf(db);
  const audits = await db.select({ detail: auditEvents.detail }).from(auditEvents).where(eq(auditEvents.action, 'security.address_blocked'));
  assert.is(audits.length, 1);
  assert.is(logEntries(logged).filter((e) => e.category === 'security' && e.msg.includes('blocked')).length, 1, 'one line per block, not one per guess');
});

Guessers('unknown, unclaimed, claimed, active and deleted MACs get the same answer without credentials', async (ctx) => {
  const { t } = await start(ctx);
  await t.api('PATCH', '/api/v1/tenant', { trustedNetworks: [] });
  await t.api('POST', '/api/v1/devices', { mac: '805ec0000070', vendor: 'yealink', model: 'T54W' }); // unclaimed
  await t.api('POST', '/api/v1/devices', { mac: '805ec0000080', vendor: 'yealink', model: 'T54W' });
  await (await t.anonymous('/805ec0000080.cfg', SWEEP[0].ua)).text(); // claimed, waiting
  const cases = {
    unknown: '805ec0abcdef',
    unclaimed: '805ec0000070',
    claimed: '805ec0000080',
    active: ENROLLED[0].mac,
  };
  const shape = async (mac: string, path: string, ua: string = SWEEP[0].ua) => {
    const res = await t.anonymous(path.replace('{mac}', mac), ua.replace('{mac}', mac));
    const body = (await res.text()).replaceAll(mac, '{mac}').replace(/[0-9a-f]{32}/g, '{secret}');
    const headers = [...res.headers.keys()].filter((h) => h !== 'date').sort();
    return { status: res.status, headers, type: res.headers.get('content-type'), cache: res.headers.get('cache-control'), body };
  };
  for (const path of ['/{mac}.cfg', '/{mac}.boot', '/prov/{mac}.cfg']) {
    const answers = await Promise.all(Object.values(cases).map((mac) => shape(mac, path)));
    for (const [i, answer] of answers.entries()) assert.equal(answer, answers[0], `${Object.keys(cases)[i]} ${path}`);
  }
  // Poly and Snom too, and a deleted Poly phone among them.
  const poly = await Promise.all([
    shape('0004f2abcdef', '/{mac}-hotprov.cfg', SWEEP[3].ua),
    shape(ENROLLED[3].mac, '/{mac}-hotprov.cfg', SWEEP[3].ua),
    shape(ENROLLED[5].mac, '/{mac}-hotprov.cfg', SWEEP[3].ua),
  ]);
  assert.equal(poly[1], poly[0]);
  assert.equal(poly[2], poly[0]);
  const snom = await Promise.all([shape('000413abcdef', '/{mac}.xml', SWEEP[2].ua), shape(ENROLLED[2].mac, '/{mac}.xml', SWEEP[2].ua)]);
  assert.equal(snom[1], snom[0]);
});

Guessers('a User-Agent naming another MAC than the path is refused and audited', async (ctx) => {
  const { t } = await start(ctx);
  const res = await t.phone(`/${ENROLLED[0].mac}.cfg`, 'Yealink SIP-T54W 96.86.0.70 80:5e:c0:99:99:99');
  assert.is(res.status, 403);
  const { db } = t.hotprov.database;
  const { auditEvents } = tablesOf(db);
  const audits = await db.select({ detail: auditEvents.detail }).from(auditEvents).where(eq(auditEvents.action, 'security.phone_mismatch'));
  assert.is(audits.length, 1);
  assert.is(JSON.parse(audits[0]?.detail ?? '{}').reason, 'user_agent_mac');
});

Guessers('only the phone itself is recorded: a request without its credentials changes nothing of the device', async (ctx) => {
  const { t } = await start(ctx);
  const before = (await t.api('GET', `/api/v1/devices/${ENROLLED[1].mac}`)).body;
  await (await t.anonymous(`/${ENROLLED[1].mac}.cfg`, SWEEP[1].ua, { headers: { 'x-forwarded-for': '203.0.113.9' } })).text();
  await (
    await t.anonymous(`/prov/${ENROLLED[1].mac}.cfg`, SWEEP[1].ua, {
      headers: { 'x-forwarded-for': '203.0.113.9', authorization: basicAuthorization('x', 'y') },
    })
  ).text();
  const after = (await t.api('GET', `/api/v1/devices/${ENROLLED[1].mac}`)).body;
  assert.equal(after.lastSeen, before.lastSeen);
  assert.equal(after.sync, before.sync);
});

Guessers('a guesser that claims an unclaimed MAC first gets credentials of a phone with no account', async (ctx) => {
  const { t } = await start(ctx);
  await t.api('PATCH', '/api/v1/tenant', { trustedNetworks: [] });
  await t.api('POST', '/api/v1/devices', { mac: '805ec0000090', vendor: 'yealink', model: 'T54W' });
  const stolen = readBootstrap('yealink', await (await t.anonymous('/805ec0000090.cfg', '', { headers: { 'x-forwarded-for': '203.0.113.66' } })).text());
  const res = await t.anonymous('/prov/805ec0000090.cfg', '', { headers: { authorization: basicAuthorization(stolen.username, stolen.password) } });
  const body = await res.text();
  assert.is(res.status, 200);
  assert.not.ok((await secrets(t)).filter((s) => s !== stolen.password && !stolen.activationUrl.includes(s)).some((s) => body.includes(s)));
  assert.match(body, /^account\.1\.enable = 0$/m);
  const d = (await t.api('GET', '/api/v1/devices/805ec0000090')).body;
  assert.is(d.access.state, 'claimed');
  assert.is(d.access.claim.ip, '203.0.113.66', 'the admin sees who claimed it before approving');
});

Guessers('behind a trusted proxy the client is the address the proxy appended, not one it wrote itself', async (ctx) => {
  const { t } = await start(ctx);
  await t.api('PATCH', '/api/v1/tenant', { trustedNetworks: ['10.0.0.0/8'] });
  await t.api('POST', '/api/v1/devices', { mac: '805ec0000099', vendor: 'yealink', model: 'T54W' });
  // The client claims to be on the office LAN; the proxy appends where it really came from.
  await (await t.anonymous('/805ec0000099.cfg', '', { headers: { 'x-forwarded-for': '10.9.9.9, 203.0.113.66' } })).text();
  const access = (await t.api('GET', '/api/v1/devices/805ec0000099')).body.access;
  assert.equal([access.state, access.claim.ip], ['claimed', '203.0.113.66']);
});

Guessers('wrong credentials on a shared file count against the address, as on a device file', async (ctx) => {
  const { t } = await start(ctx, { HOTPROV_PHONE_FAILURE_BUDGET: '5', HOTPROV_PHONE_BLOCK_SECONDS: '600' });
  const from = { 'x-forwarded-for': '198.51.100.31' };
  for (let n = 0; n < 5; n++) {
    const guess = await t.anonymous('/y000000000096.cfg', '', {
      headers: { ...from, authorization: basicAuthorization(`hp${ENROLLED[0].mac}`, `guess-${n}`) },
    });
    assert.is(guess.status, 200, 'a shared file is answered, proven or not');
    await guess.arrayBuffer();
  }
  assert.is((await t.anonymous('/805ec1000001.cfg', '', { headers: from })).status, 429, 'the guesses used up the budget');
  assert.is((await t.anonymous('/805ec1000001.cfg', '', { headers: { 'x-forwarded-for': '198.51.100.32' } })).status, 200);
});

Guessers.run();

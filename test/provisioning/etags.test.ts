import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Files are rendered once and served from memory; every change that alters what a phone gets must change the ETag
 * of exactly the phones it affects, and no other.
 */
/** Each test's own server: four phones enrolled, two of them seated. */
interface EtagsContext {
  t: TestServer;
}
const PHONES = {
  HD0001: '/001565000001.cfg',
  HD0002: '/001565000002.cfg',
  HD0003: '/000413000003.xml',
  HD0004: '/0004f2000004-hotprov.cfg',
} as const;
type Phone = keyof typeof PHONES;

async function enrolAndSeat(env: Record<string, string> = {}): Promise<TestServer> {
  const server = await startTestServer({ env });
  await server.api('POST', '/api/v1/devices', { mac: '001565000001', vendor: 'yealink', model: 'T46U' });
  await server.api('POST', '/api/v1/devices', { mac: '001565000002', vendor: 'yealink', model: 'T54W' });
  await server.api('POST', '/api/v1/devices', { mac: '000413000003', vendor: 'snom', model: 'D785' });
  await server.api('POST', '/api/v1/devices', { mac: '0004f2000004', vendor: 'polycom', model: 'VVX450' });
  for (const ext of ['101', '102', '103'])
    await server.api('POST', '/api/v1/users', { extension: ext, displayName: `User ${ext}`, sipPassword: `s-${ext}`, pin: '4826' });
  await server.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  await server.api('POST', '/api/v1/hotdesk/login', { device: 'HD0003', extension: '102', pin: '4826' });
  return server;
}

async function etags(t: TestServer): Promise<Record<Phone, string>> {
  const out = {} as Record<Phone, string>;
  for (const [phone, path] of Object.entries(PHONES) as [Phone, string][]) {
    const res = await t.phone(path);
    out[phone] = `${res.headers.get('etag')}`;
    await res.arrayBuffer();
  }
  return out;
}

/** Runs a change and answers which phones' main file changed, as a phone that fetches it whole sees it. */
async function changedBy(t: TestServer, change: (t: TestServer) => Promise<unknown>): Promise<Phone[]> {
  const before = await etags(t);
  assert.equal(await etags(t), before, 'served twice unchanged, the same ETag');
  await change(t);
  const after = await etags(t);
  return (Object.keys(PHONES) as Phone[]).filter((p) => before[p] !== after[p]);
}

/** The same, as a polling phone sees it: it sends the ETag it holds, and only a changed file is sent again. */
async function changedForPollingPhones(t: TestServer, change: (t: TestServer) => Promise<unknown>): Promise<Phone[]> {
  const held = await etags(t);
  const poll = async () => {
    const changed: Phone[] = [];
    for (const [phone, path] of Object.entries(PHONES) as [Phone, string][]) {
      const res = await t.phone(path, '', { headers: { 'if-none-match': held[phone] } });
      const body = await res.text();
      if (res.status === 304) {
        assert.is(body, '', `${phone}: a 304 has no body`);
        assert.is(res.headers.get('etag'), held[phone], `${phone}: a 304 names the ETag the phone holds`);
        continue;
      }
      assert.is(res.status, 200, phone);
      assert.is.not(res.headers.get('etag'), held[phone], `${phone}: sent again only with a new ETag`);
      assert.ok(body.length > 0, `${phone}: the new file is sent whole`);
      changed.push(phone);
    }
    return changed;
  };
  assert.equal(await poll(), [], 'nothing changed yet: every phone gets 304');
  await change(t);
  return poll();
}

const cases: [string, (t: TestServer) => Promise<unknown>, Phone[]][] = [
  ['a login changes only that phone', (t) => t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0002', extension: '103', pin: '4826' }), ['HD0002']],
  ['a move changes both phones', (t) => t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0004', extension: '101', pin: '4826' }), ['HD0001', 'HD0004']],
  ['a logout changes only that phone', (t) => t.api('POST', '/api/v1/hotdesk/logout', { device: 'HD0003' }), ['HD0003']],
  ["a seated user's name changes their phone", (t) => t.api('PATCH', '/api/v1/users/101', { displayName: 'Renamed' }), ['HD0001']],
  ["a seated user's keys change their phone", (t) => t.api('PATCH', '/api/v1/users/102', { keys: [{ type: 'blf', value: '101', label: 'A' }] }), ['HD0003']],
  ['a user who sits nowhere changes no phone', (t) => t.api('PATCH', '/api/v1/users/103', { displayName: 'Nobody' }), []],
  ['deleting a seated user changes their phone', (t) => t.api('DELETE', '/api/v1/users/101'), ['HD0001']],
  [
    'the registrar changes every phone',
    (t) => t.api('PATCH', '/api/v1/tenant', { registrarHost: 'pbx2.example.test' }),
    ['HD0001', 'HD0002', 'HD0003', 'HD0004'],
  ],
  // A logged-in Snom's dial plan is open, so the emergency list reaches only the others.
  [
    'the emergency numbers change the phones that show them',
    (t) => t.api('PATCH', '/api/v1/tenant', { emergencyNumbers: ['112'] }),
    ['HD0001', 'HD0002', 'HD0004'],
  ],
  [
    "a template change changes that vendor's phones",
    async (t) => {
      const tenantId = (await t.hotprov.deps.tenant()).id;
      const source = t.hotprov.templates.currentSource(tenantId, 'yealink', 'device.cfg');
      t.hotprov.templates.setOverride(tenantId, 'yealink', 'device.cfg', `${source}\n## edited\n`);
    },
    ['HD0001', 'HD0002'],
  ],
  ["a device's model changes that phone", (t) => t.api('PATCH', '/api/v1/devices/HD0002', { model: 'T57W' }), ['HD0002']],
  ['a label, which no file shows, changes nothing', (t) => t.api('PATCH', '/api/v1/devices/HD0002', { label: 'Door' }), []],
];

const Etags = suite<EtagsContext>('provisioning/etags', {} as EtagsContext);
Etags.before.each(async (ctx) => {
  ctx.t = await enrolAndSeat();
});
Etags.after.each(({ t }) => t.close());
for (const [name, change, expected] of cases) {
  Etags(name, async ({ t }) => {
    assert.equal(await changedBy(t, change), expected);
  });
}

/**
 * With no memory for bodies every file is evicted as soon as it is sent, and a 304 is answered from the
 * revision kept per device: the same changes must still reach exactly the same phones.
 */
const Polling = suite<EtagsContext>('provisioning/etags of polling phones, bodies evicted', {} as EtagsContext);
Polling.before.each(async (ctx) => {
  ctx.t = await enrolAndSeat({ HOTPROV_CACHE_MB: '0' });
});
Polling.after.each(({ t }) => t.close());
for (const [name, change, expected] of cases) {
  Polling(name, async ({ t }) => {
    assert.equal(await changedForPollingPhones(t, change), expected);
  });
}
Polling.run();

Etags('an unchanged file answers 304 from memory, and the body is the one rendered', async ({ t }) => {
  const first = await t.phone(PHONES.HD0001);
  const body = await first.text();
  const again = await t.phone(PHONES.HD0001);
  assert.is(await again.text(), body);
  assert.is(again.headers.get('etag'), first.headers.get('etag'));
});

Etags.run();

const NoCache = suite('provisioning/without a cache');
NoCache('with no memory for rendered files every fetch renders, and gives the same bytes', async () => {
  const small = await startTestServer({ env: { HOTPROV_CACHE_MB: '0' } });
  try {
    await small.api('POST', '/api/v1/devices', { mac: '001565000001', vendor: 'yealink', model: 'T46U' });
    const first = await small.phone('/001565000001.cfg');
    const again = await small.phone('/001565000001.cfg');
    assert.is(await again.text(), await first.text());
    assert.is(again.headers.get('etag'), first.headers.get('etag'));
  } finally {
    await small.close();
  }
});
NoCache.run();

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * What a render keeps in memory between phones (the tenant's settings, a model's empty key slots and what each
 * vendor writes for them, the skeleton's record of those shared objects) must never outlive a change: a tenant
 * settings change, a user's new keys or a template edit reaches the next fetch, whether the phone's file was cached
 * or not, and a phone enrolled after the change gets the new settings too.
 */
interface MemoContext {
  t: TestServer;
}
const Memo = suite<MemoContext>('provisioning/render memory', { t: undefined as unknown as TestServer });
Memo.before.each(async (ctx) => {
  ctx.t = await startTestServer({ env: { HOTPROV_CACHE_MB: '0' } });
});
Memo.after.each(async ({ t }) => {
  await t.close();
});

const enrol = async (t: TestServer, mac: string, vendor: string, model: string) => {
  const res = await t.api('POST', '/api/v1/devices', { mac, vendor, model });
  assert.is(res.status, 201, JSON.stringify(res.body));
};
const fetched = async (t: TestServer, path: string) => {
  const res = await t.phone(path);
  assert.is(res.status, 200, path);
  return res.text();
};

Memo('a tenant settings change reaches the next fetch of every vendor, and a phone enrolled after it', async ({ t }) => {
  await enrol(t, '001565000001', 'yealink', 'T54W');
  await enrol(t, '000413000002', 'snom', 'D785');
  await enrol(t, '0004f2000003', 'polycom', 'VVX450');
  const paths = ['/001565000001.cfg', '/000413000002.xml', '/0004f2000003-hotprov.cfg'];
  for (const path of paths) assert.not.match(await fetched(t, path), '*97', `${path}: not yet`);
  // Twice, so the second render of each comes from the settings and skeletons kept by the first.
  for (const path of paths) await fetched(t, path);
  const res = await t.api('PATCH', '/api/v1/tenant', { pickupCode: '*97', ntpServer: 'ntp.example.test' });
  assert.is(res.status, 200, JSON.stringify(res.body));
  for (const path of paths) {
    const body = await fetched(t, path);
    // Snom writes the pickup code into BLF keys only, which an idle phone has none of.
    if (!path.endsWith('.xml')) assert.match(body, '*97', `${path}: the new pickup code`);
    assert.match(body, 'ntp.example.test', `${path}: the new NTP server`);
  }
  await enrol(t, '001565000004', 'yealink', 'T46U');
  assert.match(await fetched(t, '/001565000004.cfg'), 'features.pickup.direct_pickup_code = *97');
});

Memo('a tenant change when no phone is enrolled still reaches the first phone enrolled after it', async ({ t }) => {
  await enrol(t, '001565000001', 'yealink', 'T54W');
  await fetched(t, '/001565000001.cfg');
  const removed = await t.api('DELETE', '/api/v1/devices/HD0001');
  assert.ok(removed.status < 300, JSON.stringify(removed.body));
  const res = await t.api('PATCH', '/api/v1/tenant', { pickupCode: '*98' });
  assert.is(res.status, 200, JSON.stringify(res.body));
  await enrol(t, '001565000002', 'yealink', 'T54W');
  assert.match(await fetched(t, '/001565000002.cfg'), 'features.pickup.direct_pickup_code = *98');
});

Memo('keys on a shared empty slot come and go: the next fetch writes them, then the slot empty again', async ({ t }) => {
  await enrol(t, '001565000001', 'yealink', 'T54W');
  await enrol(t, '001565000002', 'yealink', 'T54W');
  const user = await t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice', sipPassword: 's-101', pin: '4826' });
  assert.is(user.status, 201, JSON.stringify(user.body));
  await t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  const idle = await fetched(t, '/001565000002.cfg');
  assert.match(await fetched(t, '/001565000001.cfg'), 'Alice');
  const keys = await t.api('PATCH', '/api/v1/users/101', { keys: [{ type: 'blf', value: '202', label: 'Bob' }] });
  assert.ok(keys.status < 300, JSON.stringify(keys.body));
  const withKey = await fetched(t, '/001565000001.cfg');
  assert.match(withKey, /linekey\.3\.value = 202\nlinekey\.3\.label = Bob/);
  // The idle phone of the same model, rendered between, still has every key empty.
  assert.is(await fetched(t, '/001565000002.cfg'), idle);
  assert.ok((await t.api('PATCH', '/api/v1/users/101', { keys: [] })).status < 300);
  const without = await fetched(t, '/001565000001.cfg');
  assert.not.match(without, 'Bob');
  assert.match(without, /linekey\.3\.type = 0\n/);
});

Memo.run();

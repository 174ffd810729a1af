import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, TEST_TOKEN, type TestServer } from '../helpers/server.ts';

interface Context {
  t: TestServer;
}

const Api = suite<Context>('http/api');
Api.before.each(async (ctx) => {
  ctx.t = await startTestServer();
});
Api.after.each((ctx) => ctx.t.close());

const alice = {
  extension: '101',
  displayName: 'Alice Martin',
  sipPassword: 'sip-secret-101',
  pin: '4826',
  hotdesk: true,
  keys: [
    { type: 'blf', value: '102', label: 'Bob' },
    { type: 'speed', value: '0612345678', label: 'Mobile' },
  ],
};
const yealink = { mac: '00:15:65:AA:BB:CC', vendor: 'yealink', model: 'T46U', hotdesk: true, label: 'Desk 1' };

Api('401 without the bearer token, and for a wrong one', async (ctx) => {
  const res = await fetch(`${ctx.t.url}/api/v1/users`);
  assert.is(res.status, 401);
  assert.equal(await res.json(), { error: { code: 'unauthorized', message: 'a valid bearer token is required' } });
  const wrong = await fetch(`${ctx.t.url}/api/v1/users`, { headers: { authorization: 'Bearer nope' } });
  assert.is(wrong.status, 401);
});

Api('201 creates a user and never answers with the PIN, its hash or the SIP password', async (ctx) => {
  const res = await ctx.t.api('POST', '/api/v1/users', alice);
  assert.is(res.status, 201);
  assert.is(res.body.extension, '101');
  assert.is(res.body.pinSet, true);
  assert.equal(res.body.keys, alice.keys);
  const text = JSON.stringify(res.body);
  for (const secret of ['4826', 'scrypt', 'sip-secret-101']) assert.not.ok(text.includes(secret), `${secret} leaked`);
  const again = await ctx.t.api('GET', '/api/v1/users/101');
  assert.equal(again.body, res.body);
});

Api('400 names the field for bad input, never a 500', async (ctx) => {
  const cases: [unknown, RegExp][] = [
    [{ ...alice, extension: undefined }, /^extension: is required$/],
    [{ ...alice, extension: '10a' }, /^extension: /],
    [{ ...alice, pin: '1234' }, /^pin: /],
    [{ ...alice, keys: [{ type: 'park', value: '700' }] }, /^keys\[0\]\.type: /],
    [{ ...alice, colour: 'blue' }, /^colour: is not a known field$/],
    ['{"extension": "101",', /not valid JSON/],
    ['[1,2]', /^body: /],
  ];
  for (const [body, message] of cases) {
    const res = await ctx.t.api('POST', '/api/v1/users', body);
    assert.is(res.status, 400, JSON.stringify(body));
    assert.match(res.body.error.message, message);
  }
});

Api('415 for a body that is not JSON', async (ctx) => {
  const res = await fetch(`${ctx.t.url}/api/v1/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'text/plain' },
    body: 'extension=101',
  });
  assert.is(res.status, 415);
});

Api('409 for a second user with the same extension and a MAC enrolled twice', async (ctx) => {
  assert.is((await ctx.t.api('POST', '/api/v1/users', alice)).status, 201);
  assert.is((await ctx.t.api('POST', '/api/v1/users', alice)).status, 409);
  assert.is((await ctx.t.api('POST', '/api/v1/devices', yealink)).status, 201);
  const twice = await ctx.t.api('POST', '/api/v1/devices', { ...yealink, mac: '001565aabbcc' });
  assert.is(twice.status, 409);
  // The same words whichever tenant holds the MAC: no idle account of another tenant's is named (issue 15).
  assert.is(twice.body.error.message, 'MAC 001565aabbcc is already enrolled');
});

Api('enrolling gives each device the next idle account and a normalised MAC', async (ctx) => {
  const first = await ctx.t.api('POST', '/api/v1/devices', yealink);
  const second = await ctx.t.api('POST', '/api/v1/devices', { mac: '0004.1312.3456', vendor: 'snom', model: 'd785' });
  assert.is(first.status, 201);
  assert.is(first.body.idleAccount, 'HD0001');
  assert.is(first.body.mac, '00:15:65:aa:bb:cc');
  assert.is(first.body.state, 'idle');
  assert.equal(first.body.files, ['001565aabbcc.boot', 'y000000000108.cfg', '001565aabbcc.cfg']);
  assert.is(second.body.idleAccount, 'HD0002');
  assert.is(second.body.model, 'D785');
  assert.not.ok(JSON.stringify(first.body).includes('idlePassword'));
});

Api('400 for an unknown vendor or model and a MAC that is not one', async (ctx) => {
  const model = await ctx.t.api('POST', '/api/v1/devices', { ...yealink, model: 'T99X' });
  assert.is(model.status, 400);
  assert.match(
    model.body.error.message,
    /^model: unknown vendor\/model yealink\/T99X; known: yealink \(T31G, T33G, T34W, T43U, T44U, T46U, T48U, T53W, T54W, T57W, T58W\); snom \(.*\); polycom or poly \(VVX150, /,
  );
  const mac = await ctx.t.api('POST', '/api/v1/devices', { ...yealink, mac: '00:15:65:AA:BB' });
  assert.is(mac.status, 400);
  assert.match(mac.body.error.message, /^mac: /);
});

Api('a device is found by MAC in any spelling or by its idle account; 404 otherwise', async (ctx) => {
  await ctx.t.api('POST', '/api/v1/devices', yealink);
  for (const ref of ['HD0001', 'hd0001', '001565AABBCC', '00-15-65-aa-bb-cc']) {
    const res = await ctx.t.api('GET', `/api/v1/devices/${ref}`);
    assert.is(res.status, 200, ref);
    assert.is(res.body.idleAccount, 'HD0001');
  }
  const missing = await ctx.t.api('GET', '/api/v1/devices/HD0042');
  assert.is(missing.status, 404);
  assert.is(missing.body.error.code, 'unknown_device');
});

Api('login, the session list, and logout', async (ctx) => {
  await ctx.t.api('POST', '/api/v1/users', alice);
  await ctx.t.api('POST', '/api/v1/devices', yealink);
  const res = await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  assert.is(res.status, 200);
  assert.is(res.body.result, 'logged_in');
  assert.equal(res.body.warnings, []);
  const sessions = await ctx.t.api('GET', '/api/v1/hotdesk/sessions');
  assert.is(sessions.body.length, 1);
  assert.equal(sessions.body[0].device, { mac: '00:15:65:aa:bb:cc', idleAccount: 'HD0001', label: 'Desk 1' });
  assert.equal(sessions.body[0].user, { extension: '101', displayName: 'Alice Martin' });
  const device = await ctx.t.api('GET', '/api/v1/devices/HD0001');
  assert.is(device.body.state, 'in_use');
  const out = await ctx.t.api('POST', '/api/v1/hotdesk/logout', { device: '001565aabbcc' });
  assert.equal([out.body.result, out.body.device, out.body.user], ['logged_out', 'HD0001', '101']);
  assert.equal((await ctx.t.api('GET', '/api/v1/hotdesk/sessions')).body, []);
});

Api('login errors map to their statuses', async (ctx) => {
  await ctx.t.api('POST', '/api/v1/users', alice);
  await ctx.t.api('POST', '/api/v1/devices', yealink);
  const wrong = await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '9999' });
  assert.equal([wrong.status, wrong.body.error.code], [403, 'wrong_pin']);
  const unknown = await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '555', pin: '9999' });
  assert.equal([unknown.status, unknown.body.error.code], [404, 'unknown_extension']);
  const missing = await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101' });
  assert.equal([missing.status, missing.body.error.message], [400, 'pin: is required']);
});

Api('every refused login keeps its status, code, message and details', async (ctx) => {
  const { t } = ctx;
  await t.api('POST', '/api/v1/users', alice);
  await t.api('POST', '/api/v1/users', { ...alice, extension: '102', hotdesk: false });
  await t.api('POST', '/api/v1/users', { ...alice, extension: '103', pin: undefined });
  await t.api('POST', '/api/v1/devices', yealink);
  await t.api('POST', '/api/v1/devices', { ...yealink, mac: '00:15:65:AA:BB:CD', hotdesk: false });
  const login = (device: string, extension: string, pin = '4826') => t.api('POST', '/api/v1/hotdesk/login', { device, extension, pin });
  const answer = async (device: string, extension: string, pin?: string) => {
    const res = await login(device, extension, pin);
    return [res.status, res.body.error];
  };
  assert.equal(await answer('HD0099', '101'), [404, { code: 'unknown_device', message: 'no device HD0099' }]);
  assert.equal(await answer('HD0001', '555'), [404, { code: 'unknown_extension', message: 'no user with extension 555' }]);
  assert.equal(await answer('HD0002', '101'), [409, { code: 'device_not_hotdesk', message: 'device HD0002 is not a hot-desk device' }]);
  assert.equal(await answer('HD0001', '102'), [403, { code: 'user_not_hotdesk', message: 'user 102 is not allowed to hot-desk' }]);
  assert.equal(await answer('HD0001', '103'), [409, { code: 'pin_not_set', message: 'user 103 has no hot-desk PIN; set one first' }]);
  assert.equal(await answer('HD0001', '101', '9999'), [
    403,
    { code: 'wrong_pin', message: 'the PIN does not match; 4 more tries before a lockout', triesLeft: 4 },
  ]);
  for (let i = 0; i < 3; i++) await login('HD0001', '101', '9999');
  const locking = await login('HD0001', '101', '9999');
  const until = locking.body.error.lockedUntil;
  assert.ok(new Date(until).getTime() > Date.now(), `locked until a time to come: ${until}`);
  assert.equal(
    [locking.status, locking.body.error],
    [403, { code: 'wrong_pin', message: `the PIN does not match; locked until ${until}`, triesLeft: 0, lockedUntil: until }],
  );
  assert.equal(await answer('HD0001', '101'), [
    423,
    { code: 'locked', message: `user 101 is locked after repeated wrong PINs until ${until}`, lockedUntil: until },
  ]);
  const code = await t.api('POST', '/api/v1/hotdesk/code', { device: 'HD0001', digits: '*35*101*4826' });
  assert.equal([code.status, code.body.result, code.body.lockedUntil], [200, 'locked', until], 'the dialplan hears the same lockout');
});

Api('keys that do not fit are reported on login', async (ctx) => {
  const keys = Array.from({ length: 14 }, (_, i) => ({ type: 'blf', value: String(200 + i), label: '' }));
  await ctx.t.api('POST', '/api/v1/users', { ...alice, keys });
  await ctx.t.api('POST', '/api/v1/devices', { ...yealink, model: 'T33G' });
  const res = await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  assert.is(res.body.warnings.length, 1);
  assert.match(res.body.warnings[0], /^4 key\(s\) do not fit on the SIP-T33G \(12 keys\): blf 210, blf 211, blf 212, blf 213$/);
});

Api('deleting a logged-in user or a device in use sends the phone back to idle', async (ctx) => {
  await ctx.t.api('POST', '/api/v1/users', alice);
  await ctx.t.api('POST', '/api/v1/devices', yealink);
  await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  assert.is((await ctx.t.api('DELETE', '/api/v1/users/101')).status, 204);
  assert.is((await ctx.t.api('GET', '/api/v1/devices/HD0001')).body.state, 'idle');
  assert.is((await ctx.t.api('GET', '/api/v1/users/101')).status, 404);

  await ctx.t.api('POST', '/api/v1/users', alice);
  await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  assert.is((await ctx.t.api('DELETE', '/api/v1/devices/HD0001')).status, 204);
  assert.equal((await ctx.t.api('GET', '/api/v1/hotdesk/sessions')).body, []);
  assert.is((await ctx.t.api('GET', '/api/v1/devices/HD0001')).status, 404);
});

Api('PATCH changes a user and a device', async (ctx) => {
  await ctx.t.api('POST', '/api/v1/users', alice);
  await ctx.t.api('POST', '/api/v1/devices', yealink);
  const user = await ctx.t.api('PATCH', '/api/v1/users/101', { displayName: 'Alice M.', keys: [] });
  assert.is(user.status, 200);
  assert.is(user.body.displayName, 'Alice M.');
  assert.equal(user.body.keys, []);
  const device = await ctx.t.api('PATCH', '/api/v1/devices/HD0001', {
    label: 'Window desk',
    location: 'Floor 2, room 12',
    expansionModules: 1,
  });
  assert.equal([device.body.label, device.body.location, device.body.expansionModules], ['Window desk', 'Floor 2, room 12', 1]);
  const other = await ctx.t.api('PATCH', '/api/v1/devices/HD0001', { model: 'D785' });
  assert.is(other.status, 400);
});

Api('the idle account credentials are there for the PBX, asked for by name', async (ctx) => {
  await ctx.t.api('POST', '/api/v1/devices', { ...yealink, idlePassword: 'from-the-pbx-123' });
  const res = await ctx.t.api('GET', '/api/v1/devices/HD0001/idle-account');
  assert.equal(res.body, {
    name: 'HD0001',
    password: 'from-the-pbx-123',
    registrar: { host: 'pbx.example.test', port: 5060, transport: 'udp' },
  });
});

Api('a generated PIN is answered once, works, and is never shown again', async (ctx) => {
  await ctx.t.api('POST', '/api/v1/users', { ...alice, pin: undefined });
  await ctx.t.api('POST', '/api/v1/devices', yealink);
  const issued = await ctx.t.api('POST', '/api/v1/users/101/pin');
  assert.is(issued.status, 200);
  assert.match(issued.body.pin, /^\d{4}$/);
  assert.is((await ctx.t.api('GET', '/api/v1/users/101')).body.pinSet, true);
  const login = await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: issued.body.pin });
  assert.is(login.body.result, 'logged_in');
  assert.is((await ctx.t.api('POST', '/api/v1/users/999/pin')).status, 404);
});

Api('the config preview masks passwords unless asked to show them', async (ctx) => {
  await ctx.t.api('POST', '/api/v1/devices', { ...yealink, idlePassword: 'from-the-pbx-123' });
  const masked = await fetch(`${ctx.t.url}/api/v1/devices/HD0001/config?file=001565aabbcc.cfg`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
  const text = await masked.text();
  assert.match(text, /^account\.1\.password = \*{8}$/m);
  assert.not.ok(text.includes('from-the-pbx-123'));
  const shown = await fetch(`${ctx.t.url}/api/v1/devices/HD0001/config?file=001565aabbcc.cfg&secrets=show`, {
    headers: { authorization: `Bearer ${TEST_TOKEN}` },
  });
  assert.match(await shown.text(), /^account\.1\.password = from-the-pbx-123$/m);
});

Api('405 in the error shape for a method a path does not take', async (ctx) => {
  const res = await ctx.t.api('PUT', '/api/v1/hotdesk/sessions', {});
  assert.is(res.status, 405);
  assert.is(res.body.error.code, 'method_not_allowed');
});

Api("a MAC outside the vendor's known prefixes is enrolled with a warning", async (ctx) => {
  const res = await ctx.t.api('POST', '/api/v1/devices', { ...yealink, mac: '00:04:13:00:00:01' });
  assert.is(res.status, 201);
  assert.match(res.body.warnings.join('\n'), /MAC 000413 is not a known Yealink prefix/);
});

Api('404 JSON for an unknown API path', async (ctx) => {
  const res = await ctx.t.api('GET', '/api/v1/nothing');
  assert.is(res.status, 404);
  assert.is(res.body.error.code, 'not_found');
});

Api('phone basics: PATCH /tenant sets and answers them, a desk overrides time zone and language, the phone gets them', async (ctx) => {
  const basics = {
    pickupCode: '*8',
    pollMode: 'nightly',
    pollWindowStart: '23:30',
    pollWindowEnd: '02:00',
    phoneTimezone: 'Europe/Amsterdam',
    ntpServer: 'ntp.example.test',
    phoneLanguage: 'de',
    voicemailNumber: '*97',
    codecs: ['g722', 'pcmu'],
    srtp: 'required',
  };
  const res = await ctx.t.api('PATCH', '/api/v1/tenant', basics);
  assert.is(res.status, 200);
  for (const [key, value] of Object.entries(basics)) assert.equal(res.body[key], value, key);
  assert.equal((await ctx.t.api('GET', '/api/v1/tenant')).body.codecs, ['g722', 'pcmu']);
  await ctx.t.api('POST', '/api/v1/devices', yealink);
  const desk = await ctx.t.api('PATCH', `/api/v1/devices/${yealink.mac}`, { phoneTimezone: 'America/New_York', phoneLanguage: 'fr' });
  assert.is(desk.status, 200);
  assert.is(desk.body.phoneTimezone, 'America/New_York');
  const file = await ctx.t.phone('/001565aabbcc.cfg').then((r) => r.text());
  assert.match(file, /^local_time\.time_zone = -5$/m);
  assert.match(file, /^lang\.gui = French$/m);
  assert.match(file, /^local_time\.ntp_server1 = ntp\.example\.test$/m);
  assert.match(file, /^account\.1\.srtp_encryption = 2$/m);
  assert.match(file, /^static\.auto_provision\.weekly\.begin_time = (23:[3-5]\d|0[01]:\d\d)$/m);
  // Back to the tenant's, then to the phone's own.
  await ctx.t.api('PATCH', `/api/v1/devices/${yealink.mac}`, { phoneTimezone: null, phoneLanguage: null });
  assert.match(await ctx.t.phone('/001565aabbcc.cfg').then((r) => r.text()), /^lang\.gui = German$/m);
  await ctx.t.api('PATCH', '/api/v1/tenant', { phoneLanguage: null, phoneTimezone: null, codecs: null, srtp: 'auto' });
  const plain = await ctx.t.phone('/001565aabbcc.cfg').then((r) => r.text());
  assert.not.match(plain, /lang\.gui|local_time\.time_zone|codec|srtp/);
});

Api('phone basics: 400 naming the field for a value no phone can take', async (ctx) => {
  for (const [body, field] of [
    [{ phoneTimezone: 'Mars/Olympus' }, 'phoneTimezone'],
    [{ phoneLanguage: 'xx' }, 'phoneLanguage'],
    [{ codecs: ['g722', 'g722'] }, 'codecs'],
    [{ codecs: ['speex'] }, 'codecs'],
    [{ pollWindowStart: '25:00' }, 'pollWindowStart'],
    [{ pollWindowStart: '02:00', pollWindowEnd: '02:00' }, 'pollWindowEnd'],
    [{ pollIntervalMinutes: 1 }, 'pollIntervalMinutes'],
    [{ pickupCode: '*8<' }, 'pickupCode'],
    [{ voicemailNumber: '*97\nx' }, 'voicemailNumber'],
    [{ srtp: 'sometimes' }, 'srtp'],
  ] as const) {
    const res = await ctx.t.api('PATCH', '/api/v1/tenant', body);
    assert.is(res.status, 400, JSON.stringify(body));
    assert.match(res.body.error.message, field);
  }
  await ctx.t.api('POST', '/api/v1/devices', yealink);
  const res = await ctx.t.api('PATCH', `/api/v1/devices/${yealink.mac}`, { phoneTimezone: 'Nowhere/Land' });
  assert.is(res.status, 400);
  assert.match(res.body.error.message, 'phoneTimezone');
});

Api.run();

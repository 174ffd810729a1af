import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type CodeSettings, dialCode } from '../../src/domain/featureCodes.ts';
import { listOpenSessions } from '../../src/domain/sessions.ts';
import { ACTOR, buildDevice, buildUser, createDomain, type DomainFixture } from '../helpers/domain.ts';

const NL: CodeSettings = { loginCode: '*35', logoutCode: null };
const THREECX: CodeSettings = { loginCode: '*77', logoutCode: '*77*5*' };
const Codes = suite<{ f: DomainFixture }>('feature codes');
Codes.before.each(async (ctx) => {
  ctx.f = await createDomain();
});
Codes.after.each(({ f }) => f.close());

const dial = (f: DomainFixture, device: string, digits: string, settings = NL) => dialCode(f.deps, f.tenantId, ACTOR, settings, { device, digits });
const seatedAt = async (f: DomainFixture, deviceId: number) =>
  (await listOpenSessions(f.deps.db, f.tenantId)).find((s) => s.device.id === deviceId)?.user.extension ?? null;

Codes('*35 on an idle phone asks for the extension; on a logged-in phone logs out', async ({ f }) => {
  const d = await buildDevice(f);
  await buildUser(f, '101');
  assert.equal(await dial(f, d.idleAccount, '*35').then((o) => [o.result, o.prompt]), ['need_extension', 'extension']);
  await dial(f, d.idleAccount, '*35*101*4826');
  assert.is((await dial(f, d.idleAccount, '*35')).result, 'logged_out');
  assert.is(await seatedAt(f, d.id), null);
});

Codes('*35*EXT asks for the PIN, or logs that user out when they sit here', async ({ f }) => {
  const d = await buildDevice(f);
  await buildUser(f, '101');
  assert.equal(await dial(f, d.idleAccount, '*35*101').then((o) => [o.result, o.prompt, o.user?.extension]), ['need_pin', 'confbridge-pin', '101']);
  await dial(f, d.idleAccount, '*35*101*4826');
  assert.is((await dial(f, d.idleAccount, '*35*101')).result, 'logged_out');
});

Codes('*35*EXT*PIN logs in, switches out whoever sat here, and logs out when repeated', async ({ f }) => {
  const d = await buildDevice(f);
  await buildUser(f, '101');
  await buildUser(f, '102');
  assert.equal(await dial(f, d.idleAccount, '*35*101*4826').then((o) => [o.result, o.prompt]), ['logged_in', 'activated']);
  assert.is((await dial(f, d.idleAccount, '*35*102*4826#')).result, 'switched');
  assert.is(await seatedAt(f, d.id), '102');
  assert.is((await dial(f, d.idleAccount, '*35*102*4826')).result, 'logged_out');
});

Codes('the PBX may name the phone by the extension logged in there, or by MAC', async ({ f }) => {
  await buildDevice(f, { mac: '00:15:65:00:aa:01' });
  await buildUser(f, '101');
  await dial(f, '00:15:65:00:AA:01', '*35*101*4826');
  assert.is((await dial(f, '101', '*35')).result, 'logged_out', 'the caller is known by its extension while logged in');
  assert.is((await dial(f, '101', '*35')).result, 'unknown_device', "after logout 101 is nobody's phone");
});

Codes('on a PBX that tenants share, the caller logged in is known by its SIP user name too (acme-101)', async ({ f }) => {
  const d = await buildDevice(f);
  await buildUser(f, '101', { sipUser: 'acme-101' });
  await dial(f, d.idleAccount, '*35*101*4826');
  assert.is((await dial(f, 'acme-101', '*35')).result, 'logged_out', 'the endpoint acme-101 is the phone 101 sits at');
  assert.is(await seatedAt(f, d.id), null);
  assert.is((await dial(f, 'acme-101', '*35')).result, 'unknown_device', "after logout acme-101 is nobody's phone");
});

Codes('refusals are results a dialplan can branch on, each with its prompt', async ({ f }) => {
  const d = await buildDevice(f);
  const fixed = await buildDevice(f, { hotdesk: false });
  await buildUser(f, '101');
  await buildUser(f, '103', { hotdesk: false });
  await buildUser(f, '104', { pin: undefined });
  const cases: [string, string, string, string][] = [
    [d.idleAccount, '*35*999*4826', 'unknown_extension', 'pbx-invalid'],
    [d.idleAccount, '*35*101*1111', 'wrong_pin', 'vm-incorrect'],
    [d.idleAccount, '*35*103', 'not_allowed', 'feature-not-avail-line'],
    [fixed.idleAccount, '*35*101*4826', 'not_allowed', 'feature-not-avail-line'],
    [d.idleAccount, '*35*104*1234', 'not_allowed', 'feature-not-avail-line'],
    ['HD0999', '*35', 'unknown_device', 'feature-not-avail-line'],
    [d.idleAccount, '*36*101', 'invalid_code', 'cannot-complete-as-dialed'],
    [d.idleAccount, '*351', 'invalid_code', 'cannot-complete-as-dialed'],
    [d.idleAccount, '*35*1*2*3', 'invalid_code', 'cannot-complete-as-dialed'],
  ];
  for (const [device, digits, result, prompt] of cases) {
    const o = await dial(f, device, digits);
    assert.equal([o.result, o.prompt], [result, prompt], digits);
  }
  const wrong = await dial(f, d.idleAccount, '*35*101*1111');
  assert.is(wrong.triesLeft, 3);
  assert.is(wrong.lockedUntil, undefined);
});

Codes('a locked user hears so even with the right PIN', async ({ f }) => {
  const d = await buildDevice(f);
  await buildUser(f, '101');
  for (let i = 0; i < 5; i++) await dial(f, d.idleAccount, '*35*101*1111');
  const locked = await dial(f, d.idleAccount, '*35*101*4826');
  assert.equal([locked.result, locked.prompt], ['locked', 'confbridge-pin-bad']);
  assert.instance(locked.lockedUntil, Date);
  assert.ok((locked.lockedUntil?.getTime() ?? 0) > Date.now(), 'until a time to come');
});

Codes('3CX style: *77*EXT* asks for the PIN, *77*5* logs out', async ({ f }) => {
  const d = await buildDevice(f);
  await buildUser(f, '100');
  assert.is((await dial(f, d.idleAccount, '*77*100*', THREECX)).result, 'need_pin');
  assert.is((await dial(f, d.idleAccount, '*77*100*4826', THREECX)).result, 'logged_in');
  assert.is((await dial(f, d.idleAccount, '*77*5*', THREECX)).result, 'logged_out');
  assert.is(await seatedAt(f, d.id), null);
});

Codes('the contact the PBX passes is kept for the NOTIFY', async ({ f }) => {
  const d = await buildDevice(f);
  await buildUser(f, '101');
  await dialCode(f.deps, f.tenantId, ACTOR, NL, { device: d.idleAccount, digits: '*35*101*4826', contact: 'sip:HD0001@10.1.2.3:5062' });
  const row = await f.deps.db.query.devices.findFirst({ where: (t, { eq }) => eq(t.id, d.id) });
  assert.is(row?.reportedContact, 'sip:HD0001@10.1.2.3:5062');
});

Codes.run();

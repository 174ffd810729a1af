import { eq, isNull } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { auditEvents, hotdeskSessions, loginThrottles, users as usersTable } from '../../src/db/schema.ts';
import { deleteDevice, type EnrolledDevice, updateDevice } from '../../src/domain/devices.ts';
import { isRefused, type LoginOutcome, type LoginResult, login, logout } from '../../src/domain/hotdesk.ts';
import { findSeatedUserWithKeys, listOpenSessions } from '../../src/domain/sessions.ts';
import { deleteUser, keysOf, updateUser } from '../../src/domain/users.ts';
import { assertRefused } from '../helpers/assertions.ts';
import { ACTOR, buildDevice, buildUser, createDomain, type DomainFixture } from '../helpers/domain.ts';

const Hotdesk = suite<{ f: DomainFixture }>('hotdesk');
Hotdesk.before.each(async (ctx) => {
  ctx.f = await createDomain();
});
Hotdesk.after.each(({ f }) => f.close());

const signIn = (f: DomainFixture, device: string, extension: string, pin = '4826') =>
  login(f.deps, f.tenantId, ACTOR, { device, extension, pin, method: 'api' });

/** The outcome of a login that must have gone through. */
function admitted(result: LoginResult): LoginOutcome {
  assert.ok(!isRefused(result), `refused: ${result.result}`);
  return result as LoginOutcome;
}

/**
 * Domain dependencies whose PIN checks wait for `release()` and then succeed: for changes made while a PIN is checked.
 * `checking` settles once a check has begun, so the change lands while it is under way.
 */
function heldChecks(f: DomainFixture) {
  let release!: () => void;
  let begun!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const checking = new Promise<void>((resolve) => {
    begun = resolve;
  });
  const verifySecret = async () => {
    begun();
    await gate;
    return true;
  };
  return { deps: { ...f.deps, verifySecret }, release, checking };
}

const audit = async (f: DomainFixture) => await f.deps.db.select().from(auditEvents);
const openCount = async (f: DomainFixture) => (await f.deps.db.select().from(hotdeskSessions).where(isNull(hotdeskSessions.endedAt))).length;

Hotdesk('login on an idle device opens a session, audits it and re-provisions that device', async ({ f }) => {
  const device = await buildDevice(f);
  await buildUser(f, '101');
  f.changes.length = 0;
  const outcome = await signIn(f, device.idleAccount, '101');
  assert.is(outcome.result, 'logged_in');
  assert.equal(
    f.changes.map((c) => c.deviceIds),
    [[device.id]],
  );
  const events = (await audit(f)).filter((e) => e.action === 'hotdesk.login');
  assert.is(events.length, 1);
  assert.is(events[0]?.userExtension, '101');
  assert.is(events[0]?.idleAccount, device.idleAccount);
  assert.is(events[0]?.method, 'api');
});

Hotdesk('the device may be named by MAC in any spelling', async ({ f }) => {
  const device = await buildDevice(f, { mac: '00:15:65:AB:CD:EF' });
  await buildUser(f, '101');
  const outcome = admitted(await signIn(f, '00-15-65-ab-cd-ef', '101'));
  assert.is(outcome.device.id, device.id);
});

Hotdesk('logging in again where one already sits changes nothing', async ({ f }) => {
  const device = await buildDevice(f);
  await buildUser(f, '101');
  await signIn(f, device.idleAccount, '101');
  f.changes.length = 0;
  const again = await signIn(f, device.idleAccount, '101');
  assert.is(again.result, 'already');
  assert.equal(f.changes, []);
  assert.is(await openCount(f), 1);
});

Hotdesk('logging in elsewhere moves the user: the old device goes idle and is re-provisioned too', async ({ f }) => {
  const a = await buildDevice(f);
  const b = await buildDevice(f);
  await buildUser(f, '101');
  await signIn(f, a.idleAccount, '101');
  f.changes.length = 0;
  const outcome = admitted(await signIn(f, b.idleAccount, '101'));
  assert.is(outcome.movedFrom?.id, a.id);
  assert.equal(f.changes[0]?.deviceIds, [b.id, a.id]);
  const open = await listOpenSessions(f.deps.db, f.tenantId);
  assert.equal(
    open.map((s) => s.device.id),
    [b.id],
  );
  const ended = (await f.deps.db.select().from(hotdeskSessions).where(eq(hotdeskSessions.deviceId, a.id)))[0];
  assert.is(ended?.endReason, 'moved');
});

Hotdesk('logging in at an occupied device replaces its user', async ({ f }) => {
  const device = await buildDevice(f);
  await buildUser(f, '101');
  await buildUser(f, '102');
  await signIn(f, device.idleAccount, '101');
  const outcome = admitted(await signIn(f, device.idleAccount, '102'));
  assert.is(outcome.result, 'switched');
  assert.is(outcome.replaced?.extension, '101');
  assert.equal(
    (await listOpenSessions(f.deps.db, f.tenantId)).map((s) => s.user.extension),
    ['102'],
  );
});

Hotdesk('each refusal is a result of its own, with what it names, and is audited', async ({ f }) => {
  const device = await buildDevice(f);
  const fixed = await buildDevice(f, { hotdesk: false });
  await buildUser(f, '101');
  await buildUser(f, '102', { hotdesk: false });
  await buildUser(f, '103', { pin: undefined });
  assert.equal(assertRefused(await signIn(f, 'HD9999', '101'), 'unknown_device').device, 'HD9999');
  assert.equal(assertRefused(await signIn(f, device.idleAccount, '999'), 'unknown_extension').extension, '999');
  const wrong = assertRefused(await signIn(f, device.idleAccount, '101', '4827'), 'wrong_pin');
  assert.equal([wrong.triesLeft, wrong.lockedUntil], [4, null]);
  assert.is(assertRefused(await signIn(f, device.idleAccount, '102'), 'user_not_hotdesk').extension, '102');
  assert.is(assertRefused(await signIn(f, fixed.idleAccount, '101'), 'device_not_hotdesk').device, fixed.idleAccount);
  assert.is(assertRefused(await signIn(f, device.idleAccount, '103'), 'pin_not_set').extension, '103');
  const failures = (await audit(f)).filter((e) => e.action === 'hotdesk.login_failed').map((e) => JSON.parse(e.detail).reason);
  assert.equal(failures, ['unknown_extension', 'wrong_pin', 'user_not_hotdesk', 'device_not_hotdesk', 'pin_not_set']);
  assert.is(await openCount(f), 0);
  assert.not.ok(JSON.stringify(await audit(f)).includes('4827'), 'a tried PIN must never reach the audit log');
});

Hotdesk('logout ends the session; logging out an idle device is harmless', async ({ f }) => {
  const device = await buildDevice(f);
  await buildUser(f, '101');
  await signIn(f, device.idleAccount, '101');
  f.changes.length = 0;
  assert.is((await logout(f.deps, f.tenantId, ACTOR, { device: device.mac, method: 'api' })).result, 'logged_out');
  assert.equal(
    f.changes.map((c) => c.deviceIds),
    [[device.id]],
  );
  assert.is((await logout(f.deps, f.tenantId, ACTOR, { device: device.mac, method: 'api' })).result, 'idle');
  assert.is(f.changes.length, 1);
  assert.is(await openCount(f), 0);
});

Hotdesk('deleting a logged-in user ends the session and sends the phone back to idle', async ({ f }) => {
  const device = await buildDevice(f);
  await buildUser(f, '101');
  await signIn(f, device.idleAccount, '101');
  f.changes.length = 0;
  await deleteUser(f.deps, f.tenantId, ACTOR, '101');
  assert.is(await openCount(f), 0);
  assert.equal(
    f.changes.map((c) => c.deviceIds),
    [[device.id]],
  );
  const session = (await f.deps.db.select().from(hotdeskSessions).where(eq(hotdeskSessions.deviceId, device.id)))[0];
  assert.is(session?.endReason, 'user_deleted');
});

Hotdesk('deleting a device in use ends its session and keeps the history', async ({ f }) => {
  const device = await buildDevice(f);
  await buildUser(f, '101');
  await signIn(f, device.idleAccount, '101');
  await deleteDevice(f.deps, f.tenantId, ACTOR, device.idleAccount);
  const sessions = await f.deps.db.select().from(hotdeskSessions);
  assert.is(sessions.length, 1);
  assert.is(sessions[0]?.endReason, 'device_deleted');
  assert.ok((await audit(f)).some((e) => e.action === 'device.deleted' && e.deviceMac === device.mac));
});

Hotdesk('withdrawing hot-desk rights logs the user out', async ({ f }) => {
  const device = await buildDevice(f);
  await buildUser(f, '101');
  await signIn(f, device.idleAccount, '101');
  await updateUser(f.deps, f.tenantId, 4, ACTOR, '101', { hotdesk: false });
  assert.is(await openCount(f), 0);
  await buildUser(f, '102');
  await signIn(f, device.idleAccount, '102');
  await updateDevice(f.deps, f.tenantId, ACTOR, device.idleAccount, { hotdesk: false });
  assert.is(await openCount(f), 0);
  assertRefused(await signIn(f, device.idleAccount, '102'), 'device_not_hotdesk');
});

Hotdesk("changing a seated user's keys re-provisions their phone", async ({ f }) => {
  const device = await buildDevice(f);
  await buildUser(f, '101');
  await signIn(f, device.idleAccount, '101');
  f.changes.length = 0;
  await updateUser(f.deps, f.tenantId, 4, ACTOR, '101', { keys: [{ type: 'blf', value: '102', label: 'B' }] });
  assert.equal(
    f.changes.map((c) => c.deviceIds),
    [[device.id]],
  );
});

Hotdesk('200 racing logins never leave a user on two devices or two users on one device', async ({ f }) => {
  const devices: EnrolledDevice[] = [];
  for (let i = 0; i < 12; i++) devices.push(await buildDevice(f));
  const extensions = Array.from({ length: 15 }, (_, i) => String(500 + i));
  for (const ext of extensions) await buildUser(f, ext);
  f.changes.length = 0;
  let seed = 7;
  const pick = <T>(list: readonly T[]): T => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return list[seed % list.length] as T;
  };
  // More checks of one user or phone at once than its tries left are turned away before any PIN is read.
  const attempts = Array.from({ length: 200 }, () => signIn(f, pick(devices).idleAccount, pick(extensions)));
  const results = await Promise.all(attempts);
  assert.ok(
    results.every((r) => !isRefused(r) || r.result === 'too_many_attempts'),
    'right PINs are never refused otherwise',
  );
  const outcomes = results.filter((r) => !isRefused(r));
  assert.ok(outcomes.length >= 15, `only ${outcomes.length} logins went through`);
  const throttles = await f.deps.db.select().from(loginThrottles);
  assert.ok(
    throttles.every((t) => t.pending === 0 && t.failures === 0 && t.lockedUntil === null),
    'right PINs leave no failure, lock or reservation behind',
  );

  const open = await listOpenSessions(f.deps.db, f.tenantId);
  assert.is(new Set(open.map((s) => s.user.id)).size, open.length, 'a user sits at two devices');
  assert.is(new Set(open.map((s) => s.device.id)).size, open.length, 'a device has two users');
  // Every device a user was moved away from was announced for re-provisioning.
  const announced = new Set(f.changes.flatMap((c) => c.deviceIds));
  for (const o of outcomes) if (o.movedFrom !== null) assert.ok(announced.has(o.movedFrom.id));
  // Where a user sits now is the newest session any of their logins opened.
  for (const s of open) {
    const newest = Math.max(...outcomes.filter((o) => o.user.id === s.user.id).map((o) => o.session.id));
    assert.is(s.session.id, newest);
  }
});

Hotdesk('a login answers what each device it changed gets now, as the change announced it', async ({ f }) => {
  const a = await buildDevice(f);
  const b = await buildDevice(f);
  await buildUser(f, '101');
  const announced = async (change: { deviceIds: readonly number[] }) =>
    change.deviceIds.map((deviceId, i) => ({ deviceId, mode: i === 0 ? ('user' as const) : ('idle' as const), warnings: [`warning ${deviceId}`] }));
  const deps = { ...f.deps, profilesChanged: announced };
  const first = admitted(await login(deps, f.tenantId, ACTOR, { device: a.idleAccount, extension: '101', pin: '4826', method: 'api' }));
  assert.equal(first.profiles, [{ deviceId: a.id, mode: 'user', warnings: [`warning ${a.id}`] }]);
  const moved = admitted(await login(deps, f.tenantId, ACTOR, { device: b.idleAccount, extension: '101', pin: '4826', method: 'api' }));
  assert.equal(
    moved.profiles.map((p) => [p.deviceId, p.mode]),
    [
      [b.id, 'user'],
      [a.id, 'idle'],
    ],
  );
  const again = admitted(await login(deps, f.tenantId, ACTOR, { device: b.idleAccount, extension: '101', pin: '4826', method: 'api' }));
  assert.equal([again.result, again.profiles], ['already', []], 'nothing changed, nothing announced');
  const out = await logout(deps, f.tenantId, ACTOR, { device: b.idleAccount, method: 'api' });
  assert.equal(out.profiles, [{ deviceId: b.id, mode: 'user', warnings: [`warning ${b.id}`] }]);
});

Hotdesk('a PIN changed while the old one was checked is refused as pin_changed, audited, and its check released', async ({ f }) => {
  const device = await buildDevice(f);
  await buildUser(f, '101');
  const { deps, release, checking } = heldChecks(f);
  const pending = login(deps, f.tenantId, ACTOR, { device: device.idleAccount, extension: '101', pin: '4826', method: 'api' });
  await checking;
  await updateUser(f.deps, f.tenantId, 4, ACTOR, '101', { pin: '7351' });
  release();
  assert.is(assertRefused(await pending, 'pin_changed').extension, '101');
  assert.is(await openCount(f), 0);
  const reasons = (await audit(f)).filter((e) => e.action === 'hotdesk.login_failed').map((e) => JSON.parse(e.detail).reason);
  assert.equal(reasons, ['conflict']);
  assert.ok(
    (await f.deps.db.select().from(loginThrottles)).every((t) => t.pending === 0 && t.failures === 0),
    'the check is released, not counted',
  );
});

Hotdesk('a device deleted while the PIN was checked is refused as unknown_device', async ({ f }) => {
  const device = await buildDevice(f);
  await buildUser(f, '101');
  const { deps, release, checking } = heldChecks(f);
  const pending = login(deps, f.tenantId, ACTOR, { device: device.idleAccount, extension: '101', pin: '4826', method: 'api' });
  await checking;
  await deleteDevice(f.deps, f.tenantId, ACTOR, device.idleAccount);
  release();
  assertRefused(await pending, 'unknown_device');
  assert.is(await openCount(f), 0);
});

Hotdesk('the seated user and their keys in one read: the same rows as reading them apart, in key order', async ({ f }) => {
  const device = await buildDevice(f);
  assert.is(await findSeatedUserWithKeys(f.deps.db, device.id), undefined, 'nobody sits at a new phone');
  const keys = [
    { type: 'blf' as const, value: '102', label: 'Bob "the builder"' },
    { type: 'speed' as const, value: '+31 20 555 0100', label: 'Zürich ☎ \\ desk' },
    { type: 'blf' as const, value: '103', label: '' },
  ];
  const { user } = await buildUser(f, '101', { keys });
  admitted(await signIn(f, device.mac, '101'));
  const seated = await findSeatedUserWithKeys(f.deps.db, device.id);
  const row = (await f.deps.db.select().from(usersTable).where(eq(usersTable.id, user.id)))[0];
  assert.ok(row);
  const { id, extension, displayName, sipUser, authName, sipPassword } = row;
  assert.equal(seated, {
    user: { id, extension, displayName, sipUser, authName, sipPassword },
    keys: (await keysOf(f.deps.db, user.id)).map(({ position, type, value, label }) => ({ position, type, value, label })),
  });
  assert.not.ok(seated !== undefined && 'pinHash' in seated.user, 'the PIN hash is not read on the phone path');
  assert.equal(
    seated?.keys.map((k) => [k.type, k.value, k.label]),
    keys.map((k) => [k.type, k.value, k.label]),
  );
  await logout(f.deps, f.tenantId, ACTOR, { device: device.mac, method: 'api' });
  assert.is(await findSeatedUserWithKeys(f.deps.db, device.id), undefined, 'nobody sits there after the logout');
});

Hotdesk.run();

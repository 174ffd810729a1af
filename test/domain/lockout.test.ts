import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeTransaction } from '../../src/db/client.ts';
import { auditEvents } from '../../src/db/schema.ts';
import { login } from '../../src/domain/hotdesk.ts';
import { LOCKOUT, recordFailure } from '../../src/domain/lockout.ts';
import { AppError } from '../../src/errors.ts';
import { ACTOR, buildDevice, buildUser, createDomain, type DomainFixture } from '../helpers/domain.ts';

let f: DomainFixture;
let clock = new Date('2026-03-02T09:00:00Z');
const Lockout = suite('hotdesk/lockout');
Lockout.before.each(() => {
  clock = new Date('2026-03-02T09:00:00Z');
  f = createDomain(() => clock);
});
Lockout.after.each(() => f.close());

const later = (seconds: number) => {
  clock = new Date(clock.getTime() + seconds * 1000);
};

async function attempt(device: string, extension: string, pin: string): Promise<AppError | 'ok'> {
  try {
    await login(f.deps, f.tenantId, ACTOR, { device, extension, pin, method: 'api' });
    return 'ok';
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
}

Lockout('wrong PINs count down, then lock the user: 423 even with the right PIN until the lockout ends', async () => {
  const device = buildDevice(f);
  await buildUser(f, '101');
  const left: unknown[] = [];
  for (let i = 0; i < LOCKOUT.userFailures; i++) {
    const err = await attempt(device.idleAccount, '101', '9999');
    assert.ok(err !== 'ok');
    assert.is(err.code, 'wrong_pin');
    left.push(err.details?.triesLeft);
  }
  assert.equal(left, [4, 3, 2, 1, 0]);
  const locked = await attempt(device.idleAccount, '101', '4826');
  assert.ok(locked !== 'ok');
  assert.equal([locked.status, locked.code], [423, 'locked']);
  assert.is(locked.details?.lockedUntil, '2026-03-02T09:01:00.000Z');
  later(61);
  assert.is(await attempt(device.idleAccount, '101', '4826'), 'ok');
});

Lockout('each further lockout lasts twice as long; a success forgets them', async () => {
  // A fresh phone for each round, so the phone's own lockout never gets in the way of the user's.
  const phones = [buildDevice(f), buildDevice(f), buildDevice(f), buildDevice(f)].map((d) => d.idleAccount);
  await buildUser(f, '101');
  const lockOnce = async (phone: string) => {
    for (let i = 0; i < LOCKOUT.userFailures; i++) await attempt(phone, '101', '9999');
  };
  await lockOnce(phones[0] ?? '');
  later(61);
  await lockOnce(phones[1] ?? '');
  const second = await attempt(phones[1] ?? '', '101', '4826');
  assert.ok(second !== 'ok');
  assert.is(second.details?.lockedUntil, new Date(clock.getTime() + 120_000).toISOString());
  later(121);
  assert.is(await attempt(phones[2] ?? '', '101', '4826'), 'ok');
  await lockOnce(phones[3] ?? '');
  const fresh = await attempt(phones[3] ?? '', '101', '4826');
  assert.ok(fresh !== 'ok');
  assert.is(fresh.details?.lockedUntil, new Date(clock.getTime() + 60_000).toISOString(), 'back to the first lockout length');
});

Lockout('guessing many extensions from one phone locks that phone for everyone', async () => {
  const device = buildDevice(f);
  const other = buildDevice(f);
  await buildUser(f, '101');
  for (let i = 0; i < LOCKOUT.deviceFailures; i++) await attempt(device.idleAccount, String(900 + i), '9999');
  const refused = await attempt(device.idleAccount, '101', '4826');
  assert.ok(refused !== 'ok');
  assert.is(refused.code, 'locked');
  assert.match(refused.message, new RegExp(`device ${device.idleAccount}`));
  assert.is(await attempt(other.idleAccount, '101', '4826'), 'ok', 'another phone is not locked');
});

Lockout('a right PIN reserved within the budget logs in even when a lockout lands while it is checked', async () => {
  const device = buildDevice(f);
  const { user } = await buildUser(f, '101');
  // The reservation happens synchronously; the lockout arrives while scrypt works. Answering 423 now would make
  // the right PIN the one answer that differs from the wrong ones around it.
  const pending = attempt(device.idleAccount, '101', '4826');
  writeTransaction(f.deps.db, (tx) => {
    for (let i = 0; i < LOCKOUT.userFailures; i++) recordFailure(tx, f.tenantId, { subject: 'user', id: user.id }, clock);
  });
  assert.is(await pending, 'ok');
  assert.is(await attempt(device.idleAccount, '101', '9999').then((e) => (e === 'ok' ? e : e.code)), 'wrong_pin', 'the success forgot the lockout');
});

Lockout('checks under way count: the sixth parallel attempt on a user is turned away before its PIN is read', async () => {
  const device = buildDevice(f);
  await buildUser(f, '101');
  const checked: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const deps = {
    ...f.deps,
    verifySecret: async (pin: string) => {
      checked.push(pin);
      await gate;
      return pin === '4826';
    },
  };
  const tries = ['1111', '2222', '3333', '5555', '6666', '4826', '7777'].map((pin) =>
    login(deps, f.tenantId, ACTOR, { device: device.idleAccount, extension: '101', pin, method: 'api' }).then(
      () => 'ok',
      (err: AppError) => err.code,
    ),
  );
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(checked, ['1111', '2222', '3333', '5555', '6666'], 'only five PINs reach the check');
  release();
  const answers = await Promise.all(tries);
  assert.equal(answers, ['wrong_pin', 'wrong_pin', 'wrong_pin', 'wrong_pin', 'wrong_pin', 'too_many_attempts', 'too_many_attempts']);
  const locked = await attempt(device.idleAccount, '101', '4826');
  assert.ok(locked !== 'ok');
  assert.is(locked.code, 'locked', 'the five wrong PINs locked the user');
});

Lockout('every failure and lockout is audited, never with the PIN', async () => {
  const device = buildDevice(f);
  await buildUser(f, '101');
  for (let i = 0; i < LOCKOUT.userFailures + 1; i++) await attempt(device.idleAccount, '101', '9753');
  const events = f.deps.db.select().from(auditEvents).all();
  const reasons = events.filter((e) => e.action === 'hotdesk.login_failed').map((e) => JSON.parse(e.detail).reason);
  assert.equal(reasons, ['wrong_pin', 'wrong_pin', 'wrong_pin', 'wrong_pin', 'wrong_pin', 'locked']);
  const locks = events.filter((e) => e.action === 'hotdesk.locked');
  assert.is(locks.length, 1);
  assert.is(JSON.parse(locks[0]?.detail ?? '{}').subject, 'user');
  assert.not.ok(JSON.stringify(events).includes('9753'));
});

Lockout.run();

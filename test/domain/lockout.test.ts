import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeTransaction } from '../../src/db/client.ts';
import { auditEvents } from '../../src/db/schema.ts';
import { verifySecret } from '../../src/domain/credentials.ts';
import { isRefused, type LoginResult, login } from '../../src/domain/hotdesk.ts';
import { LOCKOUT, recordFailure } from '../../src/domain/lockout.ts';
import { assertRefused } from '../helpers/assertions.ts';
import { ACTOR, buildDevice, buildUser, createDomain, type DomainFixture } from '../helpers/domain.ts';

interface Context {
  f: DomainFixture;
  /** The time the domain sees; `later` moves it on. */
  clock: Date;
}
const Lockout = suite<Context>('hotdesk/lockout');
Lockout.before.each(async (ctx) => {
  ctx.clock = new Date('2026-03-02T09:00:00Z');
  ctx.f = await createDomain(() => ctx.clock);
});
Lockout.after.each(({ f }) => f.close());

const later = (ctx: Context, seconds: number) => {
  ctx.clock = new Date(ctx.clock.getTime() + seconds * 1000);
};

const attempt = ({ f }: Context, device: string, extension: string, pin: string) => login(f.deps, f.tenantId, ACTOR, { device, extension, pin, method: 'api' });
/** The refusal's kind, or 'ok' when the login went through. */
const kindOf = (result: LoginResult) => (isRefused(result) ? result.result : 'ok');

Lockout('wrong PINs count down, then lock the user: locked even with the right PIN until the lockout ends', async (ctx) => {
  const { f } = ctx;
  const device = await buildDevice(f);
  await buildUser(f, '101');
  const left: number[] = [];
  for (let i = 0; i < LOCKOUT.userFailures; i++) {
    const wrong = assertRefused(await attempt(ctx, device.idleAccount, '101', '9999'), 'wrong_pin');
    left.push(wrong.triesLeft);
  }
  assert.equal(left, [4, 3, 2, 1, 0]);
  const locked = assertRefused(await attempt(ctx, device.idleAccount, '101', '4826'), 'locked');
  assert.equal([locked.subject, locked.name], ['user', '101']);
  assert.equal(locked.until, new Date('2026-03-02T09:01:00.000Z'));
  later(ctx, 61);
  assert.is(kindOf(await attempt(ctx, device.idleAccount, '101', '4826')), 'ok');
});

Lockout('each further lockout lasts twice as long; a success forgets them', async (ctx) => {
  const { f } = ctx;
  // A fresh phone for each round, so the phone's own lockout never gets in the way of the user's.
  const phones = [await buildDevice(f), await buildDevice(f), await buildDevice(f), await buildDevice(f)].map((d) => d.idleAccount);
  await buildUser(f, '101');
  const lockOnce = async (phone: string) => {
    for (let i = 0; i < LOCKOUT.userFailures; i++) await attempt(ctx, phone, '101', '9999');
  };
  await lockOnce(phones[0] ?? '');
  later(ctx, 61);
  await lockOnce(phones[1] ?? '');
  const second = assertRefused(await attempt(ctx, phones[1] ?? '', '101', '4826'), 'locked');
  assert.equal(second.until, new Date(ctx.clock.getTime() + 120_000));
  later(ctx, 121);
  assert.is(kindOf(await attempt(ctx, phones[2] ?? '', '101', '4826')), 'ok');
  await lockOnce(phones[3] ?? '');
  const fresh = assertRefused(await attempt(ctx, phones[3] ?? '', '101', '4826'), 'locked');
  assert.equal(fresh.until, new Date(ctx.clock.getTime() + 60_000), 'back to the first lockout length');
});

Lockout('guessing many extensions from one phone locks that phone for everyone', async (ctx) => {
  const { f } = ctx;
  const device = await buildDevice(f);
  const other = await buildDevice(f);
  await buildUser(f, '101');
  for (let i = 0; i < LOCKOUT.deviceFailures; i++) await attempt(ctx, device.idleAccount, String(900 + i), '9999');
  const refused = assertRefused(await attempt(ctx, device.idleAccount, '101', '4826'), 'locked');
  assert.equal([refused.subject, refused.name], ['device', device.idleAccount]);
  assert.is(kindOf(await attempt(ctx, other.idleAccount, '101', '4826')), 'ok', 'another phone is not locked');
});

Lockout('a right PIN reserved within the budget logs in even when a lockout lands while it is checked', async (ctx) => {
  const { f } = ctx;
  const device = await buildDevice(f);
  const { user } = await buildUser(f, '101');
  // The reservation is made before the PIN is read; the lockout lands once the check has begun, while scrypt works.
  // Answering 423 now would make the right PIN the one answer that differs from the wrong ones around it.
  let begun!: () => void;
  const checking = new Promise<void>((resolve) => {
    begun = resolve;
  });
  const deps = {
    ...f.deps,
    verifySecret: (pin: string, hash: string) => {
      begun();
      return verifySecret(pin, hash);
    },
  };
  const pending = login(deps, f.tenantId, ACTOR, { device: device.idleAccount, extension: '101', pin: '4826', method: 'api' });
  await checking;
  await writeTransaction(f.deps.db, async (tx) => {
    for (let i = 0; i < LOCKOUT.userFailures; i++) await recordFailure(tx, f.tenantId, { subject: 'user', id: user.id }, ctx.clock);
  });
  assert.is(kindOf(await pending), 'ok');
  assert.is(kindOf(await attempt(ctx, device.idleAccount, '101', '9999')), 'wrong_pin', 'the success forgot the lockout');
});

Lockout('checks under way count: the sixth parallel attempt on a user is turned away before its PIN is read', async (ctx) => {
  const { f } = ctx;
  const device = await buildDevice(f);
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
  // Each attempt is under way (its PIN being checked, or already answered) before the next starts; none finishes
  // before all seven are in: the order is the list's on any engine.
  const tries: Promise<string>[] = [];
  for (const pin of ['1111', '2222', '3333', '5555', '6666', '4826', '7777']) {
    const before = checked.length;
    let settled = false;
    const attempt = login(deps, f.tenantId, ACTOR, { device: device.idleAccount, extension: '101', pin, method: 'api' }).then((r) => {
      settled = true;
      return isRefused(r) ? r.result : 'ok';
    });
    tries.push(attempt);
    while (checked.length === before && !settled) await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(checked, ['1111', '2222', '3333', '5555', '6666'], 'only five PINs reach the check');
  release();
  const answers = await Promise.all(tries);
  assert.equal(answers, ['wrong_pin', 'wrong_pin', 'wrong_pin', 'wrong_pin', 'wrong_pin', 'too_many_attempts', 'too_many_attempts']);
  assertRefused(await attempt(ctx, device.idleAccount, '101', '4826'), 'locked');
});

Lockout('every failure and lockout is audited, never with the PIN', async (ctx) => {
  const { f } = ctx;
  const device = await buildDevice(f);
  await buildUser(f, '101');
  for (let i = 0; i < LOCKOUT.userFailures + 1; i++) await attempt(ctx, device.idleAccount, '101', '9753');
  const events = await f.deps.db.select().from(auditEvents);
  const reasons = events.filter((e) => e.action === 'hotdesk.login_failed').map((e) => JSON.parse(e.detail).reason);
  assert.equal(reasons, ['wrong_pin', 'wrong_pin', 'wrong_pin', 'wrong_pin', 'wrong_pin', 'locked']);
  const locks = events.filter((e) => e.action === 'hotdesk.locked');
  assert.is(locks.length, 1);
  assert.is(JSON.parse(locks[0]?.detail ?? '{}').subject, 'user');
  assert.not.ok(JSON.stringify(events).includes('9753'));
});

Lockout('50 wrong PINs at once: triesLeft counts down to exactly the lockout, the rest are turned away unchecked', async (ctx) => {
  const { f } = ctx;
  const device = await buildDevice(f);
  await buildUser(f, '101');
  const pins = Array.from({ length: 50 }, (_, i) => String(1000 + i));
  const answers = await Promise.all(pins.map((pin) => attempt(ctx, device.idleAccount, '101', pin)));
  const wrong = answers.filter((a) => a.result === 'wrong_pin').map((a) => assertRefused(a, 'wrong_pin'));
  assert.equal(wrong.map((w) => w.triesLeft).sort(), [0, 1, 2, 3, 4], 'each try left is spent once');
  const until = new Date(ctx.clock.getTime() + LOCKOUT.baseSeconds * 1000);
  assert.equal(
    wrong.map((w) => w.lockedUntil),
    wrong.map((w) => (w.triesLeft === 0 ? until : null)),
    'the last try locks, and only it',
  );
  const busy = answers.filter((a) => a.result === 'too_many_attempts').map((a) => assertRefused(a, 'too_many_attempts'));
  assert.is(busy.length, 50 - LOCKOUT.userFailures);
  assert.ok(
    busy.every((b) => b.subject === 'user' && b.name === '101'),
    'turned away for the user, whose tries left are all being checked',
  );
  const locked = assertRefused(await attempt(ctx, device.idleAccount, '101', '4826'), 'locked');
  assert.equal(locked.until, until);
});

Lockout.run();

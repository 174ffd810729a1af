import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { deleteDevice } from '../../src/domain/devices.ts';
import { isRefused, login, logout } from '../../src/domain/hotdesk.ts';
import { dayIn, hoursOf, type OccupancyReport, occupancyRange, occupancyReport, startOfDay } from '../../src/domain/occupancy.ts';
import { getTenant, updateTenant } from '../../src/domain/tenants.ts';
import { assertAppError } from '../helpers/assertions.ts';
import { ACTOR, buildDevice, buildUser, createDomain, type DomainFixture } from '../helpers/domain.ts';

/** A domain whose clock the test moves: sessions open and close at the times a test sets. */
interface Ctx {
  f: DomainFixture;
  clock: { at: Date };
}
const Occupancy = suite<Ctx>('desk occupancy');
Occupancy.before.each(async (ctx) => {
  ctx.clock = { at: new Date('2026-03-02T08:00:00Z') };
  ctx.f = await createDomain(() => ctx.clock.at);
});
Occupancy.after.each(({ f }) => f.close());

const at = (ctx: Ctx, iso: string) => {
  ctx.clock.at = new Date(iso);
};
const sitDown = async (ctx: Ctx, iso: string, device: string, extension: string) => {
  at(ctx, iso);
  const result = await login(ctx.f.deps, ctx.f.tenantId, ACTOR, { device, extension, pin: '4826', method: 'api' });
  assert.ok(!isRefused(result), `login refused: ${result.result}`);
};
const standUp = async (ctx: Ctx, iso: string, device: string) => {
  at(ctx, iso);
  await logout(ctx.f.deps, ctx.f.tenantId, ACTOR, { device, method: 'api' });
};
const report = async (ctx: Ctx, from: string, to: string, nowIso: string): Promise<OccupancyReport> => {
  at(ctx, nowIso);
  const tenant = await getTenant(ctx.f.deps.db, ctx.f.tenantId);
  return occupancyReport(ctx.f.deps.db, tenant, { from, to }, ctx.clock.at);
};
const hoursOn = (r: OccupancyReport, desk: string, day: string) => {
  const d = r.deskDays.find((x) => x.idleAccount === desk && x.day === day);
  return d === undefined ? 0 : hoursOf(d.occupiedMs);
};
const inZone = async (ctx: Ctx, timezone: string) => {
  await updateTenant(ctx.f.deps, ctx.f.tenantId, ACTOR, { timezone });
};

Occupancy('a desk used by two people in a day: the hours of both, two people, and where each sat', async (ctx) => {
  const a = await buildDevice(ctx.f, { label: 'Window' });
  const b = await buildDevice(ctx.f, { label: 'Door' });
  await buildUser(ctx.f, '101');
  await buildUser(ctx.f, '102');
  await sitDown(ctx, '2026-03-02T09:00:00Z', a.idleAccount, '101');
  await standUp(ctx, '2026-03-02T12:30:00Z', a.idleAccount);
  await sitDown(ctx, '2026-03-02T13:00:00Z', a.idleAccount, '102');
  await standUp(ctx, '2026-03-02T17:00:00Z', a.idleAccount);
  await sitDown(ctx, '2026-03-03T09:00:00Z', b.idleAccount, '101');
  await standUp(ctx, '2026-03-03T10:00:00Z', b.idleAccount);

  const r = await report(ctx, '2026-03-01', '2026-03-03', '2026-03-04T08:00:00Z');
  assert.is(r.timeZone, 'UTC', 'a tenant without a zone of its own counts days in UTC');
  assert.equal(r.days, ['2026-03-01', '2026-03-02', '2026-03-03']);
  assert.equal(
    r.deskDays.map((d) => [d.day, d.idleAccount, hoursOf(d.occupiedMs), d.people]),
    [
      ['2026-03-02', a.idleAccount, 7.5, 2],
      ['2026-03-03', b.idleAccount, 1, 1],
    ],
  );
  assert.equal(
    r.desks.map((d) => [d.label, hoursOf(d.occupiedMs), d.daysOccupied, d.people, d.sessions]),
    [
      ['Window', 7.5, 1, 2, 2],
      ['Door', 1, 1, 1, 1],
    ],
  );
  assert.equal(
    r.users.map((u) => [u.extension, u.label, hoursOf(u.occupiedMs)]),
    [
      ['101', 'Window', 3.5],
      ['101', 'Door', 1],
      ['102', 'Window', 4],
    ],
  );
});

Occupancy('a session over midnight is split at midnight of the tenant’s zone, daylight saving included', async (ctx) => {
  const a = await buildDevice(ctx.f);
  await buildUser(ctx.f, '101');
  await sitDown(ctx, '2026-03-28T20:00:00Z', a.idleAccount, '101');
  await standUp(ctx, '2026-03-29T06:00:00Z', a.idleAccount);

  const utc = await report(ctx, '2026-03-28', '2026-03-29', '2026-03-30T12:00:00Z');
  assert.is(hoursOn(utc, a.idleAccount, '2026-03-28'), 4);
  assert.is(hoursOn(utc, a.idleAccount, '2026-03-29'), 6);

  // Amsterdam: 21:00 to midnight local on the 28th (3 h), then midnight to 08:00 CEST, 7 h of clock as the
  // clocks jump at 02:00 (7 h elapsed).
  await inZone(ctx, 'Europe/Amsterdam');
  const local = await report(ctx, '2026-03-28', '2026-03-29', '2026-03-30T12:00:00Z');
  assert.is(local.timeZone, 'Europe/Amsterdam');
  assert.is(hoursOn(local, a.idleAccount, '2026-03-28'), 3);
  assert.is(hoursOn(local, a.idleAccount, '2026-03-29'), 7);
  assert.is(startOfDay('Europe/Amsterdam', '2026-03-30').getTime() - startOfDay('Europe/Amsterdam', '2026-03-29').getTime(), 23 * 3600_000);
});

Occupancy('an open session counts up to now; a desk nobody used shows with no hours', async (ctx) => {
  const a = await buildDevice(ctx.f);
  const empty = await buildDevice(ctx.f, { label: 'Empty' });
  await buildUser(ctx.f, '101');
  await sitDown(ctx, '2026-03-02T09:00:00Z', a.idleAccount, '101');
  const r = await report(ctx, '2026-03-02', '2026-03-02', '2026-03-02T11:15:00Z');
  assert.is(hoursOn(r, a.idleAccount, '2026-03-02'), 2.3, '2 h 15 min so far');
  const unused = r.desks.find((d) => d.deviceId === empty.id);
  assert.equal(unused && [unused.occupiedMs, unused.daysOccupied, unused.people], [0, 0, 0]);
  assert.is(r.desks[0]?.deviceId, a.id, 'the most used desk first');
});

Occupancy('a session that began before the range counts only inside it; moving desks counts both desks', async (ctx) => {
  const a = await buildDevice(ctx.f);
  const b = await buildDevice(ctx.f);
  await buildUser(ctx.f, '101');
  await sitDown(ctx, '2026-03-01T22:00:00Z', a.idleAccount, '101');
  // Logging in on b logs 101 out of a.
  await sitDown(ctx, '2026-03-02T10:00:00Z', b.idleAccount, '101');
  await standUp(ctx, '2026-03-02T11:00:00Z', b.idleAccount);
  const r = await report(ctx, '2026-03-02', '2026-03-02', '2026-03-03T00:00:00Z');
  assert.is(hoursOn(r, a.idleAccount, '2026-03-02'), 10);
  assert.is(hoursOn(r, b.idleAccount, '2026-03-02'), 1);
  assert.equal(
    r.users.map((u) => [u.idleAccount, hoursOf(u.occupiedMs), u.lastStartedAt.toISOString()]),
    [
      [a.idleAccount, 10, '2026-03-01T22:00:00.000Z'],
      [b.idleAccount, 1, '2026-03-02T10:00:00.000Z'],
    ],
  );
});

Occupancy('a deleted desk keeps its past; another tenant’s desks are not counted', async (ctx) => {
  const a = await buildDevice(ctx.f);
  await buildUser(ctx.f, '101');
  await sitDown(ctx, '2026-03-02T09:00:00Z', a.idleAccount, '101');
  await standUp(ctx, '2026-03-02T10:00:00Z', a.idleAccount);
  at(ctx, '2026-03-02T12:00:00Z');
  await deleteDevice(ctx.f.deps, ctx.f.tenantId, ACTOR, a.idleAccount);
  const r = await report(ctx, '2026-03-02', '2026-03-02', '2026-03-03T00:00:00Z');
  assert.equal(
    r.desks.map((d) => [d.idleAccount, hoursOf(d.occupiedMs), d.retired]),
    [[a.idleAccount, 1, true]],
  );
  const elsewhere = await occupancyReport(
    ctx.f.deps.db,
    { id: ctx.f.tenantId + 1000, timezone: 'UTC' },
    { from: '2026-03-02', to: '2026-03-02' },
    ctx.clock.at,
  );
  assert.equal([elsewhere.desks.length, elsewhere.deskDays.length, elsewhere.users.length], [0, 0, 0]);
});

Occupancy('the range: the last 30 days of the tenant’s zone unless asked, refused when backwards or too long', async () => {
  const now = new Date('2026-03-02T23:30:00Z');
  assert.equal(occupancyRange('UTC', now, {}), { from: '2026-02-01', to: '2026-03-02' });
  assert.equal(occupancyRange('Europe/Amsterdam', now, {}), { from: '2026-02-02', to: '2026-03-03' }, 'already the 3rd in Amsterdam');
  assert.is(dayIn('Europe/Amsterdam', now), '2026-03-03');
  assert.equal(occupancyRange('UTC', now, { from: '2026-01-01' }), { from: '2026-01-01', to: '2026-01-30' });
  assert.equal(occupancyRange('UTC', now, { from: '2026-02-20' }), { from: '2026-02-20', to: '2026-03-02' }, 'not past today');
  assert.equal(occupancyRange('UTC', now, { to: '2026-01-30', from: '' }), { from: '2026-01-01', to: '2026-01-30' });
  await assertAppError(() => occupancyRange('UTC', now, { from: '2026-03-02', to: '2026-03-01' }), {
    status: 400,
    code: 'invalid_field',
    message: /before from/,
  });
  await assertAppError(() => occupancyRange('UTC', now, { from: '2024-01-01', to: '2026-01-01' }), {
    status: 400,
    code: 'invalid_field',
    message: /at most 366 days/,
  });
  await assertAppError(() => occupancyRange('UTC', now, { from: '2026-02-30' }), { status: 400, code: 'invalid_field', message: /YYYY-MM-DD/ });
  await assertAppError(() => occupancyRange('UTC', now, { from: '0000-01-01' }), { status: 400, code: 'invalid_field', message: /YYYY-MM-DD/ });
  await assertAppError(() => occupancyRange('UTC', now, { to: '9999-12-31' }), { status: 400, code: 'invalid_field', message: /YYYY-MM-DD/ });
});

Occupancy.run();

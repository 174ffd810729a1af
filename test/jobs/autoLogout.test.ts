import { eq } from 'drizzle-orm';
import cron from 'node-cron';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tablesOf } from '../../src/db/client.ts';
import { scheduledLogout, sessionLimit } from '../../src/jobs/schedules.ts';
import { silentLogger } from '../../src/log.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

interface Context {
  t: TestServer;
  clock: Date;
}

const Auto = suite<Context>('jobs/automatic logout');
Auto.before.each(async (ctx) => {
  ctx.clock = new Date('2026-03-02T09:00:00Z');
  ctx.t = await startTestServer({ now: () => ctx.clock });
  for (const ext of ['101', '102', '103']) {
    await ctx.t.api('POST', '/api/v1/users', { extension: ext, displayName: `User ${ext}`, sipPassword: `secret-${ext}`, pin: '4826' });
  }
  for (const mac of ['00:15:65:00:00:01', '00:15:65:00:00:02', '00:15:65:00:00:03']) {
    await ctx.t.api('POST', '/api/v1/devices', { mac, vendor: 'yealink', model: 'T46U' });
  }
});
Auto.after.each((ctx) => ctx.t.close());

const jobDeps = (ctx: Context) => ({ domain: ctx.t.hotprov.deps.domain, resync: ctx.t.hotprov.resync, log: silentLogger });
/** The audit events of logouts, oldest first. */
const logoutsAudited = async (ctx: Context) => {
  const { db } = ctx.t.hotprov.database;
  const { auditEvents } = tablesOf(db);
  return await db
    .select({ method: auditEvents.method, detail: auditEvents.detail })
    .from(auditEvents)
    .where(eq(auditEvents.action, 'hotdesk.logout'))
    .orderBy(auditEvents.id);
};
const signIn = (ctx: Context, device: string, extension: string) => ctx.t.api('POST', '/api/v1/hotdesk/login', { device, extension, pin: '4826' });

Auto('the nightly job logs everyone out, each with its own reason and a NOTIFY', async (ctx) => {
  await signIn(ctx, 'HD0001', '101');
  await signIn(ctx, 'HD0002', '102');
  ctx.t.changes.length = 0;
  const idle = await scheduledLogout.run(jobDeps(ctx), (await ctx.t.hotprov.deps.tenant()).id);
  assert.equal(idle.map((d) => d.idleAccount).sort(), ['HD0001', 'HD0002']);
  assert.equal((await ctx.t.api('GET', '/api/v1/hotdesk/sessions')).body, []);
  assert.equal(ctx.t.changes.flatMap((c) => c.deviceIds).length, 2);
  for (const device of ['HD0001', 'HD0002']) {
    const sync = (await ctx.t.api('GET', `/api/v1/devices/${device}`)).body.sync;
    assert.is(sync.reason, 'automatic logout (scheduled)', `${device} was not re-synced`);
  }
  const audit = (await logoutsAudited(ctx)).map((e) => ({ method: e.method, reason: JSON.parse(e.detail).reason }));
  assert.equal(audit, [
    { method: 'auto', reason: 'scheduled' },
    { method: 'auto', reason: 'scheduled' },
  ]);
});

Auto('sessions longer than the maximum end; shorter ones stay', async (ctx) => {
  await ctx.t.api('PATCH', '/api/v1/tenant', { maxSessionMinutes: 600 });
  await signIn(ctx, 'HD0001', '101');
  ctx.clock = new Date(ctx.clock.getTime() + 5 * 3600_000);
  await signIn(ctx, 'HD0002', '102');
  ctx.clock = new Date(ctx.clock.getTime() + 5 * 3600_000 + 60_000);
  const { db } = ctx.t.hotprov.database;
  const { tenants } = tablesOf(db);
  const [tenant] = await db.select({ id: tenants.id, maxSessionMinutes: tenants.maxSessionMinutes }).from(tenants);
  assert.ok(tenant !== undefined);
  const ended = await sessionLimit.run(jobDeps(ctx), tenant, ctx.clock);
  assert.equal(
    ended.map((d) => d.idleAccount),
    ['HD0001'],
  );
  const open = (await ctx.t.api('GET', '/api/v1/hotdesk/sessions')).body;
  assert.equal(
    open.map((s: { user: { extension: string } }) => s.user.extension),
    ['102'],
  );
  const reasons = (await logoutsAudited(ctx)).map((e) => JSON.parse(e.detail).reason);
  assert.equal(reasons, ['max_duration']);
});

Auto('no maximum, no automatic end', async (ctx) => {
  await signIn(ctx, 'HD0001', '101');
  const ended = await sessionLimit.run(jobDeps(ctx), { id: (await ctx.t.hotprov.deps.tenant()).id, maxSessionMinutes: null }, new Date('2030-01-01'));
  assert.equal(ended, []);
});

Auto("setting the schedule in the tenant schedules it, in the tenant's time zone", async (ctx) => {
  await ctx.t.hotprov.startJobs();
  const res = await ctx.t.api('PATCH', '/api/v1/tenant', { autoLogoutCron: '0 2 * * *', timezone: 'Europe/Amsterdam' });
  assert.is(res.status, 200);
  const task = [...cron.getTasks().values()].find((task) => task.name === 'scheduled-logout-default');
  assert.ok(task !== undefined, 'no scheduled-logout task');
  const next = task.getNextRun();
  assert.ok(next !== null);
  const amsterdam = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Amsterdam', hour: '2-digit', minute: '2-digit' });
  assert.is(amsterdam.format(next), '02:00');
  const bad = await ctx.t.api('PATCH', '/api/v1/tenant', { autoLogoutCron: 'at two' });
  assert.is(bad.status, 400);
  assert.match(bad.body.error.message, /^autoLogoutCron: must be a cron expression/);
});

Auto.run();

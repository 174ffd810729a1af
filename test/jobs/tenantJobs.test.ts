import cron from 'node-cron';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { returnedRow } from '../../src/db/client.ts';
import { tenants } from '../../src/db/schema.ts';
import { enrolDevice } from '../../src/domain/devices.ts';
import { isRefused, login } from '../../src/domain/hotdesk.ts';
import { listOpenSessions } from '../../src/domain/sessions.ts';
import { updateTenant } from '../../src/domain/tenants.ts';
import { createUser } from '../../src/domain/users.ts';
import { scheduledLogout, sessionLimit } from '../../src/jobs/schedules.ts';
import { silentLogger } from '../../src/log.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** Scheduled work runs for every tenant, each by its own settings, and touches no other tenant's desks. */
interface Context {
  t: TestServer;
  clock: Date;
  acme: number;
  main: number;
}

const ACTOR = { name: 'test' };
const Jobs = suite<Context>('jobs/per tenant');
Jobs.before.each(async (ctx) => {
  ctx.clock = new Date('2026-03-02T09:00:00Z');
  ctx.t = await startTestServer({ now: () => ctx.clock });
  const domain = ctx.t.hotprov.deps.domain;
  ctx.main = (await ctx.t.hotprov.deps.tenant()).id;
  ctx.acme = (await returnedRow(domain.db.insert(tenants).values({ slug: 'acme', name: 'Acme' }).returning())).id;
  for (const [tenant, oui] of [
    [ctx.main, '0015650a'],
    [ctx.acme, '0015650b'],
  ] as const) {
    await createUser(domain, tenant, 4, ACTOR, { extension: '101', displayName: 'User 101', sipPassword: 's-101', pin: '4826' });
    await enrolDevice(domain, tenant, ACTOR, { mac: `${oui}0001`, vendor: 'yealink', model: 'T46U' });
    const seated = await login(domain, tenant, ACTOR, { device: `${oui}0001`, extension: '101', pin: '4826', method: 'api' });
    assert.not.ok(isRefused(seated));
  }
});
Jobs.after.each((ctx) => ctx.t.close());

const jobDeps = (ctx: Context) => ({ domain: ctx.t.hotprov.deps.domain, resync: ctx.t.hotprov.resync, log: silentLogger });
const seated = async (ctx: Context, tenant: number) => (await listOpenSessions(ctx.t.hotprov.database.db, tenant)).length;

Jobs("the session limit ends each tenant's sessions by that tenant's maximum only", async (ctx) => {
  const domain = ctx.t.hotprov.deps.domain;
  await updateTenant(domain, ctx.main, ACTOR, { maxSessionMinutes: 600 });
  await updateTenant(domain, ctx.acme, ACTOR, { maxSessionMinutes: 60 });
  ctx.clock = new Date(ctx.clock.getTime() + 2 * 3600_000);
  const ended = await sessionLimit.runEveryTenant(jobDeps(ctx), ctx.clock);
  assert.equal(
    ended.map((d) => d.tenantId),
    [ctx.acme],
  );
  assert.equal([await seated(ctx, ctx.main), await seated(ctx, ctx.acme)], [1, 0]);
});

Jobs("each tenant's automatic logout runs on its own cron, in its own time zone, and logs out its own desks", async (ctx) => {
  const domain = ctx.t.hotprov.deps.domain;
  await updateTenant(domain, ctx.main, ACTOR, { autoLogoutCron: '0 2 * * *', timezone: 'Europe/Amsterdam' });
  await updateTenant(domain, ctx.acme, ACTOR, { autoLogoutCron: '30 3 * * *', timezone: 'Asia/Tokyo' });
  await ctx.t.hotprov.startJobs();
  const next = (name: string) => [...cron.getTasks().values()].find((task) => task.name === name)?.getNextRun() ?? null;
  const at = (zone: string, date: Date | null) =>
    date === null ? 'never' : new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit' }).format(date);
  assert.is(at('Europe/Amsterdam', next('scheduled-logout-default')), '02:00');
  assert.is(at('Asia/Tokyo', next('scheduled-logout-acme')), '03:30');
  assert.equal(
    (await scheduledLogout.run(jobDeps(ctx), ctx.acme)).map((d) => d.tenantId),
    [ctx.acme],
  );
  assert.equal([await seated(ctx, ctx.main), await seated(ctx, ctx.acme)], [1, 0]);
  // A tenant that stops its schedule loses its task; the other keeps its own.
  await updateTenant(domain, ctx.acme, ACTOR, { autoLogoutCron: null });
  await ctx.t.hotprov.deps.onTenantChanged(ctx.acme);
  assert.is(next('scheduled-logout-acme'), null);
  assert.is(at('Europe/Amsterdam', next('scheduled-logout-default')), '02:00');
});

Jobs.run();

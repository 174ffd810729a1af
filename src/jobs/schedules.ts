import cron, { type ScheduledTask } from 'node-cron';
import type { TenantRow } from '../db/schema.ts';
import type { DomainDeps } from '../domain/deps.ts';
import { reportUnseenDevices } from '../domain/devices.ts';
import { logoutSessions } from '../domain/hotdesk.ts';
import { UNSEEN_AFTER_MS } from '../domain/overview.ts';
import { listTenants } from '../domain/tenants.ts';
import { DELIVERY_RETENTION_MS, pruneDeliveries } from '../domain/webhookEvents.ts';
import type { Logger } from '../log.ts';
import type { Redirects } from '../redirect/registrations.ts';
import type { Resync } from '../sync/resync.ts';
import type { WebhookSender } from '../webhooks/sender.ts';

export interface JobDeps {
  readonly domain: DomainDeps;
  readonly resync: Resync;
  readonly redirects?: Redirects;
  readonly webhooks?: Pick<WebhookSender, 'pump'>;
  readonly log: Logger;
}

const AUTO = { name: 'auto-logout' };

/** Nightly (or whenever the tenant's cron says): everyone is logged out and every phone re-synced. */
export const scheduledLogout = {
  name: 'scheduled-logout',
  run: async (deps: JobDeps, tenantId: number) => await logoutSessions(deps.domain, tenantId, AUTO, { reason: 'scheduled', method: 'auto' }),
};

/** Every minute: sessions longer than their tenant's maximum end. */
export const sessionLimit = {
  name: 'session-limit',
  schedule: '* * * * *',
  async run(deps: JobDeps, tenant: Pick<TenantRow, 'id' | 'maxSessionMinutes'>, now: Date = deps.domain.now()) {
    if (tenant.maxSessionMinutes === null) return [];
    const cutoff = new Date(now.getTime() - tenant.maxSessionMinutes * 60_000);
    return await logoutSessions(deps.domain, tenant.id, AUTO, { reason: 'max_duration', method: 'auto', startedBefore: cutoff });
  },
  /** Every tenant, each by its own maximum (tenants made since the last run included). */
  async runEveryTenant(deps: JobDeps, now: Date = deps.domain.now()) {
    const ended = [];
    for (const tenant of await listTenants(deps.domain.db)) ended.push(...(await sessionLimit.run(deps, tenant, now)));
    return ended;
  },
};

/**
 * Every five seconds: phones that did not fetch after a NOTIFY are told again, then reported failed; failed ones
 * are told again once their retry time (the next poll window) came.
 */
export const syncWatchdog = {
  name: 'sync-watchdog',
  schedule: '*/5 * * * * *',
  run: (deps: JobDeps) => deps.resync.checkOverdue(),
};

/** Every minute: redirect registrations that failed are tried again once their back-off ran out. */
export const redirectRetry = {
  name: 'redirect-retry',
  schedule: '* * * * *',
  run: (deps: JobDeps) => deps.redirects?.retryDue(),
};

/** Every second: webhook deliveries that are due (new events, retries whose wait ran out) are sent. */
export const webhookDelivery = {
  name: 'webhook-delivery',
  schedule: '* * * * * *',
  run: (deps: JobDeps) => deps.webhooks?.pump(),
};

/**
 * Every ten minutes: phones not seen for a day are reported (audit, webhooks), once per silence; webhook deliveries
 * that ended a month ago are forgotten.
 */
export const unseenDevices = {
  name: 'unseen-devices',
  schedule: '*/10 * * * *',
  async run(deps: JobDeps) {
    const now = deps.domain.now();
    await pruneDeliveries(deps.domain.db, new Date(now.getTime() - DELIVERY_RETENTION_MS));
    return await reportUnseenDevices(deps.domain, UNSEEN_AFTER_MS);
  },
};

/**
 * node-cron's own messages (a missed or overlapping run) go through hotprov's logger, one plain line each,
 * instead of node-cron's coloured lines on the console.
 */
export function cronLogger(log: Logger, task: string) {
  const text = (m: unknown) => (m instanceof Error ? m.message : String(m));
  return {
    info: (m: string) => log.debug('lifecycle', `cron: ${m}`, { job: task }),
    // A run skipped because the last one is still going is the design (noOverlap), not news: debug only.
    warn: (m: string) => (/overlap/i.test(m) ? log.debug : log.warn)('lifecycle', `cron: ${m}`, { job: task }),
    error: (m: string | Error, err?: Error) => log.error('lifecycle', `cron: ${text(m)}`, { job: task, ...(err === undefined ? {} : { error: err.message }) }),
    debug: (m: string | Error) => log.debug('lifecycle', `cron: ${text(m)}`, { job: task }),
  };
}

/**
 * Starts the cron schedules. Each job body is a plain function above (tests call them with a fixed clock);
 * this only decides when. Work per tenant runs for every tenant with its own settings: the automatic logout is one
 * task per tenant, on its cron in its time zone; the session limit reads every tenant's maximum at each run; the
 * re-sync watchdog and redirect retries take each device's tenant's settings. `reschedule()` re-reads the tenants'
 * schedules after their settings changed, or a tenant came or went.
 */
export function startJobs(deps: JobDeps): { readonly scheduled: Promise<void>; reschedule(): Promise<void>; stop(): void } {
  cron.setLogger(cronLogger(deps.log, 'node-cron'));
  const guard = (name: string, work: () => unknown) => async () => {
    try {
      await work();
    } catch (err) {
      deps.log.error('lifecycle', `job ${name} failed`, { error: (err as Error).message });
    }
  };
  const fixed: ScheduledTask[] = [
    cron.schedule(
      syncWatchdog.schedule,
      guard(syncWatchdog.name, () => syncWatchdog.run(deps)),
      { name: syncWatchdog.name, noOverlap: true, logger: cronLogger(deps.log, syncWatchdog.name) },
    ),
    cron.schedule(
      redirectRetry.schedule,
      guard(redirectRetry.name, () => redirectRetry.run(deps)),
      { name: redirectRetry.name, noOverlap: true, logger: cronLogger(deps.log, redirectRetry.name) },
    ),
    ...[webhookDelivery, unseenDevices].map((job) =>
      cron.schedule(
        job.schedule,
        guard(job.name, () => job.run(deps)),
        { name: job.name, noOverlap: true, logger: cronLogger(deps.log, job.name) },
      ),
    ),
    cron.schedule(
      sessionLimit.schedule,
      guard(sessionLimit.name, () => sessionLimit.runEveryTenant(deps)),
      { name: sessionLimit.name, noOverlap: true, logger: cronLogger(deps.log, sessionLimit.name) },
    ),
  ];
  let perTenant: ScheduledTask[] = [];
  const schedulePerTenant = async () => {
    for (const task of perTenant) void task.destroy();
    perTenant = [];
    for (const t of await listTenants(deps.domain.db)) {
      if (t.autoLogoutCron === null) continue;
      const name = `${scheduledLogout.name}-${t.slug}`;
      perTenant.push(
        cron.schedule(
          t.autoLogoutCron,
          guard(name, () => scheduledLogout.run(deps, t.id)),
          { name, timezone: t.timezone, noOverlap: true, logger: cronLogger(deps.log, name) },
        ),
      );
      deps.log.info('lifecycle', 'automatic logout scheduled', { tenant: t.slug, cron: t.autoLogoutCron, timezone: t.timezone });
    }
  };
  // A schedule that cannot be read now is logged; the next change of a tenant reads them again.
  const reschedule = (): Promise<void> =>
    schedulePerTenant().catch((err: unknown) => deps.log.error('lifecycle', "cannot read the tenants' schedules", { error: (err as Error).message }));
  const scheduled = reschedule();
  return {
    /** Settles once the tenants' schedules first read are set. */
    scheduled,
    reschedule,
    stop() {
      for (const task of [...fixed, ...perTenant]) void task.destroy();
    },
  };
}

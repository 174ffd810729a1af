import type Koa from 'koa';
import type { Config } from './config.ts';
import { type OpenDatabase, openDatabase, watchOtherWriters } from './db/client.ts';
import { postgresProbes, sqliteProbes } from './db/health.ts';
import { ensureFirstAdmin, releasePendingSignIns } from './domain/admins.ts';
import type { DomainDeps, ProfileChange } from './domain/deps.ts';
import { releaseAllPending } from './domain/lockout.ts';
import { latestRevisions, phonesOfScope, scopeOfRevision } from './domain/templates.ts';
import { ensureDefaultTenant, findTenant, findTenantSettings, forgetTenantSettings, tenantPhoneBaseUrl, tenantSettings } from './domain/tenants.ts';
import { StartupError } from './errors.ts';
import { createAccessLog } from './http/accessLog.ts';
import { createApp } from './http/app.ts';
import type { AppDeps } from './http/deps.ts';
import { createReadiness, type Readiness, sipSocketProbe } from './http/health.ts';
import { startJobs } from './jobs/schedules.ts';
import type { Logger } from './log.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { createProvisioning, type Provisioning } from './provisioning/assemble.ts';
import { CREDENTIALED_PATH } from './provisioning/profile.ts';
import { createTemplateStore, type TemplateStore } from './provisioning/templates.ts';
import { createRedirects, type RedirectDeps, type Redirects } from './redirect/registrations.ts';
import { createSipNotifier, type SipNotifier, type SipTimers } from './sip/notifier.ts';
import { AsteriskRelay, notifyViaFreeswitch } from './sip/relays.ts';
import { joinCluster } from './sync/cluster.ts';
import { createProfileChanges } from './sync/profileChanges.ts';
import { createResync, type Resync, retryEvery } from './sync/resync.ts';
import { loadVendorAdapters } from './vendors/adapters.ts';
import { createModelCatalog } from './vendors/catalog.ts';
import type { VendorAdapter } from './vendors/types.ts';
import { createWebhookSender, type WebhookSender } from './webhooks/sender.ts';

export interface HotprovOptions {
  readonly config: Config;
  readonly adminToken: string;
  readonly log: Logger;
  readonly now?: () => Date;
  readonly templatesDir?: string;
  /** SIP retransmission timers; tests shorten them. */
  readonly sipTimers?: SipTimers;
  /** Clients of the vendors' redirect services; tests pass stand-ins. */
  readonly redirectClientFor?: RedirectDeps['clientFor'];
  /** Also told about every profile change (tests use it to see what would be re-synced). */
  readonly onProfilesChanged?: (change: ProfileChange) => void;
  /** Checks PINs and passwords; tests wrap the real one to count the checks. */
  readonly verifySecret?: DomainDeps['verifySecret'];
}

export interface Hotprov {
  readonly app: Koa;
  readonly deps: AppDeps;
  readonly database: OpenDatabase;
  readonly adapters: readonly VendorAdapter[];
  readonly templates: TemplateStore;
  readonly provisioning: Provisioning;
  readonly resync: Resync;
  readonly redirects: Redirects;
  /** Sends the tenants' webhooks; the jobs pump it every second (tests pump it themselves). */
  readonly webhooks: WebhookSender;
  readonly notifier: SipNotifier;
  /** What `/readyz` answers; main.ts calls beginShutdown on SIGTERM. */
  readonly readiness: Readiness;
  /** What `/metrics` answers. */
  readonly metrics: Metrics;
  /** Starts the cron schedules (automatic logout, re-sync watchdog); tests call the jobs directly instead. */
  startJobs(): Promise<void>;
  close(): Promise<void>;
}

/** How often hotprov looks whether another process wrote the database. */
const OTHER_WRITERS_CHECK_MS = 1000;

/**
 * The composition root: opens and migrates the database, loads vendor profiles and templates (failing fast
 * on a broken one), binds the SIP port and wires the domain, provisioning, re-sync and HTTP layers.
 * Nothing listens for HTTP yet.
 */
export async function createHotprov(options: HotprovOptions): Promise<Hotprov> {
  const { config, log } = options;
  const now = options.now ?? (() => new Date());
  const adapters = loadVendorAdapters();
  const templates = createTemplateStore(options.templatesDir);
  const database = await openDatabase(config);
  const { db } = database;
  // Fed through the hooks below; the render cache's size is read from provisioning at each scrape.
  const accessLog = createAccessLog(log);
  const metrics = createMetrics({ db, now, cacheBytes: () => provisioning.cacheBytes() });
  const defaultTenant = await ensureDefaultTenant(db);
  await releaseAllPending(db);
  await releasePendingSignIns(db);
  // Templates saved in the console replace the shipped files for their tenant's phones; one that no longer
  // compiles is skipped, loudly.
  for (const revision of await latestRevisions(db)) {
    if (revision.source === null) continue;
    try {
      templates.setOverride(revision.tenantId, revision.vendor, revision.name, revision.source, scopeOfRevision(revision));
    } catch (err) {
      log.error('provisioning', 'a saved template does not compile; phones get the shipped file', {
        template: `${revision.vendor}/${revision.name}`,
        tenant: revision.tenantId,
        revision: revision.id,
        error: (err as Error).message,
      });
    }
  }
  if ((await ensureFirstAdmin(db, now(), config.adminPassword)) !== null) log.info('lifecycle', 'created console user admin from HOTPROV_ADMIN_PASSWORD');
  let notifier: SipNotifier;
  // The socket's own error line while binding would repeat the one start-up line below: held until bound.
  let binding = true;
  const held: (() => void)[] = [];
  const sipLog: Logger = { ...log, error: (c, m, e) => (binding ? held.push(() => log.error(c, m, e)) : log.error(c, m, e)) };
  try {
    notifier = await createSipNotifier({
      port: config.sipPort,
      ...(config.sipTlsCa === null ? {} : { tls: { ca: config.sipTlsCa } }),
      advertiseHost: config.sipHost,
      log: sipLog,
      ...(options.sipTimers === undefined ? {} : { timers: options.sipTimers }),
    });
    binding = false;
    for (const line of held.splice(0)) line();
  } catch (err) {
    await database.close();
    const code = (err as { code?: unknown }).code;
    const problem =
      code === 'EADDRINUSE'
        ? 'is in use by another program'
        : code === 'EACCES'
          ? 'may not be bound by this user'
          : `cannot be bound (${(err as Error).message})`;
    throw new StartupError(`HOTPROV_SIP_PORT ${config.sipPort}: the UDP port ${problem}`);
  }

  const provisioning = createProvisioning({
    db,
    // Phones are handed the URL they reach hotprov at (the HTTPS one whenever hotprov has it): their tenant's, else the instance's.
    config,
    cacheMegabytes: config.cacheMegabytes,
    // On several nodes a device read is a round trip: each node keeps copies, dropped by the change feed.
    copyDevices: database.dialect === 'postgres',
    adapters,
    templates,
    log,
    now,
    onServed: (device, etag) => {
      void resync.deviceServed(device, etag);
      // News (not the revision on record): the node that sent its NOTIFY may be another.
      if (device.servedEtag !== etag) cluster.served(device.id, etag);
    },
    guard: config.phoneGuard,
    defaultTenantId: () => defaultTenant.id,
    observe: metrics.phone,
  });
  // A tenant's template changed: only the phones of its scope (the tenant's, a model's, a device) were rendered from it.
  templates.onChange((tenantId, change) => {
    if (change.scope.level === 'tenant') provisioning.invalidateTenant(tenantId);
    else if (change.scope.level === 'device') provisioning.invalidate([change.scope.deviceId]);
    else {
      const { model } = change.scope;
      provisioning.invalidateShared(tenantId);
      void phonesOfScope(db, tenantId, change.vendor, change.scope).then(
        (phones) => provisioning.invalidate(phones.map((d) => d.id)),
        (err: unknown) => {
          log.error('provisioning', "a model's template changed but its phones could not be read: every file is rendered afresh", {
            model,
            error: (err as Error).message,
          });
          provisioning.invalidateAll();
        },
      );
    }
  });
  // One kept AMI session for every NOTIFY the PBX relays, not a login each.
  const asterisk = new AsteriskRelay({ log });
  const resync = await createResync({
    db,
    log,
    now,
    config,
    adapters,
    provisioning,
    direct: notifier,
    relays: { asterisk: (c, endpoint, event) => asterisk.notify(c, endpoint, event), freeswitch: notifyViaFreeswitch },
    policy: {
      fetchTimeoutMs: config.syncFetchTimeoutSeconds * 1000,
      retries: config.syncRetries,
      // A re-sync that failed is tried again every 15 minutes; the tenant's poll window replaces this.
      nextRetry: retryEvery(15 * 60_000),
    },
    onNotify: metrics.notify,
  });

  const redirects = createRedirects({
    db,
    log,
    now,
    // Each tenant's phones are sent to its own base URL, else the instance's.
    phoneBaseUrlOf: (tenant) => tenantPhoneBaseUrl(tenant, config),
    credentialedPath: CREDENTIALED_PATH,
    onCall: metrics.redirectCall,
    ...(options.redirectClientFor === undefined ? {} : { clientFor: options.redirectClientFor }),
  });
  const moved = await redirects.rebaseIfMoved();
  if (moved > 0) log.info('provisioning', 'the base URL changed: phones will be registered again with their redirect services', { devices: moved });

  const webhooks = createWebhookSender({ db, now, log, config: config.webhooks, onAttempt: metrics.webhookAttempt });

  const profileChanges = createProfileChanges({ db, log, provisioning, resync });
  let jobs: ReturnType<typeof startJobs> | null = null;
  const cluster = await joinCluster({
    database,
    url: config.dbPath,
    log,
    provisioning,
    resync: () => resync,
    templates,
    reschedule: () => void jobs?.reschedule(),
  });
  const domain: DomainDeps = {
    db,
    now,
    deviceLifecycle: (event) => redirects.onLifecycle(event),
    onHotdesk: metrics.hotdesk,
    ...(options.verifySecret === undefined ? {} : { verifySecret: options.verifySecret }),
    catalog: createModelCatalog(adapters.map((a) => a.profile)),
    async profilesChanged(change) {
      // The other nodes drop these files before this one tells the phones to fetch them.
      await cluster.devicesChanged(change);
      const outcomes = await profileChanges(change);
      options.onProfilesChanged?.(change);
      return outcomes;
    },
  };
  // Another process may write the database (`hotprov tenant delete`, an admin's sqlite3): within a second, what was
  // kept from the rows before (rendered files and their ETags, tenant settings, schedules) is dropped, so phones get
  // what the database now says at their next fetch.
  const otherWriters =
    database.dialect === 'sqlite'
      ? watchOtherWriters(database.sqlite, OTHER_WRITERS_CHECK_MS, () => {
          log.info('database', 'another process changed the database: files are rendered afresh');
          forgetTenantSettings(db);
          provisioning.invalidateAll();
          void jobs?.reschedule();
        })
      : { stop() {} };
  let leading = false;
  const readiness = createReadiness(
    {
      ...(database.dialect === 'sqlite' ? sqliteProbes(database.sqlite, config.dbPath) : postgresProbes(database.pool)),
      sipSocket: sipSocketProbe(notifier),
    },
    log,
  );
  const deps: AppDeps = {
    readiness,
    metrics,
    accessLog,
    onTenantChanged: async (tenantId) => {
      await jobs?.reschedule();
      await cluster.tenantChanged(tenantId);
      // A tenant's base URL changed: its phones are registered again with their redirect services, now.
      void redirects.rebaseIfMoved().then((moved) => (moved > 0 ? redirects.retryDue() : undefined));
    },
    config,
    domain,
    provisioning,
    resync,
    redirects,
    adapters,
    templates,
    log,
    adminToken: options.adminToken,
    tenant: async () => tenantSettings((await findTenant(db, defaultTenant.id)) ?? defaultTenant, config),
    tenantSettingsOf: async (tenantId) => await findTenantSettings(db, tenantId, config),
  };
  return {
    app: createApp(deps),
    deps,
    database,
    adapters,
    templates,
    provisioning,
    resync,
    redirects,
    webhooks,
    notifier,
    readiness,
    metrics,
    async startJobs() {
      if (leading) return;
      leading = true;
      // On several nodes, the one holding the lock runs them; another takes over when it goes.
      await cluster.lead({
        start: () => {
          jobs ??= startJobs({ domain, resync, redirects, webhooks, log });
        },
        stop: () => {
          jobs?.stop();
          jobs = null;
        },
      });
      await jobs?.scheduled;
    },
    async close() {
      await cluster.close();
      otherWriters.stop();
      jobs?.stop();
      await resync.settled();
      asterisk.close();
      await redirects.settled();
      await webhooks.settled();
      webhooks.close();
      await notifier.close();
      await provisioning.flush();
      await database.close();
      accessLog.close();
    },
  };
}

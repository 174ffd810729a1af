import type { Middleware } from 'koa';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Config } from './config.ts';
import type { Db } from './db/client.ts';
import { sameSecret } from './domain/credentials.ts';
import type { HotdeskEvent } from './domain/deps.ts';
import { networkSet } from './domain/networks.ts';
import { type FigureByTenant, seatedDesksByTenant, unseenDevicesByTenant } from './domain/overview.ts';
import { AppError, Forbidden, Unauthorized } from './errors.ts';
import { PHONE_STATUS } from './http/phoneFetch.ts';
import type { PhoneAnswer, PhoneFetchObserver } from './provisioning/phoneFetch.ts';

/** prom-client's process_* and nodejs_* metrics: one set per process (each set watches the event loop and the GC). */
let processMetrics: Registry | null = null;
function processRegistry(): Registry {
  if (processMetrics === null) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}

export interface MetricsDeps {
  readonly db: Db;
  readonly now: () => Date;
  /** What the render cache holds now, in bytes. */
  readonly cacheBytes: () => number;
}

/**
 * hotprov's Prometheus metrics, in one registry of its own: counters fed by the hooks the phone path, the domain,
 * re-sync and the redirect services already have (nothing below imports prom-client), and two gauges counted in
 * SQL at each scrape. Label sets on the phone path are bound once per combination, so a fetch costs a lookup and
 * an increment.
 */
export function createMetrics(deps: MetricsDeps) {
  const registry = new Registry();

  const phoneFetches = new Counter({
    name: 'hotprov_phone_fetches_total',
    help: 'Phone file requests answered, by vendor, file kind and HTTP status',
    labelNames: ['vendor', 'file', 'status'] as const,
    registers: [registry],
  });
  const cacheHits = new Counter({ name: 'hotprov_render_cache_hits_total', help: 'Phone files answered from the render cache', registers: [registry] });
  const cacheMisses = new Counter({
    name: 'hotprov_render_cache_misses_total',
    help: 'Phone files rendered because the cache did not hold them',
    registers: [registry],
  });
  new Gauge({
    name: 'hotprov_render_cache_bytes',
    help: 'Bytes the render cache holds (counted against HOTPROV_CACHE_MB)',
    registers: [registry],
    collect() {
      this.set(deps.cacheBytes());
    },
  });
  const renderSeconds = new Histogram({
    name: 'hotprov_render_seconds',
    help: 'Time to render a phone file the cache did not hold',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const hotdesk = new Counter({
    name: 'hotprov_hotdesk_total',
    help: 'Logins, switches and logouts, by how they were made and what they came to',
    labelNames: ['action', 'method', 'result'] as const,
    registers: [registry],
  });
  const lockouts = new Counter({
    name: 'hotprov_lockouts_total',
    help: 'Users or phones locked by repeated wrong PINs',
    labelNames: ['method'] as const,
    registers: [registry],
  });
  const notifies = new Counter({
    name: 'hotprov_notifies_total',
    help: 'Check-sync NOTIFYs by outcome: answered (by the phone or PBX), fetched (the phone fetched the revision), failed',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const notifyFetchSeconds = new Histogram({
    name: 'hotprov_notify_fetch_seconds',
    help: 'From a re-sync queued to the phone fetching its new revision',
    buckets: [0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
    registers: [registry],
  });
  const redirectCalls = new Counter({
    name: 'hotprov_redirect_calls_total',
    help: "Calls to the vendors' redirect services, by result",
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const webhookAttempts = new Counter({
    name: 'hotprov_webhook_attempts_total',
    help: 'Webhook delivery attempts, by what they came to: delivered, retrying (failed, tried again later), failed (given up)',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const perTenant = (gauge: Gauge<'tenant'>, figures: FigureByTenant) => {
    // Set afresh: a deleted tenant's series goes.
    gauge.reset();
    for (const { tenant, value } of figures) gauge.set({ tenant }, value);
  };
  new Gauge({
    name: 'hotprov_seated_desks',
    help: 'Desks someone is logged in at, per tenant',
    labelNames: ['tenant'] as const,
    registers: [registry],
    async collect() {
      perTenant(this, await seatedDesksByTenant(deps.db));
    },
  });
  new Gauge({
    name: 'hotprov_devices_unseen',
    help: 'Devices in service that have not fetched their file for 24 hours, per tenant',
    labelNames: ['tenant'] as const,
    registers: [registry],
    async collect() {
      perTenant(this, await unseenDevicesByTenant(deps.db, deps.now()));
    },
  });

  /** The phone path's children, bound once per vendor, file kind and answer. */
  type Child = ReturnType<typeof phoneFetches.labels>;
  const fetchChildren = new Map<string, Map<string, Map<PhoneAnswer['kind'], Child>>>();
  const fetchChild = (vendor: string, file: string, answer: PhoneAnswer['kind']): Child => {
    let byFile = fetchChildren.get(vendor);
    if (byFile === undefined) {
      byFile = new Map();
      fetchChildren.set(vendor, byFile);
    }
    let byAnswer = byFile.get(file);
    if (byAnswer === undefined) {
      byAnswer = new Map();
      byFile.set(file, byAnswer);
    }
    let child = byAnswer.get(answer);
    if (child === undefined) {
      child = phoneFetches.labels(vendor, file, String(PHONE_STATUS[answer]));
      byAnswer.set(answer, child);
    }
    return child;
  };

  const phone: PhoneFetchObserver = {
    answered: (vendor, file, answer) => fetchChild(vendor, file, answer).inc(),
    cacheHit: () => cacheHits.inc(),
    rendered(seconds) {
      cacheMisses.inc();
      renderSeconds.observe(seconds);
    },
  };

  return {
    /** hotprov's own metrics and the process's. */
    registry: Registry.merge([registry, processRegistry()]),
    /** For provisioning: every answer and render. */
    phone,
    /** For the domain: every login, switch and logout. */
    hotdesk(event: HotdeskEvent): void {
      hotdesk.labels(event.action, event.method, event.result).inc();
      if (event.lockedOut) lockouts.labels(event.method).inc();
    },
    /** For re-sync: what each NOTIFY came to. */
    notify(outcome: 'answered' | 'fetched' | 'failed', secondsToFetch?: number): void {
      notifies.labels(outcome).inc();
      if (secondsToFetch !== undefined) notifyFetchSeconds.observe(secondsToFetch);
    },
    /** For the redirect services: each call's result. */
    redirectCall(result: string): void {
      redirectCalls.labels(result).inc();
    },
    webhookAttempt(result: string): void {
      webhookAttempts.labels(result).inc();
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * `GET /metrics` in Prometheus's text format, for a request that brings HOTPROV_METRICS_TOKEN as a bearer token or
 * comes from an address in HOTPROV_METRICS_ALLOW (this machine by default). Everything else is refused: 401 when a
 * token would let it in, else 403. Mounted before the phone paths, which would take `metrics` for a file name.
 */
export function metricsRoute(metrics: Metrics, access: Config['metrics']): Middleware {
  const allowed = networkSet(access.allow);
  return async function metricsEndpoint(ctx, next) {
    if (ctx.path !== '/metrics') return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.set('Allow', 'GET, HEAD');
      throw new AppError(405, 'method_not_allowed', 'this path does not take that method');
    }
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('authorization'))?.[1];
    const byToken = access.token !== null && presented !== undefined && sameSecret(presented, access.token);
    if (!byToken && !allowed.has(ctx.ip)) {
      if (access.token === null) throw Forbidden('metrics are answered only to the addresses in HOTPROV_METRICS_ALLOW');
      ctx.set('WWW-Authenticate', 'Bearer realm="hotprov metrics"');
      throw Unauthorized('metrics need HOTPROV_METRICS_TOKEN as a bearer token, or an address in HOTPROV_METRICS_ALLOW');
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  };
}

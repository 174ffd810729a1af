import type { Middleware } from 'koa';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';

/** A readiness probe: resolves when its condition holds, rejects with the reason (for the log only) when not. */
export type Probe = () => Promise<void>;

/** What `/readyz` answers: each check by name, `ok` or `failed`, and the failed ones. */
export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, 'ok' | 'failed'>>;
  readonly failed: readonly string[];
}

/** Whether this node should get traffic: its probes, and whether it was told to stop. */
export interface Readiness {
  /** Runs every probe; requests that arrive while a run is under way share it, so a burst costs one run. */
  evaluate(): Promise<ReadinessReport>;
  /** From now on `/readyz` answers 503 (check `notShuttingDown`): a load balancer stops sending before the node stops. */
  beginShutdown(): void;
}

/** A probe that has not answered by then counts as failed (a database that does not answer at all). */
const PROBE_TIMEOUT_MS = 2000;

/**
 * Readiness over named probes (e.g. `{ database, databaseWritable, migrationsCurrent, sipSocket }`), plus
 * `notShuttingDown`. The probes' own reasons go to the log, once per change, never into the answer: they may name
 * files or hosts.
 */
export function createReadiness(probes: Readonly<Record<string, Probe>>, log: Logger): Readiness {
  let stopping = false;
  let running: Promise<ReadinessReport> | null = null;
  let wasReady: boolean | null = null;
  const checks: [string, Probe][] = [
    ...Object.entries(probes),
    [
      'notShuttingDown',
      async () => {
        if (stopping) throw new Error('the node is shutting down');
      },
    ],
  ];

  const run = async (): Promise<ReadinessReport> => {
    const results = await Promise.all(checks.map(async ([name, probe]) => [name, await withTimeout(probe)] as const));
    const failed = results.filter(([, error]) => error !== null).map(([name]) => name);
    const ready = failed.length === 0;
    if (ready !== wasReady) {
      if (ready) log.info('lifecycle', wasReady === null ? 'ready' : 'ready again');
      else if (!stopping)
        log.warn('lifecycle', 'not ready: /readyz answers 503', { failed, reasons: Object.fromEntries(results.filter(([, e]) => e !== null)) });
      wasReady = ready;
    }
    return { ready, checks: Object.fromEntries(results.map(([name, error]) => [name, error === null ? 'ok' : 'failed'])), failed };
  };

  return {
    evaluate() {
      running ??= run().finally(() => {
        running = null;
      });
      return running;
    },
    beginShutdown() {
      stopping = true;
    },
  };
}

/** The probe's failure as one line, or null when it passed in time. */
async function withTimeout(probe: Probe): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
      }),
    ]);
    return null;
  } catch (err) {
    return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? 'failed';
  } finally {
    clearTimeout(timer);
  }
}

const HEALTH_PATHS = new Set(['/healthz', '/readyz']);

/**
 * `GET /healthz` (the process answers: always 200 `{"status":"ok"}`) and `GET /readyz` (200 `{"status":"ready"}`, or
 * 503 `{"status":"unavailable"}` naming the failed checks), for load balancers and orchestrators: unauthenticated,
 * cheap, no secrets, never cached. Mounted before the phone paths, which would take them for file names.
 */
export function healthRoutes(readiness: Readiness): Middleware {
  return async function health(ctx, next) {
    if (!HEALTH_PATHS.has(ctx.path)) return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.set('Allow', 'GET, HEAD');
      throw new AppError(405, 'method_not_allowed', 'this path does not take that method');
    }
    ctx.set('Cache-Control', 'no-store');
    if (ctx.path === '/healthz') {
      ctx.body = { status: 'ok' };
      return;
    }
    const report = await readiness.evaluate();
    ctx.status = report.ready ? 200 : 503;
    ctx.body = report.ready ? { status: 'ready', checks: report.checks } : { status: 'unavailable', failed: report.failed, checks: report.checks };
  };
}

/** The SIP check: NOTIFYs leave from this node's UDP socket, so a node without it cannot re-sync phones. */
export function sipSocketProbe(notifier: { bound(): boolean }): Probe {
  return async () => {
    if (!notifier.bound()) throw new Error('the SIP UDP socket is not bound');
  };
}

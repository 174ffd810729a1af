import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from '../log.ts';

/** A request id a client or proxy may hand in (X-Request-Id): short, and nothing that could forge a log field. */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** How often the phones' requests are summed up in one log line. */
export const PHONE_SUMMARY_MS = 60_000;

/** Requests nobody needs a line for: a load balancer's health checks and Prometheus's scrapes come every few seconds. */
const UNLOGGED = new Set(['/healthz', '/readyz', '/metrics']);

/** A person's or a program's request (the API, the console), as against a phone's (its files, screens, activation). */
const isPeoples = (path: string) => path.startsWith('/api/') || path === '/console' || path.startsWith('/console/') || path === '/';

/** A phone screen's path holds the phone's secret: it never reaches a log line. */
const loggedPath = (path: string) => path.replace(/^\/phone\/([^/]+)\/[^/]+/, '/phone/$1/[secret]');

export interface AccessLog {
  /** The middleware: a request id for every request, a line for each of the API's and the console's. */
  readonly middleware: (ctx: Context, next: Next) => Promise<void>;
  /** Writes the phones' summary now (a clean shutdown), and stops the timer. */
  close(): void;
}

/**
 * The access log. Every request gets an id (the client's `X-Request-Id` when it is a plain token, else a new UUID),
 * answered in `X-Request-Id` and kept in `ctx.state.requestId` for other lines about it. The API and the console get
 * one info line a request (method, path without its query, status, time, address, the id). Phones get one info line
 * a minute summing up their requests by status, not one a fetch: a boot storm is thousands a second; at debug level
 * each is logged as well. Query strings are never logged (a console search may be a name; a phone URL a secret).
 */
export function createAccessLog(log: Logger, summaryMs = PHONE_SUMMARY_MS): AccessLog {
  let phoneStatuses = new Map<number, number>();
  let phoneRequests = 0;
  const summarise = () => {
    if (phoneRequests === 0) return;
    const byStatus = Object.fromEntries([...phoneStatuses].sort(([a], [b]) => a - b).map(([status, n]) => [String(status), n]));
    log.info('http', 'phone requests', { requests: phoneRequests, byStatus, seconds: Math.round(summaryMs / 1000) });
    phoneStatuses = new Map();
    phoneRequests = 0;
  };
  const timer = setInterval(summarise, summaryMs);
  timer.unref();

  return {
    async middleware(ctx, next) {
      const offered = ctx.get('X-Request-Id');
      const requestId = CLIENT_REQUEST_ID.test(offered) ? offered : randomUUID();
      ctx.state.requestId = requestId;
      ctx.set('X-Request-Id', requestId);
      if (UNLOGGED.has(ctx.path)) return await next();
      const started = performance.now();
      try {
        await next();
      } finally {
        const ms = Math.round((performance.now() - started) * 10) / 10;
        if (isPeoples(ctx.path)) {
          log.info('http', `${ctx.method} ${ctx.path} ${ctx.status}`, { requestId, method: ctx.method, path: ctx.path, status: ctx.status, ms, ip: ctx.ip });
        } else {
          phoneRequests++;
          phoneStatuses.set(ctx.status, (phoneStatuses.get(ctx.status) ?? 0) + 1);
          if (log.enabled('debug')) {
            log.debug('http', `${ctx.method} ${loggedPath(ctx.path)} ${ctx.status}`, { requestId, ms, ip: ctx.ip });
          }
        }
      }
    },
    close() {
      clearInterval(timer);
      summarise();
    },
  };
}

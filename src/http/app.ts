import { randomBytes } from 'node:crypto';
import Koa from 'koa';
import { answerIcon } from '../console/icon.ts';
import { consoleRouter } from '../console/routes.ts';
import { AppError, storageConflict } from '../errors.ts';
import { metricsRoute } from '../metrics.ts';
import { createAccessLog } from './accessLog.ts';
import { clientCertificateState } from './clientCertificate.ts';
import type { AppDeps } from './deps.ts';
import { healthRoutes } from './health.ts';
import { openApiRouter } from './openapi.ts';
import { activationRouter } from './routes/activation.ts';
import { apiApplication } from './routes/api.ts';
import { phoneRouter } from './routes/phones.ts';
import { screenRouter } from './routes/screens.ts';

/**
 * The console's and the API's Content-Security-Policy: nothing from elsewhere, scripts only with this answer's
 * nonce (the console's own inline scripts), forms only to hotprov, and no page may frame it.
 */
export function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/**
 * The Koa application: one error handler first, then the API, then the phone paths.
 * Errors from the catalogue become { error: { code, message } } with their status; anything else is a 500
 * whose details go to the log only.
 */
export function createApp(deps: AppDeps): Koa {
  // Behind a trusted proxy the client is the address the proxy appended to X-Forwarded-For, the last one: the
  // entries before it are whatever the client sent, and an address decides trusted networks and budgets.
  const app = new Koa({ proxy: deps.config.trustProxy, maxIpsCount: 1 });
  app.silent = true;

  // Outermost: it sees the status the error handler answered, and gives every later line the request's id.
  app.use((deps.accessLog ?? createAccessLog(deps.log)).middleware);

  app.use(async function errorHandler(ctx, next) {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined && ctx.path.startsWith('/api/')) {
        throw new AppError(404, 'not_found', `no route ${ctx.method} ${ctx.path}`);
      }
    } catch (err) {
      const known = err instanceof AppError ? err : storageConflict(err);
      if (known === null) {
        deps.log.error('http', 'request failed', {
          requestId: ctx.state.requestId,
          method: ctx.method,
          path: ctx.path,
          error: err instanceof Error ? err.stack : String(err),
        });
      }
      ctx.status = known?.status ?? 500;
      if (ctx.path.startsWith('/console/') && ctx.accepts('html', 'json') === 'html') {
        // A person in a browser gets a page, not JSON.
        const message = (known?.message ?? 'Something went wrong; the server log says what.').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
        ctx.type = 'text/html; charset=utf-8';
        ctx.body = `<!doctype html><meta charset="utf-8"><link rel="stylesheet" href="/console/assets/console.css"><link rel="icon" href="/console/assets/icon.svg" type="image/svg+xml"><main><h1>${ctx.status}</h1><p class="error">${message}</p><p><a href="/console/">Back to the console</a></p></main>`;
        return;
      }
      ctx.type = 'application/json';
      ctx.body = {
        error: { code: known?.code ?? 'internal_error', message: known?.message ?? 'internal error; see the server log', ...known?.details },
      };
    }
  });

  // /healthz and /readyz before everything else: a load balancer asks every few seconds, and the phone paths would
  // take them for file names.
  app.use(healthRoutes(deps.readiness));
  if (deps.metrics !== undefined) app.use(metricsRoute(deps.metrics, deps.config.metrics));

  // What a client certificate proved (HTTPS with HOTPROV_TLS_CLIENT_CA), as ctx.state.clientCert for the routes.
  app.use(clientCertificateState());
  app.use(async function securityHeaders(ctx, next) {
    // Phones' files are left alone (a boot storm is all phones); every page and answer a person or program gets
    // cannot be framed, sniffed into another type, or leak its URL to another site.
    if (ctx.path.startsWith('/phone/') || !(ctx.path === '/' || ctx.path.startsWith('/console') || ctx.path.startsWith('/api/'))) return next();
    const nonce = randomBytes(16).toString('base64');
    ctx.state.cspNonce = nonce;
    ctx.set('Content-Security-Policy', contentSecurityPolicy(nonce));
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    return next();
  });

  const api = apiApplication(deps);
  const apiDocument = openApiRouter(api.operations);
  const consolePages = consoleRouter(deps);
  const screens = screenRouter(deps);
  const activation = activationRouter(deps);
  const phones = phoneRouter(deps);
  const methods = {
    throw: true,
    methodNotAllowed: () => new AppError(405, 'method_not_allowed', 'this path does not take that method'),
    notImplemented: () => new AppError(501, 'not_implemented', 'hotprov does not implement that method'),
  };
  // Browsers ask every site for its icon here: the console's, before the phones' paths take it for a file name.
  app.use(async function favicon(ctx, next) {
    if (ctx.path === '/favicon.ico' && (ctx.method === 'GET' || ctx.method === 'HEAD')) answerIcon(ctx);
    else await next();
  });
  // Phones first: their paths are one file name (at the root or under /prov/), and a boot storm is all phones.
  app.use(phones.routes()).use(phones.allowedMethods(methods));
  // The API's document before its routers, which take every other /api/v1 path for theirs (and want a token).
  app.use(apiDocument.routes()).use(apiDocument.allowedMethods(methods));
  for (const router of api.routers) app.use(router.routes()).use(router.allowedMethods(methods));
  app.use(consolePages.routes()).use(consolePages.allowedMethods(methods));
  app.use(async function home(ctx, next) {
    if (ctx.path === '/' && ctx.method === 'GET') ctx.redirect('/console/');
    else await next();
  });
  app.use(screens.routes()).use(screens.allowedMethods(methods));
  app.use(activation.routes()).use(activation.allowedMethods(methods));

  return app;
}

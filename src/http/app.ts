import Koa from 'koa';
import { AppError } from '../errors.ts';
import type { AppDeps } from './deps.ts';
import { apiRouter } from './routes/api.ts';
import { phoneRouter } from './routes/phones.ts';

/**
 * The Koa application: one error handler first, then the API, then the phone paths.
 * Errors from the catalogue become { error: { code, message } } with their status; anything else is a 500
 * whose details go to the log only.
 */
export function createApp(deps: AppDeps): Koa {
  const app = new Koa({ proxy: deps.config.trustProxy });
  app.silent = true;

  app.use(async function errorHandler(ctx, next) {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined && ctx.path.startsWith('/api/')) {
        throw new AppError(404, 'not_found', `no route ${ctx.method} ${ctx.path}`);
      }
    } catch (err) {
      const known = err instanceof AppError ? err : null;
      if (known === null) {
        deps.log.error('http', 'request failed', {
          method: ctx.method,
          path: ctx.path,
          error: err instanceof Error ? err.stack : String(err),
        });
      }
      ctx.status = known?.status ?? 500;
      ctx.type = 'application/json';
      ctx.body = { error: { code: known?.code ?? 'internal_error', message: known?.message ?? 'internal error; see the server log' } };
    }
  });

  app.use(async function requestLog(ctx, next) {
    const started = performance.now();
    await next();
    deps.log.debug('http', `${ctx.method} ${ctx.path} ${ctx.status}`, {
      ms: Math.round((performance.now() - started) * 10) / 10,
      ip: ctx.ip,
    });
  });

  const api = apiRouter(deps);
  const phones = phoneRouter(deps);
  app.use(api.routes()).use(api.allowedMethods());
  app.use(phones.routes()).use(phones.allowedMethods());
  return app;
}

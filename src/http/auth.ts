import type { Middleware } from 'koa';
import { sameSecret } from '../domain/credentials.ts';
import { Unauthorized } from '../errors.ts';

/**
 * Requires `Authorization: Bearer <token>` on every request it guards: the configured admin token (compared in
 * constant time, so neither it nor its length leaks through timing), or a live token created in the console.
 * @param lookup names the console-created token with this value, or null.
 */
export function requireBearer(adminToken: string, lookup: (token: string) => string | null): Middleware {
  return async function bearerAuth(ctx, next) {
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('authorization'))?.[1];
    const name = presented === undefined ? null : sameSecret(presented, adminToken) ? 'api' : (lookup(presented) ?? null);
    if (name === null) {
      ctx.set('WWW-Authenticate', 'Bearer realm="hotprov"');
      throw Unauthorized();
    }
    ctx.state.actor = { name: name === 'api' ? 'api' : `api:${name}` };
    await next();
  };
}

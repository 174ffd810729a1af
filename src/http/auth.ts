import { createHash, timingSafeEqual } from 'node:crypto';
import type { Middleware } from 'koa';
import { Unauthorized } from '../errors.ts';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Requires `Authorization: Bearer <token>` on every request it guards. Compares digests in constant time,
 * so neither the token nor its length leaks through timing.
 */
export function requireBearer(token: string): Middleware {
  const expected = digest(token);
  return async function bearerAuth(ctx, next) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('authorization'));
    if (match?.[1] === undefined || !timingSafeEqual(digest(match[1]), expected)) {
      ctx.set('WWW-Authenticate', 'Bearer realm="hotprov"');
      throw Unauthorized();
    }
    ctx.state.actor = { name: 'api' };
    await next();
  };
}

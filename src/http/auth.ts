import type { Middleware } from 'koa';
import type { Principal } from '../domain/access.ts';
import { sameSecret } from '../domain/credentials.ts';
import type { Actor } from '../domain/deps.ts';
import { Unauthorized } from '../errors.ts';

/** The configured HOTPROV_ADMIN_TOKEN: the provider, named `api` in the audit log as before tenants. */
const CONFIGURED_TOKEN: Principal = { name: 'api', role: 'provider', tenantId: null };

/**
 * Requires `Authorization: Bearer <token>` on every request it guards: the configured admin token (compared in
 * constant time, so neither it nor its length leaks through timing), a provider; or a live token created in the
 * console or the API, with its role and tenant. Sets `ctx.state.principal`, and `ctx.state.actor` for the audit log.
 * @param lookup who the token with this value is, or null (unknown, revoked, or its tenant deleted).
 */
export function requireBearer(adminToken: string, lookup: (token: string) => Promise<Principal | null>): Middleware {
  return async function bearerAuth(ctx, next) {
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('authorization'))?.[1];
    const principal = presented === undefined ? null : sameSecret(presented, adminToken) ? CONFIGURED_TOKEN : await lookup(presented);
    if (principal === null) {
      ctx.set('WWW-Authenticate', 'Bearer realm="hotprov"');
      throw Unauthorized();
    }
    ctx.state.principal = principal;
    ctx.state.actor = { name: principal === CONFIGURED_TOKEN ? 'api' : `api:${principal.name}` } satisfies Actor;
    await next();
  };
}

/** Who is asking, as requireBearer found. */
export function principalOf(ctx: { readonly state: Record<string, unknown> }): Principal {
  const principal = ctx.state.principal as Principal | undefined;
  if (principal === undefined) throw new Error('no principal: requireBearer must run first');
  return principal;
}

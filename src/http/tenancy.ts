import type { Middleware } from 'koa';
import { actsIn, canManageTenants, canWrite } from '../domain/access.ts';
import { findActiveTenantBySlug, type TenantSettings } from '../domain/tenants.ts';
import { Forbidden, UnknownTenant } from '../errors.ts';
import { principalOf } from './auth.ts';
import type { AppDeps } from './deps.ts';

/**
 * Who may call a route: `helpdesk` everyone with a token, `admin` admins and the provider (everything in a tenant),
 * `provider` the provider only (tenant management). Every API route names one.
 */
export type Access = 'helpdesk' | 'admin' | 'provider';

/** Refuses (403 forbidden) a caller whose role is below the route's access. */
export function allow(access: Access): Middleware {
  return async function roleCheck(ctx, next) {
    const principal = principalOf(ctx);
    if (access === 'provider' && !canManageTenants(principal)) throw Forbidden('only the provider manages tenants');
    if (access === 'admin' && !canWrite(principal)) {
      throw Forbidden('a helpdesk token may read the sessions, devices and users and log a desk out, nothing else');
    }
    await next();
  };
}

/**
 * At `/api/v1/…`: a tenant's token acts in its tenant, the provider in the default tenant (so single-office
 * installs and scripts work as before tenants). Sets `ctx.state.tenant`.
 */
export function ownTenant(deps: AppDeps): Middleware {
  return async function resolveOwnTenant(ctx, next) {
    const { tenantId } = principalOf(ctx);
    const tenant = tenantId === null ? await deps.tenant() : await deps.tenantSettingsOf(tenantId);
    // requireBearer refused the tokens of a deleted tenant.
    if (tenant === undefined) throw UnknownTenant();
    ctx.state.tenant = tenant;
    await next();
  };
}

/**
 * At `/api/v1/tenants/:tenant/…`: the tenant of that slug, for the provider any, for a tenant's token only its
 * own. Another tenant's slug gets the same 404 as a slug that does not exist. Sets `ctx.state.tenant`.
 */
export function tenantBySlug(deps: AppDeps): Middleware {
  return async function resolveTenantBySlug(ctx, next) {
    const principal = principalOf(ctx);
    const row = await findActiveTenantBySlug(deps.domain.db, String((ctx.params as Record<string, string> | undefined)?.tenant ?? ''));
    const tenant = row === undefined || !actsIn(principal, row.id) ? undefined : await deps.tenantSettingsOf(row.id);
    if (tenant === undefined) throw UnknownTenant();
    ctx.state.tenant = tenant;
    await next();
  };
}

/** The tenant the request acts in, as ownTenant or tenantBySlug resolved it. */
export function tenantOf(ctx: { readonly state: Record<string, unknown> }): TenantSettings {
  const tenant = ctx.state.tenant as TenantSettings | undefined;
  if (tenant === undefined) throw new Error('no tenant: a tenant resolver must run first');
  return tenant;
}

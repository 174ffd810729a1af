import type { TenantRow } from '../db/schema.ts';
import { DefaultTenantKept, TenantInUse, UnknownTenant } from '../errors.ts';
import type { Actor, DomainDeps } from './deps.ts';
import { deleteDevice, listDevices } from './devices.ts';
import { listOpenSessions } from './sessions.ts';
import { DEFAULT_TENANT_SLUG, findTenant, retireTenant } from './tenants.ts';

/**
 * Deletes a tenant for everyone but its phones: every device is retired as a deleted device is (its session ends,
 * the phone gets its wipe file and a NOTIFY), then the tenant is marked deleted. Devices go first, so a failure on
 * the way leaves a tenant that can be deleted again. Its own module: devices.ts reads tenants.ts.
 * @throws AppError unknown_tenant (404), default_tenant (409), tenant_in_use (409) while desks are seated and
 * `force` is not given.
 */
export async function deleteTenant(deps: DomainDeps, actor: Actor, tenantId: number, options: { readonly force: boolean }): Promise<TenantRow> {
  const tenant = await findTenant(deps.db, tenantId);
  if (tenant === undefined || tenant.retiredAt !== null) throw UnknownTenant();
  if (tenant.slug === DEFAULT_TENANT_SLUG) throw DefaultTenantKept();
  const seated = (await listOpenSessions(deps.db, tenantId)).length;
  if (seated > 0 && !options.force) throw TenantInUse(seated);
  for (const device of await listDevices(deps.db, tenantId)) await deleteDevice(deps, tenantId, actor, device.mac);
  return await retireTenant(deps, actor, tenantId);
}

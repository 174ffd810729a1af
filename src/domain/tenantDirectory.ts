import { and, asc, eq, isNull } from 'drizzle-orm';
import { type Db, writeTransaction } from '../db/client.ts';
import { type TenantRow, tenants } from '../db/schema.ts';
import { Conflict, InvalidField, NotFound } from '../errors.ts';
import { recordAudit } from './audit.ts';
import type { Actor, DomainDeps } from './deps.ts';
import { deleteDevice, listDevices } from './devices.ts';
import { listOpenSessions } from './sessions.ts';
import { DEFAULT_TENANT_SLUG } from './tenants.ts';

/*
 * The console's tenant directory: listing, creating and retiring tenants. A minimal stand-in written by the console
 * engineer until the API engineer's tenant functions (createTenant, listTenants, updateTenant by slug,
 * retireTenant in tenants.ts) are merged; the lead points the console at those and removes this file.
 */

/** The tenants in service (not retired), by name. */
export function listActiveTenants(db: Db): TenantRow[] {
  return db.select().from(tenants).where(isNull(tenants.retiredAt)).orderBy(asc(tenants.name), asc(tenants.id)).all();
}

/** A tenant in service by its slug. */
export function findTenantBySlug(db: Db, slug: string): TenantRow | undefined {
  return db
    .select()
    .from(tenants)
    .where(and(eq(tenants.slug, slug), isNull(tenants.retiredAt)))
    .get();
}

/** A tenant in service by its slug, for a route. @throws AppError not_found (404). */
export function getTenantBySlug(db: Db, slug: string): TenantRow {
  const row = findTenantBySlug(db, slug);
  if (row === undefined) throw NotFound(`tenant ${slug}`);
  return row;
}

/**
 * Creates a tenant with the default settings.
 * @throws AppError invalid_field (400) for a blank name or a slug that is not 2–32 lower-case letters, digits and
 *   dashes; conflict (409) for a slug taken, also by a retired tenant.
 */
export function createTenant(db: Db, now: Date, actor: Actor, input: { name: string; slug: string }): TenantRow {
  const name = input.name.trim();
  if (name === '' || name.length > 80) throw InvalidField('name', 'use 1 to 80 characters');
  if (!/^[a-z0-9][a-z0-9-]{1,31}$/.test(input.slug)) throw InvalidField('slug', 'use 2 to 32 lower-case letters, digits or dashes, not starting with a dash');
  return writeTransaction(db, (tx) => {
    if (tx.select({ id: tenants.id }).from(tenants).where(eq(tenants.slug, input.slug)).get() !== undefined) throw Conflict(`tenant ${input.slug} exists`);
    const row = tx.insert(tenants).values({ name, slug: input.slug }).returning().get();
    recordAudit(tx, row.id, now, actor, { action: 'tenant.created', detail: { slug: row.slug, name: row.name } });
    return row;
  });
}

/**
 * Retires a tenant: every device of it is deleted (its phones are wiped at their next fetch), then the tenant is
 * listed no more. Refused while desks are seated unless forced (forcing logs them out first).
 * @returns how many devices were retired.
 * @throws AppError not_found (404); conflict (409) for the default tenant, or with the number of seated desks.
 */
export function retireTenant(deps: DomainDeps, tenantId: number, actor: Actor, options: { force: boolean }): number {
  const tenant = deps.db.select().from(tenants).where(eq(tenants.id, tenantId)).get();
  if (tenant === undefined || tenant.retiredAt !== null) throw NotFound(`tenant ${tenantId}`);
  // Plain /api/v1 and a provider's console act in the default tenant: it stays.
  if (tenant.slug === DEFAULT_TENANT_SLUG) throw Conflict('the default tenant cannot be deleted');
  const seated = listOpenSessions(deps.db, tenantId).length;
  if (seated > 0 && !options.force) throw Conflict(`${seated} desk(s) of this tenant are seated; force the deletion to log them out`);
  const devices = listDevices(deps.db, tenantId);
  for (const device of devices) deleteDevice(deps, tenantId, actor, device.mac);
  const now = deps.now();
  writeTransaction(deps.db, (tx) => {
    tx.update(tenants).set({ retiredAt: now }).where(eq(tenants.id, tenantId)).run();
    recordAudit(tx, tenantId, now, actor, { action: 'tenant.retired', detail: { devices: devices.length, seatedLoggedOut: seated } });
  });
  return devices.length;
}

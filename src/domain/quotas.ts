import { and, count, eq, isNull } from 'drizzle-orm';
import { type Db, tablesOf } from '../db/client.ts';
import { QuotaExceeded } from '../errors.ts';

/**
 * The provider's per-tenant quotas on devices and users (issue 15). A creation checks them inside its own write
 * transaction (BEGIN IMMEDIATE holds the write lock), so concurrent enrolments can never pass a limit together.
 * Retired devices do not count; a quota lowered below what a tenant has deletes nothing, it only refuses more.
 */
export type QuotaKind = 'devices' | 'users';

/** How many more of `kind` the tenant may have: null without a limit, 0 when it is reached or passed. */
export function quotaRoom(db: Db, tenantId: number, kind: QuotaKind): number | null {
  const limit = quotaLimit(db, tenantId, kind);
  if (limit === null) return null;
  return Math.max(0, limit - quotaUsed(db, tenantId, kind));
}

/**
 * Refuses adding `adding` more of `kind` past the tenant's quota. Call it in the write transaction that inserts.
 * @throws AppError quota_exceeded (409) with details {limit, kind}.
 */
export function assertQuotaRoom(tx: Db, tenantId: number, kind: QuotaKind, adding = 1): void {
  const limit = quotaLimit(tx, tenantId, kind);
  if (limit !== null && quotaUsed(tx, tenantId, kind) + adding > limit) throw QuotaExceeded(kind, limit);
}

function quotaLimit(db: Db, tenantId: number, kind: QuotaKind): number | null {
  const { tenants } = tablesOf(db);
  const row = db.select({ maxDevices: tenants.maxDevices, maxUsers: tenants.maxUsers }).from(tenants).where(eq(tenants.id, tenantId)).get();
  if (row === undefined) return null;
  return kind === 'devices' ? row.maxDevices : row.maxUsers;
}

function quotaUsed(db: Db, tenantId: number, kind: QuotaKind): number {
  const { devices, users } = tablesOf(db);
  const row =
    kind === 'devices'
      ? db
          .select({ n: count() })
          .from(devices)
          .where(and(eq(devices.tenantId, tenantId), isNull(devices.retiredAt)))
          .get()
      : db.select({ n: count() }).from(users).where(eq(users.tenantId, tenantId)).get();
  return row?.n ?? 0;
}

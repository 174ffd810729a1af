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
export async function quotaRoom(db: Db, tenantId: number, kind: QuotaKind): Promise<number | null> {
  const limit = await quotaLimit(db, tenantId, kind);
  if (limit === null) return null;
  return Math.max(0, limit - (await quotaUsed(db, tenantId, kind)));
}

/**
 * Refuses adding `adding` more of `kind` past the tenant's quota. Call it in the write transaction that inserts.
 * @throws AppError quota_exceeded (409) with details {limit, kind}.
 */
export async function assertQuotaRoom(tx: Db, tenantId: number, kind: QuotaKind, adding = 1): Promise<void> {
  const limit = await quotaLimit(tx, tenantId, kind);
  if (limit !== null && (await quotaUsed(tx, tenantId, kind)) + adding > limit) throw QuotaExceeded(kind, limit);
}

async function quotaLimit(db: Db, tenantId: number, kind: QuotaKind): Promise<number | null> {
  const { tenants } = tablesOf(db);
  const row = (await db.select({ maxDevices: tenants.maxDevices, maxUsers: tenants.maxUsers }).from(tenants).where(eq(tenants.id, tenantId)))[0];
  if (row === undefined) return null;
  return kind === 'devices' ? row.maxDevices : row.maxUsers;
}

async function quotaUsed(db: Db, tenantId: number, kind: QuotaKind): Promise<number> {
  const { devices, users } = tablesOf(db);
  const row =
    kind === 'devices'
      ? (
          await db
            .select({ n: count() })
            .from(devices)
            .where(and(eq(devices.tenantId, tenantId), isNull(devices.retiredAt)))
        )[0]
      : (await db.select({ n: count() }).from(users).where(eq(users.tenantId, tenantId)))[0];
  return row?.n ?? 0;
}

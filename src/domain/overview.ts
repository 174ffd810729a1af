import { and, count, eq, isNull, sql } from 'drizzle-orm';
import { type Db, tablesOf, timeParameter } from '../db/client.ts';
import type { TenantRow } from '../db/schema.ts';
import { countFailedResyncsByTenant } from './syncJobs.ts';

/** A phone that has not fetched its file for this long is worth a look. */
export const UNSEEN_AFTER_MS = 24 * 60 * 60 * 1000;

/** What the provider's overview shows of one tenant. */
export interface TenantOverview {
  /** Devices in service (retired ones not counted, as for the quota) and the quota; null = no limit. */
  readonly devices: number;
  readonly maxDevices: number | null;
  readonly users: number;
  readonly maxUsers: number | null;
  /** Desks someone is logged in at now. */
  readonly seatedDesks: number;
  /** Devices whose latest re-sync failed (the phone did not fetch its changed file). */
  readonly failedResyncs: number;
  /** Devices that have not fetched their file for 24 hours (or never did, enrolled over 24 hours ago). */
  readonly phonesUnseen: number;
  /** The latest audit event or phone fetch; null when nothing ever happened. */
  readonly lastActivityAt: Date | null;
}

/**
 * The overview of these tenants in five grouped queries, whatever their number (a provider has hundreds): never a
 * query per tenant.
 */
export async function tenantOverviews(
  db: Db,
  now: Date,
  tenantRows: readonly TenantRow[],
): Promise<{ readonly tenant: TenantRow; readonly overview: TenantOverview }[]> {
  const { auditEvents, devices, hotdeskSessions, users } = tablesOf(db);
  const cutoff = timeParameter(db, new Date(now.getTime() - UNSEEN_AFTER_MS));
  const deviceFigures = byTenant(
    await db
      .select({
        tenantId: devices.tenantId,
        devices: count(),
        unseen: sql<number>`coalesce(sum(case when coalesce(${devices.lastSeenAt}, ${devices.createdAt}) < ${cutoff} then 1 else 0 end), 0)`.mapWith(Number),
        // Decoded by the column, as each engine stores it.
        lastFetch: sql<Date | null>`max(${devices.lastSeenAt})`.mapWith(devices.lastSeenAt),
      })
      .from(devices)
      .where(isNull(devices.retiredAt))
      .groupBy(devices.tenantId),
  );
  const userCounts = byTenant(await db.select({ tenantId: users.tenantId, n: count() }).from(users).groupBy(users.tenantId));
  const seated = byTenant(
    await db
      .select({ tenantId: hotdeskSessions.tenantId, n: count() })
      .from(hotdeskSessions)
      .where(isNull(hotdeskSessions.endedAt))
      .groupBy(hotdeskSessions.tenantId),
  );
  const failed = byTenant(await countFailedResyncsByTenant(db));
  const lastAudit = byTenant(
    await db
      .select({ tenantId: auditEvents.tenantId, at: sql<Date | null>`max(${auditEvents.at})`.mapWith(auditEvents.at) })
      .from(auditEvents)
      .groupBy(auditEvents.tenantId),
  );
  return tenantRows.map((t) => {
    const d = deviceFigures.get(t.id);
    const latest = Math.max(d?.lastFetch?.getTime() ?? 0, lastAudit.get(t.id)?.at?.getTime() ?? 0);
    const overview: TenantOverview = {
      devices: d?.devices ?? 0,
      maxDevices: t.maxDevices,
      users: userCounts.get(t.id)?.n ?? 0,
      maxUsers: t.maxUsers,
      seatedDesks: seated.get(t.id)?.n ?? 0,
      failedResyncs: failed.get(t.id)?.n ?? 0,
      phonesUnseen: d?.unseen ?? 0,
      lastActivityAt: latest === 0 ? null : new Date(latest),
    };
    return { tenant: t, overview };
  });
}

function byTenant<R extends { readonly tenantId: number }>(rows: readonly R[]): Map<number, R> {
  return new Map(rows.map((r) => [r.tenantId, r]));
}

/** One figure per tenant, by its slug (metrics label it so): tenants with none answer 0. */
export type FigureByTenant = readonly { readonly tenant: string; readonly value: number }[];

/** Desks someone is logged in at now, per tenant: one grouped count (metrics read it at each scrape). */
export async function seatedDesksByTenant(db: Db): Promise<FigureByTenant> {
  const { hotdeskSessions, tenants } = tablesOf(db);
  return await db
    .select({ tenant: tenants.slug, value: sql<number>`count(${hotdeskSessions.id})`.mapWith(Number) })
    .from(tenants)
    .leftJoin(hotdeskSessions, and(eq(hotdeskSessions.tenantId, tenants.id), isNull(hotdeskSessions.endedAt)))
    .groupBy(tenants.id, tenants.slug);
}

/** Devices in service that have not fetched their file for 24 hours (or never did, enrolled before that), per tenant. */
export async function unseenDevicesByTenant(db: Db, now: Date): Promise<FigureByTenant> {
  const { devices, tenants } = tablesOf(db);
  const cutoff = timeParameter(db, new Date(now.getTime() - UNSEEN_AFTER_MS));
  return await db
    .select({ tenant: tenants.slug, value: sql<number>`count(${devices.id})`.mapWith(Number) })
    .from(tenants)
    .leftJoin(devices, and(eq(devices.tenantId, tenants.id), isNull(devices.retiredAt), sql`coalesce(${devices.lastSeenAt}, ${devices.createdAt}) < ${cutoff}`))
    .groupBy(tenants.id, tenants.slug);
}

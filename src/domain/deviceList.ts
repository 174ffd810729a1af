import { and, asc, count, desc, eq, isNotNull, isNull, or, type SQL, sql } from 'drizzle-orm';
import { type Db, tablesOf, timeParameter } from '../db/client.ts';
import type { DeviceRow, SyncJobRow } from '../db/schema.ts';
import { parseMac } from './mac.ts';
import { UNSEEN_AFTER_MS } from './overview.ts';
import { latestSyncJobBeside } from './syncJobs.ts';

/** How a device list may be sorted. */
export const DEVICE_SORTS = ['device', 'mac', 'model', 'label', 'location', 'seen', 'address', 'firmware'] as const;
export type DeviceSort = (typeof DEVICE_SORTS)[number];

/** Whom the desk serves now, or how far the phone got in proving it is this phone. */
export const DEVICE_STATES = ['in_use', 'idle', 'unclaimed', 'claimed'] as const;
export type DeviceState = (typeof DEVICE_STATES)[number];

/** What a device list asks for; every part is optional. */
export interface DeviceListQuery {
  /** Part of the MAC (any spelling), idle account, label, location or address. */
  readonly q?: string | undefined;
  readonly vendor?: string | undefined;
  readonly model?: string | undefined;
  readonly state?: DeviceState | undefined;
  /** Only phones that have not fetched their file for 24 hours (or never did, enrolled over 24 hours ago). */
  readonly unseen?: boolean | undefined;
  /** Only devices whose latest re-sync failed, or whose registration with the redirect service failed. */
  readonly failed?: boolean | undefined;
  readonly sort?: DeviceSort | undefined;
  readonly descending?: boolean | undefined;
  readonly limit: number;
  readonly offset: number;
}

/** One device of a list, with the re-sync of its last change and whoever sits there. */
export interface DeviceListRow {
  readonly device: DeviceRow;
  readonly sync: SyncJobRow | null;
  readonly user: { readonly extension: string; readonly displayName: string } | null;
}

/** `%text%` for LIKE, with LIKE's own wildcards in the text taken literally. */
const containing = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * One page of a tenant's devices, filtered and sorted by the database (a tenant has thousands: never all of them
 * read to filter in memory), and how many devices match in all.
 */
export async function findDevicePage(db: Db, tenantId: number, now: Date, query: DeviceListQuery): Promise<{ rows: DeviceListRow[]; total: number }> {
  const { devices, hotdeskSessions, users } = tablesOf(db);
  const latestJob = latestSyncJobBeside(db, devices.id);
  const openSession = and(eq(hotdeskSessions.deviceId, devices.id), isNull(hotdeskSessions.endedAt));

  const where: (SQL | undefined)[] = [eq(devices.tenantId, tenantId), isNull(devices.retiredAt)];
  const q = query.q?.trim().toLowerCase() ?? '';
  if (q !== '') {
    const like = containing(q);
    const mac = parseMac(q) ?? (/^[0-9a-f:.-]+$/.test(q) ? q.replace(/[:.-]/g, '') : null);
    where.push(
      or(
        sql`lower(${devices.idleAccount}) like ${like} escape '\\'`,
        sql`lower(${devices.label}) like ${like} escape '\\'`,
        sql`lower(${devices.location}) like ${like} escape '\\'`,
        sql`lower(coalesce(${devices.lastSeenIp}, '')) like ${like} escape '\\'`,
        ...(mac === null || mac === '' ? [] : [sql`${devices.mac} like ${containing(mac)} escape '\\'`]),
      ),
    );
  }
  if (query.vendor !== undefined && query.vendor !== '') where.push(eq(devices.vendor, query.vendor));
  if (query.model !== undefined && query.model !== '') where.push(eq(devices.model, query.model));
  if (query.state === 'in_use') where.push(isNotNull(hotdeskSessions.id));
  if (query.state === 'idle') where.push(and(isNull(hotdeskSessions.id), eq(devices.access, 'active')));
  if (query.state === 'unclaimed' || query.state === 'claimed') where.push(eq(devices.access, query.state));
  if (query.unseen === true) {
    where.push(sql`coalesce(${devices.lastSeenAt}, ${devices.createdAt}) < ${timeParameter(db, new Date(now.getTime() - UNSEEN_AFTER_MS))}`);
  }
  if (query.failed === true) where.push(or(latestJob.failed, eq(devices.redirectStatus, 'error')));
  const condition = and(...where);

  const orderColumns: Record<DeviceSort, SQL[]> = {
    device: [sql`${devices.idleAccount}`],
    mac: [sql`${devices.mac}`],
    model: [sql`${devices.vendor}`, sql`${devices.model}`],
    label: [sql`lower(${devices.label})`],
    location: [sql`lower(${devices.location})`],
    seen: [sql`${devices.lastSeenAt}`],
    address: [sql`${devices.lastSeenIp}`],
    firmware: [sql`${devices.firmware}`],
  };
  const sort = query.sort ?? 'device';
  const direction = query.descending === true ? desc : asc;
  // Devices without the value (never seen, no firmware yet) come last either way, as both engines agree to.
  const nullsLast = orderColumns[sort].map((c) => sql`case when ${c} is null then 1 else 0 end`);
  const order = [...nullsLast, ...orderColumns[sort].map((c) => direction(c)), asc(devices.idleAccount)];

  const rows = await db
    .select({ device: devices, sync: latestJob.table, userExtension: users.extension, userName: users.displayName })
    .from(devices)
    .leftJoin(latestJob.table, latestJob.on)
    .leftJoin(hotdeskSessions, openSession)
    .leftJoin(users, eq(users.id, hotdeskSessions.userId))
    .where(condition)
    .orderBy(...order)
    .limit(query.limit)
    .offset(query.offset);
  const counted = await db.select({ n: count() }).from(devices).leftJoin(latestJob.table, latestJob.on).leftJoin(hotdeskSessions, openSession).where(condition);
  return {
    rows: rows.map((r) => ({
      device: r.device,
      sync: r.sync,
      user: r.userExtension === null || r.userName === null ? null : { extension: r.userExtension, displayName: r.userName },
    })),
    total: Number(counted[0]?.n ?? 0),
  };
}

import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import { type Db, perTables, tablesOf } from '../db/client.ts';
import { preparedOnce } from '../db/prepared.ts';
import type { DeviceRow, SessionRow, UserKeyRow, UserRow } from '../db/schema.ts';
import { recordAudit } from './audit.ts';
import type { Actor } from './deps.ts';
import { findDeviceById, findUserById } from './lookup.ts';

/** An open session with the device and user it joins. */
export interface OpenSession {
  readonly session: SessionRow;
  readonly device: DeviceRow;
  readonly user: UserRow;
}

/** The open session on a device, if any. */
export function openSessionOnDevice(db: Db, deviceId: number): SessionRow | undefined {
  const { hotdeskSessions } = tablesOf(db);
  return db
    .select()
    .from(hotdeskSessions)
    .where(and(eq(hotdeskSessions.deviceId, deviceId), isNull(hotdeskSessions.endedAt)))
    .get();
}

/** The open session of a user, if any. */
export function openSessionOfUser(db: Db, userId: number): SessionRow | undefined {
  const { hotdeskSessions } = tablesOf(db);
  return db
    .select()
    .from(hotdeskSessions)
    .where(and(eq(hotdeskSessions.userId, userId), isNull(hotdeskSessions.endedAt)))
    .get();
}

/** The user sitting at a device now, if any. */
export function userAtDevice(db: Db, deviceId: number): UserRow | undefined {
  const { hotdeskSessions, users } = tablesOf(db);
  const row = preparedOnce(db, 'userAtDevice', () =>
    db
      .select({ user: users })
      .from(hotdeskSessions)
      .innerJoin(users, eq(users.id, hotdeskSessions.userId))
      .where(and(eq(hotdeskSessions.deviceId, sql.placeholder('deviceId')), isNull(hotdeskSessions.endedAt)))
      .prepare(),
  ).get({ deviceId });
  return row?.user;
}

/** The columns of a seated user a phone's profile uses: nothing of the PIN. */
const seatedUserColumnsOf = perTables(({ users }) => ({
  id: users.id,
  extension: users.extension,
  displayName: users.displayName,
  sipUser: users.sipUser,
  authName: users.authName,
  sipPassword: users.sipPassword,
}));
export type SeatedKey = Pick<UserKeyRow, 'position' | 'type' | 'value' | 'label'>;
export interface SeatedUser {
  readonly user: Pick<UserRow, keyof ReturnType<typeof seatedUserColumnsOf>>;
  readonly keys: SeatedKey[];
}

/**
 * The user seated at a device and their keys in key order, in one statement (the keys as one JSON array): what a
 * phone's profile needs, read on every render that misses the cache.
 */
export function findSeatedUserWithKeys(db: Db, deviceId: number): SeatedUser | undefined {
  const { hotdeskSessions, userKeys, users } = tablesOf(db);
  const row = preparedOnce(db, 'findSeatedUserWithKeys', () =>
    db
      .select({
        user: seatedUserColumnsOf(db),
        keys: sql<string>`(SELECT json_group_array(json_array(k.position, k.type, k.value, k.label)) FROM (SELECT * FROM ${userKeys} k WHERE k.user_id = ${users.id} ORDER BY k.position) k)`,
      })
      .from(hotdeskSessions)
      .innerJoin(users, eq(users.id, hotdeskSessions.userId))
      .where(and(eq(hotdeskSessions.deviceId, sql.placeholder('deviceId')), isNull(hotdeskSessions.endedAt)))
      .prepare(),
  ).get({ deviceId });
  if (row === undefined) return undefined;
  const keys = (JSON.parse(row.keys) as [number, SeatedKey['type'], string, string][]).map(
    ([position, type, value, label]): SeatedKey => ({ position, type, value, label }),
  );
  return { user: row.user, keys };
}

/** Every open session of a tenant, oldest first. */
export function listOpenSessions(db: Db, tenantId: number): OpenSession[] {
  const { devices, hotdeskSessions, users } = tablesOf(db);
  return db
    .select({ session: hotdeskSessions, device: devices, user: users })
    .from(hotdeskSessions)
    .innerJoin(devices, eq(devices.id, hotdeskSessions.deviceId))
    .innerJoin(users, eq(users.id, hotdeskSessions.userId))
    .where(and(eq(hotdeskSessions.tenantId, tenantId), isNull(hotdeskSessions.endedAt)))
    .orderBy(asc(hotdeskSessions.startedAt), asc(hotdeskSessions.id))
    .all();
}

/**
 * Starts a session inside the caller's transaction (which closed whatever it replaces): the partial unique indexes
 * refuse a second open session of the user or on the device.
 */
export function openSession(tx: Db, session: { tenantId: number; deviceId: number; userId: number; method: string; startedAt: Date }): SessionRow {
  const { hotdeskSessions } = tablesOf(tx);
  return tx.insert(hotdeskSessions).values(session).returning().get();
}

/**
 * Ends an open session and audits why. Must run inside the caller's transaction.
 * @param reason logout, moved, replaced, user_deleted, device_deleted, device_not_hotdesk, user_not_hotdesk, auto.
 */
export function closeSession(tx: Db, tenantId: number, now: Date, actor: Actor, session: SessionRow, reason: string, method?: string): void {
  const { hotdeskSessions } = tablesOf(tx);
  tx.update(hotdeskSessions).set({ endedAt: now, endReason: reason }).where(eq(hotdeskSessions.id, session.id)).run();
  const device = session.deviceId === null ? undefined : findDeviceById(tx, session.deviceId);
  const user = session.userId === null ? undefined : findUserById(tx, session.userId);
  recordAudit(tx, tenantId, now, actor, {
    action: 'hotdesk.logout',
    method: method ?? null,
    deviceMac: device?.mac ?? null,
    idleAccount: device?.idleAccount ?? null,
    userExtension: user?.extension ?? null,
    detail: { reason, sessionId: session.id, minutes: Math.round((now.getTime() - session.startedAt.getTime()) / 60000) },
  });
}

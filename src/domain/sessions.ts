import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { type Db, dialectOf, perTables, returnedRow, type Tables, tablesOf } from '../db/client.ts';
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
export async function openSessionOnDevice(db: Db, deviceId: number): Promise<SessionRow | undefined> {
  const { hotdeskSessions } = tablesOf(db);
  return (
    await db
      .select()
      .from(hotdeskSessions)
      .where(and(eq(hotdeskSessions.deviceId, deviceId), isNull(hotdeskSessions.endedAt)))
  )[0];
}

/** The open session of a user, if any. */
export async function openSessionOfUser(db: Db, userId: number): Promise<SessionRow | undefined> {
  const { hotdeskSessions } = tablesOf(db);
  return (
    await db
      .select()
      .from(hotdeskSessions)
      .where(and(eq(hotdeskSessions.userId, userId), isNull(hotdeskSessions.endedAt)))
  )[0];
}

/** The user sitting at a device now, if any. */
export async function userAtDevice(db: Db, deviceId: number): Promise<UserRow | undefined> {
  const { hotdeskSessions, users } = tablesOf(db);
  const row = (
    await preparedOnce(db, 'userAtDevice', () =>
      db
        .select({ user: users })
        .from(hotdeskSessions)
        .innerJoin(users, eq(users.id, hotdeskSessions.userId))
        .where(and(eq(hotdeskSessions.deviceId, sql.placeholder('deviceId')), isNull(hotdeskSessions.endedAt)))
        .prepare(),
    ).execute({ deviceId })
  )[0];
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

/** A user's keys in key order as one JSON array of [position, type, value, label], in each engine's JSON functions. */
function keysAsJson(db: Db, userKeys: Tables['userKeys'], userId: Tables['users']['id']) {
  return dialectOf(db) === 'sqlite'
    ? sql<string>`(SELECT json_group_array(json_array(k.position, k.type, k.value, k.label)) FROM (SELECT * FROM ${userKeys} k WHERE k.user_id = ${userId} ORDER BY k.position) k)`
    : sql<string>`(SELECT coalesce(json_agg(json_build_array(k.position, k.type, k.value, k.label) ORDER BY k.position), '[]'::json) FROM ${userKeys} k WHERE k.user_id = ${userId})`;
}

/**
 * The user seated at a device and their keys in key order, in one statement (the keys as one JSON array): what a
 * phone's profile needs, read on every render that misses the cache.
 */
export async function findSeatedUserWithKeys(db: Db, deviceId: number): Promise<SeatedUser | undefined> {
  const { hotdeskSessions, userKeys, users } = tablesOf(db);
  const row = (
    await preparedOnce(db, 'findSeatedUserWithKeys', () =>
      db
        .select({
          user: seatedUserColumnsOf(db),
          keys: keysAsJson(db, userKeys, users.id),
        })
        .from(hotdeskSessions)
        .innerJoin(users, eq(users.id, hotdeskSessions.userId))
        .where(and(eq(hotdeskSessions.deviceId, sql.placeholder('deviceId')), isNull(hotdeskSessions.endedAt)))
        .prepare(),
    ).execute({ deviceId })
  )[0];
  if (row === undefined) return undefined;
  // SQLite answers the JSON as text; PostgreSQL's driver has parsed it already.
  const keyRows = (typeof row.keys === 'string' ? JSON.parse(row.keys) : row.keys) as [number, SeatedKey['type'], string, string][];
  const keys = keyRows.map(([position, type, value, label]): SeatedKey => ({ position, type, value, label }));
  return { user: row.user, keys };
}

/** Every open session of a tenant, oldest first. */
export async function listOpenSessions(db: Db, tenantId: number): Promise<OpenSession[]> {
  const { devices, hotdeskSessions, users } = tablesOf(db);
  return await db
    .select({ session: hotdeskSessions, device: devices, user: users })
    .from(hotdeskSessions)
    .innerJoin(devices, eq(devices.id, hotdeskSessions.deviceId))
    .innerJoin(users, eq(users.id, hotdeskSessions.userId))
    .where(and(eq(hotdeskSessions.tenantId, tenantId), isNull(hotdeskSessions.endedAt)))
    .orderBy(asc(hotdeskSessions.startedAt), asc(hotdeskSessions.id));
}

/**
 * Starts a session inside the caller's transaction (which closed whatever it replaces): the partial unique indexes
 * refuse a second open session of the user or on the device.
 */
export async function openSession(
  tx: Db,
  session: { tenantId: number; deviceId: number; userId: number; method: string; startedAt: Date },
): Promise<SessionRow> {
  const { hotdeskSessions } = tablesOf(tx);
  return await returnedRow(tx.insert(hotdeskSessions).values(session).returning());
}

/**
 * Ends an open session and audits why. Must run inside the caller's transaction.
 * @param reason logout, moved, replaced, user_deleted, device_deleted, device_not_hotdesk, user_not_hotdesk, auto.
 */
export async function closeSession(tx: Db, tenantId: number, now: Date, actor: Actor, session: SessionRow, reason: string, method?: string): Promise<void> {
  const { hotdeskSessions } = tablesOf(tx);
  await tx.update(hotdeskSessions).set({ endedAt: now, endReason: reason }).where(eq(hotdeskSessions.id, session.id));
  const device = session.deviceId === null ? undefined : await findDeviceById(tx, session.deviceId);
  const user = session.userId === null ? undefined : await findUserById(tx, session.userId);
  await recordAudit(tx, tenantId, now, actor, {
    action: 'hotdesk.logout',
    method: method ?? null,
    deviceMac: device?.mac ?? null,
    idleAccount: device?.idleAccount ?? null,
    userExtension: user?.extension ?? null,
    detail: { reason, sessionId: session.id, minutes: Math.round((now.getTime() - session.startedAt.getTime()) / 60000) },
  });
}

/**
 * Who opened each of these sessions, as the audit log named them (`api:<token name>`, `admin:<name>`), by session id:
 * the login's audit event has the session's device and start time. One query for all of them.
 */
export async function sessionOpeners(db: Db, tenantId: number, sessions: readonly OpenSession[]): Promise<Map<number, string>> {
  const { auditEvents } = tablesOf(db);
  if (sessions.length === 0) return new Map();
  const events = await db
    .select({ actor: auditEvents.actor, deviceMac: auditEvents.deviceMac, at: auditEvents.at })
    .from(auditEvents)
    .where(
      and(
        eq(auditEvents.tenantId, tenantId),
        eq(auditEvents.action, 'hotdesk.login'),
        inArray(auditEvents.deviceMac, [...new Set(sessions.map((s) => s.device.mac))]),
        inArray(
          auditEvents.at,
          [...new Set(sessions.map((s) => s.session.startedAt.getTime()))].map((t) => new Date(t)),
        ),
      ),
    );
  const actorAt = new Map(events.map((e) => [`${e.deviceMac} ${e.at.getTime()}`, e.actor]));
  const openers = new Map<number, string>();
  for (const s of sessions) {
    const actor = actorAt.get(`${s.device.mac} ${s.session.startedAt.getTime()}`);
    if (actor !== undefined) openers.set(s.session.id, actor);
  }
  return openers;
}

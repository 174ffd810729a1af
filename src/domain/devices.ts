import { and, asc, eq, isNull, type SQL, sql } from 'drizzle-orm';
import { type Db, dialectOf, returnedRow, tablesOf, timeParameter, writeTransaction } from '../db/client.ts';
import { preparedOnce } from '../db/prepared.ts';
import type { DeviceRow } from '../db/schema.ts';
import { InvalidField, MacEnrolled, UnknownDevice } from '../errors.ts';
import { recordAudit } from './audit.ts';
import { generateSipPassword } from './credentials.ts';
import type { Actor, DomainDeps } from './deps.ts';
import { newActivationCode, newProvisioningCredentials, newScreenSecret, newWebPassword } from './deviceAccess.ts';
import { getDevice } from './lookup.ts';
import { parseMac } from './mac.ts';
import { assertQuotaRoom } from './quotas.ts';
import { closeSession, openSessionOnDevice } from './sessions.ts';
import { takeIdleAccount } from './tenants.ts';

export interface EnrolDeviceInput {
  readonly mac: string;
  readonly vendor: string;
  readonly model: string;
  readonly hotdesk?: boolean | undefined;
  readonly label?: string | undefined;
  readonly location?: string | undefined;
  readonly expansionModules?: number | undefined;
  /** Use an idle-account password that already exists on the PBX; generated when absent. */
  readonly idlePassword?: string | undefined;
  /** Where the phone takes SIP requests, when the PBX does not say (`sip:HD0001@10.1.2.3:5062`). */
  readonly sipContact?: string | undefined;
  /** The secret of the phone's screen URLs; random when absent (fixed only where output must be reproducible). */
  readonly screenSecret?: string | undefined;
  /** The phone's provisioning password and web-interface password: random when absent (fixed only for golden files). */
  readonly provPassword?: string | undefined;
  readonly webPassword?: string | undefined;
}

/** An enrolled device, and the activation code of its phone: shown to admins this once. */
export type EnrolledDevice = DeviceRow & { readonly activationCode: string };

export interface UpdateDeviceInput {
  readonly model?: string | undefined;
  readonly hotdesk?: boolean | undefined;
  readonly label?: string | undefined;
  readonly location?: string | undefined;
  readonly expansionModules?: number | undefined;
  readonly idlePassword?: string | undefined;
  readonly sipContact?: string | null | undefined;
  /** This desk's phone time zone and language instead of the tenant's; null returns to the tenant's. */
  readonly phoneTimezone?: string | null | undefined;
  readonly phoneLanguage?: string | null | undefined;
}

/** The MACs enrolled in any tenant (retired ones left out: they may be enrolled again). */
export async function enrolledMacs(db: Db): Promise<Set<string>> {
  const { devices } = tablesOf(db);
  return new Set((await db.select({ mac: devices.mac }).from(devices).where(isNull(devices.retiredAt))).map((d) => d.mac));
}

export async function listDevices(db: Db, tenantId: number): Promise<DeviceRow[]> {
  const { devices } = tablesOf(db);
  return await db
    .select()
    .from(devices)
    .where(and(eq(devices.tenantId, tenantId), isNull(devices.retiredAt)))
    .orderBy(asc(devices.idleAccount));
}

/**
 * Enrols a phone: checks MAC, vendor and model, and gives it the tenant's next idle account.
 * @throws AppError invalid_field (400) for a bad MAC, vendor or model; conflict (409) when the MAC is enrolled, in
 * this tenant or another (the same answer for both).
 */
export async function enrolDevice(deps: DomainDeps, tenantId: number, actor: Actor, input: EnrolDeviceInput): Promise<EnrolledDevice> {
  const { devices } = tablesOf(deps.db);
  const mac = parseMac(input.mac);
  if (mac === null) throw InvalidField('mac', `${JSON.stringify(input.mac)} is not a MAC address (12 hex digits)`);
  const found = deps.catalog.findModel(input.vendor, input.model);
  if (found === null) {
    throw InvalidField('model', `unknown vendor/model ${input.vendor}/${input.model}; known: ${deps.catalog.describe()}`);
  }
  const now = deps.now();
  const activation = newActivationCode(mac);
  const enrolled = await writeTransaction(deps.db, async (tx) => {
    // A MAC is enrolled in one tenant at most (devices.mac is unique): the phone asks by MAC alone.
    const taken = (await tx.select().from(devices).where(eq(devices.mac, mac)))[0];
    if (taken !== undefined && taken.retiredAt === null) throw MacEnrolled(mac);
    // In this write transaction, so concurrent enrolments cannot pass the quota together; a retired row does not count.
    await assertQuotaRoom(tx, tenantId, 'devices');
    // A phone enrolled again: its retired row only served to wipe it, and goes now.
    if (taken !== undefined) await tx.delete(devices).where(eq(devices.id, taken.id));
    const idleAccount = await takeIdleAccount(tx, tenantId);
    const device = await returnedRow(
      tx
        .insert(devices)
        .values({
          tenantId,
          mac,
          vendor: found.vendor,
          model: found.model,
          label: input.label ?? '',
          hotdesk: input.hotdesk ?? true,
          idleAccount,
          idlePassword: input.idlePassword ?? generateSipPassword(),
          location: input.location ?? '',
          expansionModules: input.expansionModules ?? 0,
          sipContact: input.sipContact ?? null,
          screenSecret: input.screenSecret ?? newScreenSecret(),
          ...newProvisioningCredentials(mac),
          ...(input.provPassword === undefined ? {} : { provPassword: input.provPassword }),
          webPassword: input.webPassword ?? newWebPassword(),
          activationCodeHash: activation.hash,
          createdAt: now,
        })
        .returning(),
    );
    await recordAudit(tx, tenantId, now, actor, {
      action: 'device.enrolled',
      deviceMac: mac,
      idleAccount: device.idleAccount,
      detail: { vendor: device.vendor, model: device.model, hotdesk: device.hotdesk },
    });
    return device;
  });
  deps.deviceLifecycle?.({ kind: 'enrolled', device: enrolled });
  return { ...enrolled, activationCode: activation.code };
}

/**
 * Changes a device. Clearing its hot-desk flag logs out whoever sits there.
 * @throws AppError unknown_device (404), invalid_field (400) for a model of another vendor.
 */
export async function updateDevice(deps: DomainDeps, tenantId: number, actor: Actor, ref: string, input: UpdateDeviceInput): Promise<DeviceRow> {
  const { devices } = tablesOf(deps.db);
  const now = deps.now();
  const updated = await writeTransaction(deps.db, async (tx) => {
    const device = await getDevice(tx, tenantId, ref);
    let model = device.model;
    if (input.model !== undefined) {
      const found = deps.catalog.findModel(device.vendor, input.model);
      if (found === null) throw InvalidField('model', `${input.model} is not a ${device.vendor} model`);
      model = found.model;
    }
    const row = (
      await tx
        .update(devices)
        .set({
          model,
          hotdesk: input.hotdesk ?? device.hotdesk,
          label: input.label ?? device.label,
          location: input.location ?? device.location,
          expansionModules: input.expansionModules ?? device.expansionModules,
          idlePassword: input.idlePassword ?? device.idlePassword,
          sipContact: input.sipContact === undefined ? device.sipContact : input.sipContact,
          phoneTimezone: input.phoneTimezone === undefined ? device.phoneTimezone : input.phoneTimezone,
          phoneLanguage: input.phoneLanguage === undefined ? device.phoneLanguage : input.phoneLanguage,
        })
        .where(eq(devices.id, device.id))
        .returning()
    )[0];
    if (row === undefined) throw UnknownDevice(ref);
    const changed = Object.keys(input).filter((k) => input[k as keyof UpdateDeviceInput] !== undefined);
    await recordAudit(tx, tenantId, now, actor, {
      action: 'device.updated',
      deviceMac: row.mac,
      idleAccount: row.idleAccount,
      detail: { fields: changed },
    });
    if (device.hotdesk && !row.hotdesk) {
      await closeOpenSessionOf(tx, tenantId, now, actor, row, 'device_not_hotdesk');
    }
    return row;
  });
  await deps.profilesChanged({ deviceIds: [updated.id], reason: 'device updated' });
  return updated;
}

/**
 * Deletes a device for everyone but the phone: its session ends, it is gone from the API, and the phone is sent a
 * blank profile on its next fetch, so no account or key of the last user stays on it.
 */
export async function deleteDevice(deps: DomainDeps, tenantId: number, actor: Actor, ref: string): Promise<DeviceRow> {
  const { devices } = tablesOf(deps.db);
  const now = deps.now();
  const device = await writeTransaction(deps.db, async (tx) => {
    const row = await getDevice(tx, tenantId, ref);
    await closeOpenSessionOf(tx, tenantId, now, actor, row, 'device_deleted');
    await tx.update(devices).set({ retiredAt: now }).where(eq(devices.id, row.id));
    await recordAudit(tx, tenantId, now, actor, { action: 'device.deleted', deviceMac: row.mac, idleAccount: row.idleAccount });
    return row;
  });
  await deps.profilesChanged({ deviceIds: [device.id], reason: 'device deleted' });
  deps.deviceLifecycle?.({ kind: 'deleted', device });
  return device;
}

async function closeOpenSessionOf(tx: Db, tenantId: number, now: Date, actor: Actor, device: DeviceRow, reason: string): Promise<void> {
  const open = await openSessionOnDevice(tx, device.id);
  if (open !== undefined) await closeSession(tx, tenantId, now, actor, open, reason);
}

/** What one fetch tells of a phone. A null firmware (a boot stage that does not say) keeps the recorded one. */
export interface DeviceSeen {
  readonly at: Date;
  readonly ip: string;
  readonly userAgent: string;
  readonly firmware: string | null;
}

/**
 * Whether a fetch is worth recording: its details differ from the last recorded, or that time stamp is older
 * than `minIntervalMs`. Fetches come by the thousand; most repeat what is known.
 */
export function seenIsNews(
  last: Pick<DeviceRow, 'lastSeenAt' | 'lastSeenIp' | 'lastUserAgent' | 'firmware'>,
  seen: DeviceSeen,
  minIntervalMs: number,
): boolean {
  const sameDetails = last.lastSeenIp === seen.ip && last.lastUserAgent === seen.userAgent && (seen.firmware === null || last.firmware === seen.firmware);
  const recent = last.lastSeenAt !== null && seen.at.getTime() - last.lastSeenAt.getTime() < minIntervalMs;
  return !(sameDetails && recent);
}

/** Records that a phone fetched its config: when, from where, with which User-Agent and firmware. */
export async function recordDeviceSeen(db: Db, deviceId: number, seen: DeviceSeen): Promise<void> {
  const { devices } = tablesOf(db);
  // Placeholders in SET bypass drizzle's column mapping: the time goes in as the engine stores it.
  await preparedOnce(db, 'recordDeviceSeen', () =>
    db
      .update(devices)
      .set({
        lastSeenAt: sql`${sql.placeholder('at')}`,
        lastSeenIp: sql`${sql.placeholder('ip')}`,
        lastUserAgent: sql`${sql.placeholder('userAgent')}`,
        firmware: sql`coalesce(${sql.placeholder('firmware')}, ${devices.firmware})`,
      })
      .where(eq(devices.id, sql.placeholder('id')))
      .prepare(),
  ).execute({ id: deviceId, at: timeParameter(db, seen.at), ip: seen.ip, userAgent: seen.userAgent, firmware: seen.firmware });
}

/**
 * Remembers which revision of its main file a phone was served, and the account in it: the phone registers
 * with that account, so the next check-sync is addressed to it.
 */
export async function recordServed(db: Db, deviceId: number, etag: string, account: { userName: string; authName: string; password: string }): Promise<void> {
  const { devices } = tablesOf(db);
  await preparedOnce(db, 'recordServed', () =>
    db
      .update(devices)
      .set({
        servedEtag: sql`${sql.placeholder('etag')}`,
        servedAccount: sql`${sql.placeholder('userName')}`,
        servedAuthName: sql`${sql.placeholder('authName')}`,
        servedPassword: sql`${sql.placeholder('password')}`,
      })
      .where(eq(devices.id, sql.placeholder('id')))
      .prepare(),
  ).execute({ id: deviceId, etag, userName: account.userName, authName: account.authName, password: account.password });
}

/** Remembers where the PBX says the phone takes SIP requests (`sip:HD0001@10.1.2.3:5062`), for the next NOTIFY. */
export async function reportContact(db: Db, device: DeviceRow, contact: string): Promise<void> {
  const { devices } = tablesOf(db);
  if (device.reportedContact === contact) return;
  await db.update(devices).set({ reportedContact: contact }).where(eq(devices.id, device.id));
}

/**
 * What a turn's fetches recorded, written at once: where each phone was seen, and the revision (and account) it was
 * served. On SQLite one transaction of prepared updates; on PostgreSQL one statement per kind (a round trip each, not
 * one per phone), each atomic by itself: the rows are independent, and the newest fetch wins either way.
 */
export async function recordFetches(
  db: Db,
  seen: readonly (readonly [number, DeviceSeen])[],
  served: readonly (readonly [number, { etag: string; account: { userName: string; authName: string; password: string } }])[],
): Promise<void> {
  if (dialectOf(db) === 'sqlite') {
    await writeTransaction(db, async (tx) => {
      for (const [id, fetch] of seen) await recordDeviceSeen(tx, id, fetch);
      for (const [id, revision] of served) await recordServed(tx, id, revision.etag, revision.account);
    });
    return;
  }
  const pg = db as unknown as { execute(query: SQL): Promise<unknown> };
  if (seen.length > 0) {
    const rows = seen.map(([id, s]) => sql`(${id}::integer, ${s.at.toISOString()}::timestamptz, ${s.ip}::text, ${s.userAgent}::text, ${s.firmware}::text)`);
    await pg.execute(sql`UPDATE devices SET last_seen_at = v.at, last_seen_ip = v.ip, last_user_agent = v.ua, firmware = coalesce(v.firmware, devices.firmware)
      FROM (VALUES ${sql.join(rows, sql`, `)}) AS v(id, at, ip, ua, firmware) WHERE devices.id = v.id`);
  }
  if (served.length > 0) {
    const rows = served.map(
      ([id, r]) => sql`(${id}::integer, ${r.etag}::text, ${r.account.userName}::text, ${r.account.authName}::text, ${r.account.password}::text)`,
    );
    await pg.execute(sql`UPDATE devices SET served_etag = v.etag, served_account = v.account, served_auth_name = v.auth_name, served_password = v.password
      FROM (VALUES ${sql.join(rows, sql`, `)}) AS v(id, etag, account, auth_name, password) WHERE devices.id = v.id`);
  }
}

const WATCHDOG: Actor = { name: 'hotprov' };

/**
 * Phones that fetched their file once but not for a day (`silentForMs`), in tenants still in service: each is audited
 * `device.unseen` (and so told to the tenant's webhooks) once per silence; a phone that fetched since can be reported
 * again. A phone never seen is not news: it may still be in its box. At most `limit` a run, oldest silence first.
 */
export async function reportUnseenDevices(deps: Pick<DomainDeps, 'db' | 'now'>, silentForMs: number, limit = 500): Promise<number> {
  const { devices, tenants } = tablesOf(deps.db);
  const now = deps.now();
  const cutoff = new Date(now.getTime() - silentForMs);
  return await writeTransaction(deps.db, async (tx) => {
    const silent = await tx
      .select({ id: devices.id, tenantId: devices.tenantId, mac: devices.mac, idleAccount: devices.idleAccount, lastSeenAt: devices.lastSeenAt })
      .from(devices)
      .innerJoin(tenants, eq(tenants.id, devices.tenantId))
      .where(
        and(
          isNull(devices.retiredAt),
          isNull(tenants.retiredAt),
          sql`${devices.lastSeenAt} < ${timeParameter(tx, cutoff)}`,
          sql`(${devices.unseenReportedAt} is null or ${devices.unseenReportedAt} < ${devices.lastSeenAt})`,
        ),
      )
      .orderBy(asc(devices.lastSeenAt))
      .limit(limit);
    for (const d of silent) {
      await tx.update(devices).set({ unseenReportedAt: now }).where(eq(devices.id, d.id));
      await recordAudit(tx, d.tenantId, now, WATCHDOG, {
        action: 'device.unseen',
        deviceMac: d.mac,
        idleAccount: d.idleAccount,
        detail: { lastSeenAt: d.lastSeenAt?.toISOString() ?? null },
      });
    }
    return silent.length;
  });
}

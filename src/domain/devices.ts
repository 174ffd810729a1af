import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import { type Db, tablesOf, writeTransaction } from '../db/client.ts';
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
export function enrolledMacs(db: Db): Set<string> {
  const { devices } = tablesOf(db);
  return new Set(
    db
      .select({ mac: devices.mac })
      .from(devices)
      .where(isNull(devices.retiredAt))
      .all()
      .map((d) => d.mac),
  );
}

export function listDevices(db: Db, tenantId: number): DeviceRow[] {
  const { devices } = tablesOf(db);
  return db
    .select()
    .from(devices)
    .where(and(eq(devices.tenantId, tenantId), isNull(devices.retiredAt)))
    .orderBy(asc(devices.idleAccount))
    .all();
}

/**
 * Enrols a phone: checks MAC, vendor and model, and gives it the tenant's next idle account.
 * @throws AppError invalid_field (400) for a bad MAC, vendor or model; conflict (409) when the MAC is enrolled, in
 * this tenant or another (the same answer for both).
 */
export function enrolDevice(deps: DomainDeps, tenantId: number, actor: Actor, input: EnrolDeviceInput): EnrolledDevice {
  const { devices } = tablesOf(deps.db);
  const mac = parseMac(input.mac);
  if (mac === null) throw InvalidField('mac', `${JSON.stringify(input.mac)} is not a MAC address (12 hex digits)`);
  const found = deps.catalog.findModel(input.vendor, input.model);
  if (found === null) {
    throw InvalidField('model', `unknown vendor/model ${input.vendor}/${input.model}; known: ${deps.catalog.describe()}`);
  }
  const now = deps.now();
  const activation = newActivationCode(mac);
  const enrolled = writeTransaction(deps.db, (tx) => {
    // A MAC is enrolled in one tenant at most (devices.mac is unique): the phone asks by MAC alone.
    const taken = tx.select().from(devices).where(eq(devices.mac, mac)).get();
    if (taken !== undefined && taken.retiredAt === null) throw MacEnrolled(mac);
    // In this write transaction, so concurrent enrolments cannot pass the quota together; a retired row does not count.
    assertQuotaRoom(tx, tenantId, 'devices');
    // A phone enrolled again: its retired row only served to wipe it, and goes now.
    if (taken !== undefined) tx.delete(devices).where(eq(devices.id, taken.id)).run();
    const idleAccount = takeIdleAccount(tx, tenantId);
    const device = tx
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
      .returning()
      .get();
    recordAudit(tx, tenantId, now, actor, {
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
export function updateDevice(deps: DomainDeps, tenantId: number, actor: Actor, ref: string, input: UpdateDeviceInput): DeviceRow {
  const { devices } = tablesOf(deps.db);
  const now = deps.now();
  const updated = writeTransaction(deps.db, (tx) => {
    const device = getDevice(tx, tenantId, ref);
    let model = device.model;
    if (input.model !== undefined) {
      const found = deps.catalog.findModel(device.vendor, input.model);
      if (found === null) throw InvalidField('model', `${input.model} is not a ${device.vendor} model`);
      model = found.model;
    }
    const row = tx
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
      .get();
    if (row === undefined) throw UnknownDevice(ref);
    const changed = Object.keys(input).filter((k) => input[k as keyof UpdateDeviceInput] !== undefined);
    recordAudit(tx, tenantId, now, actor, {
      action: 'device.updated',
      deviceMac: row.mac,
      idleAccount: row.idleAccount,
      detail: { fields: changed },
    });
    if (device.hotdesk && !row.hotdesk) {
      closeOpenSessionOf(tx, tenantId, now, actor, row, 'device_not_hotdesk');
    }
    return row;
  });
  deps.profilesChanged({ deviceIds: [updated.id], reason: 'device updated' });
  return updated;
}

/**
 * Deletes a device for everyone but the phone: its session ends, it is gone from the API, and the phone is sent a
 * blank profile on its next fetch, so no account or key of the last user stays on it.
 */
export function deleteDevice(deps: DomainDeps, tenantId: number, actor: Actor, ref: string): DeviceRow {
  const { devices } = tablesOf(deps.db);
  const now = deps.now();
  const device = writeTransaction(deps.db, (tx) => {
    const row = getDevice(tx, tenantId, ref);
    closeOpenSessionOf(tx, tenantId, now, actor, row, 'device_deleted');
    tx.update(devices).set({ retiredAt: now }).where(eq(devices.id, row.id)).run();
    recordAudit(tx, tenantId, now, actor, { action: 'device.deleted', deviceMac: row.mac, idleAccount: row.idleAccount });
    return row;
  });
  deps.profilesChanged({ deviceIds: [device.id], reason: 'device deleted' });
  deps.deviceLifecycle?.({ kind: 'deleted', device });
  return device;
}

function closeOpenSessionOf(tx: Db, tenantId: number, now: Date, actor: Actor, device: DeviceRow, reason: string): void {
  const open = openSessionOnDevice(tx, device.id);
  if (open !== undefined) closeSession(tx, tenantId, now, actor, open, reason);
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
export function recordDeviceSeen(db: Db, deviceId: number, seen: DeviceSeen): void {
  const { devices } = tablesOf(db);
  // Placeholders in SET bypass drizzle's column mapping: the time goes in as the stored milliseconds.
  preparedOnce(db, 'recordDeviceSeen', () =>
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
  ).run({ id: deviceId, at: seen.at.getTime(), ip: seen.ip, userAgent: seen.userAgent, firmware: seen.firmware });
}

/**
 * Remembers which revision of its main file a phone was served, and the account in it: the phone registers
 * with that account, so the next check-sync is addressed to it.
 */
export function recordServed(db: Db, deviceId: number, etag: string, account: { userName: string; authName: string; password: string }): void {
  const { devices } = tablesOf(db);
  preparedOnce(db, 'recordServed', () =>
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
  ).run({ id: deviceId, etag, userName: account.userName, authName: account.authName, password: account.password });
}

/** Remembers where the PBX says the phone takes SIP requests (`sip:HD0001@10.1.2.3:5062`), for the next NOTIFY. */
export function reportContact(db: Db, device: DeviceRow, contact: string): void {
  const { devices } = tablesOf(db);
  if (device.reportedContact === contact) return;
  db.update(devices).set({ reportedContact: contact }).where(eq(devices.id, device.id)).run();
}

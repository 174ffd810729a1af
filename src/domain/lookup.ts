import { and, eq, isNull, sql } from 'drizzle-orm';
import { type Db, perTables, tablesOf } from '../db/client.ts';
import { preparedOnce, preparedRowReader } from '../db/prepared.ts';
import type { DeviceRow, UserRow } from '../db/schema.ts';
import { UnknownDevice, UnknownExtension } from '../errors.ts';
import { type Mac, parseMac } from './mac.ts';

/**
 * Reading devices and users by what callers know of them. No writes, no rules. `find*` answers undefined when there
 * is nothing; `get*` throws the catalogue's 404.
 */

/**
 * The enrolled device a caller names: a MAC in any spelling, or its idle account (HD0001).
 * A deleted (retired) device is not found.
 * @throws AppError unknown_device (404).
 */
export function getDevice(db: Db, tenantId: number, ref: string): DeviceRow {
  const row = findDevice(db, tenantId, ref);
  if (row === undefined) throw UnknownDevice(ref);
  return row;
}

/**
 * getDevice, answering undefined when no enrolled device has that MAC or idle account. An idle account is matched
 * in any case (`hd0001`, `ACME-HD001`), as the tenant's pattern wrote it or not.
 */
export function findDevice(db: Db, tenantId: number, ref: string): DeviceRow | undefined {
  const { devices } = tablesOf(db);
  const mac = parseMac(ref);
  const byMac =
    mac === null
      ? undefined
      : db
          .select()
          .from(devices)
          .where(and(eq(devices.tenantId, tenantId), eq(devices.mac, mac), isNull(devices.retiredAt)))
          .get();
  if (byMac !== undefined || ref === '' || ref.length > 64) return byMac;
  // A pattern's names may look like a MAC (`{n:8}` after four hex letters): a MAC that is no device is tried as one.
  const exact = (name: string) =>
    db
      .select()
      .from(devices)
      .where(and(eq(devices.tenantId, tenantId), eq(devices.idleAccount, name), isNull(devices.retiredAt)))
      .get();
  const found = exact(ref) ?? exact(ref.toUpperCase());
  // Other spellings only for a name with letters (a dialled extension has none).
  if (found !== undefined || ref.toLowerCase() === ref.toUpperCase()) return found;
  return db
    .select()
    .from(devices)
    .where(and(eq(devices.tenantId, tenantId), sql`lower(${devices.idleAccount}) = lower(${ref})`, isNull(devices.retiredAt)))
    .get();
}

export function findDeviceById(db: Db, id: number): DeviceRow | undefined {
  const { devices } = tablesOf(db);
  return preparedOnce(db, 'deviceById', () =>
    db
      .select()
      .from(devices)
      .where(eq(devices.id, sql.placeholder('id')))
      .prepare(),
  ).get({ id });
}

/** The device a phone asks for by MAC, whatever its tenant, retired ones included; undefined when never enrolled. */
export function findDeviceByMac(db: Db, mac: Mac): DeviceRow | undefined {
  const { devices } = tablesOf(db);
  return preparedOnce(db, 'deviceByMac', () =>
    db
      .select()
      .from(devices)
      .where(eq(devices.mac, sql.placeholder('mac')))
      .prepare(),
  ).get({ mac });
}

/**
 * What a phone's fetch needs of its device, read once per fetch: which it is, how it must authenticate, what was
 * last recorded of it, and what its profile is built from when the file must be rendered. Two thirds of the
 * row's columns: reading all of them (claim, activation and redirect state included) took most of a 304's time.
 */
const phoneColumnsOf = perTables(({ devices }) => ({
  id: devices.id,
  tenantId: devices.tenantId,
  mac: devices.mac,
  vendor: devices.vendor,
  access: devices.access,
  retiredAt: devices.retiredAt,
  provUsername: devices.provUsername,
  provPassword: devices.provPassword,
  lastSeenAt: devices.lastSeenAt,
  lastSeenIp: devices.lastSeenIp,
  lastUserAgent: devices.lastUserAgent,
  firmware: devices.firmware,
  servedEtag: devices.servedEtag,
  model: devices.model,
  label: devices.label,
  location: devices.location,
  idleAccount: devices.idleAccount,
  idlePassword: devices.idlePassword,
  screenSecret: devices.screenSecret,
  webPassword: devices.webPassword,
  expansionModules: devices.expansionModules,
  phoneTimezone: devices.phoneTimezone,
  phoneLanguage: devices.phoneLanguage,
}));
export type PhoneDevice = Pick<DeviceRow, keyof ReturnType<typeof phoneColumnsOf>>;

/** findDeviceByMac for the phone path: the columns of PhoneDevice only. */
export function findPhoneByMac(db: Db, mac: Mac): PhoneDevice | undefined {
  const { devices } = tablesOf(db);
  return preparedRowReader<PhoneDevice>(db, 'phoneByMac', devices, phoneColumnsOf(db), devices.mac)(mac);
}

/** A user by extension, or undefined. */
export function findUser(db: Db, tenantId: number, extension: string): UserRow | undefined {
  const { users } = tablesOf(db);
  return db
    .select()
    .from(users)
    .where(and(eq(users.tenantId, tenantId), eq(users.extension, extension)))
    .get();
}

/**
 * A user by extension.
 * @throws AppError unknown_extension (404).
 */
export function getUser(db: Db, tenantId: number, extension: string): UserRow {
  const user = findUser(db, tenantId, extension);
  if (user === undefined) throw UnknownExtension(extension);
  return user;
}

/** A tenant's users who register as this SIP user name (`acme-101` on a PBX that tenants share); usually one. */
export function findUsersBySipUser(db: Db, tenantId: number, sipUser: string): UserRow[] {
  const { users } = tablesOf(db);
  return db
    .select()
    .from(users)
    .where(and(eq(users.tenantId, tenantId), eq(users.sipUser, sipUser)))
    .all();
}

export function findUserById(db: Db, id: number): UserRow | undefined {
  const { users } = tablesOf(db);
  return db.select().from(users).where(eq(users.id, id)).get();
}

/** The ids of a tenant's devices, retired ones included (they still fetch their blank profile). */
export function deviceIdsOfTenant(db: Db, tenantId: number): { id: number }[] {
  const { devices } = tablesOf(db);
  return db.select({ id: devices.id }).from(devices).where(eq(devices.tenantId, tenantId)).all();
}

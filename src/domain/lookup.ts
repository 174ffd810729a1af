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
export async function getDevice(db: Db, tenantId: number, ref: string): Promise<DeviceRow> {
  const row = await findDevice(db, tenantId, ref);
  if (row === undefined) throw UnknownDevice(ref);
  return row;
}

/**
 * getDevice, answering undefined when no enrolled device has that MAC or idle account. An idle account is matched
 * in any case (`hd0001`, `ACME-HD001`), as the tenant's pattern wrote it or not.
 */
export async function findDevice(db: Db, tenantId: number, ref: string): Promise<DeviceRow | undefined> {
  const { devices } = tablesOf(db);
  const mac = parseMac(ref);
  const byMac =
    mac === null
      ? undefined
      : (
          await db
            .select()
            .from(devices)
            .where(and(eq(devices.tenantId, tenantId), eq(devices.mac, mac), isNull(devices.retiredAt)))
        )[0];
  if (byMac !== undefined || ref === '' || ref.length > 64) return byMac;
  // A pattern's names may look like a MAC (`{n:8}` after four hex letters): a MAC that is no device is tried as one.
  const exact = async (name: string) =>
    (
      await db
        .select()
        .from(devices)
        .where(and(eq(devices.tenantId, tenantId), eq(devices.idleAccount, name), isNull(devices.retiredAt)))
    )[0];
  const found = (await exact(ref)) ?? (await exact(ref.toUpperCase()));
  // Other spellings only for a name with letters (a dialled extension has none).
  if (found !== undefined || ref.toLowerCase() === ref.toUpperCase()) return found;
  return (
    await db
      .select()
      .from(devices)
      .where(and(eq(devices.tenantId, tenantId), sql`lower(${devices.idleAccount}) = lower(${ref})`, isNull(devices.retiredAt)))
  )[0];
}

export async function findDeviceById(db: Db, id: number): Promise<DeviceRow | undefined> {
  const { devices } = tablesOf(db);
  return (
    await preparedOnce(db, 'deviceById', () =>
      db
        .select()
        .from(devices)
        .where(eq(devices.id, sql.placeholder('id')))
        .prepare(),
    ).execute({ id })
  )[0];
}

/** The device a phone asks for by MAC, whatever its tenant, retired ones included; undefined when never enrolled. */
export async function findDeviceByMac(db: Db, mac: Mac): Promise<DeviceRow | undefined> {
  const { devices } = tablesOf(db);
  return (
    await preparedOnce(db, 'deviceByMac', () =>
      db
        .select()
        .from(devices)
        .where(eq(devices.mac, sql.placeholder('mac')))
        .prepare(),
    ).execute({ mac })
  )[0];
}

/**
 * What a phone's fetch needs of its device, read once per fetch: which it is, how it must authenticate, what was
 * last recorded of it, and what its profile is built from when the file must be rendered. Two thirds of the
 * row's columns: reading all of them (claim, activation and redirect state included) took most of a 304's time.
 */
export const phoneColumnsOf = perTables(({ devices }) => ({
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
export async function findPhoneByMac(db: Db, mac: Mac): Promise<PhoneDevice | undefined> {
  const { devices } = tablesOf(db);
  return await preparedRowReader<PhoneDevice>(db, 'phoneByMac', devices, phoneColumnsOf(db), devices.mac)(mac);
}

/** A user by extension, or undefined. */
export async function findUser(db: Db, tenantId: number, extension: string): Promise<UserRow | undefined> {
  const { users } = tablesOf(db);
  return (
    await db
      .select()
      .from(users)
      .where(and(eq(users.tenantId, tenantId), eq(users.extension, extension)))
  )[0];
}

/**
 * A user by extension.
 * @throws AppError unknown_extension (404).
 */
export async function getUser(db: Db, tenantId: number, extension: string): Promise<UserRow> {
  const user = await findUser(db, tenantId, extension);
  if (user === undefined) throw UnknownExtension(extension);
  return user;
}

/** A tenant's users who register as this SIP user name (`acme-101` on a PBX that tenants share); usually one. */
export async function findUsersBySipUser(db: Db, tenantId: number, sipUser: string): Promise<UserRow[]> {
  const { users } = tablesOf(db);
  return await db
    .select()
    .from(users)
    .where(and(eq(users.tenantId, tenantId), eq(users.sipUser, sipUser)));
}

export async function findUserById(db: Db, id: number): Promise<UserRow | undefined> {
  const { users } = tablesOf(db);
  return (await db.select().from(users).where(eq(users.id, id)))[0];
}

import type { DeviceRow, SessionRow, UserKeyRow, UserRow } from '../db/schema.ts';
import type { Mac } from '../domain/mac.ts';
import { formatMac } from '../domain/mac.ts';
import type { OpenSession } from '../domain/sessions.ts';

/** JSON shapes of the API. Secrets (SIP passwords, PIN hashes) never appear in them. */

export function presentUser(user: UserRow, keys: readonly UserKeyRow[]) {
  return {
    extension: user.extension,
    displayName: user.displayName,
    sipUser: user.sipUser,
    authName: user.authName,
    hotdesk: user.hotdesk,
    pinSet: user.pinHash !== null,
    keys: keys.map((k) => ({ type: k.type, value: k.value, label: k.label })),
    createdAt: user.createdAt.toISOString(),
  };
}

export function presentDevice(
  device: DeviceRow,
  seated: UserRow | undefined,
  extra: { files: readonly string[]; warnings: readonly string[] },
) {
  return {
    mac: formatMac(device.mac as Mac),
    vendor: device.vendor,
    model: device.model,
    label: device.label,
    hotdesk: device.hotdesk,
    location: device.location,
    expansionModules: device.expansionModules,
    idleAccount: device.idleAccount,
    state: seated === undefined ? 'idle' : 'in_use',
    user: seated === undefined ? null : { extension: seated.extension, displayName: seated.displayName },
    lastSeen:
      device.lastSeenAt === null
        ? null
        : { at: device.lastSeenAt.toISOString(), ip: device.lastSeenIp, userAgent: device.lastUserAgent, firmware: device.firmware },
    files: extra.files,
    warnings: extra.warnings,
    createdAt: device.createdAt.toISOString(),
  };
}

export function presentSession(session: SessionRow, device: DeviceRow, user: UserRow) {
  return {
    id: session.id,
    device: { mac: formatMac(device.mac as Mac), idleAccount: device.idleAccount, label: device.label },
    user: { extension: user.extension, displayName: user.displayName },
    method: session.method,
    startedAt: session.startedAt.toISOString(),
  };
}

export function presentOpenSession(open: OpenSession) {
  return presentSession(open.session, open.device, open.user);
}

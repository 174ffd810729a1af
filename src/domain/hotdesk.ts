import { and, eq } from 'drizzle-orm';
import { type DeviceRow, hotdeskSessions, type SessionRow, type UserRow, users } from '../db/schema.ts';
import { AppError, DeviceNotHotdesk, UnknownExtension, UserNotHotdesk, WrongPin } from '../errors.ts';
import { recordAudit } from './audit.ts';
import type { Actor, DomainDeps, LoginMethod } from './context.ts';
import { verifyPin } from './credentials.ts';
import { findDevice, getDeviceById } from './devices.ts';
import { closeSession, openSessionOfUser, openSessionOnDevice } from './sessions.ts';

export interface LoginInput {
  /** MAC in any spelling or idle account name. */
  readonly device: string;
  readonly extension: string;
  readonly pin: string;
  readonly method: LoginMethod;
}

/** What a login did: `logged_in` on an idle device, `switched` when it replaced someone, `already` when nothing changed. */
export interface LoginOutcome {
  readonly result: 'logged_in' | 'switched' | 'already';
  readonly session: SessionRow;
  readonly device: DeviceRow;
  readonly user: UserRow;
  /** The device the user was moved away from, now idle. */
  readonly movedFrom: DeviceRow | null;
  /** The user who sat at this device before and was logged out by this login. */
  readonly replaced: UserRow | null;
}

export interface LogoutOutcome {
  readonly result: 'logged_out' | 'idle';
  readonly device: DeviceRow;
  readonly user: UserRow | null;
}

const PinNotSet = (extension: string) => new AppError(409, 'pin_not_set', `user ${extension} has no hot-desk PIN; set one first`);

/**
 * Logs a user in at a device in one transaction: a user on another device is moved (that device goes idle),
 * a user already at this device is replaced. Every failure and change is audited.
 * @throws AppError unknown_device (404), unknown_extension (404), device_not_hotdesk (409), user_not_hotdesk (403),
 *   pin_not_set (409), wrong_pin (403).
 */
export async function login(deps: DomainDeps, tenantId: number, actor: Actor, input: LoginInput): Promise<LoginOutcome> {
  const device = findDevice(deps.db, tenantId, input.device);
  const user = deps.db
    .select()
    .from(users)
    .where(and(eq(users.tenantId, tenantId), eq(users.extension, input.extension)))
    .get();

  const failure = (error: AppError): AppError => {
    recordAudit(deps.db, tenantId, deps.now(), actor, {
      action: 'hotdesk.login_failed',
      method: input.method,
      deviceMac: device.mac,
      idleAccount: device.idleAccount,
      userExtension: input.extension,
      detail: { reason: error.code },
    });
    return error;
  };

  if (!device.hotdesk) throw failure(DeviceNotHotdesk(device.idleAccount));
  if (user === undefined) throw failure(UnknownExtension(input.extension));
  if (!user.hotdesk) throw failure(UserNotHotdesk(user.extension));
  if (user.pinHash === null) throw failure(PinNotSet(user.extension));
  if (!(await verifyPin(input.pin, user.pinHash))) throw failure(WrongPin());

  // Everything below re-reads inside one synchronous transaction: concurrent logins cannot interleave.
  const now = deps.now();
  const outcome = deps.db.transaction((tx): LoginOutcome => {
    const mine = openSessionOfUser(tx, user.id);
    if (mine !== undefined && mine.deviceId === device.id) {
      return { result: 'already', session: mine, device, user, movedFrom: null, replaced: null };
    }
    let movedFrom: DeviceRow | null = null;
    if (mine !== undefined) {
      closeSession(tx, tenantId, now, actor, mine, 'moved', input.method);
      movedFrom = mine.deviceId === null ? null : (getDeviceById(tx, mine.deviceId) ?? null);
    }
    let replaced: UserRow | null = null;
    const here = openSessionOnDevice(tx, device.id);
    if (here !== undefined) {
      closeSession(tx, tenantId, now, actor, here, 'replaced', input.method);
      replaced = here.userId === null ? null : (tx.select().from(users).where(eq(users.id, here.userId)).get() ?? null);
    }
    const session = tx
      .insert(hotdeskSessions)
      .values({ tenantId, deviceId: device.id, userId: user.id, method: input.method, startedAt: now })
      .returning()
      .get();
    recordAudit(tx, tenantId, now, actor, {
      action: 'hotdesk.login',
      method: input.method,
      deviceMac: device.mac,
      idleAccount: device.idleAccount,
      userExtension: user.extension,
      detail: {
        sessionId: session.id,
        ...(movedFrom === null ? {} : { movedFrom: movedFrom.idleAccount }),
        ...(replaced === null ? {} : { replaced: replaced.extension }),
      },
    });
    return { result: replaced === null ? 'logged_in' : 'switched', session, device, user, movedFrom, replaced };
  });

  if (outcome.result !== 'already') {
    const ids = [device.id, ...(outcome.movedFrom === null ? [] : [outcome.movedFrom.id])];
    deps.profilesChanged({ deviceIds: ids, reason: `login ${user.extension}` });
  }
  return outcome;
}

/**
 * Logs out whoever sits at a device. Logging out an idle device changes nothing and is not an error.
 * @throws AppError unknown_device (404).
 */
export function logout(
  deps: DomainDeps,
  tenantId: number,
  actor: Actor,
  deviceRef: string,
  method: LoginMethod,
  reason = 'logout',
): LogoutOutcome {
  const now = deps.now();
  const outcome = deps.db.transaction((tx): LogoutOutcome => {
    const device = findDevice(tx, tenantId, deviceRef);
    const open = openSessionOnDevice(tx, device.id);
    if (open === undefined) return { result: 'idle', device, user: null };
    const user = open.userId === null ? null : (tx.select().from(users).where(eq(users.id, open.userId)).get() ?? null);
    closeSession(tx, tenantId, now, actor, open, reason, method);
    return { result: 'logged_out', device, user };
  });
  if (outcome.result === 'logged_out') {
    deps.profilesChanged({ deviceIds: [outcome.device.id], reason: 'logout' });
  }
  return outcome;
}

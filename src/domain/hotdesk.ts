import { type DeviceRow, hotdeskSessions, type SessionRow, type UserRow } from '../db/schema.ts';
import { AppError, DeviceNotHotdesk, UnknownDevice, UnknownExtension, UserNotHotdesk, WrongPin } from '../errors.ts';
import { type Db, writeTransaction } from '../db/client.ts';
import { recordAudit } from './audit.ts';
import type { Actor, DomainDeps, LoginMethod } from './context.ts';
import { verifyPin } from './credentials.ts';
import { findDevice, findUser, getDeviceById, getUserById } from './lookup.ts';
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

/** The refusals that do not depend on the PIN, in the order a person would want to hear them. */
function eligibility(device: DeviceRow, user: UserRow | undefined, extension: string): AppError | null {
  if (!device.hotdesk) return DeviceNotHotdesk(device.idleAccount);
  if (user === undefined) return UnknownExtension(extension);
  if (!user.hotdesk) return UserNotHotdesk(user.extension);
  if (user.pinHash === null) return PinNotSet(user.extension);
  return null;
}

/**
 * Logs a user in at a device in one transaction: a user on another device is moved (that device goes idle),
 * a user already at this device is replaced. Every failure and change is audited; a PIN never is.
 * @throws AppError unknown_device (404), unknown_extension (404), device_not_hotdesk (409), user_not_hotdesk (403),
 *   pin_not_set (409), wrong_pin (403).
 */
export async function login(deps: DomainDeps, tenantId: number, actor: Actor, input: LoginInput): Promise<LoginOutcome> {
  const device = findDevice(deps.db, tenantId, input.device);
  const auditFailure = (error: AppError): AppError => {
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

  const user = findUser(deps.db, tenantId, input.extension);
  const refused = eligibility(device, user, input.extension);
  if (refused !== null) throw auditFailure(refused);
  if (user?.pinHash == null || !(await verifyPin(input.pin, user.pinHash))) throw auditFailure(WrongPin());

  const now = deps.now();
  let outcome: LoginOutcome;
  try {
    // One synchronous transaction: concurrent logins cannot interleave. It re-reads both rows, because the
    // device or the user may have changed while the PIN was being checked.
    outcome = writeTransaction(deps.db, (tx): LoginOutcome => {
        const deviceNow = getDeviceById(tx, device.id);
        if (deviceNow === undefined) throw UnknownDevice(input.device);
        const userNow = getUserById(tx, user.id);
        const refusedNow = eligibility(deviceNow, userNow, input.extension);
        if (refusedNow !== null || userNow === undefined) throw refusedNow ?? UnknownExtension(input.extension);
        return seat(tx, tenantId, now, actor, deviceNow, userNow, input.method);
    });
  } catch (err) {
    throw err instanceof AppError && err.code !== 'unknown_device' ? auditFailure(err) : err;
  }

  if (outcome.result !== 'already') {
    const ids = [outcome.device.id, ...(outcome.movedFrom === null ? [] : [outcome.movedFrom.id])];
    deps.profilesChanged({ deviceIds: ids, reason: `login ${outcome.user.extension}` });
  }
  return outcome;
}

/** Seats a user at a device, moving them from elsewhere and replacing whoever sat there. Inside a transaction. */
function seat(tx: Db, tenantId: number, now: Date, actor: Actor, device: DeviceRow, user: UserRow, method: LoginMethod): LoginOutcome {
  const mine = openSessionOfUser(tx, user.id);
  if (mine !== undefined && mine.deviceId === device.id) {
    return { result: 'already', session: mine, device, user, movedFrom: null, replaced: null };
  }
  let movedFrom: DeviceRow | null = null;
  if (mine !== undefined) {
    closeSession(tx, tenantId, now, actor, mine, 'moved', method);
    movedFrom = mine.deviceId === null ? null : (getDeviceById(tx, mine.deviceId) ?? null);
  }
  let replaced: UserRow | null = null;
  const here = openSessionOnDevice(tx, device.id);
  if (here !== undefined) {
    closeSession(tx, tenantId, now, actor, here, 'replaced', method);
    replaced = here.userId === null ? null : (getUserById(tx, here.userId) ?? null);
  }
  const session = tx.insert(hotdeskSessions).values({ tenantId, deviceId: device.id, userId: user.id, method, startedAt: now }).returning().get();
  recordAudit(tx, tenantId, now, actor, {
    action: 'hotdesk.login',
    method,
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
}

/**
 * Logs out whoever sits at a device. Logging out an idle device changes nothing and is not an error.
 * @throws AppError unknown_device (404).
 */
export function logout(deps: DomainDeps, tenantId: number, actor: Actor, deviceRef: string, method: LoginMethod, reason = 'logout'): LogoutOutcome {
  const now = deps.now();
  const outcome = writeTransaction(deps.db, (tx): LogoutOutcome => {
      const device = findDevice(tx, tenantId, deviceRef);
      const open = openSessionOnDevice(tx, device.id);
      if (open === undefined) return { result: 'idle', device, user: null };
      const user = open.userId === null ? null : (getUserById(tx, open.userId) ?? null);
      closeSession(tx, tenantId, now, actor, open, reason, method);
      return { result: 'logged_out', device, user };
  });
  if (outcome.result === 'logged_out') {
    deps.profilesChanged({ deviceIds: [outcome.device.id], reason: 'logout' });
  }
  return outcome;
}

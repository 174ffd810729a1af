import { type Db, writeTransaction } from '../db/client.ts';
import { type DeviceRow, hotdeskSessions, type SessionRow, type UserRow } from '../db/schema.ts';
import { AppError, DeviceNotHotdesk, UnknownDevice, UnknownExtension, UserNotHotdesk, WrongPin } from '../errors.ts';
import { recordAudit } from './audit.ts';
import type { Actor, DomainDeps, LoginMethod } from './context.ts';
import { verifySecret } from './credentials.ts';
import { reportContact } from './devices.ts';
import { Locked, lockedUntil, recordFailure, reserveAttempt, settleAttempt, type ThrottleSubject, TooManyAttempts } from './lockout.ts';
import { findDeviceById, findUser, findUserById, getDevice } from './lookup.ts';
import { closeSession, listOpenSessions, openSessionOfUser, openSessionOnDevice } from './sessions.ts';

export interface LoginInput {
  /** MAC in any spelling or idle account name. */
  readonly device: string;
  readonly extension: string;
  readonly pin: string;
  readonly method: LoginMethod;
  /** Where the PBX sees the phone (`sip:HD0001@10.1.2.3:5062`), for the NOTIFY that follows. */
  readonly contact?: string | undefined;
}

export interface LogoutInput {
  /** MAC in any spelling or idle account name. */
  readonly device: string;
  readonly method: LoginMethod;
  readonly contact?: string | undefined;
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
 * A wrong PIN counts against the user and the device; enough of them lock either (423, whatever the PIN)
 * for a time that doubles with each lockout. Each check is reserved before the PIN is looked at, so parallel
 * requests never check more PINs than the tries left (the rest: 429 too_many_attempts, whatever the PIN).
 * @throws AppError unknown_device (404), unknown_extension (404), device_not_hotdesk (409), user_not_hotdesk (403),
 *   pin_not_set (409), wrong_pin (403, with triesLeft), locked (423, with lockedUntil), too_many_attempts (429).
 */
export async function login(deps: DomainDeps, tenantId: number, actor: Actor, input: LoginInput): Promise<LoginOutcome> {
  const device = getDevice(deps.db, tenantId, input.device);
  if (input.contact !== undefined) reportContact(deps.db, device, input.contact);
  const audit = (tx: Db, action: string, detail: Record<string, unknown>, extension = input.extension) =>
    recordAudit(tx, tenantId, deps.now(), actor, {
      action,
      method: input.method,
      deviceMac: device.mac,
      idleAccount: device.idleAccount,
      userExtension: extension,
      detail,
    });
  const refuse = (tx: Db, error: AppError): AppError => {
    audit(tx, 'hotdesk.login_failed', { reason: error.code, ...error.details });
    return error;
  };
  const deviceSubject = { subject: 'device', id: device.id } as const;
  const auditLocks = (tx: Db, until: Date | null, s: ThrottleSubject) => {
    if (until !== null) audit(tx, 'hotdesk.locked', { subject: s.subject, lockedUntil: until.toISOString() });
  };

  // One write transaction reads the locks and reserves this PIN check before the PIN is looked at, so a burst
  // of requests cannot check more PINs than the tries left. Refusals are returned, not thrown, so their audit lands.
  const reserved = writeTransaction(deps.db, (tx) => {
    const now = deps.now();
    const deviceLock = lockedUntil(tx, tenantId, deviceSubject, now);
    if (deviceLock !== null) return { refused: refuse(tx, Locked(`device ${device.idleAccount}`, deviceLock)) };
    const user = findUser(tx, tenantId, input.extension);
    const refused = eligibility(device, user, input.extension);
    if (refused !== null || user === undefined || user.pinHash === null) {
      // Guessing extensions from one phone counts against that phone.
      if (refused?.code === 'unknown_extension') auditLocks(tx, recordFailure(tx, tenantId, deviceSubject, now).lockedUntil, deviceSubject);
      return { refused: refuse(tx, refused ?? UnknownExtension(input.extension)) };
    }
    const subjects = [{ subject: 'user', id: user.id }, deviceSubject] as const;
    const reservation = reserveAttempt(tx, tenantId, subjects, now);
    const what = (s: ThrottleSubject) => (s.subject === 'user' ? `user ${user.extension}` : `device ${device.idleAccount}`);
    if (reservation.kind === 'locked') return { refused: refuse(tx, Locked(what(reservation.subject), reservation.until)) };
    if (reservation.kind === 'busy') return { refused: refuse(tx, TooManyAttempts(what(reservation.subject))) };
    return { user, pinHash: user.pinHash, subjects };
  });
  if ('refused' in reserved) throw reserved.refused;
  const { user, pinHash, subjects } = reserved;

  const verify = deps.verifySecret ?? verifySecret;
  let right: boolean;
  try {
    right = await verify(input.pin, pinHash);
  } catch (err) {
    writeTransaction(deps.db, (tx) => settleAttempt(tx, tenantId, subjects, deps.now(), 'released'));
    throw err;
  }
  // Settling must not leave the check reserved: if its transaction fails (a full disk), the reservation alone
  // is released, an update in place that needs no new room.
  const settle = <T>(work: (tx: Db) => T): T => {
    try {
      return writeTransaction(deps.db, work);
    } catch (err) {
      try {
        writeTransaction(deps.db, (tx) => settleAttempt(tx, tenantId, subjects, deps.now(), 'released'));
      } catch {
        // the disk refuses even that: start-up releases every reservation
      }
      throw err;
    }
  };
  if (!right) {
    throw settle((tx) => {
      const settled = settleAttempt(tx, tenantId, subjects, deps.now(), 'wrong');
      for (const l of settled.locked) auditLocks(tx, l.until, l.subject);
      return refuse(tx, WrongPin(settled.triesLeft, settled.lockedUntil));
    });
  }

  const now = deps.now();
  let outcome: LoginOutcome;
  try {
    // One synchronous transaction: concurrent logins cannot interleave. It re-reads both rows, because the
    // device or the user may have changed while the PIN was being checked. The lock is not read again: this
    // check was within the tries left when it was reserved, and a right PIN must never be the one answer that differs.
    outcome = settle((tx): LoginOutcome => {
      const deviceNow = findDeviceById(tx, device.id);
      if (deviceNow === undefined || deviceNow.retiredAt !== null) throw UnknownDevice(input.device);
      const userNow = findUserById(tx, user.id);
      const refusedNow = eligibility(deviceNow, userNow, input.extension);
      if (refusedNow !== null || userNow === undefined) throw refusedNow ?? UnknownExtension(input.extension);
      // A new PIN set while this one was checked: the check was against the old one, which no longer counts.
      if (userNow.pinHash !== pinHash) throw new AppError(409, 'conflict', `the PIN of user ${userNow.extension} changed meanwhile; try again`);
      settleAttempt(tx, tenantId, subjects, now, 'right');
      return seat(tx, tenantId, now, actor, deviceNow, userNow, input.method);
    });
  } catch (err) {
    if (err instanceof AppError && err.code !== 'unknown_device') writeTransaction(deps.db, (tx) => refuse(tx, err));
    throw err;
  }

  if (outcome.result !== 'already') {
    const ids = [outcome.device.id, ...(outcome.movedFrom === null ? [] : [outcome.movedFrom.id])];
    deps.profilesChanged({ deviceIds: ids, reason: `login ${outcome.user.extension}` });
  }
  return outcome;
}

/**
 * Before a feature code asks for a PIN: whether the extension dialled can log in at this device. An unknown
 * extension counts against the phone, as in a login; a locked phone or user is refused without looking further.
 */
export function checkExtension(
  deps: DomainDeps,
  tenantId: number,
  actor: Actor,
  device: DeviceRow,
  extension: string,
  method: LoginMethod,
):
  | { readonly result: 'need_pin' | 'not_allowed'; readonly user: UserRow }
  | { readonly result: 'unknown_extension' }
  | { readonly result: 'locked'; readonly until: Date; readonly user: UserRow | null } {
  return writeTransaction(deps.db, (tx) => {
    const now = deps.now();
    const audit = (action: string, detail: Record<string, unknown>) =>
      recordAudit(tx, tenantId, now, actor, { action, method, deviceMac: device.mac, idleAccount: device.idleAccount, userExtension: extension, detail });
    const deviceSubject = { subject: 'device', id: device.id } as const;
    const deviceLock = lockedUntil(tx, tenantId, deviceSubject, now);
    if (deviceLock !== null) return { result: 'locked', until: deviceLock, user: null };
    const user = findUser(tx, tenantId, extension);
    if (user === undefined) {
      const counted = recordFailure(tx, tenantId, deviceSubject, now);
      if (counted.lockedUntil !== null) audit('hotdesk.locked', { subject: 'device', lockedUntil: counted.lockedUntil.toISOString() });
      audit('hotdesk.login_failed', { reason: 'unknown_extension' });
      return { result: 'unknown_extension' };
    }
    if (!user.hotdesk) return { result: 'not_allowed', user };
    // No point asking a locked user for a PIN.
    const userLock = lockedUntil(tx, tenantId, { subject: 'user', id: user.id }, now);
    return userLock === null ? { result: 'need_pin', user } : { result: 'locked', until: userLock, user };
  });
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
    movedFrom = mine.deviceId === null ? null : (findDeviceById(tx, mine.deviceId) ?? null);
  }
  let replaced: UserRow | null = null;
  const here = openSessionOnDevice(tx, device.id);
  if (here !== undefined) {
    closeSession(tx, tenantId, now, actor, here, 'replaced', method);
    replaced = here.userId === null ? null : (findUserById(tx, here.userId) ?? null);
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
export function logout(deps: DomainDeps, tenantId: number, actor: Actor, input: LogoutInput): LogoutOutcome {
  const now = deps.now();
  const outcome = writeTransaction(deps.db, (tx): LogoutOutcome => {
    const device = getDevice(tx, tenantId, input.device);
    if (input.contact !== undefined) reportContact(tx, device, input.contact);
    const open = openSessionOnDevice(tx, device.id);
    if (open === undefined) return { result: 'idle', device, user: null };
    const user = open.userId === null ? null : (findUserById(tx, open.userId) ?? null);
    closeSession(tx, tenantId, now, actor, open, 'logout', input.method);
    return { result: 'logged_out', device, user };
  });
  if (outcome.result === 'logged_out') {
    deps.profilesChanged({ deviceIds: [outcome.device.id], reason: 'logout' });
  }
  return outcome;
}

/**
 * Ends sessions in bulk: every open session of the tenant, or only those that started before `startedBefore`.
 * One transaction; each session is audited with its reason and method.
 * @returns the devices that went idle.
 */
export function logoutSessions(
  deps: DomainDeps,
  tenantId: number,
  actor: Actor,
  how: { readonly reason: 'scheduled' | 'max_duration' | 'admin'; readonly method: LoginMethod; readonly startedBefore?: Date },
): DeviceRow[] {
  const now = deps.now();
  const idle = writeTransaction(deps.db, (tx) => {
    const open = listOpenSessions(tx, tenantId).filter((s) => how.startedBefore === undefined || s.session.startedAt < how.startedBefore);
    for (const { session } of open) closeSession(tx, tenantId, now, actor, session, how.reason, how.method);
    return open.map((s) => s.device);
  });
  if (idle.length > 0) {
    const reason = how.reason === 'admin' ? 'everyone logged out by an admin' : `automatic logout (${how.reason})`;
    deps.profilesChanged({ deviceIds: idle.map((d) => d.id), reason });
  }
  return idle;
}

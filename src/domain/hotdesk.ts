import { type Db, writeTransaction } from '../db/client.ts';
import type { DeviceRow, SessionRow, UserRow } from '../db/schema.ts';
import { recordAudit } from './audit.ts';
import { verifySecret } from './credentials.ts';
import type { Actor, DomainDeps, LoginMethod, ProfileOutcome } from './deps.ts';
import { reportContact } from './devices.ts';
import { lockedUntil, recordFailure, reserveAttempt, settleAttempt, type ThrottleSubject } from './lockout.ts';
import { findDevice, findDeviceById, findUser, findUserById, getDevice } from './lookup.ts';
import { closeSession, listOpenSessions, openSession, openSessionOfUser, openSessionOnDevice } from './sessions.ts';

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
  /** What each device this login changed gets now, as provisioning worked it out once; empty for `already`. */
  readonly profiles: readonly ProfileOutcome[];
}

/** Who a lockout or a check under way is about: the user (by extension) or the phone (by idle account). */
export interface LockSubject {
  readonly subject: ThrottleSubject['subject'];
  readonly name: string;
}

/**
 * Why a login was refused. Expected refusals are results, not exceptions: each caller answers them in its own
 * terms (an HTTP status, a phone screen, a dialplan prompt). Nothing was changed but the audit log and the lockout
 * counts.
 */
export type LoginRefusal =
  /** No device by that MAC or idle account (or it was deleted while the PIN was checked). */
  | { readonly result: 'unknown_device'; readonly device: string }
  | { readonly result: 'unknown_extension'; readonly extension: string }
  | { readonly result: 'device_not_hotdesk'; readonly device: string }
  | { readonly result: 'user_not_hotdesk'; readonly extension: string }
  | { readonly result: 'pin_not_set'; readonly extension: string }
  /** The PIN does not match: the wrong PINs left before a lockout, or the lockout this one caused. */
  | { readonly result: 'wrong_pin'; readonly triesLeft: number; readonly lockedUntil: Date | null }
  /** Repeated wrong PINs locked the user or the phone: refused whatever the PIN, until then. */
  | ({ readonly result: 'locked'; readonly until: Date } & LockSubject)
  /** Every try left is being checked by requests under way: refused before the PIN is looked at. */
  | ({ readonly result: 'too_many_attempts' } & LockSubject)
  /** A new PIN was set while this one was checked; the check no longer counts. */
  | { readonly result: 'pin_changed'; readonly extension: string };

export type LoginResult = LoginOutcome | LoginRefusal;

/** Whether a login was refused (the type guard callers branch on). */
export const isRefused = (result: LoginResult): result is LoginRefusal => !('session' in result);

export interface LogoutOutcome {
  readonly result: 'logged_out' | 'idle';
  readonly device: DeviceRow;
  readonly user: UserRow | null;
  /** What the device gets now, as provisioning worked it out once; empty for `idle`. */
  readonly profiles: readonly ProfileOutcome[];
}

/** A login's outcome before its consequences are worked out. */
type Seated = Omit<LoginOutcome, 'profiles'>;

/** The refusals that do not depend on the PIN, in the order a person would want to hear them. */
function eligibility(device: DeviceRow, user: UserRow | undefined, extension: string): LoginRefusal | null {
  if (!device.hotdesk) return { result: 'device_not_hotdesk', device: device.idleAccount };
  if (user === undefined) return { result: 'unknown_extension', extension };
  if (!user.hotdesk) return { result: 'user_not_hotdesk', extension: user.extension };
  if (user.pinHash === null) return { result: 'pin_not_set', extension: user.extension };
  return null;
}

/** What the audit log keeps of a refusal: its reason and the counts and times a person needs, never the PIN. */
function refusalDetail(refusal: LoginRefusal): Record<string, unknown> {
  switch (refusal.result) {
    case 'wrong_pin':
      return {
        reason: 'wrong_pin',
        triesLeft: refusal.triesLeft,
        ...(refusal.lockedUntil === null ? {} : { lockedUntil: refusal.lockedUntil.toISOString() }),
      };
    case 'locked':
      return { reason: 'locked', lockedUntil: refusal.until.toISOString() };
    case 'pin_changed':
      return { reason: 'conflict' }; // the code the API answers it with, as admins know it from the audit log
    default:
      return { reason: refusal.result };
  }
}

/**
 * Logs a user in at a device in one transaction: a user on another device is moved (that device goes idle),
 * a user already at this device is replaced. Every failure and change is audited; a PIN never is.
 * A wrong PIN counts against the user and the device; enough of them lock either (`locked`, whatever the PIN)
 * for a time that doubles with each lockout. Each check is reserved before the PIN is looked at, so parallel
 * requests never check more PINs than the tries left (the rest: `too_many_attempts`, whatever the PIN).
 * @returns the outcome, or the refusal (LoginRefusal): refusals are results, never thrown.
 */
export async function login(deps: DomainDeps, tenantId: number, actor: Actor, input: LoginInput): Promise<LoginResult> {
  const result = await attemptLogin(deps, tenantId, actor, input);
  deps.onHotdesk?.({
    action: result.result === 'switched' ? 'switch' : 'login',
    method: input.method,
    result: result.result,
    lockedOut: result.result === 'wrong_pin' && result.lockedUntil !== null,
  });
  return result;
}

async function attemptLogin(deps: DomainDeps, tenantId: number, actor: Actor, input: LoginInput): Promise<LoginResult> {
  const device = await findDevice(deps.db, tenantId, input.device);
  if (device === undefined) return { result: 'unknown_device', device: input.device };
  if (input.contact !== undefined) await reportContact(deps.db, device, input.contact);
  const audit = async (tx: Db, action: string, detail: Record<string, unknown>, extension = input.extension) =>
    await recordAudit(tx, tenantId, deps.now(), actor, {
      action,
      method: input.method,
      deviceMac: device.mac,
      idleAccount: device.idleAccount,
      userExtension: extension,
      detail,
    });
  const refuse = async (tx: Db, refusal: LoginRefusal): Promise<LoginRefusal> => {
    await audit(tx, 'hotdesk.login_failed', refusalDetail(refusal));
    return refusal;
  };
  const deviceSubject = { subject: 'device', id: device.id } as const;
  const auditLocks = async (tx: Db, until: Date | null, s: ThrottleSubject) => {
    if (until !== null) await audit(tx, 'hotdesk.locked', { subject: s.subject, lockedUntil: until.toISOString() });
  };

  // One write transaction reads the locks and reserves this PIN check before the PIN is looked at, so a burst
  // of requests cannot check more PINs than the tries left. Refusals are returned, not thrown, so their audit lands.
  const reserved = await writeTransaction(deps.db, async (tx) => {
    const now = deps.now();
    const deviceLock = await lockedUntil(tx, tenantId, deviceSubject, now);
    if (deviceLock !== null) return await refuse(tx, { result: 'locked', subject: 'device', name: device.idleAccount, until: deviceLock });
    const user = await findUser(tx, tenantId, input.extension);
    const refused = eligibility(device, user, input.extension);
    if (refused !== null || user === undefined || user.pinHash === null) {
      // Guessing extensions from one phone counts against that phone.
      if (refused?.result === 'unknown_extension') await auditLocks(tx, (await recordFailure(tx, tenantId, deviceSubject, now)).lockedUntil, deviceSubject);
      return await refuse(tx, refused ?? { result: 'unknown_extension', extension: input.extension });
    }
    const subjects = [{ subject: 'user', id: user.id }, deviceSubject] as const;
    const reservation = await reserveAttempt(tx, tenantId, subjects, now);
    const who = (s: ThrottleSubject): LockSubject => ({ subject: s.subject, name: s.subject === 'user' ? user.extension : device.idleAccount });
    if (reservation.kind === 'locked') return await refuse(tx, { result: 'locked', ...who(reservation.subject), until: reservation.until });
    if (reservation.kind === 'busy') return await refuse(tx, { result: 'too_many_attempts', ...who(reservation.subject) });
    return { user, pinHash: user.pinHash, subjects };
  });
  if ('result' in reserved) return reserved;
  const { user, pinHash, subjects } = reserved;

  const verify = deps.verifySecret ?? verifySecret;
  let right: boolean;
  try {
    right = await verify(input.pin, pinHash);
  } catch (err) {
    await writeTransaction(deps.db, async (tx) => await settleAttempt(tx, tenantId, subjects, deps.now(), 'released'));
    throw err;
  }
  // Settling must not leave the check reserved: if its transaction fails (a full disk), the reservation alone
  // is released, an update in place that needs no new room.
  const settle = async <T>(work: (tx: Db) => Promise<T>): Promise<T> => {
    try {
      return await writeTransaction(deps.db, work);
    } catch (err) {
      try {
        await writeTransaction(deps.db, async (tx) => await settleAttempt(tx, tenantId, subjects, deps.now(), 'released'));
      } catch {
        // the disk refuses even that: start-up releases every reservation
      }
      throw err;
    }
  };
  if (!right) {
    return await settle(async (tx) => {
      const settled = await settleAttempt(tx, tenantId, subjects, deps.now(), 'wrong');
      for (const l of settled.locked) await auditLocks(tx, l.until, l.subject);
      return await refuse(tx, { result: 'wrong_pin', triesLeft: settled.triesLeft, lockedUntil: settled.lockedUntil });
    });
  }

  const now = deps.now();
  // One synchronous transaction: concurrent logins cannot interleave. It re-reads both rows, because the
  // device or the user may have changed while the PIN was being checked. The lock is not read again: this
  // check was within the tries left when it was reserved, and a right PIN must never be the one answer that differs.
  const seated = await settle(async (tx): Promise<Seated | LoginRefusal> => {
    const deviceNow = await findDeviceById(tx, device.id);
    if (deviceNow === undefined || deviceNow.retiredAt !== null) {
      await settleAttempt(tx, tenantId, subjects, now, 'released');
      return { result: 'unknown_device', device: input.device };
    }
    const userNow = await findUserById(tx, user.id);
    // A new PIN set while this one was checked: the check was against the old one, which no longer counts.
    const refusedNow =
      eligibility(deviceNow, userNow, input.extension) ??
      (userNow !== undefined && userNow.pinHash !== pinHash ? { result: 'pin_changed' as const, extension: userNow.extension } : null);
    if (refusedNow !== null || userNow === undefined) {
      await settleAttempt(tx, tenantId, subjects, now, 'released');
      return await refuse(tx, refusedNow ?? { result: 'unknown_extension', extension: input.extension });
    }
    await settleAttempt(tx, tenantId, subjects, now, 'right');
    return await seat(tx, tenantId, now, actor, deviceNow, userNow, input.method);
  });
  if (!('session' in seated)) return seated;
  if (seated.result === 'already') return { ...seated, profiles: [] };
  const ids = [seated.device.id, ...(seated.movedFrom === null ? [] : [seated.movedFrom.id])];
  return { ...seated, profiles: await deps.profilesChanged({ deviceIds: ids, reason: `login ${seated.user.extension}` }) };
}

/**
 * Before a feature code asks for a PIN: whether the extension dialled can log in at this device. An unknown
 * extension counts against the phone, as in a login; a locked phone or user is refused without looking further.
 */
export async function checkExtension(
  deps: DomainDeps,
  tenantId: number,
  actor: Actor,
  device: DeviceRow,
  extension: string,
  method: LoginMethod,
): Promise<
  | { readonly result: 'need_pin' | 'not_allowed'; readonly user: UserRow }
  | { readonly result: 'unknown_extension' }
  | { readonly result: 'locked'; readonly until: Date; readonly user: UserRow | null }
> {
  return await writeTransaction(deps.db, async (tx) => {
    const now = deps.now();
    const audit = async (action: string, detail: Record<string, unknown>) =>
      await recordAudit(tx, tenantId, now, actor, { action, method, deviceMac: device.mac, idleAccount: device.idleAccount, userExtension: extension, detail });
    const deviceSubject = { subject: 'device', id: device.id } as const;
    const deviceLock = await lockedUntil(tx, tenantId, deviceSubject, now);
    if (deviceLock !== null) return { result: 'locked', until: deviceLock, user: null };
    const user = await findUser(tx, tenantId, extension);
    if (user === undefined) {
      const counted = await recordFailure(tx, tenantId, deviceSubject, now);
      if (counted.lockedUntil !== null) await audit('hotdesk.locked', { subject: 'device', lockedUntil: counted.lockedUntil.toISOString() });
      await audit('hotdesk.login_failed', { reason: 'unknown_extension' });
      return { result: 'unknown_extension' };
    }
    if (!user.hotdesk) return { result: 'not_allowed', user };
    // No point asking a locked user for a PIN.
    const userLock = await lockedUntil(tx, tenantId, { subject: 'user', id: user.id }, now);
    return userLock === null ? { result: 'need_pin', user } : { result: 'locked', until: userLock, user };
  });
}

/** Seats a user at a device, moving them from elsewhere and replacing whoever sat there. Inside a transaction. */
async function seat(tx: Db, tenantId: number, now: Date, actor: Actor, device: DeviceRow, user: UserRow, method: LoginMethod): Promise<Seated> {
  const mine = await openSessionOfUser(tx, user.id);
  if (mine !== undefined && mine.deviceId === device.id) {
    return { result: 'already', session: mine, device, user, movedFrom: null, replaced: null };
  }
  let movedFrom: DeviceRow | null = null;
  if (mine !== undefined) {
    await closeSession(tx, tenantId, now, actor, mine, 'moved', method);
    movedFrom = mine.deviceId === null ? null : ((await findDeviceById(tx, mine.deviceId)) ?? null);
  }
  let replaced: UserRow | null = null;
  const here = await openSessionOnDevice(tx, device.id);
  if (here !== undefined) {
    await closeSession(tx, tenantId, now, actor, here, 'replaced', method);
    replaced = here.userId === null ? null : ((await findUserById(tx, here.userId)) ?? null);
  }
  const session = await openSession(tx, { tenantId, deviceId: device.id, userId: user.id, method, startedAt: now });
  await recordAudit(tx, tenantId, now, actor, {
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
 * Logs out whoever sits at a device. Logging out an idle device changes nothing and is not an error: a logout
 * has no refusals.
 * @throws AppError unknown_device (404): a device that does not exist is a lookup error, as wherever one is named.
 */
export async function logout(deps: DomainDeps, tenantId: number, actor: Actor, input: LogoutInput): Promise<LogoutOutcome> {
  const now = deps.now();
  const outcome = await writeTransaction(deps.db, async (tx): Promise<LogoutOutcome> => {
    const device = await getDevice(tx, tenantId, input.device);
    if (input.contact !== undefined) await reportContact(tx, device, input.contact);
    const open = await openSessionOnDevice(tx, device.id);
    if (open === undefined) return { result: 'idle', device, user: null, profiles: [] };
    const user = open.userId === null ? null : ((await findUserById(tx, open.userId)) ?? null);
    await closeSession(tx, tenantId, now, actor, open, 'logout', input.method);
    return { result: 'logged_out', device, user, profiles: [] };
  });
  deps.onHotdesk?.({ action: 'logout', method: input.method, result: outcome.result, lockedOut: false });
  if (outcome.result === 'idle') return outcome;
  return { ...outcome, profiles: await deps.profilesChanged({ deviceIds: [outcome.device.id], reason: 'logout' }) };
}

/**
 * Ends sessions in bulk: every open session of the tenant, or only those that started before `startedBefore`.
 * One transaction; each session is audited with its reason and method.
 * @returns the devices that went idle.
 */
export async function logoutSessions(
  deps: DomainDeps,
  tenantId: number,
  actor: Actor,
  how: { readonly reason: 'scheduled' | 'max_duration' | 'admin'; readonly method: LoginMethod; readonly startedBefore?: Date },
): Promise<DeviceRow[]> {
  const now = deps.now();
  const idle = await writeTransaction(deps.db, async (tx) => {
    const open = (await listOpenSessions(tx, tenantId)).filter((s) => how.startedBefore === undefined || s.session.startedAt < how.startedBefore);
    for (const { session } of open) await closeSession(tx, tenantId, now, actor, session, how.reason, how.method);
    return open.map((s) => s.device);
  });
  for (const _ of idle) deps.onHotdesk?.({ action: 'logout', method: how.method, result: 'logged_out', lockedOut: false });
  if (idle.length > 0) {
    const reason = how.reason === 'admin' ? 'everyone logged out by an admin' : `automatic logout (${how.reason})`;
    await deps.profilesChanged({ deviceIds: idle.map((d) => d.id), reason });
  }
  return idle;
}

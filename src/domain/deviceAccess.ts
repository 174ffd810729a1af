import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { type Db, tablesOf, writeTransaction } from '../db/client.ts';
import type { DeviceRow } from '../db/schema.ts';
import { Conflict } from '../errors.ts';
import { recordAudit } from './audit.ts';
import type { Actor, DomainDeps } from './deps.ts';
import { findDeviceById, getDevice } from './lookup.ts';
import type { Mac } from './mac.ts';
import { networkSet, parseNetworkList, plainAddress } from './networks.ts';
import { getTenant } from './tenants.ts';

/**
 * Device-bound provisioning: who may have a phone's credentials, and when that phone counts as proven.
 *
 *   unclaimed ──claim──▶ claimed ──trusted network | admin | activation code | certificate──▶ active
 *
 * A claim hands the phone's provisioning credentials out once (bootstrap file or redirect service). A claim
 * alone proves nothing, since a MAC guesser can ask first; until the device is active it gets no account.
 */

export type AccessState = DeviceRow['access'];

/** The access columns of a device nobody has claimed yet: how an admin's reset leaves it. */
export const NEVER_CLAIMED = {
  access: 'unclaimed',
  claimVia: null,
  claimedAt: null,
  claimIp: null,
  claimUserAgent: null,
  claimFirmware: null,
  activatedAt: null,
  activatedBy: null,
  activationCodeHash: null,
  activationAttempts: 0,
  activationLockedUntil: null,
  refusedClaims: 0,
  refusedClaimAt: null,
  refusedClaimIp: null,
  upgradeIp: null,
} as const satisfies Partial<DeviceRow>;
export type ActivatedBy = 'trusted_network' | 'admin' | 'code' | 'certificate' | 'redirect' | 'upgrade';

/** What the request that claims a phone tells of the phone. */
export interface Claimant {
  readonly ip: string;
  readonly userAgent: string;
  readonly firmware: string | null;
}

const PHONE: Actor = { name: 'phone' };

/** Digits of an activation code: typed on a phone keypad, and only five tries an hour. */
const ACTIVATION_CODE_DIGITS = 8;
/** Wrong activation codes before the device's code entry locks, and for how long. */
export const ACTIVATION_LIMIT = { attempts: 5, lockMinutes: 60 } as const;
/**
 * A phone whose bootstrap answer was lost (time-out, reboot) asks again: the same claimant — address and
 * User-Agent — gets the same credentials again for this long, as long as it has not used them yet.
 */
const REISSUE_WINDOW_MS = 15 * 60_000;

export function newProvisioningCredentials(mac: Mac): { provUsername: string; provPassword: string } {
  return { provUsername: `hp${mac}`, provPassword: randomBytes(16).toString('hex') };
}

/** The MAC a phone's provisioning user name names (`hp<mac>`, as newProvisioningCredentials makes it), else null. */
export function macOfProvisioningUsername(username: string): Mac | null {
  const mac = /^hp([0-9a-f]{12})$/.exec(username)?.[1];
  return mac === undefined ? null : (mac as Mac);
}

export const newWebPassword = (): string => randomBytes(8).toString('hex');
export const newScreenSecret = (): string => randomBytes(16).toString('hex');

/** An activation code and the hash kept of it (the code itself is shown once). */
export function newActivationCode(mac: string): { code: string; hash: string } {
  let code = '';
  for (let i = 0; i < ACTIVATION_CODE_DIGITS; i++) code += String(randomInt(10));
  return { code, hash: activationCodeHash(mac, code) };
}

// The code space is small, so a slow hash would add nothing the attempt limit does not; the hash only keeps
// the code out of database dumps and screenshots.
const activationCodeHash = (mac: string, code: string) => createHash('sha256').update(`${mac}:${code}`).digest('hex');

/** Which activation a claim earns at once, if any: the tenant's trusted networks and choices decide. */
async function activationOnClaim(tx: Db, device: DeviceRow, claimant: Claimant, via: NonNullable<DeviceRow['claimVia']>): Promise<ActivatedBy | null> {
  if (via === 'certificate') return 'certificate';
  const tenant = await getTenant(tx, device.tenantId);
  if (networkSet(parseNetworkList(tenant.trustedNetworks)).has(claimant.ip)) return 'trusted_network';
  if (device.upgradeIp !== null && plainAddress(device.upgradeIp) === plainAddress(claimant.ip)) return 'upgrade';
  if (via === 'redirect' && tenant.trustRedirect) return 'redirect';
  return null;
}

export type ClaimOutcome =
  /** The credentials are this claimant's (handed out now, or again to the same claimant). */
  | { readonly kind: 'claimed'; readonly device: DeviceRow }
  /** Someone claimed the device before: this claimant gets nothing of it. */
  | { readonly kind: 'refused'; readonly device: DeviceRow };

/**
 * A phone asks for its files without credentials: the first such request claims the device and is handed its
 * credentials. Every later claim is refused and recorded, unless it is the same claimant asking again before
 * it used them. Nothing is re-synced: the phone asking is the one phone that changes, and it is fetching now.
 */
export async function claimByBootstrap(deps: Pick<DomainDeps, 'db' | 'now'>, deviceId: number, claimant: Claimant): Promise<ClaimOutcome> {
  const now = deps.now();
  const claimable = (device: DeviceRow) => (device.access === 'unclaimed' && device.retiredAt === null) || isSameClaimantAgain(device, claimant, now);
  // Decided from a plain read first: a refusal writes nothing here (recordRefusedClaim does, later), so it
  // takes no longer than the answer to a MAC nobody enrolled.
  const seen = await findDeviceById(deps.db, deviceId);
  if (seen === undefined) throw new Error(`device ${deviceId} vanished`);
  if (!claimable(seen)) return { kind: 'refused', device: seen };
  return await writeTransaction(deps.db, async (tx): Promise<ClaimOutcome> => {
    const device = await findDeviceById(tx, deviceId);
    if (device === undefined) throw new Error(`device ${deviceId} vanished`);
    if (device.access === 'unclaimed' && device.retiredAt === null)
      return { kind: 'claimed', device: await recordClaim(tx, device, claimant, 'bootstrap', now) };
    if (isSameClaimantAgain(device, claimant, now)) return { kind: 'claimed', device };
    return { kind: 'refused', device };
  });
}

/** Puts a refused claim on record for admins: counted on the device and audited. */
export async function recordRefusedClaim(deps: Pick<DomainDeps, 'db' | 'now'>, deviceId: number, claimant: Claimant): Promise<void> {
  const { devices } = tablesOf(deps.db);
  const now = deps.now();
  await writeTransaction(deps.db, async (tx) => {
    const device = await findDeviceById(tx, deviceId);
    if (device === undefined) return;
    await tx
      .update(devices)
      // Counted in the statement: refused claims of one MAC arrive together.
      .set({ refusedClaims: sql`${devices.refusedClaims} + 1`, refusedClaimAt: now, refusedClaimIp: claimant.ip })
      .where(eq(devices.id, device.id));
    await recordAudit(tx, device.tenantId, now, PHONE, {
      action: 'device.claim_refused',
      deviceMac: device.mac,
      idleAccount: device.idleAccount,
      detail: { ip: claimant.ip, userAgent: claimant.userAgent, access: device.access },
    });
  });
}

function isSameClaimantAgain(device: DeviceRow, claimant: Claimant, now: Date): boolean {
  // Claimed and waiting, or made active by the claim itself (its network, the upgrade): never active by proof
  // that came later, which the claimant did not give.
  const byTheClaim =
    device.access === 'claimed' || (device.access === 'active' && (device.activatedBy === 'trusted_network' || device.activatedBy === 'upgrade'));
  return (
    byTheClaim &&
    device.retiredAt === null &&
    device.claimVia === 'bootstrap' &&
    device.claimedAt !== null &&
    now.getTime() - device.claimedAt.getTime() < REISSUE_WINDOW_MS &&
    device.claimIp === claimant.ip &&
    device.claimUserAgent === claimant.userAgent &&
    // Once the phone fetched with its credentials, it has them: nobody needs them again.
    (device.lastSeenAt === null || device.lastSeenAt < device.claimedAt)
  );
}

async function recordClaim(tx: Db, device: DeviceRow, claimant: Claimant, via: NonNullable<DeviceRow['claimVia']>, now: Date): Promise<DeviceRow> {
  const { devices } = tablesOf(tx);
  const activatedBy = await activationOnClaim(tx, device, claimant, via);
  const row = (
    await tx
      .update(devices)
      .set({
        // A bootstrap claimant gets credentials of its own, never those a redirect service was given: if it is not
        // the phone, the phone arriving through its redirect service is then refused, and an admin sees two claimants.
        ...(via === 'bootstrap' ? { provPassword: newProvisioningCredentials(device.mac as Mac).provPassword } : {}),
        access: activatedBy === null ? 'claimed' : 'active',
        claimVia: via,
        claimedAt: now,
        claimIp: claimant.ip,
        claimUserAgent: claimant.userAgent,
        claimFirmware: claimant.firmware,
        upgradeIp: null,
        // Active at once: the claimant is the phone, and the screen secret its bootstrap file showed stays its own.
        ...(activatedBy === null ? {} : { activatedAt: now, activatedBy }),
      })
      .where(eq(devices.id, device.id))
      .returning()
  )[0];
  if (row === undefined) throw new Error(`device ${device.id} vanished`);
  await recordAudit(tx, device.tenantId, now, PHONE, {
    action: 'device.claimed',
    deviceMac: device.mac,
    idleAccount: device.idleAccount,
    detail: { via, ip: claimant.ip, userAgent: claimant.userAgent, firmware: claimant.firmware, activatedBy },
  });
  return row;
}

/**
 * A phone proved itself without a bootstrap claim: it presented the credentials its redirect service gave it
 * (a claim, not proof, unless the tenant trusts its redirect accounts), or a verified factory certificate
 * naming its MAC (proof). Returns the device as it is now; like a bootstrap claim, it re-syncs nothing.
 */
export async function claimByProof(
  deps: Pick<DomainDeps, 'db' | 'now'>,
  deviceId: number,
  claimant: Claimant,
  via: 'redirect' | 'certificate',
): Promise<DeviceRow> {
  const now = deps.now();
  return await writeTransaction(deps.db, async (tx) => {
    const row = await findDeviceById(tx, deviceId);
    if (row === undefined) throw new Error(`device ${deviceId} vanished`);
    if (row.access === 'unclaimed') return await recordClaim(tx, row, claimant, via, now);
    if (row.access === 'claimed' && via === 'certificate') return await activate(tx, row, PHONE, 'certificate', now);
    return row;
  });
}

async function activate(tx: Db, device: DeviceRow, actor: Actor, by: ActivatedBy, now: Date): Promise<DeviceRow> {
  const { devices } = tablesOf(tx);
  // The screen secret changes: whoever claimed saw the old one in the bootstrap file; only the active profile
  // holds the new one.
  const [row] = await tx
    .update(devices)
    .set({
      access: 'active',
      activatedAt: now,
      activatedBy: by,
      activationAttempts: 0,
      activationLockedUntil: null,
      screenSecret: newScreenSecret(),
      // A certificate proves this connection, not whoever claimed before: the phone gets new credentials over it,
      // and the earlier claimant's stop working.
      ...(by === 'certificate' ? { provPassword: newProvisioningCredentials(device.mac as Mac).provPassword } : {}),
    })
    .where(eq(devices.id, device.id))
    .returning();
  if (row === undefined) throw new Error(`device ${device.id} vanished`);
  await recordAudit(tx, device.tenantId, now, actor, {
    action: 'device.activated',
    deviceMac: device.mac,
    idleAccount: device.idleAccount,
    detail: { by, claimIp: device.claimIp },
  });
  return row;
}

/**
 * An admin approves a claimed phone after seeing who claimed it.
 * @throws AppError unknown_device (404); conflict (409) when nobody has claimed it yet (approving then would
 * activate whoever asks first) or it is active already.
 */
export async function approveDevice(deps: DomainDeps, tenantId: number, actor: Actor, ref: string): Promise<DeviceRow> {
  const now = deps.now();
  const device = await writeTransaction(deps.db, async (tx) => {
    const row = await getDevice(tx, tenantId, ref);
    if (row.access === 'unclaimed') throw Conflict(`device ${ref} has not been claimed by a phone yet: there is nobody to approve`);
    if (row.access === 'active') throw Conflict(`device ${ref} is active already`);
    return await activate(tx, row, actor, 'admin', now);
  });
  await deps.profilesChanged({ deviceIds: [device.id], reason: 'device activated' });
  return device;
}

export type CodeOutcome = 'activated' | 'wrong' | 'locked' | 'not_claimed';

/**
 * Someone at the desk typed the activation code on the phone. Each try is counted before the code is checked,
 * in the transaction that reads the limit, so parallel tries never check more than the limit allows.
 */
export async function activateWithCode(
  deps: Pick<DomainDeps, 'db' | 'now' | 'profilesChanged'>,
  deviceId: number,
  code: string,
  ip: string,
): Promise<CodeOutcome> {
  const { devices } = tablesOf(deps.db);
  const now = deps.now();
  const outcome = await writeTransaction(deps.db, async (tx): Promise<CodeOutcome> => {
    const row = await findDeviceById(tx, deviceId);
    if (row === undefined || row.retiredAt !== null || row.access !== 'claimed') return 'not_claimed';
    if (row.activationLockedUntil !== null && row.activationLockedUntil > now) return 'locked';
    // A lock that ran out leaves its count at 0.
    const attempts = row.activationLockedUntil === null ? row.activationAttempts : 0;
    const stored = row.activationCodeHash;
    const matches =
      stored !== null && /^\d{1,16}$/.test(code) && timingSafeEqual(Buffer.from(stored, 'hex'), Buffer.from(activationCodeHash(row.mac, code), 'hex'));
    if (matches) {
      await activate(tx, { ...row }, PHONE, 'code', now);
      await tx.update(devices).set({ activationCodeHash: null }).where(eq(devices.id, row.id));
      return 'activated';
    }
    const used = attempts + 1;
    await tx
      .update(devices)
      .set(
        used >= ACTIVATION_LIMIT.attempts
          ? { activationAttempts: 0, activationLockedUntil: new Date(now.getTime() + ACTIVATION_LIMIT.lockMinutes * 60_000) }
          : { activationAttempts: used, activationLockedUntil: null },
      )
      .where(eq(devices.id, row.id));
    await recordAudit(tx, row.tenantId, now, PHONE, {
      action: 'device.activation_code_wrong',
      deviceMac: row.mac,
      idleAccount: row.idleAccount,
      detail: { ip },
    });
    return 'wrong';
  });
  if (outcome === 'activated') await deps.profilesChanged({ deviceIds: [deviceId], reason: 'device activated' });
  return outcome;
}

/**
 * A new activation code for a device (the old one stops working); answered once, audited without the code.
 * @throws AppError unknown_device (404), conflict (409) when the device is active already.
 */
export async function createActivationCode(
  deps: DomainDeps,
  tenantId: number,
  actor: Actor,
  ref: string,
): Promise<{ device: DeviceRow; activationCode: string }> {
  const { devices } = tablesOf(deps.db);
  const now = deps.now();
  return await writeTransaction(deps.db, async (tx) => {
    const row = await getDevice(tx, tenantId, ref);
    if (row.access === 'active') throw Conflict(`device ${ref} is active already: it needs no activation code`);
    const { code, hash } = newActivationCode(row.mac);
    await tx.update(devices).set({ activationCodeHash: hash, activationAttempts: 0, activationLockedUntil: null }).where(eq(devices.id, row.id));
    await recordAudit(tx, tenantId, now, actor, { action: 'device.activation_code_created', deviceMac: row.mac, idleAccount: row.idleAccount });
    return { device: row, activationCode: code };
  });
}

/**
 * Starts a device over: new credentials, screen secret and activation code, unclaimed. For a phone that was
 * swapped, or claimed by someone else; the phone at the desk must then ask without credentials again
 * (factory reset, or its provisioning URL set anew). Redirect services are given the new credentials.
 */
export async function resetDeviceAccess(deps: DomainDeps, tenantId: number, actor: Actor, ref: string): Promise<{ device: DeviceRow; activationCode: string }> {
  const { devices } = tablesOf(deps.db);
  const now = deps.now();
  const result = await writeTransaction(deps.db, async (tx) => {
    const row = await getDevice(tx, tenantId, ref);
    const { code, hash } = newActivationCode(row.mac);
    const reset = (
      await tx
        .update(devices)
        .set({
          ...newProvisioningCredentials(row.mac as Mac),
          screenSecret: newScreenSecret(),
          ...NEVER_CLAIMED,
          activationCodeHash: hash,
        })
        .where(eq(devices.id, row.id))
        .returning()
    )[0];
    if (reset === undefined) throw new Error(`device ${row.id} vanished`);
    await recordAudit(tx, tenantId, now, actor, {
      action: 'device.access_reset',
      deviceMac: row.mac,
      idleAccount: row.idleAccount,
      detail: { was: row.access },
    });
    return { device: reset, activationCode: code };
  });
  await deps.profilesChanged({ deviceIds: [result.device.id], reason: 'device access reset' });
  deps.deviceLifecycle?.({ kind: 'credentials_changed', device: result.device });
  return result;
}

/** The admin login of the phone's own web interface, for a person at the desk; audited. */
export async function revealWebPassword(deps: DomainDeps, tenantId: number, actor: Actor, ref: string): Promise<{ username: string; password: string }> {
  const now = deps.now();
  return await writeTransaction(deps.db, async (tx) => {
    const row = await getDevice(tx, tenantId, ref);
    await recordAudit(tx, tenantId, now, actor, { action: 'device.web_password_revealed', deviceMac: row.mac, idleAccount: row.idleAccount });
    return { username: 'admin', password: row.webPassword ?? '' };
  });
}

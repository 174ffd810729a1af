import type { DeviceRow, UserRow } from '../db/schema.ts';
import type { Actor, DomainDeps } from './deps.ts';
import { reportContact } from './devices.ts';
import { checkExtension, isRefused, type LoginRefusal, login, logout } from './hotdesk.ts';
import { findDevice, findDeviceById, findUser, findUsersBySipUser } from './lookup.ts';
import { openSessionOfUser, userAtDevice } from './sessions.ts';

/** What a dialled code did, for the dialplan to branch on. */
export type CodeResult =
  | 'logged_in'
  | 'switched'
  | 'logged_out'
  | 'need_extension'
  | 'need_pin'
  | 'wrong_pin'
  | 'locked'
  | 'not_allowed'
  | 'unknown_extension'
  | 'unknown_device'
  | 'invalid_code';

/**
 * The prompt to play for each result: Asterisk core sound names (package asterisk-core-sounds-en,
 * core-sounds-en.txt) whose words say what happened, so the shipped dialplan works without recording anything.
 */
export const PROMPTS: Readonly<Record<CodeResult, string>> = {
  logged_in: 'activated', // "Activated."
  switched: 'activated',
  logged_out: 'de-activated', // "De-activated."
  need_extension: 'extension', // "Extension."
  need_pin: 'confbridge-pin', // "Please enter your personal identification number followed by the pound, or hash key."
  wrong_pin: 'vm-incorrect', // "Login incorrect."
  locked: 'confbridge-pin-bad', // "You have entered too many invalid personal identification numbers."
  not_allowed: 'feature-not-avail-line', // "That feature is not available on this line."
  unknown_extension: 'pbx-invalid', // "I am sorry, that's not a valid extension. Please try again."
  unknown_device: 'feature-not-avail-line',
  invalid_code: 'cannot-complete-as-dialed', // "Your call cannot be completed as dialed."
};

export interface CodeSettings {
  /** `*35` (3CX: `*77`). */
  readonly loginCode: string;
  /** A code that only logs out (3CX: `*77*5*`), or null. */
  readonly logoutCode: string | null;
}

export interface CodeOutcome {
  readonly result: CodeResult;
  readonly prompt: string;
  readonly device: DeviceRow | null;
  /** The user logged in or out, or named by the code. */
  readonly user: Pick<UserRow, 'extension' | 'displayName'> | null;
  /** After a wrong PIN: the wrong PINs left before a lockout. */
  readonly triesLeft?: number;
  /** After a wrong PIN that locked, or when locked: until when. */
  readonly lockedUntil?: Date;
}

/** `*77*5*` and `*77*5` are the same code; `#` ends dialling and is not part of it. */
const tidy = (digits: string) => digits.replace(/#+$/, '').replace(/\*+$/, '');

/**
 * Finds the phone a PBX call came from: by MAC or idle account, or by the user logged in there, named by extension
 * or by SIP user name (the PBX knows the caller by the account the phone is registered with; on a PBX that tenants
 * share, users register as e.g. `acme-101`).
 */
async function callerDevice(deps: DomainDeps, tenantId: number, ref: string): Promise<DeviceRow | null> {
  const device = await findDevice(deps.db, tenantId, ref);
  if (device !== undefined) return device;
  const byExtension = await findUser(deps.db, tenantId, ref);
  for (const user of [...(byExtension === undefined ? [] : [byExtension]), ...(await findUsersBySipUser(deps.db, tenantId, ref))]) {
    const session = await openSessionOfUser(deps.db, user.id);
    if (session?.deviceId != null) return (await findDeviceById(deps.db, session.deviceId)) ?? null;
  }
  return null;
}

/** What a dialplan hears of each refused login: fewer results than reasons, each with its prompt. */
function refusedCode(refusal: LoginRefusal): { readonly result: CodeResult; readonly triesLeft?: number; readonly lockedUntil?: Date } {
  switch (refusal.result) {
    case 'wrong_pin':
      return { result: 'wrong_pin', triesLeft: refusal.triesLeft, ...(refusal.lockedUntil === null ? {} : { lockedUntil: refusal.lockedUntil }) };
    case 'locked':
      return { result: 'locked', lockedUntil: refusal.until };
    case 'too_many_attempts':
      // Every try left is being checked by calls under way: as good as locked for this call.
      return { result: 'locked' };
    case 'pin_changed':
      // The PIN typed was the user's until it was changed while it was checked: wrong now.
      return { result: 'wrong_pin' };
    case 'unknown_extension':
    case 'unknown_device':
      return { result: refusal.result };
    case 'user_not_hotdesk':
    case 'device_not_hotdesk':
    case 'pin_not_set':
      return { result: 'not_allowed' };
  }
}

/**
 * Carries out a feature code dialled on a phone, with the semantics of DESIGN.md:
 * `*35` logs out a logged-in phone, else asks for the extension; `*35*EXT` logs that user out if they sit here,
 * else asks for the PIN; `*35*EXT*PIN` logs them out if they sit here, else logs them in (switching out whoever
 * sat here). The tenant's logout code logs out whoever sits here.
 * Every outcome is a result, never an exception: a dialplan branches on it.
 */
export async function dialCode(
  deps: DomainDeps,
  tenantId: number,
  actor: Actor,
  settings: CodeSettings,
  call: { readonly device: string; readonly digits: string; readonly contact?: string | undefined },
): Promise<CodeOutcome> {
  const device = await callerDevice(deps, tenantId, call.device);
  const digits = call.digits;
  const outcome = (result: CodeResult, user: CodeOutcome['user'] = null, extra: Partial<CodeOutcome> = {}): CodeOutcome => ({
    result,
    prompt: PROMPTS[result],
    device,
    user,
    ...extra,
  });
  if (device === null) return outcome('unknown_device');
  if (call.contact !== undefined) await reportContact(deps.db, device, call.contact);
  const seated = (await userAtDevice(deps.db, device.id)) ?? null;
  const signOut = async () => {
    const done = await logout(deps, tenantId, actor, { device: device.mac, method: 'feature_code' });
    return outcome('logged_out', done.user);
  };

  const code = tidy(digits);
  if (settings.logoutCode !== null && code === tidy(settings.logoutCode)) {
    return seated === null ? outcome('logged_out') : signOut();
  }
  const prefix = tidy(settings.loginCode);
  if (!code.startsWith(prefix)) return outcome('invalid_code');
  const rest = code.slice(prefix.length);
  if (rest !== '' && !rest.startsWith('*')) return outcome('invalid_code');
  const parts = rest.split('*').filter((p) => p !== '');
  if (parts.length > 2 || parts.some((p) => !/^\d+$/.test(p))) return outcome('invalid_code');

  const [extension, pin] = parts;
  if (extension === undefined) return seated === null ? outcome('need_extension') : signOut();
  if (seated?.extension === extension) return signOut();
  if (pin === undefined) {
    const checked = await checkExtension(deps, tenantId, actor, device, extension, 'feature_code');
    const named =
      checked.result === 'unknown_extension' || checked.user === null ? null : { extension: checked.user.extension, displayName: checked.user.displayName };
    return checked.result === 'locked' ? outcome('locked', named, { lockedUntil: checked.until }) : outcome(checked.result, named);
  }
  const user = await findUser(deps.db, tenantId, extension);
  const named = user === undefined ? null : { extension: user.extension, displayName: user.displayName };

  const done = await login(deps, tenantId, actor, { device: device.mac, extension, pin, method: 'feature_code' });
  if (isRefused(done)) {
    const { result, ...extra } = refusedCode(done);
    return outcome(result, named, extra);
  }
  return outcome(done.result === 'switched' ? 'switched' : 'logged_in', named);
}

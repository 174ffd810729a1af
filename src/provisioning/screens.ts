import type { DeviceRow } from '../db/schema.ts';
import type { Actor, DomainDeps } from '../domain/deps.ts';
import type { CodeOutcome } from '../domain/deviceAccess.ts';
import { isRefused, type LoginRefusal, login, logout } from '../domain/hotdesk.ts';
import { userAtDevice } from '../domain/sessions.ts';
import { escapeXml } from '../vendors/escape.ts';
import type { Screen } from '../vendors/screen.ts';
import { activationUrl, screenUrls } from './profile.ts';
import { type Rendering, targetOfDevice } from './rendering.ts';

export type { Screen } from '../vendors/screen.ts';

const TITLE = 'Hot desk';

/** The screen a phone's Login key opens. */
export function loginScreen(baseUrl: string, device: DeviceRow): Screen {
  const base = screenUrls(baseUrl, device).login;
  return { kind: 'login', title: TITLE, submitUrl: `${base}/submit`, pinUrl: `${base}/pin` };
}

/** The PIN screen for phones that ask one thing at a time. */
export function pinScreen(baseUrl: string, device: DeviceRow, extension: string): Screen {
  return { kind: 'pin', title: TITLE, extension, submitUrl: `${screenUrls(baseUrl, device).login}/submit` };
}

const message = (text: string): Screen => ({ kind: 'message', title: TITLE, text });

/** "14:05 UTC": when a lockout ends, as a person at the desk reads it. */
function clock(date: Date, timezone: string): string {
  const time = new Intl.DateTimeFormat('en-GB', { timeZone: timezone, hour: '2-digit', minute: '2-digit' }).format(date);
  return `${time} (${timezone})`;
}

/**
 * Logs in from the phone's own screen: the same login as every other method, audited as `phone_screen`,
 * followed by the same check-sync NOTIFY. Every outcome becomes a screen, never an error page.
 */
export async function submitLogin(
  deps: DomainDeps,
  tenant: { readonly id: number; readonly timezone: string },
  actor: Actor,
  device: DeviceRow,
  extension: string,
  pin: string,
): Promise<Screen> {
  if (!/^\d{1,15}$/.test(extension) || !/^\d{1,32}$/.test(pin)) return message('Enter your extension and your PIN, in digits.');
  const outcome = await login(deps, tenant.id, actor, { device: device.mac, extension, pin, method: 'phone_screen' });
  if (isRefused(outcome)) return refusalScreen(outcome, extension, tenant.timezone);
  if (outcome.result === 'already') return message(`${outcome.user.displayName}, you are already logged in here.`);
  return message(`Welcome, ${outcome.user.displayName}. This phone is being set up for you.`);
}

/** What the person at the desk reads when a login is refused: the one place a refusal becomes a screen. */
function refusalScreen(refusal: LoginRefusal, extension: string, timezone: string): Screen {
  switch (refusal.result) {
    case 'wrong_pin':
      return refusal.lockedUntil === null
        ? message(`Wrong PIN. ${refusal.triesLeft} ${refusal.triesLeft === 1 ? 'try' : 'tries'} left.`)
        : message(`Wrong PIN. Locked until ${clock(refusal.lockedUntil, timezone)}.`);
    case 'locked':
      return message(`Too many wrong PINs. Locked until ${clock(refusal.until, timezone)}.`);
    case 'too_many_attempts':
      return message('Too many logins are being tried at once. Try again in a moment.');
    case 'unknown_extension':
      return message(`Extension ${extension} is unknown.`);
    case 'user_not_hotdesk':
      return message(`Extension ${extension} may not log in at hot desks.`);
    case 'device_not_hotdesk':
      return message('This phone is not a hot desk.');
    case 'pin_not_set':
      return message(`Extension ${extension} has no PIN yet. Ask your administrator for one.`);
    case 'pin_changed':
      return message(`The PIN of extension ${extension} was changed just now. Try again with the new one.`);
    case 'unknown_device':
      return message('This phone is no longer enrolled. Ask your administrator.');
  }
}

/** The screen a phone's Logout key opens: who is logged in, and a confirmation. */
export async function logoutScreen(deps: DomainDeps, baseUrl: string, device: DeviceRow): Promise<Screen> {
  const user = await userAtDevice(deps.db, device.id);
  if (user === undefined) return message('Nobody is logged in at this phone.');
  return {
    kind: 'logout',
    title: TITLE,
    text: `Log out ${user.displayName} (${user.extension})?`,
    confirmUrl: `${screenUrls(baseUrl, device).logout}/confirm`,
  };
}

/** Logs out after the confirmation, through the same logout as every other method. */
export async function confirmLogout(deps: DomainDeps, tenantId: number, actor: Actor, device: DeviceRow): Promise<Screen> {
  const outcome = await logout(deps, tenantId, actor, { device: device.mac, method: 'phone_screen' });
  if (outcome.result === 'idle') return message('Nobody is logged in at this phone.');
  return message(`Goodbye, ${outcome.user?.displayName ?? ''}. This phone returns to ${device.idleAccount}.`);
}

/** The screen a claimed phone's Activate key opens. */
export function activationScreen(baseUrl: string, device: DeviceRow): Screen {
  return { kind: 'activate', title: 'Activate this phone', submitUrl: `${activationUrl(baseUrl, device)}/submit` };
}

/** What the person at the desk reads after typing an activation code. */
export function activationResult(outcome: CodeOutcome): Screen {
  switch (outcome) {
    case 'activated':
      return message('This phone is activated. It is being set up now.');
    case 'wrong':
      return message('Wrong activation code. Ask your administrator for the code of this phone.');
    case 'locked':
      return message('Too many wrong codes. Try again in an hour, or ask your administrator to approve this phone.');
    case 'not_claimed':
      return message('This phone is not waiting for an activation.');
  }
}

/** A screen in the device's vendor's format, every value escaped as XML whatever the vendor's file format. */
export function renderScreen(rendering: Rendering, device: DeviceRow, screen: Screen): { body: string; contentType: string } {
  const adapter = rendering.adapterOf(device);
  return {
    body: rendering.render(device.tenantId, adapter, adapter.planScreen(screen), targetOfDevice(device), escapeXml),
    contentType: adapter.screenContentType,
  };
}

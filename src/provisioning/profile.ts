import type { DeviceRow } from '../db/schema.ts';
import { type KeyFunction, layoutKeys } from '../domain/keyLayout.ts';
import type { Mac } from '../domain/mac.ts';
import type { SeatedUser } from '../domain/sessions.ts';
import { asLanguage, type TenantSettings } from '../domain/tenants.ts';
import type { ModelProfile } from '../vendors/catalog.ts';
import { nightlyPollSlot, type PhoneSettings, timeZoneRules } from '../vendors/phoneSettings.ts';
import type { DeviceProfile, ProvisioningAccess } from '../vendors/types.ts';

export const LOGIN_KEY_LABEL = 'Login';
export const LOGOUT_KEY_LABEL = 'Logout';

/** The columns of a device its profile is built from: a phone's fetch reads these, and no more, once. */
export type ProfileDevice = Pick<
  DeviceRow,
  | 'mac'
  | 'model'
  | 'label'
  | 'location'
  | 'idleAccount'
  | 'idlePassword'
  | 'screenSecret'
  | 'expansionModules'
  | 'retiredAt'
  | 'provUsername'
  | 'provPassword'
  | 'webPassword'
  | 'phoneTimezone'
  | 'phoneLanguage'
>;

/** A seated user as a profile uses them (a whole user row, as a preview passes, is one too). */
type ProfileUser = SeatedUser['user'];
type ProfileKey = SeatedUser['keys'][number];

export interface ProfileSubject {
  readonly tenant: TenantSettings;
  readonly device: ProfileDevice;
  readonly model: ModelProfile;
  /** The user sitting at the device, with their keys; null for the idle profile. */
  readonly user: { readonly row: ProfileUser; readonly keys: readonly ProfileKey[] } | null;
  readonly baseUrl: string;
}

/**
 * Builds the one vendor-neutral context every template of a device is rendered from.
 * Idle: the device's own HDxxxx account, a Login key, dialling limited to emergency numbers, internal
 * extensions and the login code, and no user secret anywhere. User: the user's account, a Logout key,
 * then the user's keys laid out on the model. Retired (deleted) device: no account and no key, all written blank.
 */
export function buildDeviceProfile(subject: ProfileSubject): DeviceProfile {
  const { tenant, device, model } = subject;
  const retired = device.retiredAt !== null;
  const user = retired ? null : subject.user;
  const account = retired
    ? { enabled: false, displayName: '', userName: '', authName: '', password: '', label: '' }
    : user === null
      ? {
          enabled: true,
          displayName: device.idleAccount,
          userName: device.idleAccount,
          authName: device.idleAccount,
          password: device.idlePassword,
          label: device.idleAccount,
        }
      : {
          enabled: true,
          displayName: user.row.displayName,
          userName: user.row.sipUser,
          authName: user.row.authName,
          password: user.row.sipPassword,
          label: `${user.row.extension} ${user.row.displayName}`.trim(),
        };
  const screens = retired || tenant.loginKeyMode !== 'screen' || device.screenSecret === null ? null : screenUrls(subject.baseUrl, device);
  // A retired phone gets no key at all: every one is written blank.
  const fixed: KeyFunction[] = retired
    ? []
    : [
        { kind: 'line', label: account.label },
        user === null
          ? { kind: 'login', value: tenant.loginCode, label: LOGIN_KEY_LABEL, ...(screens === null ? {} : { url: screens.login }) }
          : { kind: 'logout', value: tenant.loginCode, label: LOGOUT_KEY_LABEL, ...(screens === null ? {} : { url: screens.logout }) },
      ];
  const layout = layoutKeys(model, device.expansionModules, fixed, user?.keys ?? [], model.name);
  return {
    mode: retired ? 'retired' : user === null ? 'idle' : 'user',
    device: {
      mac: device.mac as Mac,
      model,
      label: device.label,
      location: device.location,
      idleAccount: device.idleAccount,
    },
    account,
    registrar: tenant.registrar,
    dialing: {
      restricted: !retired && user === null,
      emergencyNumbers: tenant.emergencyNumbers,
      extensionDigits: tenant.extensionDigits,
      loginCode: tenant.loginCode,
    },
    layout,
    baseUrl: subject.baseUrl,
    notifyFrom: tenant.notifyMode === 'direct' ? 'direct' : 'relay',
    screens,
    provisioning: provisioningAccess(subject.baseUrl, device.provUsername ?? '', device.provPassword ?? ''),
    webPassword: device.webPassword ?? '',
    phone: phoneSettings(tenant, device),
  };
}

/** The tenant's phone basics with the desk's own time zone and language where it has them. */
function phoneSettings(tenant: TenantSettings, device: ProfileDevice): PhoneSettings {
  const p = tenant.phones;
  const zone = device.phoneTimezone ?? p.timezone;
  return {
    pickupCode: p.pickupCode,
    poll: p.poll.mode === 'interval' ? p.poll : { mode: 'nightly', ...nightlyPollSlot(device.mac, p.poll.windowStart, p.poll.windowEnd) },
    timezone: zone === null ? null : timeZoneRules(zone),
    ntpServer: p.ntpServer,
    language: asLanguage(device.phoneLanguage) ?? p.language,
    voicemailNumber: p.voicemailNumber,
    codecs: p.codecs,
    // auto: SRTP is offered when signalling is encrypted (TLS), and the phone is left alone otherwise.
    srtp: p.srtp === 'auto' ? (tenant.registrar.transport === 'tls' ? 'optional' : null) : p.srtp,
  };
}

/** The path under which phones fetch their own files, with credentials: hotprov challenges there. */
export const CREDENTIALED_PATH = '/prov/';

/** The credentialed URL of a base URL, parsed once: every render of every phone asks for it. */
const credentialedUrls = new Map<string, URL>();

/** hotprov's credentialed path and a phone's credentials, in every form the vendors' settings take. */
export function provisioningAccess(baseUrl: string, username: string, password: string): ProvisioningAccess {
  let url = credentialedUrls.get(baseUrl);
  if (url === undefined) {
    url = new URL(`${baseUrl}${CREDENTIALED_PATH}`);
    credentialedUrls.set(baseUrl, url);
  }
  return {
    url: url.href,
    urlWithCredentials: withCredentials(url, encodeURIComponent(username), encodeURIComponent(password)),
    serverName: `${url.host}${url.pathname}`,
    serverType: url.protocol === 'https:' ? 'HTTPS' : 'HTTP',
    username,
    password,
  };
}

/**
 * The URL with user info, as the URL standard serialises it (what setting `username` and `password` on a URL
 * gives): `user` and `user:password` before an `@`, nothing when both are empty. The parts arrive percent-encoded by
 * encodeURIComponent, whose output holds nothing the user-info encode set would encode again.
 */
function withCredentials(url: URL, username: string, password: string): string {
  if (username === '' && password === '') return url.href;
  return `${url.protocol}//${username}${password === '' ? '' : `:${password}`}@${url.host}${url.pathname}${url.search}${url.hash}`;
}

/** The screen where someone at the desk types a claimed phone's activation code. */
export function activationUrl(baseUrl: string, device: Pick<DeviceRow, 'mac' | 'screenSecret'>): string {
  return `${baseUrl}/phone/${device.mac}/${device.screenSecret ?? ''}/activate`;
}

/** Where a phone's screens are: under its MAC and its secret, which only its own profile holds. */
export function screenUrls(baseUrl: string, device: Pick<DeviceRow, 'mac' | 'screenSecret'>): { login: string; logout: string } {
  const base = `${baseUrl}/phone/${device.mac}/${device.screenSecret ?? ''}`;
  return { login: `${base}/login`, logout: `${base}/logout` };
}

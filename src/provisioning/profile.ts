import type { DeviceRow, UserKeyRow, UserRow } from '../db/schema.ts';
import { type KeyFunction, layoutKeys } from '../domain/keyLayout.ts';
import type { Mac } from '../domain/mac.ts';
import type { TenantSettings } from '../domain/tenants.ts';
import type { ModelProfile } from '../vendors/catalog.ts';
import type { DeviceProfile } from '../vendors/types.ts';

export const LOGIN_KEY_LABEL = 'Login';
export const LOGOUT_KEY_LABEL = 'Logout';

export interface ProfileSubject {
  readonly tenant: TenantSettings;
  readonly device: DeviceRow;
  readonly model: ModelProfile;
  /** The user sitting at the device, with their keys; null for the idle profile. */
  readonly user: { readonly row: UserRow; readonly keys: readonly UserKeyRow[] } | null;
  readonly baseUrl: string;
}

/**
 * Builds the one vendor-neutral context every template of a device is rendered from.
 * Idle: the device's own HDxxxx account, a Login key, dialling limited to emergency numbers, internal
 * extensions and the login code, and no user secret anywhere. User: the user's account, a Logout key,
 * then the user's keys laid out on the model.
 */
export function buildDeviceProfile(subject: ProfileSubject): DeviceProfile {
  const { tenant, device, model, user } = subject;
  const account =
    user === null
      ? {
          displayName: device.idleAccount,
          userName: device.idleAccount,
          authName: device.idleAccount,
          password: device.idlePassword,
          label: device.idleAccount,
        }
      : {
          displayName: user.row.displayName,
          userName: user.row.sipUser,
          authName: user.row.authName,
          password: user.row.sipPassword,
          label: `${user.row.extension} ${user.row.displayName}`.trim(),
        };
  const fixed: KeyFunction[] = [
    { kind: 'line', label: account.label },
    user === null
      ? { kind: 'login', value: tenant.loginCode, label: LOGIN_KEY_LABEL }
      : { kind: 'logout', value: tenant.loginCode, label: LOGOUT_KEY_LABEL },
  ];
  const layout = layoutKeys(model, device.expansionModules, fixed, user?.keys ?? [], model.name);
  return {
    mode: user === null ? 'idle' : 'user',
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
      restricted: user === null,
      emergencyNumbers: tenant.emergencyNumbers,
      extensionDigits: tenant.extensionDigits,
      loginCode: tenant.loginCode,
    },
    layout,
    baseUrl: subject.baseUrl,
    notifyFrom: tenant.notifyMode === 'direct' ? 'direct' : 'relay',
  };
}

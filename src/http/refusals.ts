import type { LoginRefusal } from '../domain/hotdesk.ts';
import {
  type AppError,
  DeviceNotHotdesk,
  Locked,
  PinChanged,
  PinNotSet,
  TooManyAttempts,
  UnknownDevice,
  UnknownExtension,
  UserNotHotdesk,
  WrongPin,
} from '../errors.ts';

/**
 * The API's answer to each refused login: the catalogue's error, whose status, code, message and details
 * (`triesLeft`, `lockedUntil`) clients branch on. The one place a refusal becomes an HTTP status.
 */
export function loginRefusalError(refusal: LoginRefusal): AppError {
  switch (refusal.result) {
    case 'unknown_device':
      return UnknownDevice(refusal.device);
    case 'unknown_extension':
      return UnknownExtension(refusal.extension);
    case 'device_not_hotdesk':
      return DeviceNotHotdesk(refusal.device);
    case 'user_not_hotdesk':
      return UserNotHotdesk(refusal.extension);
    case 'pin_not_set':
      return PinNotSet(refusal.extension);
    case 'wrong_pin':
      return WrongPin(refusal.triesLeft, refusal.lockedUntil);
    case 'locked':
      return Locked(`${refusal.subject} ${refusal.name}`, refusal.until);
    case 'too_many_attempts':
      return TooManyAttempts(`${refusal.subject} ${refusal.name}`);
    case 'pin_changed':
      return PinChanged(refusal.extension);
  }
}

import type { DeviceRow, UserRow } from '../db/schema.ts';

/**
 * What the phone itself holds, beside what hotprov's records say: the account in the file it last fetched, and
 * whether a change of who sits there has not reached it yet. A desk whose user logged out but whose phone still
 * registers as that user is `logout` pending, never plainly idle.
 */
export interface PhoneState {
  /** The account in the file the phone last fetched; null when it never fetched one. */
  readonly account: string | null;
  /** `logout`: the phone still holds a user's account though nobody sits there; `login`: it does not hold the seated user's yet. */
  readonly pending: 'logout' | 'login' | null;
}

export function phoneState(device: Pick<DeviceRow, 'servedAccount' | 'idleAccount'>, seated: Pick<UserRow, 'sipUser'> | null | undefined): PhoneState {
  const account = device.servedAccount;
  if (account === null) return { account, pending: null };
  if (seated == null) return { account, pending: account !== device.idleAccount && account !== '' ? 'logout' : null };
  return { account, pending: account !== seated.sipUser ? 'login' : null };
}

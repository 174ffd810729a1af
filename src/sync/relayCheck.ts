import type { TenantRow } from '../db/schema.ts';
import { checkRelayLogin, type RelayConnection } from '../sip/relays.ts';

/** The tenant settings a relayed NOTIFY goes by. */
export type RelaySettings = Pick<TenantRow, 'notifyMode' | 'relayHost' | 'relayPort' | 'relayUsername' | 'relaySecret' | 'registrarHost'>;

/**
 * Where and as whom a tenant's NOTIFYs are relayed: the tenant's own PBX (its relay host, else its registrar,
 * never another tenant's), else the configured registrar; the manager or event-socket port by default.
 */
export function relayConnectionOf(tenant: RelaySettings, defaultHost: string): RelayConnection {
  return {
    host: tenant.relayHost ?? tenant.registrarHost ?? defaultHost,
    port: tenant.relayPort ?? (tenant.notifyMode === 'asterisk' ? 5038 : 8021),
    username: tenant.relayUsername ?? '',
    secret: tenant.relaySecret ?? '',
  };
}

/**
 * Whether NOTIFYs can go the way these settings say: direct always can; a relay needs its secret (and for
 * Asterisk its user) and must let hotprov log in now. Answers the problem in an admin's words, or null.
 */
export async function relayProblem(tenant: RelaySettings, defaultHost: string): Promise<string | null> {
  if (tenant.notifyMode === 'direct') return null;
  const pbx = tenant.notifyMode === 'asterisk' ? 'Asterisk' : 'FreeSWITCH';
  if (tenant.notifyMode === 'asterisk' && (tenant.relayUsername ?? '') === '') return `NOTIFYs relayed by ${pbx} need the manager (AMI) user`;
  if ((tenant.relaySecret ?? '') === '') return `NOTIFYs relayed by ${pbx} need the relay secret`;
  const connection = relayConnectionOf(tenant, defaultHost);
  const result = await checkRelayLogin(tenant.notifyMode, { ...connection, timeoutMs: 3000 });
  return result.ok ? null : `${pbx} at ${connection.host}:${connection.port} did not let hotprov log in (${result.message}); nothing was saved`;
}

import { ROLES } from '../db/schema.ts';

export { ROLES };

/**
 * provider: runs hotprov, manages tenants and may act in any of them. admin: manages one tenant. helpdesk: sees
 * one tenant's board and devices and may log a desk out, but changes nothing else and sees no secret.
 */
export type Role = (typeof ROLES)[number];

/** Who is asking: a console account or an API token, with what it may do and where. */
export interface Principal {
  readonly name: string;
  readonly role: Role;
  /** The tenant an admin or helpdesk belongs to; null only for a provider. */
  readonly tenantId: number | null;
}

export const canManageTenants = (p: Principal): boolean => p.role === 'provider';
/** Changes anything beyond logging a desk out. */
export const canWrite = (p: Principal): boolean => p.role !== 'helpdesk';
/** Sees secrets (PINs when issued, web passwords, activation codes, redirect credentials). */
export const canSeeSecrets = (p: Principal): boolean => p.role !== 'helpdesk';
/** A provider acts in any tenant; everyone else only in their own. */
export const actsIn = (p: Principal, tenantId: number): boolean => p.role === 'provider' || p.tenantId === tenantId;

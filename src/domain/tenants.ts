import { eq } from 'drizzle-orm';
import type { Config, SipTransport } from '../config.ts';
import type { Db } from '../db/client.ts';
import { type TenantRow, tenants } from '../db/schema.ts';

export const DEFAULT_TENANT_SLUG = 'default';

/** A tenant's settings with the HOTPROV_SIP_* defaults filled in: what profiles are rendered from. */
export interface TenantSettings {
  readonly id: number;
  readonly name: string;
  readonly registrar: { readonly host: string; readonly port: number; readonly transport: SipTransport };
  readonly loginCode: string;
  readonly emergencyNumbers: readonly string[];
  readonly extensionDigits: { readonly min: number; readonly max: number };
  readonly pinMinLength: number;
}

/** Returns the default tenant, creating it on first start. */
export function ensureDefaultTenant(db: Db): TenantRow {
  const existing = db.select().from(tenants).where(eq(tenants.slug, DEFAULT_TENANT_SLUG)).get();
  if (existing !== undefined) return existing;
  return db.insert(tenants).values({ slug: DEFAULT_TENANT_SLUG, name: 'Default' }).returning().get();
}

/** Merges a tenant row with the configured defaults. */
export function tenantSettings(row: TenantRow, defaults: Config['registrar']): TenantSettings {
  return {
    id: row.id,
    name: row.name,
    registrar: {
      host: row.registrarHost ?? defaults.host,
      port: row.registrarPort ?? defaults.port,
      transport: row.registrarTransport ?? defaults.transport,
    },
    loginCode: row.loginCode,
    emergencyNumbers: parseNumberList(row.emergencyNumbers),
    extensionDigits: { min: row.extensionMinDigits, max: row.extensionMaxDigits },
    pinMinLength: row.pinMinLength,
  };
}

function parseNumberList(json: string): string[] {
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string' && /^[0-9*#]+$/.test(v)) : [];
  } catch {
    return [];
  }
}

/** Reads a tenant by id. */
export function getTenant(db: Db, id: number): TenantRow | undefined {
  return db.select().from(tenants).where(eq(tenants.id, id)).get();
}

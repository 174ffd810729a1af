import { and, asc, eq, inArray, isNull, lte, ne, or } from 'drizzle-orm';
import { type Db, tablesOf, writeTransaction } from '../db/client.ts';
import type { DeviceRow, TenantRow } from '../db/schema.ts';

/*
 * Redirect state: what hotprov knows of each phone's registration with its vendor's redirect service (Yealink
 * RPS, Snom SRAPS, Poly ZTP), and the base URL the registrations point at. This module is the only writer of
 * those columns (devices.redirect_*, tenants.redirect_base_url); redirect/ talks to the services and calls it.
 */

/** What a vendor's redirect service said of a MAC. */
export type RedirectStatus = 'registered' | 'registered_elsewhere' | 'unknown' | 'error';

export interface RedirectResult {
  readonly status: RedirectStatus;
  /** What happened, in hotprov's words (never the service's own body, never a credential). */
  readonly message: string;
}

/** A device's redirect state as stored: never tried (`none`), to be (re)tried (`pending`), or the last result. */
export type RedirectState = 'none' | 'pending' | RedirectStatus;

/** Retries after a failed registration: 1 min, doubling, at most an hour apart. */
export const REDIRECT_BACKOFF = { firstMs: 60_000, maxMs: 3_600_000 } as const;

/** When a registration that failed for the n-th time in a row is tried again. */
export function nextRedirectAttempt(now: Date, failures: number): Date {
  return new Date(now.getTime() + Math.min(REDIRECT_BACKOFF.firstMs * 2 ** (failures - 1), REDIRECT_BACKOFF.maxMs));
}

/**
 * Records what the service answered to a registration: a failure counts towards the back-off, anything else
 * resets it. Another account owning the MAC is never retried (that needs a person).
 */
export async function recordRedirectResult(
  deps: { readonly db: Db; readonly now: () => Date },
  device: Pick<DeviceRow, 'id' | 'redirectAttempts'>,
  result: RedirectResult,
): Promise<void> {
  const { devices } = tablesOf(deps.db);
  const now = deps.now();
  const failures = result.status === 'error' ? device.redirectAttempts + 1 : 0;
  await deps.db
    .update(devices)
    .set({
      redirectStatus: result.status,
      redirectMessage: result.message,
      redirectAttempts: failures,
      redirectAttemptedAt: now,
      redirectNextAttemptAt: result.status === 'error' ? nextRedirectAttempt(now, failures) : null,
    })
    .where(eq(devices.id, device.id));
}

/** Enrolled devices whose failed (or pending) registration is due again. */
export async function findDueRedirects(deps: { readonly db: Db; readonly now: () => Date }): Promise<DeviceRow[]> {
  const { devices } = tablesOf(deps.db);
  return await deps.db
    .select()
    .from(devices)
    .where(
      and(
        isNull(devices.retiredAt),
        inArray(devices.redirectStatus, ['error', 'pending']),
        or(isNull(devices.redirectNextAttemptAt), lte(devices.redirectNextAttemptAt, deps.now())),
      ),
    );
}

/** Enrolled devices not registered yet, leaving out those another account owns. */
export async function findUnregisteredDevices(db: Db): Promise<DeviceRow[]> {
  const { devices } = tablesOf(db);
  return await db
    .select()
    .from(devices)
    .where(and(isNull(devices.retiredAt), ne(devices.redirectStatus, 'registered'), ne(devices.redirectStatus, 'registered_elsewhere')))
    .orderBy(asc(devices.id));
}

/** Every enrolled device's redirect state, for `hotprov redirect status`. */
export async function listRedirectStates(db: Db): Promise<Pick<DeviceRow, 'mac' | 'idleAccount' | 'vendor' | 'redirectStatus' | 'redirectMessage'>[]> {
  const { devices } = tablesOf(db);
  return await db
    .select({
      mac: devices.mac,
      idleAccount: devices.idleAccount,
      vendor: devices.vendor,
      redirectStatus: devices.redirectStatus,
      redirectMessage: devices.redirectMessage,
    })
    .from(devices)
    .where(isNull(devices.retiredAt))
    .orderBy(asc(devices.id));
}

/**
 * A tenant's base URL for phones (`baseUrlOf`: its own, else the instance's) changed since its registrations were
 * made: every registered phone of that tenant goes back to pending (the retry job registers it again), so
 * factory-fresh phones find the new address.
 * @returns how many devices were marked.
 */
export async function rebaseRedirects(db: Db, baseUrlOf: (tenant: TenantRow) => string): Promise<number> {
  const { devices, tenants } = tablesOf(db);
  return await writeTransaction(db, async (tx) => {
    let marked = 0;
    for (const tenant of await tx.select().from(tenants)) {
      const baseUrl = baseUrlOf(tenant);
      if (tenant.redirectBaseUrl === baseUrl) continue;
      if (tenant.redirectBaseUrl !== null) {
        const pending = await tx
          .update(devices)
          .set({ redirectStatus: 'pending', redirectNextAttemptAt: null, redirectAttempts: 0 })
          .where(and(eq(devices.tenantId, tenant.id), eq(devices.redirectStatus, 'registered')))
          .returning({ id: devices.id });
        marked += pending.length;
      }
      await tx.update(tenants).set({ redirectBaseUrl: baseUrl }).where(eq(tenants.id, tenant.id));
    }
    return marked;
  });
}

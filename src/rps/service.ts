import { and, eq, inArray, isNull, lte, ne, or } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { type DeviceRow, devices, type TenantRow, tenants } from '../db/schema.ts';
import { findDeviceById } from '../domain/lookup.ts';
import type { Mac } from '../domain/mac.ts';
import { findTenant } from '../domain/tenants.ts';
import type { Logger } from '../log.ts';
import { CREDENTIALED_PATH } from '../provisioning/profile.ts';
import { describeNetworkError } from '../remoteError.ts';
import { createPolyZtp } from './polycom.ts';
import { createSnomSraps } from './snom.ts';
import type { RedirectClient, RpsResult } from './types.ts';
import { createYealinkRps } from './yealink.ts';
import { createYealinkXmlRpc } from './yealinkXmlRpc.ts';

/** Retries after a failed registration: 1 min, doubling, at most an hour apart. */
const BACKOFF = { firstMs: 60_000, maxMs: 3_600_000 } as const;

export interface RedirectDeps {
  readonly db: Db;
  readonly log: Logger;
  readonly now: () => Date;
  /** hotprov's base URL: where the redirects send phones. */
  readonly baseUrl: string;
  /** Builds the client of a vendor's service from the tenant's credentials; tests and proxies pass their own. */
  readonly clientFor?: (tenant: TenantRow, vendor: string) => RedirectClient | null;
}

/** The client of a tenant's service for a vendor, or null when the tenant has not set it up. Yealink's open API wins over its XML-RPC API. */
export function defaultClientFor(tenant: TenantRow, vendor: string): RedirectClient | null {
  if (vendor === 'yealink' && tenant.yealinkRpsKeyId !== null && tenant.yealinkRpsSecret !== null) {
    return createYealinkRps({ baseUrl: tenant.yealinkRpsUrl, accessKeyId: tenant.yealinkRpsKeyId, accessKeySecret: tenant.yealinkRpsSecret });
  }
  if (vendor === 'yealink' && tenant.yealinkXmlRpcUser !== null && tenant.yealinkXmlRpcPassword !== null) {
    return createYealinkXmlRpc({ url: tenant.yealinkXmlRpcUrl, username: tenant.yealinkXmlRpcUser, password: tenant.yealinkXmlRpcPassword });
  }
  if (vendor === 'snom' && tenant.snomSrapsKeyId !== null && tenant.snomSrapsSecret !== null) {
    return createSnomSraps({ baseUrl: tenant.snomSrapsUrl, accessKeyId: tenant.snomSrapsKeyId, accessKeySecret: tenant.snomSrapsSecret });
  }
  if (vendor === 'polycom' && tenant.polyZtpApiKey !== null) return createPolyZtp({ baseUrl: tenant.polyZtpUrl, apiKey: tenant.polyZtpApiKey });
  return null;
}

/**
 * Keeps each enrolled phone registered with its vendor's redirect service, pointing at hotprov with the phone's
 * own credentials: registered on enrolment, deregistered on deletion, retried with back-off after a failure, and
 * never retried when another account owns the MAC (that needs a person).
 */
export function createRedirects(deps: RedirectDeps) {
  const clientFor = deps.clientFor ?? defaultClientFor;
  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(work: Promise<T>): Promise<T> => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
    return work;
  };
  const client = (device: DeviceRow) => {
    const tenant = findTenant(deps.db, device.tenantId);
    return tenant === undefined ? null : clientFor(tenant, device.vendor);
  };
  const record = (device: DeviceRow, result: RpsResult) => {
    const now = deps.now();
    const attempts = result.status === 'error' ? device.redirectAttempts + 1 : 0;
    const next = result.status === 'error' ? new Date(now.getTime() + Math.min(BACKOFF.firstMs * 2 ** (attempts - 1), BACKOFF.maxMs)) : null;
    deps.db
      .update(devices)
      .set({
        redirectStatus: result.status,
        redirectMessage: result.message,
        redirectAttempts: attempts,
        redirectAttemptedAt: now,
        redirectNextAttemptAt: next,
      })
      .where(eq(devices.id, device.id))
      .run();
    if (result.status === 'error' || result.status === 'registered_elsewhere') {
      deps.log.warn('provisioning', 'redirect registration failed', { mac: device.mac, status: result.status, message: result.message });
    }
  };
  const attempt = async (work: () => Promise<RpsResult>): Promise<RpsResult> => {
    try {
      return await work();
    } catch (err) {
      return { status: 'error', message: describeNetworkError(err) };
    }
  };

  const register = async (device: DeviceRow): Promise<RpsResult | null> => {
    const service = client(device);
    if (service === null || device.retiredAt !== null || device.provUsername === null || device.provPassword === null) return null;
    // The phone arrives at the credentialed path, where hotprov asks it for the credentials it was given.
    const target = { url: `${deps.baseUrl}${CREDENTIALED_PATH}`, username: device.provUsername, password: device.provPassword };
    const result = await attempt(() => service.register(device.mac as Mac, target));
    record(device, result);
    return result;
  };

  return {
    /** Registers a device now (it was just enrolled, or an admin asked). Null when its vendor's service is not set up. */
    register: (device: DeviceRow) => track(register(device)),

    /** Deregisters a deleted device's MAC, so the next owner of the phone can claim it. */
    deregister(device: DeviceRow): Promise<RpsResult | null> {
      const service = client(device);
      if (service === null) return Promise.resolve(null);
      return track(attempt(() => service.deregister(device.mac as Mac)));
    },

    check(device: DeviceRow): Promise<RpsResult | null> {
      const service = client(device);
      return service === null ? Promise.resolve(null) : attempt(() => service.check(device.mac as Mac));
    },

    /** The lifecycle hook of the domain: enrolments register, deletions deregister. */
    onLifecycle(event: { kind: 'enrolled' | 'deleted' | 'credentials_changed'; device: DeviceRow }): void {
      // New credentials (an admin reset the device's access) reach the service like a new enrolment.
      if (event.kind === 'enrolled' || event.kind === 'credentials_changed') void track(register(event.device));
      else void track(attempt(async () => (await client(event.device)?.deregister(event.device.mac as Mac)) ?? { status: 'unknown', message: '' }));
    },

    /** Failed registrations whose back-off ran out are tried again. Run by a job every minute. */
    async retryDue(): Promise<void> {
      const due = deps.db
        .select()
        .from(devices)
        .where(
          and(
            isNull(devices.retiredAt),
            inArray(devices.redirectStatus, ['error', 'pending']),
            or(isNull(devices.redirectNextAttemptAt), lte(devices.redirectNextAttemptAt, deps.now())),
          ),
        )
        .all();
      await Promise.all(due.map((d) => track(register(d))));
    },

    /**
     * Registers every enrolled device that is not registered yet (not those another account owns).
     * @param progress told after each device, for a progress bar.
     */
    async syncAll(progress: (done: number, total: number, device: DeviceRow, result: RpsResult | null) => void = () => {}, concurrency = 8) {
      const todo = deps.db
        .select()
        .from(devices)
        .where(and(isNull(devices.retiredAt), ne(devices.redirectStatus, 'registered'), ne(devices.redirectStatus, 'registered_elsewhere')))
        .all();
      let done = 0;
      const results: (RpsResult | null)[] = [];
      let next = 0;
      const worker = async () => {
        while (next < todo.length) {
          const device = todo[next++] as DeviceRow;
          const result = await register(device);
          results.push(result);
          progress(++done, todo.length, device, result);
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, todo.length) }, worker));
      return results;
    },

    /**
     * When hotprov's base URL changed since the redirects were made, every registered phone is registered again
     * (by the retry job), so factory-fresh phones find the new address.
     */
    rebaseIfMoved(): number {
      let marked = 0;
      for (const tenant of deps.db.select().from(tenants).all()) {
        if (tenant.redirectBaseUrl === deps.baseUrl) continue;
        if (tenant.redirectBaseUrl !== null) {
          marked += deps.db
            .update(devices)
            .set({ redirectStatus: 'pending', redirectNextAttemptAt: null, redirectAttempts: 0 })
            .where(and(eq(devices.tenantId, tenant.id), eq(devices.redirectStatus, 'registered')))
            .run().changes;
        }
        deps.db.update(tenants).set({ redirectBaseUrl: deps.baseUrl }).where(eq(tenants.id, tenant.id)).run();
      }
      return marked;
    },

    async settled(): Promise<void> {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },

    byId: (id: number) => findDeviceById(deps.db, id),
  };
}

export type Redirects = ReturnType<typeof createRedirects>;

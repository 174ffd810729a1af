import type { Db } from '../db/client.ts';
import type { DeviceRow, TenantRow } from '../db/schema.ts';
import { findDeviceById } from '../domain/lookup.ts';
import type { Mac } from '../domain/mac.ts';
import { findDueRedirects, findUnregisteredDevices, type RedirectResult, rebaseRedirects, recordRedirectResult } from '../domain/redirect.ts';
import { findTenant } from '../domain/tenants.ts';
import type { Logger } from '../log.ts';
import { describeNetworkError } from '../remoteError.ts';
import { createPolyZtp } from './polycom.ts';
import { createSnomSraps } from './snom.ts';
import type { RedirectClient } from './types.ts';
import { createYealinkRps } from './yealink.ts';
import { createYealinkXmlRpc } from './yealinkXmlRpc.ts';

export interface RedirectDeps {
  readonly db: Db;
  readonly log: Logger;
  readonly now: () => Date;
  /** hotprov's base URL for a tenant's phones (its own, else the instance's): when it changes, its phones are registered again. */
  readonly phoneBaseUrlOf: (tenant: TenantRow) => string;
  /** Where under that base URL the redirects send phones: the credentialed path, where hotprov asks for their credentials. */
  readonly credentialedPath: string;
  /** Builds the client of a vendor's service from the tenant's credentials; tests and proxies pass their own. */
  readonly clientFor?: (tenant: TenantRow, vendor: string) => RedirectClient | null;
  /** Told the result of each call to a vendor's service (metrics count them): registered, registered_elsewhere, error, … */
  readonly onCall?: (result: RedirectResult['status']) => void;
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
  const tenantService = async (device: DeviceRow) => {
    const tenant = await findTenant(deps.db, device.tenantId);
    const service = tenant === undefined ? null : clientFor(tenant, device.vendor);
    return tenant === undefined || service === null ? null : { tenant, service };
  };
  const client = async (device: DeviceRow) => (await tenantService(device))?.service ?? null;
  const record = async (device: DeviceRow, result: RedirectResult) => {
    await recordRedirectResult(deps, device, result);
    if (result.status === 'error' || result.status === 'registered_elsewhere') {
      deps.log.warn('provisioning', 'redirect registration failed', { mac: device.mac, status: result.status, message: result.message });
    }
  };
  const attempt = async (work: () => Promise<RedirectResult>): Promise<RedirectResult> => {
    let result: RedirectResult;
    try {
      result = await work();
    } catch (err) {
      result = { status: 'error', message: describeNetworkError(err) };
    }
    deps.onCall?.(result.status);
    return result;
  };

  const register = async (device: DeviceRow): Promise<RedirectResult | null> => {
    const found = await tenantService(device);
    if (found === null || device.retiredAt !== null || device.provUsername === null || device.provPassword === null) return null;
    // The phone arrives at its tenant's credentialed path, where hotprov asks it for the credentials it was given.
    const target = { url: `${deps.phoneBaseUrlOf(found.tenant)}${deps.credentialedPath}`, username: device.provUsername, password: device.provPassword };
    const result = await attempt(() => found.service.register(device.mac as Mac, target));
    await record(device, result);
    return result;
  };

  return {
    /** Registers a device now (it was just enrolled, or an admin asked). Null when its vendor's service is not set up. */
    register: (device: DeviceRow) => track(register(device)),

    /** Deregisters a deleted device's MAC, so the next owner of the phone can claim it. */
    deregister(device: DeviceRow): Promise<RedirectResult | null> {
      return track(
        (async () => {
          const service = await client(device);
          return service === null ? null : await attempt(() => service.deregister(device.mac as Mac));
        })(),
      );
    },

    async check(device: DeviceRow): Promise<RedirectResult | null> {
      const service = await client(device);
      return service === null ? null : await attempt(() => service.check(device.mac as Mac));
    },

    /** The lifecycle hook of the domain: enrolments register, deletions deregister. */
    onLifecycle(event: { kind: 'enrolled' | 'deleted' | 'credentials_changed'; device: DeviceRow }): void {
      // New credentials (an admin reset the device's access) reach the service like a new enrolment.
      if (event.kind === 'enrolled' || event.kind === 'credentials_changed') void track(register(event.device));
      else void track(attempt(async () => (await (await client(event.device))?.deregister(event.device.mac as Mac)) ?? { status: 'unknown', message: '' }));
    },

    /** Failed registrations whose back-off ran out are tried again. Run by a job every minute. */
    async retryDue(): Promise<void> {
      await Promise.all((await findDueRedirects(deps)).map((d) => track(register(d))));
    },

    /**
     * Registers every enrolled device that is not registered yet (not those another account owns).
     * @param progress told after each device, for a progress bar.
     */
    async syncAll(progress: (done: number, total: number, device: DeviceRow, result: RedirectResult | null) => void = () => {}, concurrency = 8) {
      const todo = await findUnregisteredDevices(deps.db);
      let done = 0;
      const results: (RedirectResult | null)[] = [];
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
     * When a tenant's base URL for phones changed since its redirects were made (HOTPROV_BASE_URL, or the tenant's
     * own), each of its registered phones is registered again (by the retry job), so factory-fresh phones find the
     * new address.
     */
    rebaseIfMoved: async (): Promise<number> => await rebaseRedirects(deps.db, deps.phoneBaseUrlOf),

    async settled(): Promise<void> {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },

    byId: async (id: number) => await findDeviceById(deps.db, id),
  };
}

export type Redirects = ReturnType<typeof createRedirects>;

import type { Db } from '../db/client.ts';
import type { DeviceRow } from '../db/schema.ts';
import { recordAudit } from '../domain/audit.ts';
import { findPhoneByMac, type PhoneDevice } from '../domain/lookup.ts';
import type { InstanceDefaults } from '../domain/tenants.ts';
import type { Logger } from '../log.ts';
import type { DeviceProfile, VendorAdapter } from '../vendors/types.ts';
import { createBootstrapFiles } from './bootstrap.ts';
import { createDeviceCopies } from './deviceCopies.ts';
import { createFetchRecords, type Revision } from './fetchRecords.ts';
import { createRequestGuard, type GuardPolicy } from './guard.ts';
import { createPhoneFetch, type PhoneFetchObserver } from './phoneFetch.ts';
import { createPreview, warningsOf } from './preview.ts';
import { createRenderCache } from './renderCache.ts';
import { createRendering, MAIN_FILE_KIND } from './rendering.ts';
import { renderScreen, type Screen } from './screens.ts';
import type { TemplateStore } from './templates.ts';
import { createUserAgentReader } from './userAgents.ts';

export type { Revision } from './fetchRecords.ts';
export type { DeviceSummary } from './preview.ts';

/** A device's profile just rendered into the cache: its main file's revision, and what an admin should know of it. */
export interface RefreshedProfile extends Revision {
  readonly mode: DeviceProfile['mode'];
  readonly warnings: readonly string[];
}

export interface ProvisioningDeps {
  readonly db: Db;
  /** The instance's registrar and base URLs; phoneBaseUrl answers what proves no tenant (decoy bootstrap files). */
  readonly config: InstanceDefaults;
  readonly adapters: readonly VendorAdapter[];
  readonly templates: TemplateStore;
  readonly log: Logger;
  readonly now: () => Date;
  /** Memory for rendered files, in MB (default 64); the least recently fetched devices go first. */
  readonly cacheMegabytes?: number;
  /** Told each time a phone was served its main device file (or an `unchanged` for it): the ETag of the revision it now has. */
  readonly onServed?: (device: PhoneDevice, etag: string) => void;
  /** The budget of failed requests per source address. */
  readonly guard: GuardPolicy;
  /**
   * The default tenant: its audit log records blocked addresses (a guessed MAC belongs to no tenant), its templates
   * answer requests that prove no tenant (decoy bootstrap files, shared files asked without a phone's credentials).
   */
  readonly defaultTenantId: () => number;
  /** How often a phone waiting for its activation asks again, in seconds. */
  readonly bootstrapPollSeconds?: number;
  /**
   * Whether this node keeps copies of the devices phones fetch for (PostgreSQL: a read is a round trip). The change
   * feed must then drop them (forgetDeviceRows, trustDeviceCopies).
   */
  readonly copyDevices?: boolean;
  /** Told of every phone answer and render (metrics); see PhoneFetchObserver. */
  readonly observe?: PhoneFetchObserver;
}

const PHONE = { name: 'phone' };

/**
 * The provisioning folder's parts, built once over one render cache, one batch of fetch records and one request
 * budget: what the composition root hands the HTTP layer, the console and re-sync.
 */
export function createProvisioning(deps: ProvisioningDeps) {
  const rendering = createRendering(deps);
  const cache = createRenderCache(deps.cacheMegabytes);
  const devices = createDeviceCopies({ read: (mac) => findPhoneByMac(deps.db, mac), keep: deps.copyDevices === true });
  const records = createFetchRecords({ ...deps, onRecorded: devices.recorded });
  const bootstrap = createBootstrapFiles({
    rendering,
    decoyBaseUrl: deps.config.phoneBaseUrl,
    pollSeconds: deps.bootstrapPollSeconds ?? 60,
    defaultTenantId: deps.defaultTenantId,
  });
  const preview = createPreview({ rendering });
  const guard = createRequestGuard(deps.guard, deps.now, async (event) => {
    deps.log.warn('security', 'an address failed too many phone requests and is blocked', {
      source: event.source,
      failures: event.failures,
      until: event.until.toISOString(),
    });
    try {
      await recordAudit(deps.db, deps.defaultTenantId(), deps.now(), PHONE, {
        action: 'security.address_blocked',
        detail: { ...event, until: event.until.toISOString() },
      });
    } catch (err) {
      deps.log.warn('database', 'could not audit a blocked address', { error: (err as Error).message });
    }
  });
  const phoneFetch = createPhoneFetch({
    db: deps.db,
    log: deps.log,
    now: deps.now,
    instanceBaseUrl: deps.config.phoneBaseUrl,
    adapters: deps.adapters,
    rendering,
    cache,
    records,
    devices,
    bootstrap,
    userAgents: createUserAgentReader(deps.adapters),
    guard,
    defaultTenantId: deps.defaultTenantId,
    ...(deps.onServed === undefined ? {} : { onServed: deps.onServed }),
    ...(deps.observe === undefined ? {} : { observe: deps.observe }),
  });

  return {
    /** Answers one phone request (identify → prove → answer); never throws for a path it does not know. */
    answer: phoneFetch.answer,

    /** The budget of failed requests per address, shared with the phone screens: seconds an address stays blocked. */
    blockedFor: (ip: string): number => guard.blockedFor(ip),
    /** Counts a failed phone request (a screen asked with a wrong secret) against its address. */
    failed: (ip: string): void => guard.fail(ip),

    /** Forgets the rendered files of these devices: their profile changed. */
    invalidate(deviceIds: readonly number[]): void {
      for (const id of deviceIds) cache.forget(id);
    },
    /** Forgets every rendered file and every copy of a device. */
    invalidateAll(): void {
      cache.forgetAll();
      devices.forgetAll();
    },
    /** These devices' rows changed (credentials, access, profile columns): this node's copies of them go. */
    forgetDeviceRows: (deviceIds: readonly number[]): void => devices.forget(deviceIds),
    /** Whether changes are being heard (the change feed is listening): copies of devices are kept and used only then. */
    trustDeviceCopies: (listening: boolean): void => devices.trust(listening),
    /** Forgets the rendered files of a tenant's devices, and its shared files: one of its templates changed. */
    invalidateTenant(tenantId: number): void {
      cache.forgetTenant(tenantId);
    },
    /** What the render cache's device files take now, in bytes (as counted against HOTPROV_CACHE_MB). */
    cacheBytes: (): number => cache.bytes(),
    /** Writes what fetches recorded and is not yet written: before anything decides from it, and before closing. */
    flush: (): Promise<void> => records.flush(),

    /**
     * A device's profile after a change, built and rendered once: each of its files goes into the cache (the fetch
     * that follows renders nothing), and the answer has the main file's revision (what a check-sync makes the phone
     * fetch), the mode and the warnings (for the log and the answer to the change).
     */
    async refreshDevice(device: DeviceRow): Promise<RefreshedProfile> {
      cache.forget(device.id);
      const ticket = cache.ticket();
      const adapter = rendering.adapterOf(device);
      const profile = await rendering.profileOf(adapter, device);
      let main: Revision | null = null;
      for (const name of adapter.deviceFiles(profile.device.mac, profile.device.model)) {
        const file = adapter.matchPath(name);
        const plan = file === null || file.mac === null ? null : adapter.planDeviceFile(file, profile);
        if (file === null || plan === null) continue;
        const kept = cache.keep(
          ticket,
          device.id,
          device.tenantId,
          file.kind,
          adapter.contentType,
          rendering.renderFile(device.tenantId, adapter, plan, device.model),
          profile.account,
        );
        if (file.kind === MAIN_FILE_KIND) main = { etag: kept.answer.etag, account: profile.account };
      }
      if (main === null) throw new Error(`${adapter.id} has no main device file`);
      return { ...main, mode: profile.mode, warnings: warningsOf(adapter, device, profile) };
    },

    renderBootstrapFiles: bootstrap.renderAll,
    renderScreen: (device: DeviceRow, screen: Screen) => renderScreen(rendering, device, screen),
    summary: preview.summary,
    renderDeviceFiles: preview.renderDeviceFiles,
  };
}

export type Provisioning = ReturnType<typeof createProvisioning>;

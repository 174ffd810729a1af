import { randomBytes } from 'node:crypto';
import type { DeviceRow } from '../db/schema.ts';
import { newProvisioningCredentials } from '../domain/deviceAccess.ts';
import type { Mac } from '../domain/mac.ts';
import type { BootstrapProfile, FileMatch, VendorAdapter } from '../vendors/types.ts';
import { activationUrl, provisioningAccess } from './profile.ts';
import { type FileAnswer, fileFromText } from './renderCache.ts';
import type { RenderedFile, Rendering } from './rendering.ts';

export interface BootstrapFilesDeps {
  readonly rendering: Rendering;
  /** The instance's base URL for phones: a decoy's, which must not tell the MAC's tenant. */
  readonly decoyBaseUrl: string;
  /** How often a phone waiting for its activation asks again, in seconds. */
  readonly pollSeconds: number;
  /** The tenant whose templates answer a phone that proved no tenant (a decoy). */
  readonly defaultTenantId: () => number;
}

/** A device's own access, as its bootstrap file hands it out. */
type BootstrapAccess = Pick<DeviceRow, 'tenantId' | 'mac' | 'provUsername' | 'provPassword' | 'screenSecret'>;

/**
 * Bootstrap files: what a phone that proved nothing gets at the open paths, the same in shape for every MAC.
 * A device's own credentials go only into its first claim's answer (and its fetches while it waits); anyone
 * else gets a decoy's, credentials of nobody.
 */
export function createBootstrapFiles(deps: BootstrapFilesDeps) {
  const profileOf = (baseUrl: string, mac: Mac, access: { provUsername: string; provPassword: string; screenSecret: string }): BootstrapProfile => ({
    mac,
    provisioning: provisioningAccess(baseUrl, access.provUsername, access.provPassword),
    activationUrl: activationUrl(baseUrl, { mac, screenSecret: access.screenSecret }),
    pollSeconds: deps.pollSeconds,
    baseUrl,
  });
  // A real claim points the phone at its tenant's address; a decoy at the instance's.
  const real = async (device: BootstrapAccess): Promise<BootstrapProfile> =>
    profileOf((await deps.rendering.tenantOf(device.tenantId)).phoneBaseUrl, device.mac as Mac, {
      provUsername: device.provUsername ?? '',
      provPassword: device.provPassword ?? '',
      screenSecret: device.screenSecret ?? '',
    });

  return {
    /** Credentials of nobody, in the same shape as a device's: what a guesser and a second claimant get. */
    decoy: (mac: Mac): BootstrapProfile =>
      profileOf(deps.decoyBaseUrl, mac, { ...newProvisioningCredentials(mac), screenSecret: randomBytes(16).toString('hex') }),
    /** The device's own credentials. */
    real,

    /**
     * The file as a bootstrap answer (never kept on the way), from the device's tenant's templates (a decoy's: the
     * default tenant's); null when the vendor has no such bootstrap file.
     */
    answer(adapter: VendorAdapter, file: FileMatch, profile: BootstrapProfile, tenantId: number | null = null): FileAnswer | null {
      const plan = adapter.planBootstrapFile(file, profile);
      if (plan === null) return null;
      return { ...fileFromText(adapter.contentType, deps.rendering.render(tenantId ?? deps.defaultTenantId(), adapter, plan, undefined)), bootstrap: true };
    },

    /**
     * What the device's phone gets while it has not proven itself: each file as a bootstrap answer with the
     * device's own credentials (the answer of its first claim, and of its fetches while it waits).
     */
    async renderAll(device: DeviceRow): Promise<RenderedFile[]> {
      const adapter = deps.rendering.adapterOf(device);
      const out: RenderedFile[] = [];
      for (const name of adapter.deviceFiles(device.mac as Mac, deps.rendering.modelOf(adapter, device))) {
        const file = adapter.matchPath(name);
        const plan = file === null || file.mac === null ? null : adapter.planBootstrapFile(file, await real(device));
        if (plan !== null) out.push({ name, body: deps.rendering.render(device.tenantId, adapter, plan, undefined), contentType: adapter.contentType });
      }
      return out;
    },
  };
}

export type BootstrapFiles = ReturnType<typeof createBootstrapFiles>;

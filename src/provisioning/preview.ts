import type { DeviceRow, UserRow } from '../db/schema.ts';
import type { DeviceProfile, VendorAdapter } from '../vendors/types.ts';
import { provisioningAccess } from './profile.ts';
import type { RenderedFile, Rendering } from './rendering.ts';

/** What the API and the console show of a device's provisioning. */
export interface DeviceSummary {
  readonly mode: DeviceProfile['mode'];
  readonly files: readonly string[];
  /** Keys that do not fit, a MAC that does not look like the vendor's, … */
  readonly warnings: readonly string[];
  /** The model and where the keys of this profile land on it (the console's picture of the phone). */
  readonly model: DeviceProfile['device']['model'];
  readonly layout: DeviceProfile['layout'];
}

/** What an admin should look at in a device's profile: keys that do not fit, a MAC that does not look like the vendor's. */
export function warningsOf(adapter: VendorAdapter, device: Pick<DeviceRow, 'mac'>, profile: DeviceProfile): string[] {
  const warnings = [...profile.layout.warnings];
  if (!adapter.profile.macPrefixes.includes(device.mac.slice(0, 6))) {
    warnings.push(`MAC ${device.mac.slice(0, 6)} is not a known ${adapter.profile.name} prefix: check the vendor`);
  }
  return warnings;
}

/** What a masked password reads as in a rendered file shown to a person. */
export const SECRET_MASK = '********';

/**
 * What an admin sees of a device's provisioning, rendered as the phone would get it now (or with any user at it),
 * never touching the phone path's cache or records.
 */
export function createPreview(deps: { readonly rendering: Rendering }) {
  const { rendering } = deps;
  return {
    /** Its mode, its files, and what an admin should look at. */
    async summary(device: DeviceRow): Promise<DeviceSummary> {
      const adapter = rendering.adapterOf(device);
      const profile = await rendering.profileOf(adapter, device);
      return {
        mode: profile.mode,
        files: adapter.deviceFiles(profile.device.mac, profile.device.model),
        warnings: warningsOf(adapter, device, profile),
        model: profile.device.model,
        layout: profile.layout,
      };
    },

    /**
     * Every file the device fetches, rendered as it would get them now.
     * @param options.maskSecrets replace the account password with asterisks, for showing to people.
     * @param options.as render as if this user (null: nobody) sat at the device, without logging anyone in.
     */
    async renderDeviceFiles(device: DeviceRow, options: { maskSecrets?: boolean; as?: UserRow | null } = {}): Promise<RenderedFile[]> {
      const adapter = rendering.adapterOf(device);
      const actual = await rendering.profileOf(adapter, device, options.as);
      const profile: DeviceProfile =
        options.maskSecrets === true
          ? {
              ...actual,
              account: { ...actual.account, password: SECRET_MASK },
              provisioning: provisioningAccess(actual.baseUrl, actual.provisioning.username, SECRET_MASK),
              webPassword: SECRET_MASK,
            }
          : actual;
      const out: RenderedFile[] = [];
      for (const name of adapter.deviceFiles(profile.device.mac, profile.device.model)) {
        const file = adapter.matchPath(name);
        if (file === null) continue;
        const plan = file.mac === null ? adapter.planSharedFile(file, actual.baseUrl) : adapter.planDeviceFile(file, profile);
        if (plan === null) continue;
        out.push({
          name,
          body: rendering.render(device.tenantId, adapter, plan, device.model),
          contentType: adapter.contentType,
          template: { name: plan.template, level: rendering.levelOf(device.tenantId, adapter, plan, device.model) },
        });
      }
      return out;
    },
  };
}

export type Preview = ReturnType<typeof createPreview>;

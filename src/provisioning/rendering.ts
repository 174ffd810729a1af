import type { Db } from '../db/client.ts';
import type { DeviceRow, UserRow } from '../db/schema.ts';
import { findSeatedUserWithKeys } from '../domain/sessions.ts';
import { findTenantSettings, type InstanceDefaults, type TenantSettings } from '../domain/tenants.ts';
import { keysOf } from '../domain/users.ts';
import type { ModelProfile } from '../vendors/catalog.ts';
import { escapeContext } from '../vendors/escape.ts';
import type { DeviceProfile, RenderPlan, VendorAdapter } from '../vendors/types.ts';
import { buildDeviceProfile, type ProfileDevice } from './profile.ts';
import type { RenderedText } from './skeletons.ts';
import type { TemplateLevel, TemplateStore } from './templates.ts';

export interface RenderingDeps {
  readonly db: Db;
  /** The instance's registrar and base URLs, which a tenant's settings fall back on. */
  readonly config: InstanceDefaults;
  readonly adapters: readonly VendorAdapter[];
  readonly templates: TemplateStore;
}

/** A device as its profile is built: which one, whose, and the columns of the profile. */
export type ProfiledDevice = ProfileDevice & Pick<DeviceRow, 'id' | 'tenantId' | 'vendor'>;

/** A file rendered for a person to read (the admin preview, the golden files), not for a phone's fetch. */
export interface RenderedFile {
  readonly name: string;
  readonly body: string;
  readonly contentType: string;
  /** The vendor template it is rendered from (`device.cfg`), and which version of it (previews only). */
  readonly template?: { readonly name: string; readonly level: TemplateLevel };
}

/** The adapter's own name of a device's main file, the one holding its account. */
export const MAIN_FILE_KIND = 'device';

/**
 * From a device to its files' text: the vendor adapter, the profile it gets, and the one call into the template
 * renderer. The phone path, the admin preview, the screens and re-sync all render through here.
 */
export function createRendering(deps: RenderingDeps) {
  const adapterById = new Map(deps.adapters.map((a) => [a.id as string, a]));

  /** The adapter of an enrolled device's vendor. */
  const adapterOf = (device: Pick<DeviceRow, 'mac' | 'vendor'>): VendorAdapter => {
    const adapter = adapterById.get(device.vendor);
    if (adapter === undefined) throw new Error(`device ${device.mac}: unknown vendor ${device.vendor}`);
    return adapter;
  };

  const modelOf = (adapter: VendorAdapter, device: Pick<DeviceRow, 'mac' | 'model'>): ModelProfile => {
    const model = adapter.profile.models.get(device.model);
    if (model === undefined) throw new Error(`device ${device.mac}: model ${device.model} is not in vendor-profiles/${adapter.id}.json`);
    return model;
  };

  /** A tenant's settings, which must exist: the device's (or a shared file's) tenant. */
  const tenantOf = async (tenantId: number): Promise<TenantSettings> => {
    const tenant = await findTenantSettings(deps.db, tenantId, deps.config);
    if (tenant === undefined) throw new Error(`tenant ${tenantId} is missing`);
    return tenant;
  };

  return {
    adapterOf,
    modelOf,
    tenantOf,

    /**
     * The profile a device gets now: its user's if someone sits there, else idle; or the one it would get with
     * `seated` at it (null: idle), as an admin may preview. The adapter is the device's, resolved by the caller.
     */
    async profileOf(adapter: VendorAdapter, device: ProfiledDevice, seated?: UserRow | null): Promise<DeviceProfile> {
      const tenant = await tenantOf(device.tenantId);
      // Who sits there and their keys: one statement on the phone path; a preview names its user.
      const sitting =
        seated === undefined
          ? await findSeatedUserWithKeys(deps.db, device.id)
          : seated === null
            ? undefined
            : { user: seated, keys: await keysOf(deps.db, seated.id) };
      return buildDeviceProfile({
        tenant,
        device,
        model: modelOf(adapter, device),
        user: sitting === undefined ? null : { row: sitting.user, keys: sitting.keys },
        // The tenant's address (white-labelled by its provider), else the instance's.
        baseUrl: tenant.phoneBaseUrl,
      });
    },

    // ---- the calls into the template renderer (its internals are templates.ts's, skeletons.ts's and the adapters') ----
    /**
     * A plan's text: its context escaped for the file format (the adapter's, unless told), then rendered from the
     * tenant's templates (null: the shipped files).
     */
    render(
      tenantId: number | null,
      adapter: VendorAdapter,
      plan: RenderPlan,
      model: string | undefined,
      escapeValue: (value: string) => string = adapter.escape,
    ): string {
      return deps.templates.render(tenantId, adapter.id, plan.template, model, escapeContext(plan.context, escapeValue));
    },
    /**
     * A device's own file from its template's skeleton (see skeletons.ts): the same text as `render`, a fraction of
     * the work, kept by the cache as the phone's values and the shared skeleton.
     */
    renderFile(tenantId: number, adapter: VendorAdapter, plan: RenderPlan, model: string | undefined): RenderedText {
      return deps.templates.renderFile(tenantId, adapter.id, plan.template, model, plan.context, adapter.escape);
    },
    /** Which version of a plan's template a tenant's phone of this model gets (see TemplateStore.levelOf). */
    levelOf(tenantId: number, adapter: VendorAdapter, plan: RenderPlan, model: string | undefined): TemplateLevel {
      return deps.templates.levelOf(tenantId, adapter.id, plan.template, model);
    },
    // ---- end of the calls into the renderer ----
  };
}

export type Rendering = ReturnType<typeof createRendering>;

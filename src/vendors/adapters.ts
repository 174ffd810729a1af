import { PATHS } from '../paths.ts';
import { loadVendorProfile, type VendorId, type VendorProfile } from './catalog.ts';
import { createPolycomAdapter } from './polycom.ts';
import { createSnomAdapter } from './snom.ts';
import type { VendorAdapter } from './types.ts';
import { createYealinkAdapter } from './yealink.ts';

export const VENDOR_PROFILES_DIR = PATHS.vendorProfiles;

const FACTORIES: Readonly<Record<VendorId, (profile: VendorProfile) => VendorAdapter>> = {
  yealink: createYealinkAdapter,
  snom: createSnomAdapter,
  polycom: createPolycomAdapter,
};

/** Every vendor adapter with its profile from vendor-profiles/<vendor>.json, in a fixed order. */
export function loadVendorAdapters(dir: string = VENDOR_PROFILES_DIR): readonly VendorAdapter[] {
  return (Object.keys(FACTORIES) as VendorId[]).map((id) => FACTORIES[id](loadVendorProfile(`${dir}/${id}.json`)));
}

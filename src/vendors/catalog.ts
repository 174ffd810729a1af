import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { ModelCatalog } from '../domain/deps.ts';
import type { KeyCapacity } from '../domain/keyLayout.ts';
import { type Mac, parseMac } from '../domain/mac.ts';

const ExpansionSchema = z.object({
  name: z.string().min(1),
  modules: z.number().int().positive(),
  keysPerModule: z.number().int().positive(),
  /** Keys a module shows at once, when it pages through them (drawn as pages in the console's phone picture). */
  keysPerPage: z.number().int().positive().optional(),
});

const ModelSchema = z.object({
  name: z.string().min(1),
  aliases: z.array(z.string()).default([]),
  lineKeys: z.number().int().min(2),
  accounts: z.number().int().positive(),
  /** Yealink only: the number in the model's common file y0000000000XX.cfg. */
  hardwareId: z
    .string()
    .regex(/^\d{1,12}$/)
    .optional(),
  expansion: ExpansionSchema.nullable(),
  /** Keys the phone shows at once, when it pages through its line keys (drawn as pages in the phone picture). */
  keysPerPage: z.number().int().positive().optional(),
  /**
   * Where each fact above comes from (repository and path, or page), one entry per fact; a fact no source
   * confirms says UNVERIFIED and why the value was chosen. `platform` notes what differs for provisioning.
   */
  sources: z
    .object({
      lineKeys: z.string().min(1),
      accounts: z.string().min(1),
      expansion: z.string().min(1),
      hardwareId: z.string().min(1).optional(),
      keysPerPage: z.string().min(1).optional(),
      userAgent: z.string().min(1),
      platform: z.string().min(1).optional(),
    })
    .strict(),
});

const UaSampleSchema = z.object({
  ua: z.string(),
  model: z.string().nullable(),
  /** The catalogue model the sample's model resolves to, or null when hotprov does not list it. */
  catalogModel: z.string().nullable(),
  firmware: z.string().nullable(),
  mac: z.string().nullable(),
  source: z.string(),
});

const VendorProfileSchema = z.object({
  vendor: z.enum(['yealink', 'snom', 'polycom']),
  /** Other ids a person may give for this vendor (`poly` for `polycom`); they map to the same adapter. */
  vendorAliases: z.array(z.string().regex(/^[a-z]+$/)).default([]),
  name: z.string(),
  sources: z.array(z.string()),
  macPrefixes: z.array(z.string().regex(/^[0-9a-f]{6}$/)),
  userAgentPatterns: z.array(z.string()).min(1),
  models: z.record(z.string().regex(/^[A-Z0-9]+$/), ModelSchema),
  userAgentSamples: z.array(UaSampleSchema),
  /** Every setting name hotprov may emit for this vendor (numbers written as N), with where it is documented. */
  settings: z.record(z.string(), z.string().min(1)),
});

export type VendorId = z.infer<typeof VendorProfileSchema>['vendor'];

export interface ModelProfile extends KeyCapacity {
  readonly id: string;
  readonly name: string;
  readonly accounts: number;
  readonly hardwareId: string | undefined;
  /** Line keys shown at once (the rest on further pages); undefined when no source says. */
  readonly keysPerPage: number | undefined;
  /** An expansion module's keys shown at once; undefined when no source says. */
  readonly moduleKeysPerPage: number | undefined;
  readonly sources: Readonly<Record<string, string>>;
}

/** What a User-Agent says about the phone that sent it. */
export interface UserAgentInfo {
  /** The model as the phone spells it, normalised (upper case, letters and digits only). */
  readonly model: string;
  readonly firmware: string | null;
  readonly mac: Mac | null;
}

export interface VendorProfile {
  readonly vendor: VendorId;
  /** Other ids accepted for this vendor wherever a vendor is given. */
  readonly vendorAliases: readonly string[];
  readonly name: string;
  readonly macPrefixes: readonly string[];
  readonly models: ReadonlyMap<string, ModelProfile>;
  readonly userAgentSamples: readonly z.infer<typeof UaSampleSchema>[];
  readonly settings: Readonly<Record<string, string>>;
  /** Reads model, firmware and MAC from a User-Agent, or null when it is not this vendor's. */
  parseUserAgent(userAgent: string): UserAgentInfo | null;
  /** The catalogue model for a name as a person or a phone spells it (`t46u`, `VVX_450`, `Edge E450`). */
  findModel(name: string): ModelProfile | undefined;
}

/** Upper case, letters and digits only: how model names are compared. */
export function normaliseModelName(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]/g, '');
}

/**
 * Loads and checks one vendor's profile from vendor-profiles/<vendor>.json.
 * @throws Error naming the file and the first invalid field, at start-up rather than on a phone's request.
 */
export function loadVendorProfile(path: string): VendorProfile {
  const parsed = VendorProfileSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${path}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  const data = parsed.data;
  const models = new Map<string, ModelProfile>();
  const byName = new Map<string, ModelProfile>();
  for (const [id, m] of Object.entries(data.models)) {
    const model: ModelProfile = {
      id,
      name: m.name,
      lineKeys: m.lineKeys,
      accounts: m.accounts,
      hardwareId: m.hardwareId,
      expansion: m.expansion === null ? null : { name: m.expansion.name, modules: m.expansion.modules, keysPerModule: m.expansion.keysPerModule },
      keysPerPage: m.keysPerPage,
      moduleKeysPerPage: m.expansion?.keysPerPage,
      sources: m.sources,
    };
    models.set(id, model);
    for (const alias of [id, m.name, ...m.aliases]) byName.set(normaliseModelName(alias), model);
  }
  const patterns = data.userAgentPatterns.map((p) => new RegExp(p));
  return {
    vendor: data.vendor,
    vendorAliases: data.vendorAliases,
    name: data.name,
    macPrefixes: data.macPrefixes,
    models,
    userAgentSamples: data.userAgentSamples,
    settings: data.settings,
    findModel: (name) => byName.get(normaliseModelName(name)),
    parseUserAgent(userAgent) {
      for (const pattern of patterns) {
        const groups = pattern.exec(userAgent)?.groups;
        if (groups?.model === undefined) continue;
        // Poly reports the boot ROM's version while its updater runs; only the application's is the firmware.
        const firmware = groups.stage === undefined || groups.stage === 'Application' ? (groups.firmware ?? null) : null;
        return { model: normaliseModelName(groups.model), firmware, mac: groups.mac === undefined ? null : parseMac(groups.mac) };
      }
      return null;
    },
  };
}

/** The profile a vendor id as a person gives it names (`Polycom`, `poly`, ` yealink `), or undefined. */
export function findVendorProfile<P extends Pick<VendorProfile, 'vendor' | 'vendorAliases'>>(profiles: readonly P[], vendor: string): P | undefined {
  const id = vendor.toLowerCase().trim();
  return profiles.find((p) => p.vendor === id || p.vendorAliases.includes(id));
}

/** Every vendor's profile, as the domain's ModelCatalog. */
export function createModelCatalog(profiles: readonly VendorProfile[]): ModelCatalog {
  return {
    findModel(vendor, model) {
      const profile = findVendorProfile(profiles, vendor);
      const found = profile?.findModel(model);
      return profile === undefined || found === undefined ? null : { vendor: profile.vendor, model: found.id };
    },
    describe: () => profiles.map((p) => `${[p.vendor, ...p.vendorAliases].join(' or ')} (${[...p.models.keys()].join(', ')})`).join('; '),
  };
}

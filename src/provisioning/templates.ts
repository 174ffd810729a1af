import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import type { TemplateScope } from '../domain/templates.ts';
import { PATHS } from '../paths.ts';
import { createSkeletonCache, holdsSentinelCharacters, type RenderedText, refuseSentinel } from './skeletons.ts';

export const TEMPLATES_DIR = PATHS.templates;

type Compiled = Handlebars.TemplateDelegate<unknown>;

/**
 * Whose version of a vendor template: the tenant's (every phone of the vendor), one model's, or one device's. A
 * model's or a device's version may fill the blocks of the tenant's version (`{{#> base}}…{{/base}}`), as a model file
 * on disk fills the shipped file's.
 */
export type { TemplateScope };

const TENANT_SCOPE: TemplateScope = { level: 'tenant' };

/** A phone a file is rendered for: its model, and the device (absent for a file every phone of the model shares). */
export interface TemplateTarget {
  readonly model: string | undefined;
  readonly deviceId?: number;
}

/**
 * Compiled vendor templates: each compiled once (at start-up, or when an admin saves one), so a broken file stops
 * the server or the save, never a phone. An admin's version belongs to one tenant: each tenant's phones get the
 * tenant's own version, else the shipped file, and a save in one tenant changes nothing another tenant's phones get.
 * The most specific version wins: a device's own, its model's (the admin's, else a model file on disk), the tenant's,
 * the shipped file.
 */
export interface TemplateStore {
  /**
   * Renders `templates/<vendor>/<name>.hbs` (or the version the phone gets, see `levelOf`); a model file on disk
   * `<name>.<MODEL>.hbs` fills the partial blocks of the tenant's version of its base:
   * `{{#> base}}{{#*inline "block"}}…{{/inline}}{{/base}}`.
   * @param tenantId whose version; null for the shipped file.
   * @param model the phone's model, or a target naming the device too.
   * @param context values already escaped for the file's format.
   */
  render(tenantId: number | null, vendor: string, name: string, model: string | undefined | TemplateTarget, context: unknown): string;
  /**
   * Renders a phone's own file like `render`, from values not yet escaped (each string goes through `escapeValue`),
   * from the skeleton of the template for the context's shape: the parts the same for every phone are rendered
   * once per template revision, only the values per phone (see skeletons.ts). The text is the same as `render`'s.
   */
  renderFile(
    tenantId: number | null,
    vendor: string,
    name: string,
    model: string | undefined | TemplateTarget,
    context: unknown,
    escapeValue: (value: string) => string,
  ): RenderedText;
  /** The vendor-level templates an admin may edit, by vendor. */
  names(): ReadonlyMap<string, readonly string[]>;
  /** The file shipped in templates/, as it is on disk. */
  shippedSource(vendor: string, name: string): string;
  /**
   * The source a phone at this scope gets now (the tenant's: its admin's override, or the shipped file): the scope's
   * own version, else the one it inherits, which is where an admin's new version of that scope starts from.
   */
  currentSource(tenantId: number, vendor: string, name: string, scope?: TemplateScope): string;
  /** Whether an admin gave the scope a version of its own (a model file on disk is not one). */
  hasOwn(tenantId: number, vendor: string, name: string, scope: TemplateScope): boolean;
  /**
   * Puts a tenant's version at a scope (default: the tenant's) in place of the one inherited (null: back to it).
   * Compiles it first.
   */
  setOverride(tenantId: number, vendor: string, name: string, source: string | null, scope?: TemplateScope): void;
  /** Told after every setOverride, with its tenant and what changed, so files rendered with the old text are forgotten. */
  onChange(listener: (tenantId: number, change: TemplateChange) => void): void;
  /** Which version a tenant's phone of this model (and device) is rendered from: as `render` resolves it. */
  levelOf(tenantId: number | null, vendor: string, name: string, model: string | undefined | TemplateTarget): TemplateLevel;
}

/** A version set or removed: the phones it concerns are the scope's. */
export interface TemplateChange {
  readonly vendor: string;
  readonly name: string;
  readonly scope: TemplateScope;
}

/**
 * Where a phone's file comes from: the device's own version, the admin's version for its model, the model's own
 * file on disk (`<name>.<MODEL>.hbs`), the tenant's saved version of the vendor template, or the template as shipped.
 */
export type TemplateLevel = 'device' | 'model' | 'model-file' | 'tenant' | 'shipped';

/**
 * A Handlebars environment of its own (never the global one) with HTML escaping off, because phone files are
 * not HTML and values arrive escaped for their format, and strict lookups so a missing value is an error, not an
 * empty line in a phone's config.
 */
function environment(): typeof Handlebars {
  const hbs = Handlebars.create();
  hbs.registerHelper('eq', (a: unknown, b: unknown) => {
    refuseSentinel(a);
    refuseSentinel(b);
    return a === b;
  });
  // Handlebars' own lookup, refusing to look up by a per-phone value while a skeleton is rendered.
  const lookup = hbs.helpers.lookup as Handlebars.HelperDelegate;
  hbs.registerHelper('lookup', function (this: unknown, obj: unknown, field: unknown, options: Handlebars.HelperOptions) {
    refuseSentinel(field);
    return lookup.call(this, obj, field, options);
  });
  return hbs;
}

/**
 * Compiles a template now (Handlebars would otherwise compile on first use), so syntax errors surface here,
 * with Handlebars' line numbers.
 */
export function compileTemplate(source: string, base?: string): Compiled {
  const hbs = environment();
  if (base !== undefined) hbs.registerPartial('base', base);
  hbs.precompile(source, COMPILE_OPTIONS);
  return hbs.compile(source, COMPILE_OPTIONS);
}

/**
 * Known helpers only: `{{index}}` then compiles to a plain lookup instead of asking at every use whether a
 * helper of that name exists, which made a 35 KB Yealink file render 2.4 times slower. A helper hotprov does
 * not define is then an error when the template is checked, not when a phone asks.
 */
const COMPILE_OPTIONS = { noEscape: true, strict: true, knownHelpersOnly: true, knownHelpers: { eq: true } } as const;

/** A tenant's own version of a template at one scope (or a model file on disk over the tenant's base), compiled. */
interface Override {
  readonly vendor: string;
  readonly name: string;
  readonly scope: TemplateScope;
  readonly source: string;
  readonly compiled: Compiled;
  /** The skeletons' key: the tenant's, so no skeleton, and no ETag made from one, is shared with another tenant. */
  readonly key: string;
  readonly unsplittable: boolean;
}

/** Where a scope's version is kept among a tenant's versions. */
const scopeKey = (vendor: string, name: string, scope: TemplateScope): string =>
  scope.level === 'tenant'
    ? `${vendor}/${name}`
    : scope.level === 'model'
      ? `${vendor}/${name}#model:${scope.model}`
      : `${vendor}/${name}#device:${scope.deviceId}`;

const targetOf = (model: string | undefined | TemplateTarget): TemplateTarget => (typeof model === 'object' ? model : { model });

export function createTemplateStore(dir: string = TEMPLATES_DIR): TemplateStore {
  const compiled = new Map<string, Compiled>();
  const shipped = new Map<string, string>();
  /** The model files on disk, `vendor/name.MODEL` → their text. */
  const modelFiles = new Map<string, string>();
  /** By tenant, then scopeKey. */
  const overrides = new Map<number, Map<string, Override>>();
  /** By tenant, then `vendor/name.MODEL`: a model file on disk compiled over the tenant's version of its base. */
  const modelFilesOverTenant = new Map<number, Map<string, Override>>();
  const names = new Map<string, string[]>();
  const listeners: ((tenantId: number, change: TemplateChange) => void)[] = [];
  const skeletons = createSkeletonCache();
  /** Templates whose text holds the skeletons' sentinel characters: rendered in full. */
  const unsplittable = new Set<string>();
  for (const vendor of readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    const folder = join(dir, vendor.name);
    const files = readdirSync(folder).filter((f) => f.endsWith('.hbs'));
    for (const file of files) {
      const stem = file.slice(0, -'.hbs'.length);
      // A model file is <name>.<MODEL>.hbs next to <name>.hbs.
      const modelMatch = /^(.*)\.([A-Z0-9]+)$/.exec(stem);
      const baseName = modelMatch?.[1];
      const isModelFile = baseName !== undefined && files.includes(`${baseName}.hbs`);
      const source = readFileSync(join(folder, file), 'utf8');
      try {
        const base = isModelFile ? readFileSync(join(folder, `${baseName}.hbs`), 'utf8') : undefined;
        const template = compileTemplate(source, base);
        compiled.set(`${vendor.name}/${stem}`, template);
        if (holdsSentinelCharacters(source + (base ?? ''))) unsplittable.add(`${vendor.name}/${stem}`);
      } catch (err) {
        throw new Error(`template ${vendor.name}/${file}: ${(err as Error).message}`);
      }
      if (isModelFile) modelFiles.set(`${vendor.name}/${stem}`, source);
      else {
        shipped.set(`${vendor.name}/${stem}`, source);
        names.set(vendor.name, [...(names.get(vendor.name) ?? []), stem].sort());
      }
    }
  }
  const known = (vendor: string, name: string) => {
    const source = shipped.get(`${vendor}/${name}`);
    if (source === undefined) throw new Error(`no template ${vendor}/${name}.hbs in ${dir}`);
    return source;
  };
  const ownOf = (tenantId: number | null, vendor: string, name: string, scope: TemplateScope): Override | undefined =>
    tenantId === null ? undefined : overrides.get(tenantId)?.get(scopeKey(vendor, name, scope));
  /** The tenant's version of the vendor template, or the shipped file: what a model's or device's version fills. */
  const tenantSource = (tenantId: number | null, vendor: string, name: string) => ownOf(tenantId, vendor, name, TENANT_SCOPE)?.source ?? known(vendor, name);
  const compileOver = (tenantId: number, vendor: string, name: string, scope: TemplateScope, key: string, source: string): Override => {
    const base = scope.level === 'tenant' ? undefined : tenantSource(tenantId, vendor, name);
    return {
      vendor,
      name,
      scope,
      source,
      compiled: compileTemplate(source, base),
      key: `${key}@tenant${tenantId}`,
      unsplittable: holdsSentinelCharacters(source + (base ?? '')),
    };
  };
  /**
   * After the tenant's version of a template changed: its models' and devices' versions, and the model files on
   * disk, fill the new text's blocks from now on.
   */
  const rebase = (tenantId: number, vendor: string, name: string) => {
    const own = overrides.get(tenantId);
    for (const [key, version] of own ?? []) {
      if (version.vendor !== vendor || version.name !== name || version.scope.level === 'tenant') continue;
      own?.set(key, compileOver(tenantId, vendor, name, version.scope, key, version.source));
      skeletons.forget(version.key);
    }
    let over = modelFilesOverTenant.get(tenantId);
    for (const [key, source] of modelFiles) {
      if (!key.startsWith(`${vendor}/${name}.`) || !/^[A-Z0-9]+$/.test(key.slice(`${vendor}/${name}.`.length))) continue;
      const before = over?.get(key);
      if (before !== undefined) skeletons.forget(before.key);
      if (ownOf(tenantId, vendor, name, TENANT_SCOPE) === undefined) {
        over?.delete(key);
        continue;
      }
      if (over === undefined) {
        over = new Map();
        modelFilesOverTenant.set(tenantId, over);
      }
      over.set(key, compileOver(tenantId, vendor, name, { level: 'model', model: key.slice(`${vendor}/${name}.`.length) }, key, source));
    }
  };
  /** The template a tenant's phone gets, and at which level. */
  const resolve = (tenantId: number | null, vendor: string, name: string, target: TemplateTarget) => {
    const { model, deviceId } = target;
    const chosen = (level: TemplateLevel, version: Override) => ({ level, key: version.key, template: version.compiled, splittable: !version.unsplittable });
    if (deviceId !== undefined && model !== undefined) {
      const own = ownOf(tenantId, vendor, name, { level: 'device', deviceId, model });
      if (own !== undefined) return chosen('device', own);
    }
    if (model !== undefined) {
      const own = ownOf(tenantId, vendor, name, { level: 'model', model });
      if (own !== undefined) return chosen('model', own);
      const modelKey = `${vendor}/${name}.${model}`;
      const overTenant = tenantId === null ? undefined : modelFilesOverTenant.get(tenantId)?.get(modelKey);
      if (overTenant !== undefined) return chosen('model-file', overTenant);
      const modelTemplate = compiled.get(modelKey);
      if (modelTemplate !== undefined) return { level: 'model-file' as const, key: modelKey, template: modelTemplate, splittable: !unsplittable.has(modelKey) };
    }
    const own = ownOf(tenantId, vendor, name, TENANT_SCOPE);
    if (own !== undefined) return chosen('tenant', own);
    const key = `${vendor}/${name}`;
    const template = compiled.get(key);
    if (template === undefined) throw new Error(`no template ${vendor}/${name}.hbs in ${dir}`);
    return { level: 'shipped' as const, key, template, splittable: !unsplittable.has(key) };
  };
  const currentSource = (tenantId: number, vendor: string, name: string, scope: TemplateScope = TENANT_SCOPE): string => {
    const own = ownOf(tenantId, vendor, name, scope);
    if (own !== undefined) return own.source;
    if (scope.level === 'device') return currentSource(tenantId, vendor, name, { level: 'model', model: scope.model });
    if (scope.level === 'model') return modelFiles.get(`${vendor}/${name}.${scope.model}`) ?? tenantSource(tenantId, vendor, name);
    return known(vendor, name);
  };
  return {
    levelOf(tenantId, vendor, name, model) {
      return resolve(tenantId, vendor, name, targetOf(model)).level;
    },
    render(tenantId, vendor, name, model, context) {
      return resolve(tenantId, vendor, name, targetOf(model)).template(context);
    },
    renderFile(tenantId, vendor, name, model, context, escapeValue) {
      const { key, template, splittable } = resolve(tenantId, vendor, name, targetOf(model));
      return skeletons.render(key, template, context, escapeValue, splittable);
    },
    names: () => names,
    shippedSource: known,
    currentSource,
    hasOwn: (tenantId, vendor, name, scope) => ownOf(tenantId, vendor, name, scope) !== undefined,
    setOverride(tenantId, vendor, name, source, scope = TENANT_SCOPE) {
      const key = scopeKey(vendor, name, scope);
      known(vendor, name);
      let own = overrides.get(tenantId);
      const before = own?.get(key);
      if (source === null) own?.delete(key);
      else {
        const version = compileOver(tenantId, vendor, name, scope, key, source);
        if (own === undefined) {
          own = new Map();
          overrides.set(tenantId, own);
        }
        own.set(key, version);
      }
      // Only this tenant's skeletons of the template were made from the old text.
      if (before !== undefined) skeletons.forget(before.key);
      if (scope.level === 'tenant') rebase(tenantId, vendor, name);
      for (const listener of listeners) listener(tenantId, { vendor, name, scope });
    },
    onChange(listener) {
      listeners.push(listener);
    },
  };
}

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import { PATHS } from '../paths.ts';
import { createSkeletonCache, holdsSentinelCharacters, type RenderedText, refuseSentinel } from './skeletons.ts';

export const TEMPLATES_DIR = PATHS.templates;

type Compiled = Handlebars.TemplateDelegate<unknown>;

/**
 * Compiled vendor templates: each compiled once (at start-up, or when an admin saves one), so a broken file stops
 * the server or the save, never a phone. An admin's version belongs to one tenant: each tenant's phones get the
 * tenant's own version, else the shipped file, and a save in one tenant changes nothing another tenant's phones get.
 */
export interface TemplateStore {
  /**
   * Renders `templates/<vendor>/<name>.hbs` (or the tenant's saved version of it), or `<name>.<MODEL>.hbs` when that
   * model has its own file (a model file fills the base's partial blocks:
   * `{{#> base}}{{#*inline "block"}}…{{/inline}}{{/base}}`).
   * @param tenantId whose version; null for the shipped file.
   * @param context values already escaped for the file's format.
   */
  render(tenantId: number | null, vendor: string, name: string, model: string | undefined, context: unknown): string;
  /**
   * Renders a phone's own file like `render`, from values not yet escaped (each string goes through `escapeValue`),
   * from the skeleton of the template for the context's shape: the parts the same for every phone are rendered
   * once per template revision, only the values per phone (see skeletons.ts). The text is the same as `render`'s.
   */
  renderFile(
    tenantId: number | null,
    vendor: string,
    name: string,
    model: string | undefined,
    context: unknown,
    escapeValue: (value: string) => string,
  ): RenderedText;
  /** The vendor-level templates an admin may edit, by vendor. */
  names(): ReadonlyMap<string, readonly string[]>;
  /** The file shipped in templates/, as it is on disk. */
  shippedSource(vendor: string, name: string): string;
  /** The source the tenant's phones get now: its admin's override, or the shipped file. */
  currentSource(tenantId: number, vendor: string, name: string): string;
  /** Puts a tenant's version in place of the shipped file for its phones (null: back to the file). Compiles it first. */
  setOverride(tenantId: number, vendor: string, name: string, source: string | null): void;
  /** Told after every setOverride, with its tenant, so files rendered with the old text are forgotten. */
  onChange(listener: (tenantId: number) => void): void;
  /** Which version a tenant's phone of this model is rendered from: as `render` resolves it. */
  levelOf(tenantId: number | null, vendor: string, name: string, model: string | undefined): TemplateLevel;
}

/**
 * Where a phone's file comes from: the model's own file on disk (`<name>.<MODEL>.hbs`), the tenant's saved version
 * of the vendor template, or the template as shipped.
 */
export type TemplateLevel = 'model' | 'tenant' | 'shipped';

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

/** A tenant's own version of a template, compiled. */
interface Override {
  readonly source: string;
  readonly compiled: Compiled;
  /** The skeletons' key: the tenant's, so no skeleton, and no ETag made from one, is shared with another tenant. */
  readonly key: string;
  readonly unsplittable: boolean;
}

export function createTemplateStore(dir: string = TEMPLATES_DIR): TemplateStore {
  const compiled = new Map<string, Compiled>();
  const shipped = new Map<string, string>();
  /** By tenant, then `vendor/name`. */
  const overrides = new Map<number, Map<string, Override>>();
  const names = new Map<string, string[]>();
  const listeners: ((tenantId: number) => void)[] = [];
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
      if (!isModelFile) {
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
  /** The template a tenant's phone gets: the model's own file, else the tenant's version, else the shipped file. */
  const resolve = (tenantId: number | null, vendor: string, name: string, model: string | undefined) => {
    const modelKey = model === undefined ? undefined : `${vendor}/${name}.${model}`;
    const modelTemplate = modelKey === undefined ? undefined : compiled.get(modelKey);
    if (modelKey !== undefined && modelTemplate !== undefined) return { key: modelKey, template: modelTemplate, splittable: !unsplittable.has(modelKey) };
    const key = `${vendor}/${name}`;
    const own = tenantId === null ? undefined : overrides.get(tenantId)?.get(key);
    if (own !== undefined) return { key: own.key, template: own.compiled, splittable: !own.unsplittable };
    const template = compiled.get(key);
    if (template === undefined) throw new Error(`no template ${vendor}/${name}.hbs in ${dir}`);
    return { key, template, splittable: !unsplittable.has(key) };
  };
  return {
    levelOf(tenantId, vendor, name, model) {
      if (model !== undefined && compiled.has(`${vendor}/${name}.${model}`)) return 'model';
      return tenantId !== null && overrides.get(tenantId)?.has(`${vendor}/${name}`) === true ? 'tenant' : 'shipped';
    },
    render(tenantId, vendor, name, model, context) {
      return resolve(tenantId, vendor, name, model).template(context);
    },
    renderFile(tenantId, vendor, name, model, context, escapeValue) {
      const { key, template, splittable } = resolve(tenantId, vendor, name, model);
      return skeletons.render(key, template, context, escapeValue, splittable);
    },
    names: () => names,
    shippedSource: known,
    currentSource: (tenantId, vendor, name) => overrides.get(tenantId)?.get(`${vendor}/${name}`)?.source ?? known(vendor, name),
    setOverride(tenantId, vendor, name, source) {
      const key = `${vendor}/${name}`;
      known(vendor, name);
      let own = overrides.get(tenantId);
      const before = own?.get(key);
      if (source === null) own?.delete(key);
      else {
        const template = compileTemplate(source);
        if (own === undefined) {
          own = new Map();
          overrides.set(tenantId, own);
        }
        own.set(key, { source, compiled: template, key: `${key}@tenant${tenantId}`, unsplittable: holdsSentinelCharacters(source) });
      }
      // Only this tenant's skeletons of the template were made from the old text.
      if (before !== undefined) skeletons.forget(before.key);
      for (const listener of listeners) listener(tenantId);
    },
    onChange(listener) {
      listeners.push(listener);
    },
  };
}

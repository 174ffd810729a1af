import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import { PATHS } from '../paths.ts';
import { createSkeletonCache, holdsSentinelCharacters, type RenderedText, refuseSentinel } from './skeletons.ts';

export const TEMPLATES_DIR = PATHS.templates;

type Compiled = Handlebars.TemplateDelegate<unknown>;

/**
 * Compiled vendor templates: each compiled once (at start-up, or when an admin saves one), so a broken file stops
 * the server or the save, never a phone.
 */
export interface TemplateStore {
  /**
   * Renders `templates/<vendor>/<name>.hbs` (or the admin's saved version of it), or `<name>.<MODEL>.hbs` when that
   * model has its own file (a model file fills the base's partial blocks:
   * `{{#> base}}{{#*inline "block"}}…{{/inline}}{{/base}}`).
   * @param context values already escaped for the file's format.
   */
  render(vendor: string, name: string, model: string | undefined, context: unknown): string;
  /**
   * Renders a phone's own file like `render`, from values not yet escaped (each string goes through `escapeValue`),
   * from the skeleton of the template for the context's shape: the parts the same for every phone are rendered
   * once per template revision, only the values per phone (see skeletons.ts). The text is the same as `render`'s.
   */
  renderFile(vendor: string, name: string, model: string | undefined, context: unknown, escapeValue: (value: string) => string): RenderedText;
  /** The vendor-level templates an admin may edit, by vendor. */
  names(): ReadonlyMap<string, readonly string[]>;
  /** The file shipped in templates/, as it is on disk. */
  shippedSource(vendor: string, name: string): string;
  /** The source phones get now: the admin's override, or the shipped file. */
  currentSource(vendor: string, name: string): string;
  /** Puts an admin's version in place of the shipped file (null: back to the file). Compiles it first. */
  setOverride(vendor: string, name: string, source: string | null): void;
  /** Told after every setOverride, so rendered files made with the old text are forgotten. */
  onChange(listener: () => void): void;
}

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

export function createTemplateStore(dir: string = TEMPLATES_DIR): TemplateStore {
  const compiled = new Map<string, Compiled>();
  const shipped = new Map<string, string>();
  const overrides = new Map<string, string>();
  const names = new Map<string, string[]>();
  const listeners: (() => void)[] = [];
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
  return {
    render(vendor, name, model, context) {
      const template = (model === undefined ? undefined : compiled.get(`${vendor}/${name}.${model}`)) ?? compiled.get(`${vendor}/${name}`);
      if (template === undefined) throw new Error(`no template ${vendor}/${name}.hbs in ${dir}`);
      return template(context);
    },
    renderFile(vendor, name, model, context, escapeValue) {
      const modelKey = model === undefined ? undefined : `${vendor}/${name}.${model}`;
      const key = modelKey !== undefined && compiled.has(modelKey) ? modelKey : `${vendor}/${name}`;
      const template = compiled.get(key);
      if (template === undefined) throw new Error(`no template ${vendor}/${name}.hbs in ${dir}`);
      return skeletons.render(key, template, context, escapeValue, !unsplittable.has(key));
    },
    names: () => names,
    shippedSource: known,
    currentSource: (vendor, name) => overrides.get(`${vendor}/${name}`) ?? known(vendor, name),
    setOverride(vendor, name, source) {
      const key = `${vendor}/${name}`;
      const original = known(vendor, name);
      compiled.set(key, compileTemplate(source ?? original));
      if (holdsSentinelCharacters(source ?? original)) unsplittable.add(key);
      else unsplittable.delete(key);
      if (source === null) overrides.delete(key);
      else overrides.set(key, source);
      skeletons.clear();
      for (const listener of listeners) listener();
    },
    onChange(listener) {
      listeners.push(listener);
    },
  };
}

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';

export const TEMPLATES_DIR = fileURLToPath(new URL('../../templates', import.meta.url));

type Compiled = Handlebars.TemplateDelegate<unknown>;

/** Compiled vendor templates: each compiled once, at start-up, so a broken one stops the server rather than a phone. */
export interface TemplateStore {
  /**
   * Renders `templates/<vendor>/<name>.hbs`, or `<name>.<MODEL>.hbs` when that model has its own file
   * (a model file fills the base's partial blocks: `{{#> base}}{{#*inline "block"}}…{{/inline}}{{/base}}`).
   * @param context values already escaped for the file's format.
   */
  render(vendor: string, name: string, model: string | undefined, context: unknown): string;
}

/**
 * A Handlebars environment of its own (never the global one) with HTML escaping off, because phone files are
 * not HTML and values arrive escaped for their format, and strict lookups so a missing value is an error, not an
 * empty line in a phone's config.
 */
function environment(): typeof Handlebars {
  const hbs = Handlebars.create();
  hbs.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  return hbs;
}

export function compileTemplate(source: string, base?: string): Compiled {
  const hbs = environment();
  if (base !== undefined) hbs.registerPartial('base', base);
  return hbs.compile(source, { noEscape: true, strict: true });
}

export function createTemplateStore(dir: string = TEMPLATES_DIR): TemplateStore {
  const compiled = new Map<string, Compiled>();
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
        const template = isModelFile
          ? compileTemplate(source, readFileSync(join(folder, `${baseName}.hbs`), 'utf8'))
          : compileTemplate(source);
        // Force compilation now: Handlebars compiles lazily on first use otherwise.
        Handlebars.precompile(source);
        compiled.set(`${vendor.name}/${stem}`, template);
      } catch (err) {
        throw new Error(`template ${vendor.name}/${file}: ${(err as Error).message}`);
      }
    }
  }
  return {
    render(vendor, name, model, context) {
      const template = (model === undefined ? undefined : compiled.get(`${vendor}/${name}.${model}`)) ?? compiled.get(`${vendor}/${name}`);
      if (template === undefined) throw new Error(`no template ${vendor}/${name}.hbs in ${dir}`);
      return template(context);
    },
  };
}

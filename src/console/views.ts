import { readdirSync, readFileSync } from 'node:fs';
import Handlebars from 'handlebars';
import { PATHS } from '../paths.ts';

const VIEWS = PATHS.consoleViews;

/**
 * The console's pages: Handlebars views with HTML escaping on (these are web pages, unlike phone files),
 * each rendered inside layout.hbs. Compiled once at start-up.
 */
export interface Views {
  /** A whole page: the view inside the layout. */
  page(name: string, data: Record<string, unknown>): string;
  /** A partial on its own (`_name.hbs`), for the parts pages fetch again. */
  partial(name: string, data: Record<string, unknown>): string;
}

export function createViews(): Views {
  const hbs = Handlebars.create();
  hbs.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  hbs.registerHelper('json', (v: unknown) => JSON.stringify(v));
  const pages = new Map<string, Handlebars.TemplateDelegate>();
  const partials = new Map<string, Handlebars.TemplateDelegate>();
  for (const file of readdirSync(VIEWS).filter((f) => f.endsWith('.hbs'))) {
    const name = file.slice(0, -4);
    const source = readFileSync(`${VIEWS}/${file}`, 'utf8');
    if (name.startsWith('_')) {
      hbs.registerPartial(name.slice(1), source);
      partials.set(name.slice(1), hbs.compile(source));
    } else {
      pages.set(name, hbs.compile(source));
    }
  }
  const layout = pages.get('layout');
  if (layout === undefined) throw new Error('console view layout.hbs is missing');
  const find = (map: Map<string, Handlebars.TemplateDelegate>, name: string) => {
    const view = map.get(name);
    if (view === undefined) throw new Error(`console view ${name} is missing`);
    return view;
  };
  return {
    page: (name, data) => layout({ ...data, body: find(pages, name)(data) }),
    partial: (name, data) => find(partials, name)(data),
  };
}

import type { RouterContext } from '@koa/router';
import { NotFound } from '../errors.ts';

/** A whole number from the path (a row's id), or the thing it names is not found: the API's and the console's answer alike. */
export function idParam(ctx: RouterContext, name: string, what: string): number {
  const raw = ctx.params[name] ?? '';
  if (!/^\d{1,15}$/.test(raw)) throw NotFound(`${what} ${raw}`);
  return Number(raw);
}

import type { RouterContext } from '@koa/router';
import type { z } from 'zod';
import { canManageTenants, canSeeSecrets, canWrite, type Principal } from '../domain/access.ts';
import { type ConsoleSession, type Flash, setFlash } from '../domain/admins.ts';
import type { Actor } from '../domain/deps.ts';
import { findTenantSettings, listActiveTenants, type TenantSettings } from '../domain/tenants.ts';
import { AppError } from '../errors.ts';
import type { ConsoleDeps } from './deps.ts';
import { formInput } from './forms.ts';
import { mayUse, ROUTE_ACCESS } from './permissions.ts';
import type { Views } from './views.ts';

/** The session cookie. */
export const SESSION_COOKIE = 'hotprov_session';

/** A date as the console shows it, its time zone said: `2026-03-02 09:00 UTC`, blank for none. */
export const when = (d: Date | null | undefined) => (d == null ? '' : `${d.toISOString().replace('T', ' ').slice(0, 16)} UTC`);

/** How long ago, as people say it: `just now`, `5 min ago`, `3 h ago`, `2 days ago`; blank for none. */
export function ago(d: Date | null | undefined, now: Date): string {
  if (d == null) return '';
  const minutes = Math.floor((now.getTime() - d.getTime()) / 60_000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} days ago`;
}

/** Cookies are Secure whenever the request came over HTTPS (directly, or through a proxy hotprov trusts). */
export const cookieOptions = (ctx: RouterContext) => ({ httpOnly: true, secure: ctx.secure, path: '/console' });

/** What every page of the console shares: the signed-in admin, the layout, notices after a change, its form. */
export interface PageKit {
  readonly deps: ConsoleDeps;
  readonly views: Views;
  /** The tenant the page acts in: a provider's choice in the switcher (the default tenant at first), anyone else's own. */
  tenantId(ctx: RouterContext): number;
  /** That tenant's settings as they are now. */
  tenant(ctx: RouterContext): Promise<TenantSettings>;
  /** Who is signed in, with their role and tenant (set by the session guard). */
  principal(ctx: RouterContext): Principal;
  session(ctx: RouterContext): ConsoleSession | null;
  /** The signed-in admin, as the audit log names them. */
  actor(ctx: RouterContext): Actor;
  /** Answers a whole page: the view in the layout, with the notice or error the change before left. */
  page(ctx: RouterContext, view: string, data: Record<string, unknown>): Promise<void>;
  /** Redirects to a page that shows the note once (kept in the session, never in the URL). */
  back(ctx: RouterContext, path: string, note: Flash): Promise<void>;
  /** Answers 403 with a page that says so: the signed-in role may not do this. */
  forbidden(ctx: RouterContext): Promise<void>;
  /** Runs a change; a refusal from the domain (bad input, conflict…) goes back to the page as a message. */
  attempt(ctx: RouterContext, path: string, work: () => unknown, notice: string): Promise<void>;
  /** The posted form (read and its CSRF token checked before any page sees it), as the form's schema reads it. */
  input<S extends z.ZodType>(ctx: RouterContext, schema: S, lists?: readonly string[]): z.infer<S>;
}

/** What the pages show a principal: forms and secrets by role, the menu by the routes the role may use. */
const can = (p: Principal) => {
  const may = (route: string) => mayUse(p.role, ROUTE_ACCESS[route] ?? 'provider');
  return {
    write: canWrite(p),
    secrets: canSeeSecrets(p),
    templates: may('GET /console/templates'),
    audit: may('GET /console/audit'),
    occupancy: may('GET /console/occupancy'),
    settings: may('GET /console/settings'),
    admins: may('GET /console/admins'),
    webhooks: may('GET /console/webhooks'),
    tenants: canManageTenants(p) && may('GET /console/tenants'),
    overview: canManageTenants(p) && may('GET /console/overview'),
  };
};

export function createPageKit(deps: ConsoleDeps, views: Views): PageKit {
  const { domain } = deps;
  const session = (ctx: RouterContext): ConsoleSession | null => ctx.state.console as ConsoleSession | null;
  const back = async (ctx: RouterContext, path: string, note: Flash) => {
    const cookie = ctx.cookies.get(SESSION_COOKIE);
    if (cookie !== undefined && (note.notice !== undefined || note.error !== undefined)) await setFlash(domain.db, cookie, note);
    ctx.redirect(path);
  };
  const tenantId = (ctx: RouterContext): number => {
    const id = ctx.state.tenantId as number | undefined;
    // The session guard sets it before any page runs; a page without it is a bug, not the default tenant.
    if (id === undefined) throw new Error('console page reached without a tenant');
    return id;
  };
  const principal = (ctx: RouterContext): Principal => {
    const p = ctx.state.principal as Principal | undefined;
    if (p === undefined) throw new Error('console page reached without a principal');
    return p;
  };
  const page = async (ctx: RouterContext, view: string, data: Record<string, unknown>) => {
    const s = session(ctx);
    // A notice or error left by the change before is shown once; the URL never carries one.
    const flash = s?.flash ?? null;
    const cookie = ctx.cookies.get(SESSION_COOKIE);
    if (flash !== null && cookie !== undefined) await setFlash(domain.db, cookie, null);
    const p = ctx.state.principal as Principal | undefined;
    const current = ctx.state.tenantId as number | undefined;
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = views.page(view, {
      ...data,
      admin: s?.admin.username,
      can: p === undefined ? {} : can(p),
      // The switcher: a provider picks the tenant; everyone else sees none.
      switcher:
        p !== undefined && canManageTenants(p)
          ? (await listActiveTenants(domain.db)).map((t) => ({ slug: t.slug, name: t.name, selected: t.id === current }))
          : null,
      tenantName: current === undefined ? undefined : (await findTenantSettings(domain.db, current, deps.config))?.name,
      csrf: s?.csrfToken,
      nonce: ctx.state.cspNonce,
      notice: flash?.notice,
      error: data.error ?? flash?.error,
    });
  };
  return {
    deps,
    views,
    tenantId,
    async tenant(ctx) {
      const settings = await findTenantSettings(domain.db, tenantId(ctx), deps.config);
      if (settings === undefined) throw new Error(`tenant ${tenantId(ctx)} does not exist`);
      return settings;
    },
    principal,
    session,
    actor: (ctx) => ({ name: `admin:${session(ctx)?.admin.username ?? '?'}` }),
    page,
    async forbidden(ctx) {
      await page(ctx, 'forbidden', { title: 'Not allowed' });
      ctx.status = 403;
    },
    back,
    async attempt(ctx, path, work, notice) {
      try {
        await work();
        await back(ctx, path, { notice });
      } catch (err) {
        if (!(err instanceof AppError) || err.status >= 500) throw err;
        await back(ctx, path, { error: err.message });
      }
    },
    input: (ctx, schema, lists) => formInput(ctx.state.form as URLSearchParams, schema, lists),
  };
}

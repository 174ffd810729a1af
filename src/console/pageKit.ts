import type { RouterContext } from '@koa/router';
import type { z } from 'zod';
import { type ConsoleSession, type Flash, setFlash } from '../domain/admins.ts';
import type { Actor } from '../domain/deps.ts';
import { AppError } from '../errors.ts';
import type { ConsoleDeps } from './deps.ts';
import { formInput } from './forms.ts';
import type { Views } from './views.ts';

/** The session cookie. */
export const SESSION_COOKIE = 'hotprov_session';

/** A date as the console shows it: `2026-03-02 09:00` (UTC), blank for none. */
export const when = (d: Date | null | undefined) => (d == null ? '' : d.toISOString().replace('T', ' ').slice(0, 16));

/** Cookies are Secure whenever the request came over HTTPS (directly, or through a proxy hotprov trusts). */
export const cookieOptions = (ctx: RouterContext) => ({ httpOnly: true, secure: ctx.secure, path: '/console' });

/** What every page of the console shares: the signed-in admin, the layout, notices after a change, its form. */
export interface PageKit {
  readonly deps: ConsoleDeps;
  readonly views: Views;
  readonly tenantId: () => number;
  session(ctx: RouterContext): ConsoleSession | null;
  /** The signed-in admin, as the audit log names them. */
  actor(ctx: RouterContext): Actor;
  /** Answers a whole page: the view in the layout, with the notice or error the change before left. */
  page(ctx: RouterContext, view: string, data: Record<string, unknown>): void;
  /** Redirects to a page that shows the note once (kept in the session, never in the URL). */
  back(ctx: RouterContext, path: string, note: Flash): void;
  /** Runs a change; a refusal from the domain (bad input, conflict…) goes back to the page as a message. */
  attempt(ctx: RouterContext, path: string, work: () => unknown, notice: string): Promise<void>;
  /** The posted form (read and its CSRF token checked before any page sees it), as the form's schema reads it. */
  input<S extends z.ZodType>(ctx: RouterContext, schema: S, lists?: readonly string[]): z.infer<S>;
}

export function createPageKit(deps: ConsoleDeps, views: Views): PageKit {
  const { domain } = deps;
  const session = (ctx: RouterContext): ConsoleSession | null => ctx.state.console as ConsoleSession | null;
  const back = (ctx: RouterContext, path: string, note: Flash) => {
    const cookie = ctx.cookies.get(SESSION_COOKIE);
    if (cookie !== undefined && (note.notice !== undefined || note.error !== undefined)) setFlash(domain.db, cookie, note);
    ctx.redirect(path);
  };
  return {
    deps,
    views,
    tenantId: () => deps.tenant().id,
    session,
    actor: (ctx) => ({ name: `admin:${session(ctx)?.admin.username ?? '?'}` }),
    page(ctx, view, data) {
      const s = session(ctx);
      // A notice or error left by the change before is shown once; the URL never carries one.
      const flash = s?.flash ?? null;
      const cookie = ctx.cookies.get(SESSION_COOKIE);
      if (flash !== null && cookie !== undefined) setFlash(domain.db, cookie, null);
      ctx.type = 'text/html; charset=utf-8';
      ctx.set('Cache-Control', 'no-store');
      ctx.body = views.page(view, {
        ...data,
        admin: s?.admin.username,
        csrf: s?.csrfToken,
        nonce: ctx.state.cspNonce,
        notice: flash?.notice,
        error: data.error ?? flash?.error,
      });
    },
    back,
    async attempt(ctx, path, work, notice) {
      try {
        await work();
        back(ctx, path, { notice });
      } catch (err) {
        if (!(err instanceof AppError) || err.status >= 500) throw err;
        back(ctx, path, { error: err.message });
      }
    },
    input: (ctx, schema, lists) => formInput(ctx.state.form as URLSearchParams, schema, lists),
  };
}

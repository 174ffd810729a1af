import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import type { Next } from 'koa';
import { z } from 'zod';
import { type ConsoleSession, principalOf, SESSION_HOURS, sessionByToken, setSessionTenant, signIn, signOut } from '../../domain/admins.ts';
import { sameSecret } from '../../domain/credentials.ts';
import { findActiveTenantBySlug, findTenant } from '../../domain/tenants.ts';
import { readForm } from '../../edge/body.ts';
import { AppError } from '../../errors.ts';
import { PATHS } from '../../paths.ts';
import { formInput, textField } from '../forms.ts';
import { answerIcon } from '../icon.ts';
import { cookieOptions, type PageKit, SESSION_COOKIE } from '../pageKit.ts';
import { accessOf, mayUse } from '../permissions.ts';

/** Holds the sign-in form's CSRF token until the form comes back. */
const SIGN_IN_COOKIE = 'hotprov_signin';
const CSS = readFileSync(PATHS.consoleCss, 'utf8');

/** The tenant switcher's form: the slug of the tenant to act in. */
export const SwitchTenantForm = z.object({ tenant: textField });

/** The sign-in form. */
export const SignInForm = z.object({ _csrf: textField, username: textField, password: textField });

/**
 * Sign-in and sign-out, and the guard in front of every other page: a session cookie (HttpOnly, SameSite=Lax,
 * Secure over HTTPS), and every posted form read once here and refused without the session's CSRF token.
 * Registered first, so the guard runs before any page.
 */
export function sessionPages(router: Router, kit: PageKit): void {
  const { domain } = kit.deps;

  router.get('/assets/console.css', (ctx) => {
    ctx.type = 'text/css';
    ctx.set('Cache-Control', 'max-age=3600');
    ctx.body = CSS;
  });

  router.get('/assets/icon.svg', (ctx) => answerIcon(ctx));

  router.use(async function consoleSession(ctx: RouterContext, next: Next) {
    const cookie = ctx.cookies.get(SESSION_COOKIE);
    const session = cookie === undefined ? null : await sessionByToken(domain.db, domain.now(), cookie);
    const acting = session === null ? null : await actingTenant(session);
    ctx.state.console = acting === null ? null : session;
    if (session !== null && acting !== null) {
      ctx.state.principal = principalOf(session.admin);
      ctx.state.tenantId = acting;
    }
    const access = accessOf(router, ctx.method, ctx.path);
    if (access === 'open') {
      await next();
      return;
    }
    if (session === null || acting === null) {
      ctx.redirect('/console/login');
      return;
    }
    // Refused on the server whatever the page showed: a route nobody listed, or one above the account's role.
    if (access === null || !mayUse(session.admin.role, access)) {
      await kit.forbidden(ctx);
      return;
    }
    if (ctx.method === 'POST') {
      const form = await readForm(ctx);
      const sent = form.get('_csrf') ?? '';
      if (!sameSecret(sent, session.csrfToken)) {
        ctx.status = 403;
        ctx.body = 'the form is out of date or not from this console; reload the page';
        return;
      }
      ctx.state.form = form;
    }
    await next();
  });

  /**
   * The tenant a session acts in: a provider's choice while that tenant is in service, else the default tenant;
   * an admin's or helpdesk's own, or null (signed out) once their tenant is retired.
   */
  const actingTenant = async (session: ConsoleSession): Promise<number | null> => {
    const { admin } = session;
    const inService = async (id: number | null): Promise<boolean> => {
      const tenant = id === null ? undefined : await findTenant(domain.db, id);
      return tenant !== undefined && tenant.retiredAt === null;
    };
    if (admin.role !== 'provider') return (await inService(admin.tenantId)) ? admin.tenantId : null;
    return (await inService(session.tenantId)) ? session.tenantId : (await kit.deps.tenant()).id;
  };

  /** A provider's tenant switcher: the chosen tenant is kept in the session; the board of it follows. */
  router.post('/tenant', async (ctx) => {
    const { tenant } = kit.input(ctx, SwitchTenantForm);
    const row = await findActiveTenantBySlug(domain.db, tenant);
    const cookie = ctx.cookies.get(SESSION_COOKIE);
    if (row === undefined || cookie === undefined) {
      await kit.back(ctx, '/console/', { error: `No tenant ${tenant}.` });
      return;
    }
    await setSessionTenant(domain.db, cookie, row.id);
    await kit.back(ctx, '/console/', { notice: `Now in ${row.name}.` });
  });

  /**
   * The sign-in form carries a token that must match a cookie set with it (SameSite=Strict), so another site
   * cannot sign a browser in to an account of its choosing.
   */
  const signInPage = async (ctx: RouterContext, data: Record<string, unknown>) => {
    const signInCsrf = randomBytes(24).toString('base64url');
    ctx.cookies.set(SIGN_IN_COOKIE, signInCsrf, { ...cookieOptions(ctx), sameSite: 'strict', path: '/console/login', maxAge: 3600_000 });
    await kit.page(ctx, 'login', { title: 'Sign in', signInCsrf, ...data });
  };
  router.get('/login', (ctx) => signInPage(ctx, {}));
  router.post('/login', async (ctx) => {
    const { _csrf, username, password } = formInput(await readForm(ctx), SignInForm);
    const expected = ctx.cookies.get(SIGN_IN_COOKIE) ?? '';
    if (expected === '' || !sameSecret(_csrf, expected)) {
      ctx.status = 403;
      await signInPage(ctx, { error: 'The sign-in form is out of date or not from this console; sign in again.', username });
      return;
    }
    try {
      // Failed sign-ins of names nobody has are logged in the default tenant; an account's in its own.
      const { token } = await signIn(domain, (await kit.deps.tenant()).id, username, password);
      ctx.cookies.set(SIGN_IN_COOKIE, null, { path: '/console/login' });
      ctx.cookies.set(SESSION_COOKIE, token, { ...cookieOptions(ctx), sameSite: 'lax', maxAge: SESSION_HOURS * 3600_000 });
      ctx.redirect('/console/');
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      ctx.status = err.status;
      await signInPage(ctx, { error: err.message, username });
    }
  });
  router.post('/logout', async (ctx) => {
    const cookie = ctx.cookies.get(SESSION_COOKIE);
    if (cookie !== undefined) await signOut(domain.db, cookie);
    ctx.cookies.set(SESSION_COOKIE, null, cookieOptions(ctx));
    ctx.redirect('/console/login');
  });
}

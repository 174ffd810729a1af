import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import type { Next } from 'koa';
import { z } from 'zod';
import { SESSION_HOURS, sessionByToken, signIn, signOut } from '../../domain/admins.ts';
import { sameSecret } from '../../domain/credentials.ts';
import { readForm } from '../../edge/body.ts';
import { AppError } from '../../errors.ts';
import { PATHS } from '../../paths.ts';
import { formInput, textField } from '../forms.ts';
import { cookieOptions, type PageKit, SESSION_COOKIE } from '../pageKit.ts';

/** Holds the sign-in form's CSRF token until the form comes back. */
const SIGN_IN_COOKIE = 'hotprov_signin';
const CSS = readFileSync(PATHS.consoleCss, 'utf8');

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

  router.use(async function consoleSession(ctx: RouterContext, next: Next) {
    const cookie = ctx.cookies.get(SESSION_COOKIE);
    ctx.state.console = cookie === undefined ? null : sessionByToken(domain.db, domain.now(), cookie);
    const open = ctx.path === '/console/login' || ctx.path.startsWith('/console/assets/');
    if (!open && kit.session(ctx) === null) {
      ctx.redirect('/console/login');
      return;
    }
    if (ctx.method === 'POST' && !open) {
      const form = await readForm(ctx);
      const sent = form.get('_csrf') ?? '';
      if (!sameSecret(sent, kit.session(ctx)?.csrfToken ?? '')) {
        ctx.status = 403;
        ctx.body = 'the form is out of date or not from this console; reload the page';
        return;
      }
      ctx.state.form = form;
    }
    await next();
  });

  /**
   * The sign-in form carries a token that must match a cookie set with it (SameSite=Strict), so another site
   * cannot sign a browser in to an account of its choosing.
   */
  const signInPage = (ctx: RouterContext, data: Record<string, unknown>) => {
    const signInCsrf = randomBytes(24).toString('base64url');
    ctx.cookies.set(SIGN_IN_COOKIE, signInCsrf, { ...cookieOptions(ctx), sameSite: 'strict', path: '/console/login', maxAge: 3600_000 });
    kit.page(ctx, 'login', { title: 'Sign in', signInCsrf, ...data });
  };
  router.get('/login', (ctx) => signInPage(ctx, {}));
  router.post('/login', async (ctx) => {
    const { _csrf, username, password } = formInput(await readForm(ctx), SignInForm);
    const expected = ctx.cookies.get(SIGN_IN_COOKIE) ?? '';
    if (expected === '' || !sameSecret(_csrf, expected)) {
      ctx.status = 403;
      signInPage(ctx, { error: 'The sign-in form is out of date or not from this console; sign in again.', username });
      return;
    }
    try {
      const { token } = await signIn(domain, kit.tenantId(), username, password);
      ctx.cookies.set(SIGN_IN_COOKIE, null, { path: '/console/login' });
      ctx.cookies.set(SESSION_COOKIE, token, { ...cookieOptions(ctx), sameSite: 'lax', maxAge: SESSION_HOURS * 3600_000 });
      ctx.redirect('/console/');
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      ctx.status = err.status;
      signInPage(ctx, { error: err.message, username });
    }
  });
  router.post('/logout', (ctx) => {
    const cookie = ctx.cookies.get(SESSION_COOKIE);
    if (cookie !== undefined) signOut(domain.db, cookie);
    ctx.cookies.set(SESSION_COOKIE, null, cookieOptions(ctx));
    ctx.redirect('/console/login');
  });
}

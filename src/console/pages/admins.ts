import type Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import { z } from 'zod';
import type { ApiTokenRow } from '../../db/schema.ts';
import { canManageTenants, ROLES } from '../../domain/access.ts';
import {
  createApiToken,
  createManagedAdmin,
  createTenantToken,
  deleteAdmin,
  listAdmins,
  listApiTokens,
  resetAdminPassword,
  revokeApiToken,
  revokeTenantToken,
} from '../../domain/admins.ts';
import { AppError, InvalidField } from '../../errors.ts';
import { textField } from '../forms.ts';
import { type PageKit, when } from '../pageKit.ts';

/** The new-account form: a provider's account has no tenant, any other is in the tenant the page acts in. */
export const AdminForm = z.object({ username: textField.transform((v) => v.trim()), password: textField, role: z.enum(ROLES).default('admin') });

/** The password-reset form. */
export const PasswordForm = z.object({ password: textField });

/** The API token form: a name, and the token's role (a tenant's admin or helpdesk, or a provider's token). */
export const TokenForm = z.object({ name: textField.transform((v) => v.trim()), role: z.enum(ROLES).default('admin') });

/** What each role may do, in the words the page shows beside the role picker. */
const ROLE_WORDS: Record<(typeof ROLES)[number], string> = {
  provider: 'provider — every tenant, tenants themselves',
  admin: 'admin — everything in this tenant',
  helpdesk: 'helpdesk — sees the board and devices, logs desks out, no secrets',
};

/**
 * Console accounts and API tokens: an admin sees and manages its tenant's admins, helpdesks and tokens; a provider
 * those of the tenant it switched to, and the providers' accounts and tokens. A new token is shown once.
 */
export function adminPages(router: Router, kit: PageKit): void {
  const { domain } = kit.deps;

  const showAdmins = async (ctx: RouterContext, newToken?: { name: string; value: string }) => {
    const by = kit.principal(ctx);
    const tenantId = kit.tenantId(ctx);
    const provider = canManageTenants(by);
    const show = (rows: Awaited<ReturnType<typeof listAdmins>>) =>
      rows.map((a) => ({ id: a.id, username: a.username, role: a.role, createdAt: when(a.createdAt), self: a.username === by.name }));
    const tokenView = (t: ApiTokenRow) => ({
      id: t.id,
      name: t.name,
      role: t.role,
      createdBy: t.createdBy,
      createdAt: when(t.createdAt),
      lastUsed: t.lastUsedAt === null ? 'never' : when(t.lastUsedAt),
      revoked: t.revokedAt === null ? null : when(t.revokedAt),
    });
    const roles = (provider ? ROLES : ROLES.filter((r) => r !== 'provider')).map((r) => ({ value: r, label: ROLE_WORDS[r] }));
    await kit.page(ctx, 'admins', {
      title: 'Admins and tokens',
      nav: 'admins',
      accounts: show(await listAdmins(domain.db, tenantId)),
      providers: provider ? show(await listAdmins(domain.db, null)) : null,
      // The tenant's tokens; a provider also sees the providers' own, and the configured one.
      tokens: [...(await listApiTokens(domain.db, tenantId)), ...(provider ? await listApiTokens(domain.db, null) : [])].map(tokenView),
      configuredToken: provider,
      roles,
      newToken,
    });
  };

  router.get('/admins', (ctx) => showAdmins(ctx));
  router.post('/admins', (ctx) =>
    kit.attempt(
      ctx,
      '/console/admins',
      async () => await createManagedAdmin(domain.db, domain.now(), kit.principal(ctx), kit.actor(ctx), kit.tenantId(ctx), kit.input(ctx, AdminForm)),
      'Account created.',
    ),
  );
  router.post('/admins/:id/delete', (ctx) =>
    kit.attempt(
      ctx,
      '/console/admins',
      async () => await deleteAdmin(domain.db, domain.now(), kit.principal(ctx), kit.tenantId(ctx), Number(ctx.params.id)),
      'Account deleted.',
    ),
  );
  router.post('/admins/:id/password', (ctx) =>
    kit.attempt(
      ctx,
      '/console/admins',
      async () =>
        await resetAdminPassword(domain.db, domain.now(), kit.principal(ctx), kit.tenantId(ctx), Number(ctx.params.id), kit.input(ctx, PasswordForm).password),
      'Password changed; that account is signed out everywhere.',
    ),
  );

  router.post('/tokens', async (ctx) => {
    try {
      const { name, role } = kit.input(ctx, TokenForm);
      // A token works in the tenant it was made in; only a provider makes a provider's token.
      let token: string;
      if (role === 'provider') {
        if (!canManageTenants(kit.principal(ctx))) throw InvalidField('role', 'only a provider makes a provider token');
        ({ token } = await createApiToken(domain.db, domain.now(), name, kit.session(ctx)?.admin.username ?? '?'));
      } else {
        ({ token } = await createTenantToken(domain.db, domain.now(), kit.actor(ctx), kit.tenantId(ctx), { name, role }));
      }
      // Shown on this answer only, never in a URL or a notice kept in the session.
      await showAdmins(ctx, { name, value: token });
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      await kit.back(ctx, '/console/admins', { error: err.message });
    }
  });
  router.post('/tokens/:id/revoke', (ctx) =>
    kit.attempt(
      ctx,
      '/console/admins',
      async () => {
        const id = Number(ctx.params.id);
        // Another tenant's token is not found; a provider also revokes the providers' tokens.
        try {
          await revokeTenantToken(domain.db, domain.now(), kit.actor(ctx), kit.tenantId(ctx), id);
        } catch (err) {
          if (!(err instanceof AppError) || err.status !== 404 || !canManageTenants(kit.principal(ctx))) throw err;
          await revokeApiToken(domain.db, domain.now(), id, null);
        }
      },
      'Token revoked; it no longer works.',
    ),
  );
}

import type Router from '@koa/router';
import { z } from 'zod';
import { canManageTenants, ROLES } from '../../domain/access.ts';
import { createAdmin, deleteAdmin, listAdmins, mayManageAccount, resetAdminPassword } from '../../domain/admins.ts';
import { NotFound } from '../../errors.ts';
import { textField } from '../forms.ts';
import { type PageKit, when } from '../pageKit.ts';

/** The new-account form: a provider's account has no tenant, any other is in the tenant the page acts in. */
export const AdminForm = z.object({ username: textField.transform((v) => v.trim()), password: textField, role: z.enum(ROLES).default('admin') });

/** The password-reset form. */
export const PasswordForm = z.object({ password: textField });

/**
 * Console accounts: an admin sees and manages its tenant's admins and helpdesks; a provider those of the tenant it
 * switched to, and the providers' accounts.
 */
export function adminPages(router: Router, kit: PageKit): void {
  const { domain } = kit.deps;

  router.get('/admins', async (ctx) => {
    const by = kit.principal(ctx);
    const tenantId = kit.tenantId(ctx);
    const show = (rows: Awaited<ReturnType<typeof listAdmins>>) =>
      rows.map((a) => ({ id: a.id, username: a.username, role: a.role, createdAt: when(a.createdAt), self: a.username === by.name }));
    await kit.page(ctx, 'admins', {
      title: 'Admins',
      nav: 'admins',
      accounts: show(await listAdmins(domain.db, tenantId)),
      providers: canManageTenants(by) ? show(await listAdmins(domain.db, null)) : null,
      roles: canManageTenants(by) ? ['admin', 'helpdesk', 'provider'] : ['admin', 'helpdesk'],
    });
  });
  router.post('/admins', (ctx) =>
    kit.attempt(
      ctx,
      '/console/admins',
      async () => {
        const { username, password, role } = kit.input(ctx, AdminForm);
        const tenantId = kit.tenantId(ctx);
        const access = { role, tenantId: role === 'provider' ? null : tenantId };
        if (!mayManageAccount(kit.principal(ctx), tenantId, access)) throw NotFound(`role ${role}`);
        await createAdmin(domain.db, domain.now(), username, password, access);
      },
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
}

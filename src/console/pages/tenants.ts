import type Router from '@koa/router';
import { z } from 'zod';
import { listDevices } from '../../domain/devices.ts';
import { TenantCreateBody } from '../../domain/inputs.ts';
import { listOpenSessions } from '../../domain/sessions.ts';
import { deleteTenant } from '../../domain/tenantDeletion.ts';
import { createTenant, DEFAULT_TENANT_SLUG, findActiveTenantBySlug, listActiveTenants, updateTenant } from '../../domain/tenants.ts';
import { InvalidField, UnknownTenant } from '../../errors.ts';
import { checkbox, textField } from '../forms.ts';
import type { PageKit } from '../pageKit.ts';

/** The new-tenant form. */
export const TenantForm = z.object({ name: TenantCreateBody.shape.name, slug: TenantCreateBody.shape.slug });

/** The rename form. */
export const RenameTenantForm = z.object({ name: textField });

/** The delete form: refused while desks are seated unless forced. */
export const DeleteTenantForm = z.object({ force: checkbox });

/** Tenants (providers only): the list with devices and seated desks, create, rename, delete. */
export function tenantPages(router: Router, kit: PageKit): void {
  const { domain } = kit.deps;
  const tenantBySlug = (slug: string) => {
    const tenant = findActiveTenantBySlug(domain.db, slug);
    if (tenant === undefined) throw UnknownTenant();
    return tenant;
  };

  router.get('/tenants', (ctx) => {
    const tenants = listActiveTenants(domain.db).map((t) => ({
      slug: t.slug,
      name: t.name,
      devices: listDevices(domain.db, t.id).length,
      seated: listOpenSessions(domain.db, t.id).length,
      removable: t.slug !== DEFAULT_TENANT_SLUG,
    }));
    kit.page(ctx, 'tenants', { title: 'Tenants', nav: 'tenants', tenants });
  });
  router.post('/tenants', (ctx) =>
    kit.attempt(ctx, '/console/tenants', () => createTenant(domain, kit.actor(ctx), kit.input(ctx, TenantForm)), 'Tenant created.'),
  );
  router.post('/tenants/:tenant', (ctx) =>
    kit.attempt(
      ctx,
      '/console/tenants',
      () => {
        const { name } = kit.input(ctx, RenameTenantForm);
        const tenant = tenantBySlug(ctx.params.tenant ?? '');
        const trimmed = name.trim();
        if (trimmed === '' || trimmed.length > 80) throw InvalidField('name', 'use 1 to 80 characters');
        updateTenant(domain, tenant.id, kit.actor(ctx), { name: trimmed });
      },
      'Tenant renamed.',
    ),
  );
  router.post('/tenants/:tenant/delete', (ctx) =>
    kit.attempt(
      ctx,
      '/console/tenants',
      () => {
        const tenant = tenantBySlug(ctx.params.tenant ?? '');
        deleteTenant(domain, kit.actor(ctx), tenant.id, kit.input(ctx, DeleteTenantForm));
      },
      `Tenant ${ctx.params.tenant} deleted; its phones are wiped at their next fetch.`,
    ),
  );
}

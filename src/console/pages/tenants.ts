import type Router from '@koa/router';
import { z } from 'zod';
import { ProviderTenantUpdateBody, TenantCreateBody } from '../../domain/inputs.ts';
import { tenantOverviews } from '../../domain/overview.ts';
import { deleteTenant } from '../../domain/tenantDeletion.ts';
import { createTenant, DEFAULT_TENANT_SLUG, findActiveTenantBySlug, listActiveTenants, updateTenant } from '../../domain/tenants.ts';
import { InvalidField, UnknownTenant } from '../../errors.ts';
import { api, checkbox, ifSentBlankIsNull, numberOrNull, sentOnly, textField } from '../forms.ts';
import type { PageKit } from '../pageKit.ts';

/** The new-tenant form: blank quotas are no limit. */
export const TenantForm = z
  .object({ name: TenantCreateBody.shape.name, slug: TenantCreateBody.shape.slug, maxDevices: numberOrNull, maxUsers: numberOrNull })
  .pipe(api(TenantCreateBody));

/** A tenant's quotas (blank is no limit) and base URL (blank is the instance's; a form without it leaves it). */
export const QuotaForm = z
  .object({ maxDevices: numberOrNull, maxUsers: numberOrNull, baseUrl: ifSentBlankIsNull })
  .transform(sentOnly)
  .pipe(api(ProviderTenantUpdateBody));

/** The rename form. */
export const RenameTenantForm = z.object({ name: textField });

/** The delete form: refused while desks are seated unless forced. */
export const DeleteTenantForm = z.object({ force: checkbox });

/** Tenants (providers only): the list with devices and seated desks, create, rename, delete. */
export function tenantPages(router: Router, kit: PageKit): void {
  const { domain } = kit.deps;
  const tenantBySlug = async (slug: string) => {
    const tenant = await findActiveTenantBySlug(domain.db, slug);
    if (tenant === undefined) throw UnknownTenant();
    return tenant;
  };

  // Both pages read every tenant's figures in a handful of grouped queries, never a query per tenant.
  router.get('/tenants', async (ctx) => {
    const tenants = (await tenantOverviews(domain.db, domain.now(), await listActiveTenants(domain.db))).map(({ tenant: t, overview: o }) => ({
      slug: t.slug,
      name: t.name,
      devices: o.devices,
      seated: o.seatedDesks,
      maxDevices: t.maxDevices,
      maxUsers: t.maxUsers,
      baseUrl: t.baseUrl,
      removable: t.slug !== DEFAULT_TENANT_SLUG,
    }));
    await kit.page(ctx, 'tenants', { title: 'Tenants', nav: 'tenants', tenants, instanceBaseUrl: kit.deps.config.baseUrl });
  });

  /** The provider's overview: one row per tenant with its figures, the ones needing a look marked. */
  router.get('/overview', async (ctx) => {
    const tenants = (await tenantOverviews(domain.db, domain.now(), await listActiveTenants(domain.db))).map(({ tenant: t, overview: o }) => ({
      slug: t.slug,
      name: t.name,
      ...o,
      atDeviceQuota: o.maxDevices !== null && o.devices >= o.maxDevices,
      atUserQuota: o.maxUsers !== null && o.users >= o.maxUsers,
      lastActivity: o.lastActivityAt?.toISOString().slice(0, 16).replace('T', ' ') ?? null,
    }));
    await kit.page(ctx, 'overview', { title: 'Overview', nav: 'overview', tenants });
  });
  router.post('/tenants/:tenant/quotas', (ctx) =>
    kit.attempt(
      ctx,
      '/console/tenants',
      async () => {
        const tenant = await tenantBySlug(ctx.params.tenant ?? '');
        await updateTenant(domain, tenant.id, kit.actor(ctx), kit.input(ctx, QuotaForm));
        // A new base URL re-registers the tenant's phones with their redirect services.
        await kit.deps.onTenantChanged(tenant.id);
      },
      `Quotas of ${ctx.params.tenant} saved.`,
    ),
  );
  router.post('/tenants', (ctx) =>
    kit.attempt(ctx, '/console/tenants', async () => await createTenant(domain, kit.actor(ctx), kit.input(ctx, TenantForm)), 'Tenant created.'),
  );
  router.post('/tenants/:tenant', (ctx) =>
    kit.attempt(
      ctx,
      '/console/tenants',
      async () => {
        const { name } = kit.input(ctx, RenameTenantForm);
        const tenant = await tenantBySlug(ctx.params.tenant ?? '');
        const trimmed = name.trim();
        if (trimmed === '' || trimmed.length > 80) throw InvalidField('name', 'use 1 to 80 characters');
        await updateTenant(domain, tenant.id, kit.actor(ctx), { name: trimmed });
      },
      'Tenant renamed.',
    ),
  );
  router.post('/tenants/:tenant/delete', (ctx) =>
    kit.attempt(
      ctx,
      '/console/tenants',
      async () => {
        const tenant = await tenantBySlug(ctx.params.tenant ?? '');
        await deleteTenant(domain, kit.actor(ctx), tenant.id, kit.input(ctx, DeleteTenantForm));
      },
      `Tenant ${ctx.params.tenant} deleted; its phones are wiped at their next fetch.`,
    ),
  );
}

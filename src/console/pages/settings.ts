import type Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import { z } from 'zod';
import { canManageTenants, ROLES } from '../../domain/access.ts';
import { createApiToken, listApiTokens, revokeApiToken } from '../../domain/admins.ts';
import { TenantUpdateBody } from '../../domain/inputs.ts';
import { getTenant, updateTenant } from '../../domain/tenants.ts';
import { AppError, InvalidField } from '../../errors.ts';
import { PHONE_LANGUAGES } from '../../vendors/phoneSettings.ts';
import { api, blankIsNull, ifFilled, ifSentBlankIsNull, listField, numberOrNull, sentOnly, textField } from '../forms.ts';
import { type PageKit, when } from '../pageKit.ts';

/**
 * The settings form. The phone basics (pickup code and what follows) change only when the form has them; a blank
 * one returns to the phone's own.
 */
export const SettingsForm = z
  .object({
    registrarHost: blankIsNull,
    registrarPort: numberOrNull,
    loginCode: textField,
    logoutCode: blankIsNull,
    emergencyNumbers: listField,
    loginKeyMode: z.string().default('screen'),
    notifyMode: z.string().default('direct'),
    autoLogoutCron: blankIsNull,
    timezone: z.string().default('UTC'),
    maxSessionMinutes: numberOrNull,
    pickupCode: z
      .string()
      .optional()
      .transform((v) => v?.trim()),
    pollMode: z.string().optional(),
    pollIntervalMinutes: ifFilled.transform((v) => (v === undefined ? undefined : Number(v))),
    pollWindowStart: ifFilled,
    pollWindowEnd: ifFilled,
    phoneTimezone: ifSentBlankIsNull,
    ntpServer: ifSentBlankIsNull,
    phoneLanguage: ifSentBlankIsNull,
    voicemailNumber: ifSentBlankIsNull,
    codecs: z
      .string()
      .optional()
      .transform((v) => {
        if (v === undefined) return undefined;
        const list = v.split(/[\s,]+/).filter((c) => c !== '');
        return list.length === 0 ? null : list;
      }),
    srtp: z.string().optional(),
  })
  .transform(sentOnly)
  .pipe(api(TenantUpdateBody));

/** The API token form: a name, and the token's role (a tenant's admin or helpdesk, or a provider's token). */
export const TokenForm = z.object({ name: textField.transform((v) => v.trim()), role: z.enum(ROLES).default('admin') });

/** Settings: the tenant's (registrar, codes, NOTIFY mode, what every phone gets, automatic logout) and API tokens. */
export function settingsPages(router: Router, kit: PageKit): void {
  const { deps } = kit;
  const { domain } = deps;

  const showSettings = async (ctx: RouterContext, newToken?: { name: string; value: string }) => {
    const tenant = await getTenant(domain.db, kit.tenantId(ctx));
    await kit.page(ctx, 'settings', {
      title: 'Settings',
      nav: 'settings',
      tenant,
      defaults: deps.config.registrar,
      emergency: (JSON.parse(tenant.emergencyNumbers) as string[]).join(', '),
      languages: PHONE_LANGUAGES,
      codecs: tenant.codecs === null ? '' : (JSON.parse(tenant.codecs) as string[]).join(', '),
      // The tenant's tokens; a provider also sees the providers' own.
      tokens: [
        ...(await listApiTokens(domain.db, kit.tenantId(ctx))),
        ...(canManageTenants(kit.principal(ctx)) ? await listApiTokens(domain.db, null) : []),
      ].map((t) => ({
        ...t,
        createdAt: when(t.createdAt),
        revoked: t.revokedAt !== null,
      })),
      roles: canManageTenants(kit.principal(ctx)) ? ['admin', 'helpdesk', 'provider'] : ['admin', 'helpdesk'],
      newToken,
    });
  };
  router.get('/settings', (ctx) => showSettings(ctx));
  router.post('/settings', (ctx) =>
    kit.attempt(
      ctx,
      '/console/settings',
      async () => {
        const { id } = await updateTenant(domain, kit.tenantId(ctx), kit.actor(ctx), kit.input(ctx, SettingsForm));
        await deps.onTenantChanged(id);
      },
      'Settings saved; phones are being re-provisioned.',
    ),
  );
  router.post('/tokens', async (ctx) => {
    try {
      const { name, role } = kit.input(ctx, TokenForm);
      // A token works in the tenant it was made in; only a provider makes a provider's token.
      if (role === 'provider' && !canManageTenants(kit.principal(ctx))) throw InvalidField('role', 'only a provider makes a provider token');
      const access = { role, tenantId: role === 'provider' ? null : kit.tenantId(ctx) };
      const { token } = await createApiToken(domain.db, domain.now(), name, kit.session(ctx)?.admin.username ?? '?', access);
      await showSettings(ctx, { name, value: token });
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      await kit.back(ctx, '/console/settings', { error: err.message });
    }
  });
  router.post('/tokens/:id/revoke', (ctx) =>
    kit.attempt(
      ctx,
      '/console/settings',
      async () => {
        const id = Number(ctx.params.id);
        // Another tenant's token is not found; a provider also revokes the providers' tokens.
        try {
          await revokeApiToken(domain.db, domain.now(), id, kit.tenantId(ctx));
        } catch (err) {
          if (!(err instanceof AppError) || err.status !== 404 || !canManageTenants(kit.principal(ctx))) throw err;
          await revokeApiToken(domain.db, domain.now(), id, null);
        }
      },
      'Token revoked.',
    ),
  );
}

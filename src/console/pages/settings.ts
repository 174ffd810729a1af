import type Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import { z } from 'zod';
import { createApiToken, listApiTokens, revokeApiToken } from '../../domain/admins.ts';
import { TenantUpdateBody } from '../../domain/inputs.ts';
import { getTenant, updateTenant } from '../../domain/tenants.ts';
import { AppError } from '../../errors.ts';
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

/** The API token form. */
export const TokenForm = z.object({ name: textField.transform((v) => v.trim()) });

/** Settings: the tenant's (registrar, codes, NOTIFY mode, what every phone gets, automatic logout) and API tokens. */
export function settingsPages(router: Router, kit: PageKit): void {
  const { deps } = kit;
  const { domain } = deps;

  const showSettings = (ctx: RouterContext, newToken?: { name: string; value: string }) => {
    const tenant = getTenant(domain.db, kit.tenantId());
    kit.page(ctx, 'settings', {
      title: 'Settings',
      nav: 'settings',
      tenant,
      defaults: deps.config.registrar,
      emergency: (JSON.parse(tenant.emergencyNumbers) as string[]).join(', '),
      languages: PHONE_LANGUAGES,
      codecs: tenant.codecs === null ? '' : (JSON.parse(tenant.codecs) as string[]).join(', '),
      tokens: listApiTokens(domain.db).map((t) => ({ ...t, createdAt: when(t.createdAt), revoked: t.revokedAt !== null })),
      newToken,
    });
  };
  router.get('/settings', (ctx) => showSettings(ctx));
  router.post('/settings', (ctx) =>
    kit.attempt(
      ctx,
      '/console/settings',
      () => {
        updateTenant(domain, kit.tenantId(), kit.actor(ctx), kit.input(ctx, SettingsForm));
        deps.onTenantChanged();
      },
      'Settings saved; phones are being re-provisioned.',
    ),
  );
  router.post('/tokens', (ctx) => {
    try {
      const { name } = kit.input(ctx, TokenForm);
      const { token } = createApiToken(domain.db, domain.now(), name, kit.session(ctx)?.admin.username ?? '?');
      showSettings(ctx, { name, value: token });
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      kit.back(ctx, '/console/settings', { error: err.message });
    }
  });
  router.post('/tokens/:id/revoke', (ctx) =>
    kit.attempt(ctx, '/console/settings', () => revokeApiToken(domain.db, domain.now(), Number(ctx.params.id)), 'Token revoked.'),
  );
}

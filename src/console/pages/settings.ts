import type Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import { z } from 'zod';
import { TenantUpdateBody } from '../../domain/inputs.ts';
import { getTenant, updateTenant } from '../../domain/tenants.ts';
import { PHONE_LANGUAGES } from '../../vendors/phoneSettings.ts';
import { api, blankIsNull, ifFilled, ifSentBlankIsNull, listField, numberOrNull, sentOnly, textField } from '../forms.ts';
import type { PageKit } from '../pageKit.ts';

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

/** Settings: the tenant's (registrar, codes, NOTIFY mode, what every phone gets, automatic logout); API tokens are with the admins. */
export function settingsPages(router: Router, kit: PageKit): void {
  const { deps } = kit;
  const { domain } = deps;

  const showSettings = async (ctx: RouterContext) => {
    const tenant = await getTenant(domain.db, kit.tenantId(ctx));
    await kit.page(ctx, 'settings', {
      title: 'Settings',
      nav: 'settings',
      tenant,
      defaults: deps.config.registrar,
      emergency: (JSON.parse(tenant.emergencyNumbers) as string[]).join(', '),
      languages: PHONE_LANGUAGES,
      codecs: tenant.codecs === null ? '' : (JSON.parse(tenant.codecs) as string[]).join(', '),
    });
  };
  router.get('/settings', (ctx) => showSettings(ctx));
  router.post('/settings', (ctx) =>
    kit.attempt(
      ctx,
      '/console/settings',
      async () => {
        await updateTenant(domain, kit.tenantId(ctx), kit.actor(ctx), kit.input(ctx, SettingsForm));
        await deps.onTenantChanged();
      },
      'Settings saved; phones are being re-provisioned.',
    ),
  );
}

import type Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import { z } from 'zod';
import { SIP_TRANSPORTS } from '../../config.ts';
import { TenantUpdateBody } from '../../domain/inputs.ts';
import { assertSecretsStay, getTenant, updateTenantSettings } from '../../domain/tenants.ts';
import { AppError } from '../../errors.ts';
import { relayProblem } from '../../sync/relayCheck.ts';
import { PHONE_LANGUAGES } from '../../vendors/phoneSettings.ts';
import { api, blankIsNull, ifFilled, ifSentBlankIsNull, listField, numberOrNull, sentOnly, textField } from '../forms.ts';
import type { PageKit } from '../pageKit.ts';

/** A number field that changes a setting only when the form has it filled in. */
const numberIfFilled = ifFilled.transform((v) => (v === undefined ? undefined : Number(v)));
/** A secret field: never shown, so left blank it keeps the stored secret. */
const secretField = ifFilled;
/** A checkbox followed by a hidden `off` of the same name: changes the setting only when the form has it. */
const sentCheckbox = z
  .string()
  .optional()
  .transform((v) => (v === undefined ? undefined : v === 'on'));

/**
 * The settings form: every setting PATCH /api/v1/tenant takes. The phone basics (pickup code and what follows)
 * and the newer fields change only when the form has them; a blank one returns to the phone's own (or none);
 * a blank secret keeps the stored one.
 */
export const SettingsForm = z
  .object({
    name: ifFilled,
    registrarHost: blankIsNull,
    registrarTransport: ifSentBlankIsNull,
    extensionMinDigits: numberIfFilled,
    extensionMaxDigits: numberIfFilled,
    pinMinLength: numberIfFilled,
    idleAccountPattern: ifFilled,
    relayHost: ifSentBlankIsNull,
    relayPort: z
      .string()
      .optional()
      .transform((v) => (v === undefined ? undefined : v.trim() === '' ? null : Number(v))),
    relayUsername: ifSentBlankIsNull,
    relaySecret: secretField,
    relayProfile: ifFilled,
    trustedNetworks: z
      .string()
      .optional()
      .transform((v) => (v === undefined ? undefined : v.split(/[\s,]+/).filter((n) => n !== ''))),
    trustRedirect: sentCheckbox,
    yealinkRpsUrl: ifFilled,
    yealinkRpsKeyId: ifSentBlankIsNull,
    yealinkRpsSecret: secretField,
    yealinkXmlRpcUrl: ifFilled,
    yealinkXmlRpcUser: ifSentBlankIsNull,
    yealinkXmlRpcPassword: secretField,
    snomSrapsUrl: ifFilled,
    snomSrapsKeyId: ifSentBlankIsNull,
    snomSrapsSecret: secretField,
    polyZtpUrl: ifFilled,
    polyZtpApiKey: secretField,
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

/** The settings a relayed NOTIFY goes by: changing one tries the relay before saving. */
const RELAY_FIELDS = ['notifyMode', 'relayHost', 'relayPort', 'relayUsername', 'relaySecret', 'registrarHost'] as const;

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
      transports: SIP_TRANSPORTS,
      trustedNetworks: (JSON.parse(tenant.trustedNetworks) as string[]).join(', '),
      // Whether each secret is stored; never the secret itself.
      stored: {
        relaySecret: tenant.relaySecret !== null,
        yealinkRpsSecret: tenant.yealinkRpsSecret !== null,
        yealinkXmlRpcPassword: tenant.yealinkXmlRpcPassword !== null,
        snomSrapsSecret: tenant.snomSrapsSecret !== null,
        polyZtpApiKey: tenant.polyZtpApiKey !== null,
      },
    });
  };
  router.get('/settings', (ctx) => showSettings(ctx));
  router.post('/settings', async (ctx) => {
    try {
      const input = kit.input(ctx, SettingsForm);
      const current = await getTenant(domain.db, kit.tenantId(ctx));
      // A stored secret is never sent somewhere new without being given again, not even to try it.
      assertSecretsStay(current, input);
      // NOTIFYs must still reach the phones: a relay is tried, logged in to, before its settings are saved.
      const next = { ...current, ...input };
      const relayMoved = RELAY_FIELDS.some((f) => f in input && input[f] !== current[f]);
      const problem = relayMoved ? await relayProblem(next, deps.config.registrar.host) : null;
      if (problem !== null) throw new AppError(400, 'relay_unreachable', problem);
      const { reprovisioned } = await updateTenantSettings(domain, kit.tenantId(ctx), kit.actor(ctx), input);
      await deps.onTenantChanged(kit.tenantId(ctx));
      await kit.back(ctx, '/console/settings', {
        notice:
          reprovisioned === 0
            ? 'Settings saved. No phone file changed, so no phone is re-provisioned.'
            : `Settings saved; ${reprovisioned} phone(s) are being re-provisioned.`,
      });
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      await kit.back(ctx, '/console/settings', { error: err.message });
    }
  });
}

import type { DeviceRow, UserKeyRow, UserRow } from '../db/schema.ts';
import { NEVER_CLAIMED } from '../domain/deviceAccess.ts';
import type { Mac } from '../domain/mac.ts';
import type { TenantSettings } from '../domain/tenants.ts';
import { escapeContext, escapeXml } from '../vendors/escape.ts';
import type { RenderPlan, VendorAdapter } from '../vendors/types.ts';
import { buildDeviceProfile } from './profile.ts';
import { loginScreen, type Screen } from './screens.ts';
import { compileTemplate } from './templates.ts';
import { xmlError } from './xml.ts';

export interface TemplateSample {
  /** What was rendered: `idle HD9999 (T46U)`, `user 1999`, `login screen`, … */
  readonly label: string;
  readonly body: string;
}

export type TemplateCheck = { readonly ok: true; readonly samples: readonly TemplateSample[] } | { readonly ok: false; readonly error: string };

const at = new Date(0);

/** A sample device and user, never stored: what a template is tried on before it may reach a phone. */
function sampleRows(adapter: VendorAdapter, modelId: string): { device: DeviceRow; user: UserRow; keys: UserKeyRow[] } {
  const device: DeviceRow = {
    id: 0,
    tenantId: 0,
    mac: `${adapter.profile.macPrefixes[0] ?? '000000'}999999`,
    vendor: adapter.id,
    model: modelId,
    label: 'Sample desk',
    hotdesk: true,
    idleAccount: 'HD9999',
    idlePassword: 'sample-idle-password',
    location: 'Sample building, floor 1',
    sipContact: null,
    reportedContact: null,
    servedAccount: null,
    servedAuthName: null,
    servedPassword: null,
    servedEtag: null,
    retiredAt: null,
    screenSecret: 'sample-secret',
    provUsername: 'sample',
    provPassword: 'sample-provisioning-password',
    webPassword: 'sample-web-password',
    ...NEVER_CLAIMED,
    access: 'active',
    redirectStatus: 'none',
    redirectMessage: null,
    redirectAttempts: 0,
    redirectAttemptedAt: null,
    redirectNextAttemptAt: null,
    expansionModules: 0,
    lastSeenAt: null,
    unseenReportedAt: null,
    lastSeenIp: null,
    lastUserAgent: null,
    firmware: null,
    phoneTimezone: null,
    phoneLanguage: null,
    createdAt: at,
  };
  const user: UserRow = {
    id: 0,
    tenantId: 0,
    extension: '1999',
    displayName: 'Sample <User> & "Co"',
    sipUser: '1999',
    authName: '1999',
    sipPassword: 'sample-user-password',
    pinHash: null,
    hotdesk: true,
    createdAt: at,
  };
  const keys: UserKeyRow[] = [
    { id: 0, userId: 0, position: 1, type: 'blf', value: '2000', label: 'Sample BLF' },
    { id: 0, userId: 0, position: 2, type: 'speed', value: '+31201234567', label: 'Sample speed dial' },
  ];
  return { device, user, keys };
}

/**
 * Tries a template before it is saved: it must compile, render for a sample device idle and logged in (and as every
 * screen it is used for) without an error, and give well-formed XML where the file is XML.
 * @returns the renders, or the first error with Handlebars' or the XML parser's line.
 */
export function checkTemplate(
  adapter: VendorAdapter,
  tenant: TenantSettings,
  baseUrl: string,
  name: string,
  source: string,
  /** Try it on this device (and this user at it) too, as a preview; passwords are masked in the samples. */
  chosen?: { readonly device: DeviceRow; readonly user: { readonly row: UserRow; readonly keys: readonly UserKeyRow[] } | null },
  /** A model's or a device's version: the model the sample is, and the tenant's version whose blocks it may fill. */
  level?: { readonly model: string; readonly base: string },
): TemplateCheck {
  let template: ReturnType<typeof compileTemplate>;
  try {
    template = compileTemplate(source, level?.base);
  } catch (err) {
    return { ok: false, error: `does not compile: ${(err as Error).message}` };
  }
  const first = (level === undefined ? undefined : adapter.profile.models.get(level.model)) ?? [...adapter.profile.models.values()][0];
  if (first === undefined) return { ok: false, error: `${adapter.id} has no model to try the template on` };
  const rows = sampleRows(adapter, first.id);
  const plans: { label: string; plan: RenderPlan; xml: boolean }[] = [];
  const xmlConfig = adapter.id !== 'yealink';
  const mask = (row: UserRow): UserRow => ({ ...row, sipPassword: '********' });
  const subjects = [
    { device: rows.device, user: null },
    { device: rows.device, user: { row: rows.user, keys: rows.keys } },
    ...(chosen === undefined
      ? []
      : [
          {
            device: { ...chosen.device, idlePassword: '********' },
            user: chosen.user === null ? null : { row: mask(chosen.user.row), keys: chosen.user.keys },
          },
        ]),
  ];
  for (const { device, user } of subjects) {
    const model = adapter.profile.models.get(device.model) ?? first;
    const profile = buildDeviceProfile({ tenant, device, model, user, baseUrl });
    for (const file of adapter.deviceFiles(device.mac as Mac, model)) {
      const match = adapter.matchPath(file);
      const plan = match === null ? null : match.mac === null ? adapter.planSharedFile(match, baseUrl) : adapter.planDeviceFile(match, profile);
      const who = device === rows.device ? 'sample' : device.idleAccount;
      if (plan?.template === name) {
        plans.push({ label: `${who} ${profile.mode}: ${file}`, plan: { ...plan, context: escapeContext(plan.context, adapter.escape) }, xml: xmlConfig });
      }
    }
  }
  for (const file of adapter.linkedFiles ?? []) {
    const match = adapter.matchPath(file);
    const plan = match === null ? null : adapter.planSharedFile(match, baseUrl);
    if (plan?.template === name) plans.push({ label: file, plan: { ...plan, context: escapeContext(plan.context, adapter.escape) }, xml: true });
  }
  const screens: Screen[] = [
    loginScreen(baseUrl, rows.device),
    { kind: 'pin', title: 'Hot desk', extension: '1999', submitUrl: `${baseUrl}/submit` },
    { kind: 'message', title: 'Hot desk', text: 'Welcome, Sample <User> & "Co".' },
    { kind: 'logout', title: 'Hot desk', text: 'Log out Sample <User>?', confirmUrl: `${baseUrl}/confirm` },
  ];
  for (const screen of screens) {
    const plan = adapter.planScreen(screen);
    if (plan.template === name) plans.push({ label: `${screen.kind} screen`, plan: { ...plan, context: escapeContext(plan.context, escapeXml) }, xml: true });
  }
  if (plans.length === 0) return { ok: false, error: `${adapter.id} uses no template named ${name}` };
  const samples: TemplateSample[] = [];
  for (const { label, plan, xml } of plans) {
    let body: string;
    try {
      body = template(plan.context);
    } catch (err) {
      return { ok: false, error: `fails to render (${label}): ${(err as Error).message}` };
    }
    const malformed = xml ? xmlError(body) : null;
    if (malformed !== null) return { ok: false, error: `is not well-formed XML (${label}), line:column ${malformed}` };
    samples.push({ label, body });
  }
  return { ok: true, samples };
}

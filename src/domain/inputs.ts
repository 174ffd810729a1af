import cron from 'node-cron';
import { z } from 'zod';
import { SIP_TRANSPORTS } from '../config.ts';
import { BadRequest, InvalidField } from '../errors.ts';
import { idleAccountPatternProblem } from './idleAccounts.ts';
import { cidrProblem } from './networks.ts';
import { CODECS, isTimeZone, PHONE_LANGUAGES } from './phoneValues.ts';
import { WEBHOOK_EVENT_TYPES } from './webhookEvents.ts';

/**
 * What the domain's commands accept, as zod schemas, each next to its inferred type: the API reads them from JSON
 * bodies, the console from its forms, a CSV import from its rows, so all three accept exactly the same values.
 */

/** `keys[2].type`: a zod issue path as people write it. */
function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out === '' ? String(part) : `${out}.${String(part)}`), '');
}

/**
 * Validates input against a schema.
 * @throws AppError invalid_field (400) naming the first field that is wrong.
 */
export function validate<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  if (issue === undefined) throw BadRequest('invalid request body');
  if (issue.code === 'unrecognized_keys') throw InvalidField(issue.keys.join(', '), 'is not a known field');
  const field = fieldPath(issue.path) || 'body';
  const missing = issue.code === 'invalid_type' && /received undefined/.test(issue.message);
  throw InvalidField(field, missing ? 'is required' : issue.message);
}

const extension = z.string().regex(/^\d{1,15}$/, 'must be 1 to 15 digits');
const sipIdentifier = z.string().regex(/^[A-Za-z0-9._+-]{1,64}$/, 'must be 1 to 64 letters, digits or . _ + -');
// Control characters (newlines among them) have no place in a name, label or password shown on a phone.
const text = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .regex(/^[^\u0000-\u001f\u007f]*$/u, 'must not contain control characters such as a line break');
const pin = z.string().min(1, 'must not be empty').max(32);

export const UserKeyBody = z
  .object({
    type: z.enum(['blf', 'speed', 'line']),
    value: z
      .string()
      .max(128)
      .regex(/^[A-Za-z0-9*#+._-]*$/, 'must be a number or extension: digits, letters and * # + . _ - only')
      .default(''),
    label: text(64).default(''),
  })
  .strict();

const keys = z.array(UserKeyBody).max(500, 'at most 500 keys');

export const UserCreateBody = z
  .object({
    extension,
    displayName: text(64).min(1, 'must not be empty'),
    sipPassword: text(128).min(1, 'must not be empty'),
    sipUser: sipIdentifier.optional(),
    authName: sipIdentifier.optional(),
    pin: pin.optional(),
    hotdesk: z.boolean().optional(),
    keys: keys.optional(),
  })
  .strict();
export type UserCreateBody = z.infer<typeof UserCreateBody>;

export const UserUpdateBody = UserCreateBody.omit({ extension: true }).partial().strict();
export type UserUpdateBody = z.infer<typeof UserUpdateBody>;

const expansionModules = z.number().int().min(0).max(6);
const idlePassword = z.string().regex(/^[A-Za-z0-9._+-]{8,64}$/, 'must be 8 to 64 letters, digits or . _ + -');

export const DeviceCreateBody = z
  .object({
    mac: z.string().min(1, 'must not be empty'),
    vendor: z.string().min(1, 'must not be empty'),
    model: z.string().min(1, 'must not be empty'),
    hotdesk: z.boolean().optional(),
    label: text(64).optional(),
    location: text(256).optional(),
    expansionModules: expansionModules.optional(),
    idlePassword: idlePassword.optional(),
    sipContact: z.lazy(() => contact).optional(),
  })
  .strict();
export type DeviceCreateBody = z.infer<typeof DeviceCreateBody>;

/** An IANA time zone a phone's clock can follow. */
const timeZone = z.string().refine(isTimeZone, 'must be an IANA time zone such as Europe/Amsterdam');
const phoneLanguage = z.enum(PHONE_LANGUAGES, { message: `must be one of ${PHONE_LANGUAGES.join(', ')}` });

export const DeviceUpdateBody = z
  .object({
    model: z.string().min(1).optional(),
    hotdesk: z.boolean().optional(),
    label: text(64).optional(),
    location: text(256).optional(),
    expansionModules: expansionModules.optional(),
    idlePassword: idlePassword.optional(),
    sipContact: z
      .lazy(() => contact)
      .nullable()
      .optional(),
    phoneTimezone: timeZone.nullable().optional(),
    phoneLanguage: phoneLanguage.nullable().optional(),
  })
  .strict();
export type DeviceUpdateBody = z.infer<typeof DeviceUpdateBody>;

const deviceRef = z.string().min(1, 'must not be empty');
/** Where the PBX sees the phone: the Contact of its registration. */
const contact = z.string().regex(/^<?sips?:[^\s]{1,250}$/, 'must be a SIP URI such as sip:HD0001@10.1.2.3:5062');
const dialString = z.string().regex(/^[0-9*#]{1,64}$/, 'must be the digits dialled: 0-9, * and #');

export const LoginBody = z.object({ device: deviceRef, extension, pin, contact: contact.optional() }).strict();
export const LogoutBody = z.object({ device: deviceRef, contact: contact.optional() }).strict();
export const CodeBody = z.object({ device: deviceRef, digits: dialString, contact: contact.optional() }).strict();

const host = z.string().regex(/^[A-Za-z0-9.-]{1,253}$|^\[[0-9A-Fa-f:.]+\]$/, 'must be a host name or IP address');
const port = z.number().int().min(1).max(65535);
const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time of day such as 01:30');
/** Where a redirect service's secret is sent: HTTPS, or plain HTTP only to this machine (a local stand-in or proxy). */
const serviceUrl = z
  .string()
  .max(512)
  .regex(/^https?:\/\/[^\s]+$/, 'must be an https:// URL')
  .refine((v) => {
    try {
      const url = new URL(v);
      if (url.username !== '' || url.password !== '') return false;
      return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname));
    } catch {
      return false;
    }
  }, 'must be an https:// URL without credentials in it (http:// only on loopback)');

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
const featureCode = z.string().regex(/^\*[0-9*]{1,15}$/, 'must start with * and hold only digits and *');

export const TenantUpdateBody = z
  .object({
    name: text(64).min(1).optional(),
    registrarHost: host.nullable().optional(),
    registrarPort: port.nullable().optional(),
    registrarTransport: z.enum(SIP_TRANSPORTS).nullable().optional(),
    loginCode: featureCode.optional(),
    logoutCode: featureCode.nullable().optional(),
    emergencyNumbers: z
      .array(z.string().regex(/^\d{2,6}$/, 'must be 2 to 6 digits'))
      .max(20)
      .optional(),
    extensionMinDigits: z.number().int().min(1).max(15).optional(),
    extensionMaxDigits: z.number().int().min(1).max(15).optional(),
    pinMinLength: z.number().int().min(4).max(12).optional(),
    // Names the idle accounts of devices enrolled from now on; those enrolled before keep theirs.
    idleAccountPattern: z
      .string()
      .superRefine((v, ctx) => {
        const problem = idleAccountPatternProblem(v);
        if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
    notifyMode: z.enum(['direct', 'asterisk', 'freeswitch']).optional(),
    loginKeyMode: z.enum(['screen', 'code']).optional(),
    relayHost: host.nullable().optional(),
    relayPort: port.nullable().optional(),
    relayUsername: text(64).nullable().optional(),
    relaySecret: text(128).nullable().optional(),
    relayProfile: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/)
      .optional(),
    autoLogoutCron: z
      .string()
      .refine((v) => cron.validate(v), 'must be a cron expression such as "0 2 * * *"')
      .nullable()
      .optional(),
    maxSessionMinutes: z
      .number()
      .int()
      .min(5)
      .max(60 * 24 * 31)
      .nullable()
      .optional(),
    yealinkRpsUrl: serviceUrl.optional(),
    yealinkRpsKeyId: text(128).nullable().optional(),
    yealinkRpsSecret: text(256).nullable().optional(),
    yealinkXmlRpcUrl: serviceUrl.optional(),
    yealinkXmlRpcUser: text(128).nullable().optional(),
    yealinkXmlRpcPassword: text(256).nullable().optional(),
    snomSrapsUrl: serviceUrl.optional(),
    snomSrapsKeyId: text(128).nullable().optional(),
    snomSrapsSecret: text(256).nullable().optional(),
    polyZtpUrl: serviceUrl.optional(),
    polyZtpApiKey: text(256).nullable().optional(),
    trustedNetworks: z
      .array(z.string().refine((c) => cidrProblem(c) === null, 'must be a network such as 10.0.0.0/8 or 2001:db8::/32'))
      .max(100)
      .optional(),
    trustRedirect: z.boolean().optional(),
    timezone: timeZone.optional(),
    // What every phone gets besides accounts and keys (issue 13); null leaves the phone's own default.
    pickupCode: z
      .string()
      .regex(/^[0-9*#]{1,15}$/, 'must be the digits dialled: 0-9, * and #')
      .optional(),
    pollMode: z.enum(['interval', 'nightly']).optional(),
    pollIntervalMinutes: z
      .number()
      .int()
      .min(5)
      .max(24 * 60)
      .optional(),
    pollWindowStart: clock.optional(),
    pollWindowEnd: clock.optional(),
    phoneTimezone: timeZone.nullable().optional(),
    ntpServer: host.nullable().optional(),
    phoneLanguage: phoneLanguage.nullable().optional(),
    voicemailNumber: z
      .string()
      .regex(/^[0-9*#+]{1,32}$/, 'must be the number dialled: 0-9, *, # and +')
      .nullable()
      .optional(),
    codecs: z
      .array(z.enum(CODECS, { message: `must be among ${CODECS.join(', ')}` }))
      .max(CODECS.length)
      .refine((list) => new Set(list).size === list.length, 'must not name a codec twice')
      .nullable()
      .optional(),
    srtp: z.enum(['auto', 'off', 'optional', 'required']).optional(),
  })
  .strict()
  .refine((t) => t.pollWindowStart === undefined || t.pollWindowStart !== t.pollWindowEnd, {
    message: 'must differ from pollWindowStart',
    path: ['pollWindowEnd'],
  });
export type TenantUpdateBody = z.infer<typeof TenantUpdateBody>;

/** A provider's quota on a tenant's devices or users: a count, or null for no limit. */
const quota = z.number().int().min(0).max(1_000_000).nullable();
const quotaFields = { maxDevices: quota.optional(), maxUsers: quota.optional() };
const providerOnly = (what: string) =>
  z.never({ error: `${what} set by the provider (PATCH /api/v1/tenants/:tenant), not in the tenant's own settings` }).optional();

/**
 * The address a provider white-labels a tenant's phones with (`https://prov.acme-voice.example`): an absolute
 * http:// or https:// URL without credentials, query or fragment, kept without its trailing slash; null is
 * HOTPROV_BASE_URL.
 */
export const tenantBaseUrl = z
  .string()
  .max(200)
  .transform((raw, ctx) => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      ctx.issues.push({ code: 'custom', input: raw, message: 'must be an absolute URL such as https://prov.example.net' });
      return z.NEVER;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      ctx.issues.push({ code: 'custom', input: raw, message: `must start with http:// or https:// (got ${url.protocol})` });
    }
    if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
      ctx.issues.push({ code: 'custom', input: raw, message: 'must not carry credentials, a query or a fragment' });
    }
    return url.href.replace(/\/+$/, '');
  })
  .nullable();

/** `PATCH /api/v1/tenant`: the tenant's own settings; its quotas and base URL are refused with a message that says whose they are. */
export const TenantSettingsBody = TenantUpdateBody.safeExtend({
  maxDevices: providerOnly('quotas are'),
  maxUsers: providerOnly('quotas are'),
  baseUrl: providerOnly('the base URL is'),
});

/** `PATCH /api/v1/tenants/:tenant`: the provider changes a tenant's settings, its quotas and its base URL. */
export const ProviderTenantUpdateBody = TenantUpdateBody.safeExtend({ ...quotaFields, baseUrl: tenantBaseUrl.optional() });
export type ProviderTenantUpdateBody = z.infer<typeof ProviderTenantUpdateBody>;

/** `POST /api/v1/tenants`: a tenant's name and the slug its URLs use (`/api/v1/tenants/acme/…`). */
export const TenantCreateBody = z
  .object({
    name: text(64).min(1),
    slug: z.string().regex(/^[a-z0-9][a-z0-9-]{1,31}$/, 'must be 2 to 32 lower-case letters, digits or -, not starting with -'),
    ...quotaFields,
  })
  .strict();
export type TenantCreateBody = z.infer<typeof TenantCreateBody>;

/** A tenant's API token: its name and role (a provider's tokens are made in the console only). */
export const TenantTokenBody = z
  .object({
    name: z.string().regex(/^[\w .-]{1,64}$/, 'use 1 to 64 letters, digits, spaces or . _ -'),
    role: z.enum(['admin', 'helpdesk']),
  })
  .strict();
export type TenantTokenBody = z.infer<typeof TenantTokenBody>;

/** A console account of a tenant made through the API: its name, password and role. */
export const AdminCreateBody = z
  .object({
    username: z.string().regex(/^[a-z0-9._-]{2,32}$/, 'use 2 to 32 lower-case letters, digits or . _ -'),
    password: z.string().min(10, 'use at least 10 characters').max(256),
    role: z.enum(['admin', 'helpdesk']),
  })
  .strict();
export type AdminCreateBody = z.infer<typeof AdminCreateBody>;

/** A console account's new password. */
export const AdminPasswordBody = z.object({ password: z.string().min(10, 'use at least 10 characters').max(256) }).strict();

/** `GET /api/v1/audit`'s query: the audit filter, a page of at most 500 events (50 unless said), times as ISO 8601. */
export const AuditQuery = z
  .object({
    device: z.string().max(64).optional(),
    user: z.string().max(32).optional(),
    action: z.string().max(64).optional(),
    actor: z.string().max(128).optional(),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    offset: z.coerce.number().int().min(0).default(0),
  })
  .strict();

/** A webhook endpoint: where (https://), which events, and a note for people; whether it is sent anything. */
export const WebhookCreateBody = z
  .object({
    url: z.string().min(1, 'must not be empty').max(2000, 'use at most 2000 characters'),
    events: z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1, 'subscribe to at least one event'),
    description: z.string().max(200, 'use at most 200 characters').optional(),
    enabled: z.boolean().optional(),
  })
  .strict();
export type WebhookCreateBody = z.infer<typeof WebhookCreateBody>;

export const WebhookUpdateBody = WebhookCreateBody.partial().strict();
export type WebhookUpdateBody = z.infer<typeof WebhookUpdateBody>;

import { z } from 'zod';
import { SIP_TRANSPORTS } from '../config.ts';
import { ROLES } from '../db/schema.ts';
import { TEST_EVENT, WEBHOOK_EVENT_TYPES } from '../domain/webhookEvents.ts';

/**
 * The JSON the API answers, as zod schemas: what the presenters (presenters.ts, occupancy.ts) return, declared
 * by the routes (http/routes/api.ts) and published in the OpenAPI document (http/openapi.ts). The presenters'
 * return types are checked against them, and a test validates real answers against the document.
 * The ids name them in the document's components.
 */
export const apiSchemas = z.registry<{ id?: string; description?: string }>();

const instant = z.iso.datetime();
const when = instant.nullable();

/** Every error answer: a stable code from the catalogue (src/errors.ts), a message for people, and the error's details. */
export const ErrorAnswer = z
  .object({
    error: z.looseObject({
      code: z.string(),
      message: z.string(),
      field: z.string().optional(),
      triesLeft: z.number().int().optional(),
      lockedUntil: instant.optional(),
    }),
  })
  .register(apiSchemas, { id: 'Error', description: 'code is stable (bad_request, invalid_field, unauthorized, forbidden, not_found, conflict, …)' });

export const SyncView = z
  .object({
    state: z.enum(['queued', 'sent', 'answered', 'fetched', 'failed', 'superseded']),
    reason: z.string(),
    mode: z.string(),
    target: z.string(),
    statusCode: z.number().int().nullable(),
    attempts: z.number().int(),
    error: z.string().nullable(),
    createdAt: when,
    sentAt: when,
    answeredAt: when,
    fetchedAt: when,
    failedAt: when,
    retryAt: when,
  })
  .register(apiSchemas, { id: 'Sync', description: "the re-sync of a device's last change" });

const PhoneStateView = z.object({ account: z.string().nullable(), pending: z.enum(['logout', 'login']).nullable() });
const PersonView = z.object({ extension: z.string(), displayName: z.string() });

export const UserView = z
  .object({
    extension: z.string(),
    displayName: z.string(),
    sipUser: z.string(),
    authName: z.string(),
    hotdesk: z.boolean(),
    pinSet: z.boolean(),
    keys: z.array(z.object({ type: z.enum(['blf', 'speed', 'line']), value: z.string(), label: z.string() })),
    createdAt: instant,
  })
  .register(apiSchemas, { id: 'User' });

export const AccessView = z
  .object({
    state: z.enum(['unclaimed', 'claimed', 'active']),
    claim: z
      .object({
        at: instant,
        via: z.enum(['bootstrap', 'redirect', 'certificate']).nullable(),
        ip: z.string().nullable(),
        userAgent: z.string().nullable(),
        firmware: z.string().nullable(),
      })
      .nullable(),
    activatedAt: when,
    activatedBy: z.string().nullable(),
    refusedClaims: z.object({ count: z.number().int(), lastAt: when, lastIp: z.string().nullable() }).nullable(),
    activationCodeSet: z.boolean(),
  })
  .register(apiSchemas, { id: 'DeviceAccess' });

export const DeviceView = z
  .object({
    mac: z.string(),
    vendor: z.string(),
    model: z.string(),
    label: z.string(),
    hotdesk: z.boolean(),
    location: z.string(),
    expansionModules: z.number().int(),
    idleAccount: z.string(),
    state: z.enum(['idle', 'in_use']),
    user: PersonView.nullable(),
    phone: PhoneStateView,
    sipContact: z.string().nullable(),
    reportedContact: z.string().nullable(),
    phoneTimezone: z.string().nullable(),
    phoneLanguage: z.string().nullable(),
    lastSeen: z.object({ at: instant, ip: z.string().nullable(), userAgent: z.string().nullable(), firmware: z.string().nullable() }).nullable(),
    profile: z.enum(['idle', 'user', 'retired']),
    files: z.array(z.string()),
    warnings: z.array(z.string()),
    sync: SyncView.nullable(),
    redirect: z.object({
      status: z.string(),
      message: z.string().nullable(),
      attempts: z.number().int(),
      attemptedAt: when,
      nextAttemptAt: when,
    }),
    access: AccessView,
    createdAt: instant,
  })
  .register(apiSchemas, { id: 'Device' });

/** A device as enrolled or unclaimed: with the activation code, answered this once. */
export const DeviceWithCodeView = DeviceView.extend({ activationCode: z.string() }).register(apiSchemas, { id: 'DeviceWithActivationCode' });

export const SessionView = z
  .object({
    id: z.number().int(),
    device: z.object({ mac: z.string(), idleAccount: z.string(), label: z.string() }),
    user: PersonView,
    method: z.string(),
    startedAt: instant,
    phone: PhoneStateView,
    sync: SyncView.nullable(),
  })
  .register(apiSchemas, { id: 'Session' });

export const TenantView = z
  .object({
    name: z.string(),
    registrarHost: z.string().nullable(),
    registrarPort: z.number().int().nullable(),
    registrarTransport: z.enum(SIP_TRANSPORTS).nullable(),
    loginCode: z.string(),
    logoutCode: z.string().nullable(),
    emergencyNumbers: z.array(z.string()),
    extensionMinDigits: z.number().int(),
    extensionMaxDigits: z.number().int(),
    pinMinLength: z.number().int(),
    idleAccountPattern: z.string(),
    notifyMode: z.enum(['direct', 'asterisk', 'freeswitch']),
    loginKeyMode: z.enum(['screen', 'code']),
    relayHost: z.string().nullable(),
    relayPort: z.number().int().nullable(),
    relayUsername: z.string().nullable(),
    relaySecretSet: z.boolean(),
    relayProfile: z.string(),
    autoLogoutCron: z.string().nullable(),
    maxSessionMinutes: z.number().int().nullable(),
    timezone: z.string(),
    yealinkRpsUrl: z.string(),
    yealinkRpsConfigured: z.boolean(),
    yealinkXmlRpcUrl: z.string(),
    yealinkXmlRpcConfigured: z.boolean(),
    snomSrapsUrl: z.string(),
    snomSrapsConfigured: z.boolean(),
    polyZtpUrl: z.string(),
    polyZtpConfigured: z.boolean(),
    trustedNetworks: z.array(z.string()),
    trustRedirect: z.boolean(),
    pickupCode: z.string(),
    pollMode: z.enum(['interval', 'nightly']),
    pollIntervalMinutes: z.number().int(),
    pollWindowStart: z.string(),
    pollWindowEnd: z.string(),
    phoneTimezone: z.string().nullable(),
    ntpServer: z.string().nullable(),
    phoneLanguage: z.string().nullable(),
    voicemailNumber: z.string().nullable(),
    codecs: z.array(z.string()).nullable(),
    srtp: z.enum(['auto', 'off', 'optional', 'required']),
    maxDevices: z.number().int().nullable(),
    maxUsers: z.number().int().nullable(),
    baseUrl: z.string().nullable(),
  })
  .register(apiSchemas, { id: 'TenantSettings', description: 'secrets are never answered, only whether they are set' });

export const TenantRecordView = z
  .object({ slug: z.string(), ...TenantView.shape, createdAt: instant })
  .register(apiSchemas, { id: 'Tenant', description: 'a tenant as the provider reads it' });

export const TenantOverviewView = z.object({
  devices: z.number().int(),
  maxDevices: z.number().int().nullable(),
  users: z.number().int(),
  maxUsers: z.number().int().nullable(),
  seatedDesks: z.number().int(),
  failedResyncs: z.number().int(),
  phonesUnseen: z.number().int(),
  lastActivityAt: when,
});

const TenantSummaryFields = {
  slug: z.string(),
  name: z.string(),
  maxDevices: z.number().int().nullable(),
  maxUsers: z.number().int().nullable(),
  baseUrl: z.string().nullable(),
  createdAt: instant,
};
export const TenantSummaryView = z.object(TenantSummaryFields);
export const TenantListEntryView = z
  .object({ ...TenantSummaryFields, overview: TenantOverviewView })
  .register(apiSchemas, { id: 'TenantSummary', description: "a tenant in the provider's list, with its overview figures" });

export const ApiTokenView = z
  .object({
    id: z.number().int(),
    name: z.string(),
    role: z.enum(ROLES),
    createdBy: z.string(),
    createdAt: instant,
    /** To within five minutes; null: never used. */
    lastUsedAt: when,
    revokedAt: when,
  })
  .register(apiSchemas, { id: 'ApiToken', description: 'never its value, except once when created' });

export const AdminView = z
  .object({ id: z.number().int(), username: z.string(), role: z.enum(ROLES), createdAt: instant })
  .register(apiSchemas, { id: 'Admin', description: 'a console account: never its password or its hash' });

export const AuditEventView = z
  .object({
    id: z.number().int(),
    at: instant,
    actor: z.string(),
    action: z.string(),
    method: z.string().nullable(),
    deviceMac: z.string().nullable(),
    idleAccount: z.string().nullable(),
    userExtension: z.string().nullable(),
    detail: z.record(z.string(), z.unknown()),
  })
  .register(apiSchemas, { id: 'AuditEvent' });

export const AuditPageView = z
  .object({ total: z.number().int(), limit: z.number().int(), offset: z.number().int(), events: z.array(AuditEventView) })
  .register(apiSchemas, { id: 'AuditPage', description: 'a page of the audit log, newest first, with the total of the whole filter' });

export const NewApiTokenView = ApiTokenView.extend({ token: z.string() }).register(apiSchemas, { id: 'NewApiToken' });

export const OccupancyReportView = z
  .object({
    timeZone: z.string(),
    from: z.iso.date(),
    to: z.iso.date(),
    desks: z.array(
      z.object({
        device: z.string(),
        mac: z.string(),
        label: z.string(),
        location: z.string(),
        retired: z.boolean(),
        hours: z.number(),
        daysOccupied: z.number().int(),
        people: z.number().int(),
        sessions: z.number().int(),
      }),
    ),
    days: z.array(z.object({ day: z.iso.date(), device: z.string(), label: z.string(), hours: z.number(), people: z.number().int() })),
    users: z.array(
      z.object({
        extension: z.string(),
        displayName: z.string(),
        device: z.string(),
        label: z.string(),
        hours: z.number(),
        daysOccupied: z.number().int(),
        sessions: z.number().int(),
        lastStartedAt: instant,
      }),
    ),
  })
  .register(apiSchemas, { id: 'Occupancy' });

// The answers of single routes, each in one place (the route's declaration).

export const PinView = z.object({ extension: z.string(), pin: z.string() });
export const ActivationCodeView = z.object({ device: z.string(), activationCode: z.string() });
export const WebPasswordView = z.object({ username: z.string(), password: z.string() });
export const IdleAccountView = z.object({
  name: z.string(),
  password: z.string(),
  registrar: z.object({ host: z.string(), port: z.number().int(), transport: z.enum(SIP_TRANSPORTS) }),
});
export const DeviceSyncView = z.object({ device: z.string(), sync: SyncView.nullable() });
export const DeviceFilesView = z.object({ files: z.array(z.object({ name: z.string(), contentType: z.string(), body: z.string() })) });

export const LoginView = z.object({
  result: z.enum(['logged_in', 'switched', 'already']),
  session: SessionView,
  movedFrom: z.string().nullable(),
  replaced: z.string().nullable(),
  warnings: z.array(z.string()),
});

export const LogoutView = z.object({
  result: z.enum(['logged_out', 'idle']),
  device: z.string(),
  user: z.string().nullable(),
  sync: SyncView.nullable(),
});

export const CodeView = z.object({
  result: z.string(),
  prompt: z.string(),
  device: z.string().nullable(),
  user: PersonView.nullable(),
  triesLeft: z.number().int().optional(),
  lockedUntil: instant.optional(),
});

// The template editor's answers (http/routes/templatesApi.ts).

/** Whose version: every phone of the vendor in the tenant, one model's, or one device's (of its model). */
export const TemplateScopeView = z
  .discriminatedUnion('level', [
    z.object({ level: z.literal('tenant') }),
    z.object({ level: z.literal('model'), model: z.string() }),
    z.object({ level: z.literal('device'), deviceId: z.number().int(), model: z.string() }),
  ])
  .register(apiSchemas, { id: 'TemplateScope', description: "whose version: the tenant's (every phone of the vendor), a model's, or one device's" });

export const TemplateView = z
  .object({
    vendor: z.string(),
    name: z.string(),
    scope: TemplateScopeView,
    own: z.boolean(),
    source: z.string(),
    shippedChange: z.object({ before: z.string(), after: z.string() }).nullable(),
    revisions: z.array(
      z.object({ id: z.number().int(), createdAt: instant, createdBy: z.string(), reset: z.boolean(), restoredFrom: z.number().int().nullable() }),
    ),
  })
  .register(apiSchemas, {
    id: 'Template',
    description: "a scope's version: its text (its own, or the one it inherits), its revisions newest first, the shipped file's change since it was made",
  });

export const TemplateListEntryView = z
  .object({
    vendor: z.string(),
    name: z.string(),
    versions: z.array(z.object({ scope: TemplateScopeView, revision: z.number().int(), shippedChanged: z.boolean() })),
  })
  .register(apiSchemas, { id: 'TemplateSummary', description: "a template an admin may edit, with the tenant's own versions of it" });

/** The version with the shipped change merged in, not saved; `text` null when the shipped file did not change since. */
export const TemplateMergeView = z.object({ text: z.string().nullable(), conflicts: z.array(z.string()) });
export const TemplateResyncView = z.object({ phones: z.number().int() });

export const WebhookDeliveryView = z
  .object({
    id: z.number().int(),
    eventId: z.string(),
    event: z.enum([...WEBHOOK_EVENT_TYPES, TEST_EVENT]),
    state: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.number().int(),
    createdAt: instant,
    lastAttemptAt: when,
    /** The endpoint's HTTP status at the last attempt; null when it did not answer. */
    lastStatus: z.number().int().nullable(),
    lastError: z.string().nullable(),
    /** When a pending delivery is tried next. */
    nextAttemptAt: when,
    deliveredAt: when,
  })
  .register(apiSchemas, { id: 'WebhookDelivery', description: 'one event to one endpoint, retried with back-off until it answers 2xx' });

export const WebhookView = z
  .object({
    id: z.number().int(),
    url: z.string(),
    description: z.string(),
    events: z.array(z.enum(WEBHOOK_EVENT_TYPES)),
    enabled: z.boolean(),
    createdBy: z.string(),
    createdAt: instant,
    /** The latest attempt to reach it: its outcome is the endpoint's state. */
    lastAttempt: WebhookDeliveryView.nullable(),
    pendingDeliveries: z.number().int(),
    failedDeliveries: z.number().int(),
  })
  .register(apiSchemas, { id: 'Webhook', description: 'never its signing secret, except once when made or replaced' });

export const NewWebhookView = WebhookView.extend({ secret: z.string() }).register(apiSchemas, {
  id: 'NewWebhook',
  description: 'secret signs every delivery: Hotprov-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">',
});

export const WebhookDetailView = WebhookView.extend({ deliveries: z.array(WebhookDeliveryView) }).register(apiSchemas, { id: 'WebhookWithDeliveries' });

export const WebhookSecretView = z.object({ secret: z.string() }).register(apiSchemas, { id: 'WebhookSecret' });

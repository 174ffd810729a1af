import type { z } from 'zod';
import type {
  AdminRow,
  ApiTokenRow,
  AuditEventRow,
  DeviceRow,
  SessionRow,
  SyncJobRow,
  TenantRow,
  UserKeyRow,
  UserRow,
  WebhookDeliveryRow,
} from '../db/schema.ts';
import { formatMac, type Mac } from '../domain/mac.ts';
import { parseNetworkList } from '../domain/networks.ts';
import type { TenantOverview } from '../domain/overview.ts';
import type { OpenSession } from '../domain/sessions.ts';
import { attemptRunning } from '../domain/webhookEvents.ts';
import type { WebhookEndpoint } from '../domain/webhooks.ts';
import type { DeviceSummary } from '../provisioning/preview.ts';
import { phoneState } from '../sync/phoneState.ts';
import type {
  AccessView,
  AdminView,
  ApiTokenView,
  AuditEventView,
  DeviceView,
  SessionView,
  SyncView,
  TenantOverviewView,
  TenantRecordView,
  TenantSummaryView,
  TenantView,
  UserView,
  WebhookDeliveryView,
  WebhookView,
} from './views.ts';

/** JSON shapes of the API. Secrets (SIP passwords, PIN hashes, the relay secret) never appear in them. */

const iso = (d: Date | null) => d?.toISOString() ?? null;

export function presentUser(user: UserRow, keys: readonly UserKeyRow[]): z.output<typeof UserView> {
  return {
    extension: user.extension,
    displayName: user.displayName,
    sipUser: user.sipUser,
    authName: user.authName,
    hotdesk: user.hotdesk,
    pinSet: user.pinHash !== null,
    keys: keys.map((k) => ({ type: k.type, value: k.value, label: k.label })),
    createdAt: user.createdAt.toISOString(),
  };
}

/**
 * The re-sync of a device's last change: queued, sent, answered (with the phone's status), fetched or
 * failed; a failed one says why and when it is tried again (`retryAt`).
 */
export function presentSync(job: SyncJobRow | undefined): z.output<typeof SyncView> | null {
  if (job === undefined) return null;
  return {
    state: job.state,
    reason: job.reason,
    mode: job.mode,
    target: job.target,
    statusCode: job.statusCode,
    attempts: job.attempts,
    error: job.error,
    createdAt: iso(job.createdAt),
    sentAt: iso(job.sentAt),
    answeredAt: iso(job.answeredAt),
    fetchedAt: iso(job.fetchedAt),
    failedAt: iso(job.failedAt),
    retryAt: iso(job.retryAt),
  };
}

/**
 * Whether the phone proved it is this phone, and who claimed it: what an admin looks at before approving.
 * Never the credentials, the activation code or the web password.
 */
export function presentAccess(device: DeviceRow): z.output<typeof AccessView> {
  return {
    state: device.access,
    claim:
      device.claimedAt === null
        ? null
        : { at: device.claimedAt.toISOString(), via: device.claimVia, ip: device.claimIp, userAgent: device.claimUserAgent, firmware: device.claimFirmware },
    activatedAt: iso(device.activatedAt),
    activatedBy: device.activatedBy,
    refusedClaims: device.refusedClaims === 0 ? null : { count: device.refusedClaims, lastAt: iso(device.refusedClaimAt), lastIp: device.refusedClaimIp },
    activationCodeSet: device.activationCodeHash !== null,
  };
}

export function presentDevice(
  device: DeviceRow,
  seated: UserRow | undefined,
  provisioning: DeviceSummary,
  sync: SyncJobRow | undefined,
): z.output<typeof DeviceView> {
  return {
    mac: formatMac(device.mac as Mac),
    vendor: device.vendor,
    model: device.model,
    label: device.label,
    hotdesk: device.hotdesk,
    location: device.location,
    expansionModules: device.expansionModules,
    idleAccount: device.idleAccount,
    state: seated === undefined ? 'idle' : 'in_use',
    user: seated === undefined ? null : { extension: seated.extension, displayName: seated.displayName },
    phone: phoneState(device, seated),
    sipContact: device.sipContact,
    reportedContact: device.reportedContact,
    phoneTimezone: device.phoneTimezone,
    phoneLanguage: device.phoneLanguage,
    lastSeen:
      device.lastSeenAt === null
        ? null
        : { at: device.lastSeenAt.toISOString(), ip: device.lastSeenIp, userAgent: device.lastUserAgent, firmware: device.firmware },
    profile: provisioning.mode,
    files: [...provisioning.files],
    warnings: [...provisioning.warnings],
    sync: presentSync(sync),
    redirect: {
      status: device.redirectStatus,
      message: device.redirectMessage,
      attempts: device.redirectAttempts,
      attemptedAt: iso(device.redirectAttemptedAt),
      nextAttemptAt: iso(device.redirectNextAttemptAt),
    },
    access: presentAccess(device),
    createdAt: device.createdAt.toISOString(),
  };
}

export function presentSession(session: SessionRow, device: DeviceRow, user: UserRow, sync: SyncJobRow | undefined): z.output<typeof SessionView> {
  return {
    id: session.id,
    device: { mac: formatMac(device.mac as Mac), idleAccount: device.idleAccount, label: device.label },
    user: { extension: user.extension, displayName: user.displayName },
    method: session.method,
    startedAt: session.startedAt.toISOString(),
    phone: phoneState(device, user),
    sync: presentSync(sync),
  };
}

export function presentOpenSession(open: OpenSession, sync: SyncJobRow | undefined) {
  return presentSession(open.session, open.device, open.user, sync);
}

export function presentTenant(t: TenantRow): z.output<typeof TenantView> {
  return {
    name: t.name,
    registrarHost: t.registrarHost,
    registrarPort: t.registrarPort,
    registrarTransport: t.registrarTransport,
    loginCode: t.loginCode,
    logoutCode: t.logoutCode,
    emergencyNumbers: JSON.parse(t.emergencyNumbers) as string[],
    extensionMinDigits: t.extensionMinDigits,
    extensionMaxDigits: t.extensionMaxDigits,
    pinMinLength: t.pinMinLength,
    idleAccountPattern: t.idleAccountPattern,
    notifyMode: t.notifyMode,
    loginKeyMode: t.loginKeyMode,
    relayHost: t.relayHost,
    relayPort: t.relayPort,
    relayUsername: t.relayUsername,
    relaySecretSet: t.relaySecret !== null,
    relayProfile: t.relayProfile,
    autoLogoutCron: t.autoLogoutCron,
    maxSessionMinutes: t.maxSessionMinutes,
    timezone: t.timezone,
    yealinkRpsUrl: t.yealinkRpsUrl,
    yealinkRpsConfigured: t.yealinkRpsKeyId !== null && t.yealinkRpsSecret !== null,
    yealinkXmlRpcUrl: t.yealinkXmlRpcUrl,
    yealinkXmlRpcConfigured: t.yealinkXmlRpcUser !== null && t.yealinkXmlRpcPassword !== null,
    snomSrapsUrl: t.snomSrapsUrl,
    snomSrapsConfigured: t.snomSrapsKeyId !== null && t.snomSrapsSecret !== null,
    polyZtpUrl: t.polyZtpUrl,
    polyZtpConfigured: t.polyZtpApiKey !== null,
    trustedNetworks: parseNetworkList(t.trustedNetworks),
    trustRedirect: t.trustRedirect,
    pickupCode: t.pickupCode,
    pollMode: t.pollMode,
    pollIntervalMinutes: t.pollIntervalMinutes,
    pollWindowStart: t.pollWindowStart,
    pollWindowEnd: t.pollWindowEnd,
    phoneTimezone: t.phoneTimezone,
    ntpServer: t.ntpServer,
    phoneLanguage: t.phoneLanguage,
    voicemailNumber: t.voicemailNumber,
    codecs: t.codecs === null ? null : (JSON.parse(t.codecs) as string[]),
    srtp: t.srtp,
    // The provider's quotas (null: no limit); a tenant admin sees them, only the provider changes them.
    maxDevices: t.maxDevices,
    maxUsers: t.maxUsers,
    // The provider's address for the tenant's phones; null: HOTPROV_BASE_URL.
    baseUrl: t.baseUrl,
  };
}

/** A tenant in the provider's list. */
export function presentTenantSummary(t: TenantRow): z.output<typeof TenantSummaryView> {
  return { slug: t.slug, name: t.name, maxDevices: t.maxDevices, maxUsers: t.maxUsers, baseUrl: t.baseUrl, createdAt: t.createdAt.toISOString() };
}

/** A tenant's figures in the provider's overview (`overview` of each tenant in `GET /api/v1/tenants`). */
export function presentTenantOverview(o: TenantOverview): z.output<typeof TenantOverviewView> {
  return {
    devices: o.devices,
    maxDevices: o.maxDevices,
    users: o.users,
    maxUsers: o.maxUsers,
    seatedDesks: o.seatedDesks,
    failedResyncs: o.failedResyncs,
    phonesUnseen: o.phonesUnseen,
    lastActivityAt: iso(o.lastActivityAt),
  };
}

/** A tenant as the provider reads it: its slug and settings (never a stored secret). */
export function presentTenantRecord(t: TenantRow): z.output<typeof TenantRecordView> {
  return { slug: t.slug, ...presentTenant(t), createdAt: t.createdAt.toISOString() };
}

/** An API token without its value (only a hash of it is kept). */
export function presentApiToken(t: ApiTokenRow): z.output<typeof ApiTokenView> {
  return {
    id: t.id,
    name: t.name,
    role: t.role,
    createdBy: t.createdBy,
    createdAt: t.createdAt.toISOString(),
    lastUsedAt: iso(t.lastUsedAt),
    revokedAt: iso(t.revokedAt),
  };
}

/** A console account as the API answers it: never its password hash. */
export function presentAdmin(a: AdminRow): z.output<typeof AdminView> {
  return { id: a.id, username: a.username, role: a.role, createdAt: a.createdAt.toISOString() };
}

/** An audit event as the API answers it: its detail as the object it was recorded as. */
export function presentAuditEvent(e: AuditEventRow): z.output<typeof AuditEventView> {
  return {
    id: e.id,
    at: e.at.toISOString(),
    actor: e.actor,
    action: e.action,
    method: e.method,
    deviceMac: e.deviceMac,
    idleAccount: e.idleAccount,
    userExtension: e.userExtension,
    detail: JSON.parse(e.detail) as Record<string, unknown>,
  };
}

/** A webhook delivery as the API answers it: never its body's signature or the endpoint's secret. */
export function presentWebhookDelivery(d: WebhookDeliveryRow): z.output<typeof WebhookDeliveryView> {
  return {
    id: d.id,
    eventId: d.eventId,
    event: d.event as z.output<typeof WebhookDeliveryView>['event'],
    state: d.state,
    attempts: d.attempts,
    createdAt: d.createdAt.toISOString(),
    lastAttemptAt: iso(d.lastAttemptAt),
    lastStatus: d.lastStatus,
    lastError: d.lastError,
    // While an attempt runs its next time is only when it would be given up for lost: none to show.
    nextAttemptAt: d.state === 'pending' && !attemptRunning(d) ? iso(d.nextAttemptAt) : null,
    deliveredAt: iso(d.deliveredAt),
  };
}

/** A webhook endpoint as the API answers it, with its latest attempt. */
export function presentWebhook(w: WebhookEndpoint): z.output<typeof WebhookView> {
  return {
    id: w.id,
    url: w.url,
    description: w.description,
    events: [...w.events],
    enabled: w.enabled,
    createdBy: w.createdBy,
    createdAt: w.createdAt.toISOString(),
    lastAttempt: w.deliveries.lastAttempt === null ? null : presentWebhookDelivery(w.deliveries.lastAttempt),
    pendingDeliveries: w.deliveries.pending,
    failedDeliveries: w.deliveries.failed,
  };
}

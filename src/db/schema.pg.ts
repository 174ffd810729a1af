import { sql } from 'drizzle-orm';
import { boolean, index, integer, pgTable, serial, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { SIP_TRANSPORTS } from '../config.ts';
import { ROLES } from './schema.ts';

/*
 * The PostgreSQL twin of schema.ts (issue 16): the same tables, SQL column names, nullability, defaults and
 * indexes, so the domain reads the same rows on both. Only the types differ: timestamps are `timestamptz` (Date
 * in the domain, as SQLite's ms integers are), booleans are `boolean`. Change both files together;
 * test/db/schemaDrift.test.ts compares the two live databases and fails on any other difference.
 * Migrations: `npm run db:generate:pg` writes them to src/db/migrations-pg/.
 */

/** A point in time: `timestamptz`, read as a Date (SQLite's ms integers are Dates in the domain too). */
const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const createdAt = () => timestamptz('created_at').notNull().defaultNow();

/** A customer of hotprov. One default tenant exists; every row below belongs to exactly one tenant. */
export const tenants = pgTable('tenants', {
  id: serial('id').primaryKey(),
  slug: text('slug').notNull().unique(),
  name: text('name').notNull(),
  /** Registrar overrides; NULL means the HOTPROV_SIP_* default. */
  registrarHost: text('registrar_host'),
  registrarPort: integer('registrar_port'),
  registrarTransport: text('registrar_transport', { enum: SIP_TRANSPORTS }),
  /** Feature code that logs in and out (`*35`, 3CX uses `*77`). */
  loginCode: text('login_code').notNull().default('*35'),
  /** Numbers an idle phone may dial without any prefix, as a JSON array of strings. */
  emergencyNumbers: text('emergency_numbers').notNull().default('["112","911"]'),
  /** Internal extensions an idle phone may dial: this many digits. */
  extensionMinDigits: integer('extension_min_digits').notNull().default(2),
  extensionMaxDigits: integer('extension_max_digits').notNull().default(6),
  pinMinLength: integer('pin_min_length').notNull().default(4),
  /** The number of the next idle account (HD0001, HD0002, …); never reused, so the PBX never sees a name twice. */
  nextIdleNumber: integer('next_idle_number').notNull().default(1),
  /** How new idle accounts are named: `{n:W}` is the number, W digits wide (`acme-hd{n:3}` → `acme-hd001`). */
  idleAccountPattern: text('idle_account_pattern').notNull().default('HD{n:4}'),
  /** What the Login and Logout keys do: open hotprov's screens on the phone, or dial the login code. */
  loginKeyMode: text('login_key_mode', { enum: ['screen', 'code'] })
    .notNull()
    .default('screen'),
  /** A code that only logs out (3CX: `*77*5*`); NULL when the login code alone does it. */
  logoutCode: text('logout_code'),
  /** How check-sync NOTIFYs reach phones: straight from hotprov, or relayed by the PBX. */
  notifyMode: text('notify_mode', { enum: ['direct', 'asterisk', 'freeswitch'] })
    .notNull()
    .default('direct'),
  /** Asterisk AMI or FreeSWITCH event socket of the PBX, for relayed NOTIFYs. */
  relayHost: text('relay_host'),
  relayPort: integer('relay_port'),
  relayUsername: text('relay_username'),
  relaySecret: text('relay_secret'),
  /** FreeSWITCH: the sofia profile phones register with. */
  relayProfile: text('relay_profile').notNull().default('internal'),
  /** Cron expression for logging everyone out (e.g. `0 2 * * *`), in the tenant's time zone; NULL = never. */
  autoLogoutCron: text('auto_logout_cron'),
  /** Sessions longer than this are ended; NULL = no limit. */
  maxSessionMinutes: integer('max_session_minutes'),
  timezone: text('timezone').notNull().default('UTC'),
  /** Redirect services (zero-touch): each is used when its credentials are set. Secrets never leave the database. */
  yealinkRpsUrl: text('yealink_rps_url').notNull().default('https://api-dm.yealink.com:8443'),
  yealinkRpsKeyId: text('yealink_rps_key_id'),
  yealinkRpsSecret: text('yealink_rps_secret'),
  /** Accounts that only have Yealink's older XML-RPC API (Basic auth) use it instead of the open API. */
  yealinkXmlRpcUrl: text('yealink_xmlrpc_url').notNull().default('https://api-dm.yealink.com:8443/xmlrpc'),
  yealinkXmlRpcUser: text('yealink_xmlrpc_user'),
  yealinkXmlRpcPassword: text('yealink_xmlrpc_password'),
  snomSrapsUrl: text('snom_sraps_url').notNull().default('https://secure-provisioning.snom.com/api/v1'),
  snomSrapsKeyId: text('snom_sraps_key_id'),
  snomSrapsSecret: text('snom_sraps_secret'),
  polyZtpUrl: text('poly_ztp_url').notNull().default('https://api.ztp.poly.com/v1'),
  polyZtpApiKey: text('poly_ztp_api_key'),
  /** The base URL the redirects point at; when hotprov's changes, every phone is registered again. */
  redirectBaseUrl: text('redirect_base_url'),
  /**
   * Networks (CIDR, JSON array) whose phones become active as soon as they claim their credentials. The
   * default is the private ranges: an office LAN stays zero-touch, nothing on the internet is trusted.
   */
  trustedNetworks: text('trusted_networks').notNull().default('["10.0.0.0/8","172.16.0.0/12","192.168.0.0/16","fc00::/7"]'),
  /** Whether a phone presenting the credentials its redirect service gave it is active at once. */
  trustRedirect: boolean('trust_redirect').notNull().default(false),
  /** What every phone of the tenant gets besides accounts and keys (issue 13). NULL leaves the phone's own default. */
  /** Directed call pickup code a BLF key dials before the ringing colleague's extension. */
  pickupCode: text('pickup_code').notNull().default('*8'),
  /** Provisioning poll as a safety net for a lost NOTIFY: every N minutes, or once a night at a per-phone minute. */
  pollMode: text('poll_mode', { enum: ['interval', 'nightly'] })
    .notNull()
    .default('interval'),
  pollIntervalMinutes: integer('poll_interval_minutes').notNull().default(60),
  /** The nightly window (`HH:MM`, phone's local time); each phone polls at its own minute inside it. */
  pollWindowStart: text('poll_window_start').notNull().default('01:00'),
  pollWindowEnd: text('poll_window_end').notNull().default('05:00'),
  /** IANA time zone the phones show (their clocks and the nightly poll window); NULL = the phone's own. */
  phoneTimezone: text('phone_timezone'),
  ntpServer: text('ntp_server'),
  /** Phone display language (`en`, `de`, …); NULL = the phone's own. */
  phoneLanguage: text('phone_language'),
  /** The number a logged-in phone's voicemail key and MWI call back; NULL = none set. */
  voicemailNumber: text('voicemail_number'),
  /** Codec preference as a JSON array (`["g722","pcma"]`), first preferred; NULL = the phone's own. */
  codecs: text('codecs'),
  /** SRTP: `auto` offers it when the registrar transport is TLS and leaves the phone alone otherwise. */
  srtp: text('srtp', { enum: ['auto', 'off', 'optional', 'required'] })
    .notNull()
    .default('auto'),
  /** The provider's quotas: at most this many devices (retired ones not counted) and users; NULL = no limit. */
  maxDevices: integer('max_devices'),
  maxUsers: integer('max_users'),
  /** The provider's white-label address for this tenant's phones (`https://prov.acme-voice.example`); NULL = HOTPROV_BASE_URL. */
  baseUrl: text('base_url'),
  createdAt: createdAt(),
  /** When the provider deleted the tenant: nobody acts in it any more, its retired devices still get their wipe file. */
  retiredAt: timestamptz('retired_at'),
});

/** A physical phone, known by its MAC. */
export const devices = pgTable(
  'devices',
  {
    id: serial('id').primaryKey(),
    tenantId: integer('tenant_id')
      .notNull()
      .references(() => tenants.id),
    /** 12 lower-case hex digits, no separators. Unique across tenants: a phone asks by MAC alone. */
    mac: text('mac').notNull().unique(),
    vendor: text('vendor').notNull(),
    model: text('model').notNull(),
    label: text('label').notNull().default(''),
    hotdesk: boolean('hotdesk').notNull().default(true),
    /** The phone's own placeholder account used while nobody is logged in. */
    idleAccount: text('idle_account').notNull(),
    idlePassword: text('idle_password').notNull(),
    /** Where the desk is, for emergency calls. It belongs to the device, never to a user. */
    location: text('location').notNull().default(''),
    /**
     * Secret in the URLs of the phone's login and logout screens. Only the phone's own profile holds it, so
     * another machine on the network can neither log the phone out nor try PINs through it.
     */
    screenSecret: text('screen_secret'),
    /**
     * HTTP credentials the phone fetches its own files with. It gets them once: in the bootstrap file of its
     * claim, or through its redirect service. Nothing of its own is served without them.
     */
    provUsername: text('prov_username'),
    provPassword: text('prov_password'),
    /**
     * Whether the phone proved it is this phone: unclaimed (nobody has its credentials), claimed (handed out
     * once, waiting for a trusted network, an admin, the activation code or a certificate), active.
     */
    access: text('access', { enum: ['unclaimed', 'claimed', 'active'] })
      .notNull()
      .default('unclaimed'),
    /** bootstrap (an anonymous first fetch), redirect (credentials from the redirect service) or certificate. */
    claimVia: text('claim_via', { enum: ['bootstrap', 'redirect', 'certificate'] }),
    claimedAt: timestamptz('claimed_at'),
    claimIp: text('claim_ip'),
    claimUserAgent: text('claim_user_agent'),
    claimFirmware: text('claim_firmware'),
    activatedAt: timestamptz('activated_at'),
    /** trusted_network, admin, code, certificate, redirect (a tenant trusting its redirect accounts) or upgrade. */
    activatedBy: text('activated_by'),
    /** scrypt hash of the code someone at the desk types on the phone to activate it; shown to admins once. */
    activationCodeHash: text('activation_code_hash'),
    /** Codes tried since the last lock or success; each is counted before it is checked. */
    activationAttempts: integer('activation_attempts').notNull().default(0),
    activationLockedUntil: timestamptz('activation_locked_until'),
    /** Claims of this MAC after the first: refused; the latest one's address, for admins. */
    refusedClaims: integer('refused_claims').notNull().default(0),
    refusedClaimAt: timestamptz('refused_claim_at'),
    refusedClaimIp: text('refused_claim_ip'),
    /**
     * For a phone in service before device-bound provisioning: the address it last fetched from. Its first
     * claim from there is taken as the phone itself, so an upgrade cuts no phone off.
     */
    upgradeIp: text('upgrade_ip'),
    /** The admin password of the phone's own web interface (never the factory default). */
    webPassword: text('web_password'),
    /** Registration with the vendor's redirect service: none, pending, registered, registered_elsewhere, error. */
    redirectStatus: text('redirect_status').notNull().default('none'),
    redirectMessage: text('redirect_message'),
    redirectAttempts: integer('redirect_attempts').notNull().default(0),
    redirectAttemptedAt: timestamptz('redirect_attempted_at'),
    redirectNextAttemptAt: timestamptz('redirect_next_attempt_at'),
    /** How many expansion modules are attached; keys beyond the phone's own go there. */
    expansionModules: integer('expansion_modules').notNull().default(0),
    /** Where the phone takes SIP requests, as an admin set it (`sip:HD0001@10.1.2.3:5062`). */
    sipContact: text('sip_contact'),
    /** Where the PBX last said the phone is, from a login or code call. */
    reportedContact: text('reported_contact'),
    /**
     * The account in the device file the phone last fetched, with its credentials: the phone is registered
     * with it, so a check-sync NOTIFY is addressed to it and answers its digest challenge with them.
     */
    servedAccount: text('served_account'),
    servedAuthName: text('served_auth_name'),
    servedPassword: text('served_password'),
    /** ETag of the device file the phone last fetched. */
    servedEtag: text('served_etag'),
    /**
     * Set when an admin deleted the device. The row stays until the MAC is enrolled again, so the phone can
     * still be sent a blank profile that wipes the account and keys it held.
     */
    retiredAt: timestamptz('retired_at'),
    lastSeenAt: timestamptz('last_seen_at'),
    /** When this device was reported not seen for a day (audit, webhooks): once per silence, again after it fetched. */
    unseenReportedAt: timestamptz('unseen_reported_at'),
    lastSeenIp: text('last_seen_ip'),
    lastUserAgent: text('last_user_agent'),
    firmware: text('firmware'),
    /** Per-desk overrides of the tenant's phone time zone and language (issue 13); NULL = the tenant's. */
    phoneTimezone: text('phone_timezone'),
    phoneLanguage: text('phone_language'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('devices_tenant_idle_account').on(t.tenantId, t.idleAccount)],
);

/** A person with an extension who may sit at a hot desk. */
export const users = pgTable(
  'users',
  {
    id: serial('id').primaryKey(),
    tenantId: integer('tenant_id')
      .notNull()
      .references(() => tenants.id),
    extension: text('extension').notNull(),
    displayName: text('display_name').notNull(),
    sipUser: text('sip_user').notNull(),
    authName: text('auth_name').notNull(),
    sipPassword: text('sip_password').notNull(),
    /** scrypt hash of the hot-desk PIN; NULL means the user cannot log in with a PIN. */
    pinHash: text('pin_hash'),
    hotdesk: boolean('hotdesk').notNull().default(true),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('users_tenant_extension').on(t.tenantId, t.extension)],
);

/** A user's programmable keys, in the order they should appear after the Logout key. */
export const userKeys = pgTable(
  'user_keys',
  {
    id: serial('id').primaryKey(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    position: integer('position').notNull(),
    type: text('type', { enum: ['blf', 'speed', 'line'] }).notNull(),
    value: text('value').notNull(),
    label: text('label').notNull().default(''),
  },
  (t) => [uniqueIndex('user_keys_user_position').on(t.userId, t.position)],
);

/**
 * Who sits where. An open session has ended_at NULL. The partial unique indexes make
 * "one user per device and one device per user" hold in the database itself.
 * Device and user links become NULL when either is deleted, so the history stays.
 */
export const hotdeskSessions = pgTable(
  'hotdesk_sessions',
  {
    id: serial('id').primaryKey(),
    tenantId: integer('tenant_id')
      .notNull()
      .references(() => tenants.id),
    deviceId: integer('device_id').references(() => devices.id, { onDelete: 'set null' }),
    userId: integer('user_id').references(() => users.id, { onDelete: 'set null' }),
    /** How the user logged in: api, admin, feature_code, phone_screen. */
    method: text('method').notNull(),
    startedAt: timestamptz('started_at').notNull(),
    endedAt: timestamptz('ended_at'),
    /** logout, moved, replaced, user_deleted, device_deleted, device_not_hotdesk, user_not_hotdesk, auto. */
    endReason: text('end_reason'),
  },
  (t) => [
    uniqueIndex('hotdesk_sessions_open_device').on(t.deviceId).where(sql`ended_at IS NULL`),
    uniqueIndex('hotdesk_sessions_open_user').on(t.userId).where(sql`ended_at IS NULL`),
    index('hotdesk_sessions_started').on(t.startedAt),
  ],
);

/** Failed PINs per user and per device, for the lockout with back-off. */
export const loginThrottles = pgTable(
  'login_throttles',
  {
    id: serial('id').primaryKey(),
    tenantId: integer('tenant_id')
      .notNull()
      .references(() => tenants.id),
    subject: text('subject', { enum: ['user', 'device'] }).notNull(),
    subjectId: integer('subject_id').notNull(),
    /** Wrong PINs since the last success or lockout. */
    failures: integer('failures').notNull().default(0),
    /** Lockouts since the last success; each one lasts twice as long as the one before. */
    lockouts: integer('lockouts').notNull().default(0),
    lockedUntil: timestamptz('locked_until'),
    /** PIN checks under way: counted before a PIN is checked, so a burst cannot check more than the budget left. */
    pending: integer('pending').notNull().default(0),
  },
  (t) => [uniqueIndex('login_throttles_subject').on(t.tenantId, t.subject, t.subjectId)],
);

/**
 * One re-sync (a check-sync NOTIFY, and its retries) and what came of it: queued → sent → answered (status) →
 * fetched, or failed. "Fetched" means the phone then downloaded the profile revision (ETag) the NOTIFY was about.
 */
export const syncJobs = pgTable(
  'sync_jobs',
  {
    id: serial('id').primaryKey(),
    tenantId: integer('tenant_id')
      .notNull()
      .references(() => tenants.id),
    deviceId: integer('device_id').references(() => devices.id, { onDelete: 'set null' }),
    deviceMac: text('device_mac').notNull(),
    reason: text('reason').notNull(),
    /** direct, asterisk or freeswitch. */
    mode: text('mode').notNull(),
    /** Request-URI (direct) or PBX endpoint (relay). */
    target: text('target').notNull(),
    /** The Event header sent: the vendor's re-provision event, or its reboot event when an admin asked. */
    event: text('event').notNull().default('check-sync'),
    state: text('state', { enum: ['queued', 'sent', 'answered', 'fetched', 'failed', 'superseded'] }).notNull(),
    statusCode: integer('status_code'),
    /** NOTIFYs sent for this job (the first and each retry after the phone did not fetch). */
    attempts: integer('attempts').notNull().default(0),
    /** ETag of the device file the phone should fetch. */
    targetEtag: text('target_etag').notNull(),
    error: text('error'),
    createdAt: timestamptz('created_at').notNull(),
    sentAt: timestamptz('sent_at'),
    answeredAt: timestamptz('answered_at'),
    fetchedAt: timestamptz('fetched_at'),
    failedAt: timestamptz('failed_at'),
    /** A failed job is tried again then (the next poll window), until the phone fetches or a newer change replaces it. */
    retryAt: timestamptz('retry_at'),
  },
  (t) => [index('sync_jobs_device').on(t.deviceId, t.id), index('sync_jobs_state').on(t.state)],
);

/** Everything that changed who sits where, or what a phone gets. Names are copied, so rows outlive deletes. */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: serial('id').primaryKey(),
    tenantId: integer('tenant_id')
      .notNull()
      .references(() => tenants.id),
    at: timestamptz('at').notNull(),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    method: text('method'),
    deviceMac: text('device_mac'),
    idleAccount: text('idle_account'),
    userExtension: text('user_extension'),
    /** JSON object with what else is worth knowing; never a secret. */
    detail: text('detail').notNull().default('{}'),
  },
  // By tenant and time: the audit page's newest events, and the provider overview's latest event per tenant.
  (t) => [index('audit_events_at').on(t.at), index('audit_events_tenant_at').on(t.tenantId, t.at)],
);

/** People who run hotprov in the browser console. */
export const admins = pgTable('admins', {
  id: serial('id').primaryKey(),
  username: text('username').notNull().unique(),
  /** scrypt hash, as for PINs but with a password's strength. */
  passwordHash: text('password_hash').notNull(),
  /** provider: runs hotprov, any tenant; admin: one tenant; helpdesk: one tenant, read-only but may log desks out. */
  role: text('role', { enum: ROLES }).notNull().default('provider'),
  /** The tenant an admin or helpdesk account belongs to; NULL for a provider. */
  tenantId: integer('tenant_id').references(() => tenants.id, { onDelete: 'cascade' }),
  createdAt: timestamptz('created_at').notNull(),
});

/**
 * Console sign-in lockout, one row per user name tried, whether or not an admin has it (so a lockout says
 * nothing about which names exist). Old rows are pruned, so a flood of made-up names cannot fill the disk.
 */
export const signInThrottles = pgTable('sign_in_throttles', {
  username: text('username').primaryKey(),
  /** Failed sign-ins since the last success; enough of them lock the name for a while. */
  failures: integer('failures').notNull().default(0),
  /** Password checks under way, counted before the check. */
  pending: integer('pending').notNull().default(0),
  lockedUntil: timestamptz('locked_until'),
  lastAttemptAt: timestamptz('last_attempt_at').notNull(),
});

/** Signed-in console sessions. Only a hash of the cookie's token is stored. */
export const adminSessions = pgTable('admin_sessions', {
  id: serial('id').primaryKey(),
  adminId: integer('admin_id')
    .notNull()
    .references(() => admins.id, { onDelete: 'cascade' }),
  tokenHash: text('token_hash').notNull().unique(),
  /** Every form of the session carries this token; a POST without it is refused. */
  csrfToken: text('csrf_token').notNull(),
  /** A notice or error for the next page shown (JSON {notice?, error?}), kept here rather than in a URL. */
  flash: text('flash'),
  /** The tenant a provider chose in the console's switcher; NULL is the default tenant (others act in their own). */
  tenantId: integer('tenant_id').references(() => tenants.id, { onDelete: 'set null' }),
  createdAt: timestamptz('created_at').notNull(),
  expiresAt: timestamptz('expires_at').notNull(),
});

/** Bearer tokens for the JSON API, created and revoked in the console. Only a hash is stored. */
export const apiTokens = pgTable('api_tokens', {
  id: serial('id').primaryKey(),
  name: text('name').notNull(),
  tokenHash: text('token_hash').notNull().unique(),
  createdBy: text('created_by').notNull(),
  /** As for admins: what the token may do, and in which tenant (NULL for a provider's token). */
  role: text('role', { enum: ROLES }).notNull().default('provider'),
  tenantId: integer('tenant_id').references(() => tenants.id, { onDelete: 'cascade' }),
  createdAt: timestamptz('created_at').notNull(),
  revokedAt: timestamptz('revoked_at'),
  /** When the token was last presented, to the nearest few minutes (recorded only once it has gone stale). */
  lastUsedAt: timestamptz('last_used_at'),
});

/**
 * Every save of a vendor template in the console. The newest revision of a template is what phones get;
 * `source` NULL means "back to the file shipped in templates/".
 */
export const templateRevisions = pgTable(
  'template_revisions',
  {
    id: serial('id').primaryKey(),
    /** Whose phones get it: a template saved in one tenant changes nothing for another. */
    tenantId: integer('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    vendor: text('vendor').notNull(),
    /** The template's name in templates/<vendor>/, without .hbs (`device.cfg`). */
    name: text('name').notNull(),
    source: text('source'),
    createdBy: text('created_by').notNull(),
    createdAt: timestamptz('created_at').notNull(),
    /** The revision this one restored, if it is a restore. */
    restoredFrom: integer('restored_from'),
    /** The model whose phones get it (`T46U`); null for every phone of the vendor, or for one device's version. */
    model: text('model'),
    /**
     * The one device that gets it; null for a model's or the tenant's version. No foreign key: a device is retired,
     * not deleted, and a tenant's deletion takes its revisions along by tenant_id.
     */
    deviceId: integer('device_id'),
    /**
     * The shipped file's text this version was made from (null: a reset, or saved before hotprov recorded it): after
     * an upgrade, what changed in the shipped file since is shown beside the admin's version, to merge.
     */
    basedOn: text('based_on'),
  },
  (t) => [index('template_revisions_name').on(t.tenantId, t.vendor, t.name, t.id)],
);

/**
 * A tenant's webhook endpoint: an HTTPS URL told about the events it is subscribed to, each delivery signed with its
 * secret (kept, not hashed: every delivery is signed with it).
 */
export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: serial('id').primaryKey(),
    tenantId: integer('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    description: text('description').notNull().default(''),
    /** The event types it is subscribed to, a JSON array (`["hotdesk.login", …]`). */
    events: text('events').notNull(),
    secret: text('secret').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    createdBy: text('created_by').notNull(),
    createdAt: timestamptz('created_at').notNull(),
  },
  (t) => [index('webhook_endpoints_tenant').on(t.tenantId)],
);

/**
 * One event to one endpoint: written in the transaction that made the event (an outbox), then sent, and sent again
 * with back-off until the endpoint answers 2xx or the retries run out. The body is kept as sent, so every attempt
 * signs the same bytes.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: serial('id').primaryKey(),
    tenantId: integer('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    endpointId: integer('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    /** The event's id (`evt_…`), the same for every endpoint told of it: receivers drop repeats by it. */
    eventId: text('event_id').notNull(),
    event: text('event').notNull(),
    body: text('body').notNull(),
    state: text('state', { enum: ['pending', 'delivered', 'failed'] }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    /** When it is (tried) next: due when pending and past; while an attempt runs, when that attempt is given up for lost. */
    nextAttemptAt: timestamptz('next_attempt_at'),
    lastAttemptAt: timestamptz('last_attempt_at'),
    /** The endpoint's HTTP status at the last attempt; null when none came (refused, timed out, …). */
    lastStatus: integer('last_status'),
    /** Why the last attempt failed, in hotprov's words. */
    lastError: text('last_error'),
    createdAt: timestamptz('created_at').notNull(),
    deliveredAt: timestamptz('delivered_at'),
  },
  (t) => [
    index('webhook_deliveries_due').on(t.state, t.nextAttemptAt),
    index('webhook_deliveries_endpoint').on(t.endpointId, t.id),
    // The every-ten-minutes prune reads by age.
    index('webhook_deliveries_created').on(t.createdAt),
  ],
);

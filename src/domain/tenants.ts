import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { Config, SipTransport } from '../config.ts';
import { type Db, returnedRow, tablesOf, writeTransaction } from '../db/client.ts';
import { preparedOnce } from '../db/prepared.ts';
import type { TenantRow } from '../db/schema.ts';
import { AppError, SlugTaken, UnknownTenant } from '../errors.ts';
import { phoneBaseUrlOf } from '../urls.ts';
import { recordAudit } from './audit.ts';
import type { Actor, DomainDeps } from './deps.ts';
import { idleAccountName } from './idleAccounts.ts';
import { CODECS, type Codec, PHONE_LANGUAGES, type PhoneLanguage } from './phoneValues.ts';

export const DEFAULT_TENANT_SLUG = 'default';

/** A tenant's settings with the HOTPROV_SIP_* defaults filled in: what profiles are rendered from. */
export interface TenantSettings {
  readonly id: number;
  readonly name: string;
  readonly registrar: { readonly host: string; readonly port: number; readonly transport: SipTransport };
  readonly loginCode: string;
  readonly logoutCode: string | null;
  readonly emergencyNumbers: readonly string[];
  readonly extensionDigits: { readonly min: number; readonly max: number };
  readonly pinMinLength: number;
  readonly notifyMode: TenantRow['notifyMode'];
  readonly loginKeyMode: TenantRow['loginKeyMode'];
  readonly timezone: string;
  /** The address the tenant's phones reach hotprov at: its own base URL, else HOTPROV_BASE_URL. */
  readonly baseUrl: string;
  /** What phones are handed: baseUrl, on https:// whenever hotprov has HTTPS (config.phoneBaseUrl for the instance's). */
  readonly phoneBaseUrl: string;
  /** What every phone gets besides accounts and keys; null leaves the phone's own default. */
  readonly phones: TenantPhoneSettings;
}

/** The tenant's side of a phone's basics (issue 13); a device may override time zone and language. */
export interface TenantPhoneSettings {
  readonly pickupCode: string;
  readonly poll:
    | { readonly mode: 'interval'; readonly minutes: number }
    | { readonly mode: 'nightly'; readonly windowStart: string; readonly windowEnd: string };
  readonly timezone: string | null;
  readonly ntpServer: string | null;
  readonly language: PhoneLanguage | null;
  readonly voicemailNumber: string | null;
  readonly codecs: readonly Codec[] | null;
  readonly srtp: TenantRow['srtp'];
}

/**
 * Each database's tenant settings as profiles read them, kept in memory: a phone's render would otherwise read the
 * tenant row and parse its lists every time. updateTenant, the only writer of the columns the settings hold,
 * forgets them after its transaction (the next idle number and the redirect base URL are not among them).
 */
const settingsMemo = new WeakMap<Db, Map<number, { readonly defaults: InstanceDefaults; readonly settings: TenantSettings }>>();

/** What a tenant leaves to the instance: the configured registrar and base URLs, and the HTTPS port phones use. */
export type InstanceDefaults = Pick<Config, 'registrar' | 'baseUrl' | 'phoneBaseUrl' | 'https'>;

/** The URL a tenant's phones are handed: its own base URL (on https:// when hotprov has HTTPS), else the instance's. */
export function tenantPhoneBaseUrl(row: Pick<TenantRow, 'baseUrl'>, instance: Pick<Config, 'phoneBaseUrl' | 'https'>): string {
  return row.baseUrl === null ? instance.phoneBaseUrl : phoneBaseUrlOf(row.baseUrl, instance.https?.port ?? null);
}

/**
 * A tenant's settings, from memory while no updateTenant changed them; undefined when the tenant does not exist.
 * `defaults` are the instance's (the config), normally one object for the life of the server.
 */
export async function findTenantSettings(db: Db, id: number, defaults: InstanceDefaults): Promise<TenantSettings | undefined> {
  let byId = settingsMemo.get(db);
  const kept = byId?.get(id);
  if (kept !== undefined && kept.defaults === defaults) return kept.settings;
  const row = await findTenant(db, id);
  if (row === undefined) return undefined;
  const settings = tenantSettings(row, defaults);
  if (byId === undefined) {
    byId = new Map();
    settingsMemo.set(db, byId);
  }
  byId.set(id, { defaults, settings });
  return settings;
}

/** Forgets the tenant settings kept for this database: a tenant's settings changed (here or in another process). */
export function forgetTenantSettings(db: Db): void {
  settingsMemo.delete(db);
}

/** Returns the default tenant, creating it on first start. */
export async function ensureDefaultTenant(db: Db): Promise<TenantRow> {
  const { tenants } = tablesOf(db);
  const existing = (await db.select().from(tenants).where(eq(tenants.slug, DEFAULT_TENANT_SLUG)))[0];
  if (existing !== undefined) return existing;
  // Several processes may open a new database at once (the server and `hotprov` commands): one creates it.
  await db.insert(tenants).values({ slug: DEFAULT_TENANT_SLUG, name: 'Default' }).onConflictDoNothing({ target: tenants.slug });
  const row = (await db.select().from(tenants).where(eq(tenants.slug, DEFAULT_TENANT_SLUG)))[0];
  if (row === undefined) throw new Error('the default tenant could not be created');
  return row;
}

/** Merges a tenant row with the configured defaults. */
export function tenantSettings(row: TenantRow, defaults: InstanceDefaults): TenantSettings {
  return {
    id: row.id,
    name: row.name,
    registrar: {
      host: row.registrarHost ?? defaults.registrar.host,
      port: row.registrarPort ?? defaults.registrar.port,
      transport: row.registrarTransport ?? defaults.registrar.transport,
    },
    baseUrl: row.baseUrl ?? defaults.baseUrl,
    phoneBaseUrl: tenantPhoneBaseUrl(row, defaults),
    loginCode: row.loginCode,
    logoutCode: row.logoutCode,
    emergencyNumbers: parseNumberList(row.emergencyNumbers),
    extensionDigits: { min: row.extensionMinDigits, max: row.extensionMaxDigits },
    pinMinLength: row.pinMinLength,
    notifyMode: row.notifyMode,
    loginKeyMode: row.loginKeyMode,
    timezone: row.timezone,
    phones: {
      pickupCode: row.pickupCode,
      poll:
        row.pollMode === 'nightly'
          ? { mode: 'nightly', windowStart: row.pollWindowStart, windowEnd: row.pollWindowEnd }
          : { mode: 'interval', minutes: row.pollIntervalMinutes },
      timezone: row.phoneTimezone,
      ntpServer: row.ntpServer,
      language: asLanguage(row.phoneLanguage),
      voicemailNumber: row.voicemailNumber,
      codecs: parseCodecs(row.codecs),
      srtp: row.srtp,
    },
  };
}

/** A stored language code, or null when unset or no longer supported. */
export function asLanguage(code: string | null): PhoneLanguage | null {
  return (PHONE_LANGUAGES as readonly string[]).includes(code ?? '') ? (code as PhoneLanguage) : null;
}

function parseCodecs(json: string | null): Codec[] | null {
  if (json === null) return null;
  try {
    const value: unknown = JSON.parse(json);
    if (!Array.isArray(value)) return null;
    const codecs = value.filter((v): v is Codec => (CODECS as readonly unknown[]).includes(v));
    return codecs.length === 0 ? null : codecs;
  } catch {
    return null;
  }
}

function parseNumberList(json: string): string[] {
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string' && /^[0-9*#]+$/.test(v)) : [];
  } catch {
    return [];
  }
}

/**
 * Takes the tenant's next idle account inside the caller's transaction, named by the tenant's pattern (HD0001 is
 * number 1): numbers are never given twice, not even after a device is deleted. A name a device of the tenant holds
 * already (an earlier pattern may have given it) is stepped over.
 */
export async function takeIdleAccount(tx: Db, tenantId: number): Promise<string> {
  const { devices, tenants } = tablesOf(tx);
  for (;;) {
    const taken = (
      await tx
        .update(tenants)
        .set({ nextIdleNumber: sql`${tenants.nextIdleNumber} + 1` })
        .where(eq(tenants.id, tenantId))
        .returning({ next: tenants.nextIdleNumber, pattern: tenants.idleAccountPattern })
    )[0];
    if (taken === undefined) throw new Error(`tenant ${tenantId} does not exist`);
    const name = idleAccountName(taken.pattern, taken.next - 1);
    const holder = (
      await tx
        .select({ id: devices.id })
        .from(devices)
        .where(and(eq(devices.tenantId, tenantId), eq(devices.idleAccount, name)))
    )[0];
    if (holder === undefined) return name;
  }
}

/** Every tenant, for the jobs that run per tenant. */
export async function listTenants(db: Db): Promise<TenantRow[]> {
  const { tenants } = tablesOf(db);
  return await db.select().from(tenants);
}

/** Reads a tenant that must exist. */
export async function getTenant(db: Db, id: number): Promise<TenantRow> {
  const row = await findTenant(db, id);
  if (row === undefined) throw new Error(`tenant ${id} does not exist`);
  return row;
}

/** Reads a tenant by id. */
export async function findTenant(db: Db, id: number): Promise<TenantRow | undefined> {
  const { tenants } = tablesOf(db);
  return (
    await preparedOnce(db, 'tenantById', () =>
      db
        .select()
        .from(tenants)
        .where(eq(tenants.id, sql.placeholder('id')))
        .prepare(),
    ).execute({ id })
  )[0];
}

/** The settings an admin may change; every one of them can alter what phones get. */
export type TenantUpdate = Partial<
  Pick<
    TenantRow,
    | 'name'
    | 'registrarHost'
    | 'registrarPort'
    | 'registrarTransport'
    | 'loginCode'
    | 'logoutCode'
    | 'extensionMinDigits'
    | 'extensionMaxDigits'
    | 'pinMinLength'
    | 'idleAccountPattern'
    | 'notifyMode'
    | 'loginKeyMode'
    | 'relayHost'
    | 'relayPort'
    | 'relayUsername'
    | 'relaySecret'
    | 'relayProfile'
    | 'autoLogoutCron'
    | 'maxSessionMinutes'
    | 'timezone'
    | 'yealinkRpsUrl'
    | 'yealinkRpsKeyId'
    | 'yealinkRpsSecret'
    | 'yealinkXmlRpcUrl'
    | 'yealinkXmlRpcUser'
    | 'yealinkXmlRpcPassword'
    | 'snomSrapsUrl'
    | 'snomSrapsKeyId'
    | 'snomSrapsSecret'
    | 'polyZtpUrl'
    | 'polyZtpApiKey'
    | 'trustRedirect'
    | 'pickupCode'
    | 'pollMode'
    | 'pollIntervalMinutes'
    | 'pollWindowStart'
    | 'pollWindowEnd'
    | 'phoneTimezone'
    | 'ntpServer'
    | 'phoneLanguage'
    | 'voicemailNumber'
    | 'srtp'
    | 'maxDevices'
    | 'maxUsers'
    | 'baseUrl'
  > & { emergencyNumbers: readonly string[]; trustedNetworks: readonly string[]; codecs: readonly Codec[] | null }
>;

type SecretField = 'yealinkRpsSecret' | 'yealinkXmlRpcPassword' | 'snomSrapsSecret' | 'polyZtpApiKey' | 'relaySecret';

/**
 * Each stored secret and where it is sent. The relay's address is where the secret actually goes: its host
 * (the registrar's when none is set), its port (the mode's default when none is set) and user.
 */
const SECRET_DESTINATIONS: readonly {
  readonly secret: SecretField;
  readonly service: string;
  readonly fields: readonly (keyof TenantUpdate)[];
  readonly where: (t: TenantRow) => string;
}[] = [
  { secret: 'yealinkRpsSecret', service: 'Yealink RPS', fields: ['yealinkRpsUrl', 'yealinkRpsKeyId'], where: (t) => `${t.yealinkRpsUrl} ${t.yealinkRpsKeyId}` },
  {
    secret: 'yealinkXmlRpcPassword',
    service: 'Yealink RPS XML-RPC',
    fields: ['yealinkXmlRpcUrl', 'yealinkXmlRpcUser'],
    where: (t) => `${t.yealinkXmlRpcUrl} ${t.yealinkXmlRpcUser}`,
  },
  { secret: 'snomSrapsSecret', service: 'Snom SRAPS', fields: ['snomSrapsUrl', 'snomSrapsKeyId'], where: (t) => `${t.snomSrapsUrl} ${t.snomSrapsKeyId}` },
  { secret: 'polyZtpApiKey', service: 'Poly ZTP', fields: ['polyZtpUrl'], where: (t) => t.polyZtpUrl },
  {
    secret: 'relaySecret',
    service: 'NOTIFY relay',
    fields: ['relayHost', 'relayPort', 'relayUsername', 'registrarHost', 'notifyMode'],
    where: (t) => `${t.relayHost ?? t.registrarHost ?? '(registrar)'}:${t.relayPort ?? (t.notifyMode === 'freeswitch' ? 8021 : 5038)} ${t.relayUsername}`,
  },
];

/**
 * A stored secret never follows its endpoint: a change of where a secret is sent (a redirect service's URL or
 * account, the relay's host, port or user) must give the secret again in the same request, or null to drop it.
 * @throws AppError secret_required (400) naming the field that moved and the secret to give.
 */
export function assertSecretsStay(current: TenantRow, input: TenantUpdate): void {
  const next = { ...current, ...input } as TenantRow;
  for (const d of SECRET_DESTINATIONS) {
    if (current[d.secret] === null || d.secret in input || d.where(current) === d.where(next)) continue;
    const moved = d.fields.find((f) => f in input && (input as Record<string, unknown>)[f] !== (current as Record<string, unknown>)[f]) ?? d.fields[0];
    throw new AppError(
      400,
      'secret_required',
      `${String(moved)}: this changes where the stored ${d.service} secret would be sent; give ${d.secret} again in the same request (or ${d.secret}: null to remove it)`,
      { field: moved, secret: d.secret },
    );
  }
}

/**
 * The tenant columns no phone file holds: where NOTIFYs are relayed and with which credentials, the redirect
 * services' accounts, schedules, PIN and naming rules, who is trusted. Changing only these re-provisions no phone.
 */
const NOT_IN_PHONE_FILES: ReadonlySet<string> = new Set([
  'name',
  'relayHost',
  'relayPort',
  'relayUsername',
  'relaySecret',
  'relayProfile',
  'autoLogoutCron',
  'maxSessionMinutes',
  'timezone',
  'pinMinLength',
  'idleAccountPattern',
  'trustedNetworks',
  'trustRedirect',
  'yealinkRpsUrl',
  'yealinkRpsKeyId',
  'yealinkRpsSecret',
  'yealinkXmlRpcUrl',
  'yealinkXmlRpcUser',
  'yealinkXmlRpcPassword',
  'snomSrapsUrl',
  'snomSrapsKeyId',
  'snomSrapsSecret',
  'polyZtpUrl',
  'polyZtpApiKey',
  'maxDevices',
  'maxUsers',
]);

/**
 * Changes a tenant's settings; re-provisions its phones only when a setting their files hold changed value.
 * @throws AppError secret_required (400) when a change moves a stored secret's endpoint without the secret.
 */
export async function updateTenant(deps: DomainDeps, tenantId: number, actor: Actor, input: TenantUpdate): Promise<TenantRow> {
  return (await updateTenantSettings(deps, tenantId, actor, input)).row;
}

/**
 * updateTenant, answering also how many phones are re-provisioned (0 when only settings no phone file holds
 * changed, or nothing changed value).
 */
export async function updateTenantSettings(
  deps: DomainDeps,
  tenantId: number,
  actor: Actor,
  input: TenantUpdate,
): Promise<{ row: TenantRow; reprovisioned: number }> {
  const { devices, tenants } = tablesOf(deps.db);
  const now = deps.now();
  const { emergencyNumbers, trustedNetworks, codecs, ...rest } = input;
  const { row, phoneFilesChanged } = await writeTransaction(deps.db, async (tx) => {
    const current = (await tx.select().from(tenants).where(eq(tenants.id, tenantId)))[0];
    if (current === undefined) throw new Error(`tenant ${tenantId} does not exist`);
    assertSecretsStay(current, input);
    const updated = (
      await tx
        .update(tenants)
        .set({
          ...rest,
          ...(emergencyNumbers === undefined ? {} : { emergencyNumbers: JSON.stringify(emergencyNumbers) }),
          ...(trustedNetworks === undefined ? {} : { trustedNetworks: JSON.stringify(trustedNetworks) }),
          ...(codecs === undefined ? {} : { codecs: codecs === null || codecs.length === 0 ? null : JSON.stringify(codecs) }),
        })
        .where(eq(tenants.id, tenantId))
        .returning()
    )[0];
    if (updated === undefined) throw new Error(`tenant ${tenantId} does not exist`);
    // Names only: a relay secret must not reach the audit log.
    await recordAudit(tx, tenantId, now, actor, { action: 'tenant.updated', detail: { fields: Object.keys(input) } });
    const changed = (Object.keys(updated) as (keyof TenantRow)[]).filter((k) => JSON.stringify(updated[k]) !== JSON.stringify(current[k]));
    return { row: updated, phoneFilesChanged: changed.some((k) => !NOT_IN_PHONE_FILES.has(k)) };
  });
  forgetTenantSettings(deps.db);
  if (!phoneFilesChanged) return { row, reprovisioned: 0 };
  const ids = await deps.db.select({ id: devices.id }).from(devices).where(eq(devices.tenantId, tenantId));
  await deps.profilesChanged({ deviceIds: ids.map((d) => d.id), reason: 'tenant settings changed' });
  return { row, reprovisioned: ids.length };
}

// --- tenant management (the provider's): create, list, find by slug, retire

/** The tenants nobody deleted, oldest first (the default tenant is the first). */
export async function listActiveTenants(db: Db): Promise<TenantRow[]> {
  const { tenants } = tablesOf(db);
  return await db.select().from(tenants).where(isNull(tenants.retiredAt)).orderBy(asc(tenants.id));
}

/** The tenant a URL's slug names, unless it was deleted. */
export async function findActiveTenantBySlug(db: Db, slug: string): Promise<TenantRow | undefined> {
  const { tenants } = tablesOf(db);
  return (
    await db
      .select()
      .from(tenants)
      .where(and(eq(tenants.slug, slug), isNull(tenants.retiredAt)))
  )[0];
}

/**
 * Creates a tenant with the default settings, audited in it. A deleted tenant's slug stays taken: its retired
 * phones still belong to it.
 * @throws AppError slug_taken (409).
 */
export async function createTenant(
  deps: DomainDeps,
  actor: Actor,
  input: { readonly name: string; readonly slug: string; readonly maxDevices?: number | null; readonly maxUsers?: number | null },
): Promise<TenantRow> {
  const { tenants } = tablesOf(deps.db);
  const now = deps.now();
  return await writeTransaction(deps.db, async (tx) => {
    if ((await tx.select({ id: tenants.id }).from(tenants).where(eq(tenants.slug, input.slug)))[0] !== undefined) throw SlugTaken(input.slug);
    const row = await returnedRow(
      tx
        .insert(tenants)
        .values({ slug: input.slug, name: input.name, maxDevices: input.maxDevices ?? null, maxUsers: input.maxUsers ?? null })
        .returning(),
    );
    await recordAudit(tx, row.id, now, actor, {
      action: 'tenant.created',
      detail: { slug: row.slug, name: row.name, maxDevices: row.maxDevices, maxUsers: row.maxUsers },
    });
    return row;
  });
}

/**
 * Marks a tenant deleted, once its devices are retired (domain/tenantDeletion.ts): nobody acts in it any more, its
 * tokens stop working, and its retired phones keep getting their wipe file with its settings.
 * @throws AppError unknown_tenant (404) when it was deleted already.
 */
export async function retireTenant(deps: DomainDeps, actor: Actor, tenantId: number): Promise<TenantRow> {
  const { tenants } = tablesOf(deps.db);
  const now = deps.now();
  return await writeTransaction(deps.db, async (tx) => {
    const row = (
      await tx
        .update(tenants)
        .set({ retiredAt: now })
        .where(and(eq(tenants.id, tenantId), isNull(tenants.retiredAt)))
        .returning()
    )[0];
    if (row === undefined) throw UnknownTenant();
    await recordAudit(tx, tenantId, now, actor, { action: 'tenant.deleted', detail: { slug: row.slug } });
    return row;
  });
}

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.ts';
import { type Db, writeTransaction } from '../db/client.ts';
import type { DeviceRow, UserRow } from '../db/schema.ts';
import { recordAudit } from '../domain/audit.ts';
import { type Claimant, claimByBootstrap, claimByProof, recordRefusedClaim } from '../domain/deviceAccess.ts';
import { type DeviceSeen, recordDeviceSeen, recordServed, seenIsNews } from '../domain/devices.ts';
import { findDeviceById, findPhoneByMac, type PhoneDevice } from '../domain/lookup.ts';
import type { Mac } from '../domain/mac.ts';
import { userAtDevice } from '../domain/sessions.ts';
import { findTenant, tenantSettings } from '../domain/tenants.ts';
import { keysOf } from '../domain/users.ts';
import { storageConflict } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ModelProfile, UserAgentInfo } from '../vendors/catalog.ts';
import { escapeContext, escapeXml } from '../vendors/escape.ts';
import type { BootstrapProfile, DeviceProfile, FileMatch, RenderPlan, VendorAdapter } from '../vendors/types.ts';
import { createRequestGuard, type GuardPolicy } from './guard.ts';
import { activationUrl, buildDeviceProfile, provisioningAccess } from './profile.ts';
import type { Screen } from './screens.ts';
import type { RenderedText } from './skeletons.ts';
import type { TemplateStore } from './templates.ts';

export interface PhoneRequest {
  readonly method: string;
  /** The last path segment, as the phone sent it. */
  readonly filename: string;
  /**
   * open: the paths phones find on their own (DHCP, redirect service, a URL typed on the phone), where a phone
   * without credentials gets its bootstrap file; credentialed: under /prov/, where hotprov asks for them.
   */
  readonly scope: 'open' | 'credentialed';
  readonly userAgent: string;
  readonly ip: string;
  /** HTTP Basic credentials as the phone sent them; null without. */
  readonly credentials: { readonly username: string; readonly password: string } | null;
  /** The MACs a verified client certificate names; null without a verified certificate. */
  readonly certificateMacs: readonly Mac[] | null;
  /** The If-None-Match header: ETags of the copy the phone holds. */
  readonly ifNoneMatch?: string;
}

type Rendered200 = {
  readonly status: 200;
  /** A bootstrap answer: never to be kept by a cache between hotprov and the phone. */
  readonly noStore?: true;
  readonly body: string;
  /** The body as the bytes sent: from the cache without a round trip through a string. */
  readonly bytes: () => Buffer;
  readonly contentType: string;
  readonly etag: string;
};

export type PhoneResponse =
  | Rendered200
  /** The phone holds the current file already: answered from the ETag alone, nothing rendered or inflated. */
  | { readonly status: 304; readonly etag: string }
  /** An upload hotprov accepted and dropped. */
  | { readonly status: 204 }
  /** Under /prov/ without this phone's credentials: the same answer for every MAC, enrolled or not. */
  | { readonly status: 401 }
  /** A User-Agent or certificate that names another MAC than the path: refused before anything is looked up. */
  | { readonly status: 403 }
  | { readonly status: 404 }
  /** The address failed too often: blocked for this long. */
  | { readonly status: 429; readonly retryAfterSeconds: number };

export interface RenderedFile {
  readonly name: string;
  readonly body: string;
  readonly contentType: string;
}

export interface DeviceSummary {
  readonly mode: DeviceProfile['mode'];
  readonly files: readonly string[];
  /** Keys that do not fit, a MAC that does not look like the vendor's, … */
  readonly warnings: readonly string[];
}

/** What a masked password reads as in a rendered file shown to a person. */
export const SECRET_MASK = '********';

export interface ProvisioningDeps {
  readonly db: Db;
  readonly config: Pick<Config, 'baseUrl' | 'registrar'>;
  readonly adapters: readonly VendorAdapter[];
  readonly templates: TemplateStore;
  readonly log: Logger;
  readonly now: () => Date;
  /** Memory for rendered files, in MB (default 64); the least recently fetched devices go first. */
  readonly cacheMegabytes?: number;
  /** Told each time a phone was served its main device file (or a 304 for it): the ETag of the revision it now has. */
  readonly onServed?: (device: PhoneDevice, etag: string) => void;
  /** The budget of failed requests per source address. */
  readonly guard: GuardPolicy;
  /** The tenant whose audit log records blocked addresses (a guessed MAC belongs to no tenant). */
  readonly auditTenantId: () => number;
  /** How often a phone waiting for its activation asks again, in seconds. */
  readonly bootstrapPollSeconds?: number;
}

/** A device's main file as rendered now: its ETag, and the account in it (what the phone will register with). */
export interface Revision {
  readonly etag: string;
  readonly account: DeviceProfile['account'];
}

/** The adapter's own name of a device's main file, the one holding its account. */
const MAIN_FILE_KIND = 'device';

/** How soon records that could not be written (disk full, database locked) are tried again without a new fetch. */
const RECORD_RETRY_MS = 5_000;

/** Last-seen time stamps are written at most this often when nothing else about the request changed. */
const SEEN_INTERVAL_MS = 30_000;

const NOT_FOUND: PhoneResponse = { status: 404 };
const FORBIDDEN: PhoneResponse = { status: 403 };
const CHALLENGE: PhoneResponse = { status: 401 };
const NO_CONTENT: PhoneResponse = { status: 204 };
const PHONE = { name: 'phone' };
/** User-Agents remembered: a fleet's worth (Yealink and Snom name each phone's own MAC, so each is its own). */
const USER_AGENT_MEMO = 50_000;

/** What a cached file costs beyond its compressed text (objects, ETag, map entries), roughly, in bytes. */
const CACHE_ENTRY_OVERHEAD = 300;

/** HTTP Basic credentials against the device's own, compared in constant time. */
function credentialsMatch(sent: PhoneRequest['credentials'], device: Pick<DeviceRow, 'provUsername' | 'provPassword'>): boolean {
  if (sent === null || device.provUsername === null || device.provPassword === null) return false;
  const digest = (v: string) => createHash('sha256').update(v).digest();
  return timingSafeEqual(digest(`${sent.username}:${sent.password}`), digest(`${device.provUsername}:${device.provPassword}`));
}

/**
 * A strong ETag: a hash of the text. (Hashing the deflated bytes would be a tenth of the work, but would tie
 * every ETag, and the revisions on record for re-sync, to the zlib build that made them.)
 */
export function etagOf(body: string): string {
  return `"${createHash('sha1').update(body).digest('base64url')}"`;
}

/**
 * A cached device file as an answer. A class rather than an object of closures: the cache holds one per phone,
 * and closures with their context would cost more than the phone's own values.
 */
class KeptFile {
  readonly status = 200 as const;
  readonly contentType: string;
  readonly file: RenderedText;
  constructor(contentType: string, file: RenderedText) {
    this.contentType = contentType;
    this.file = file;
  }
  get etag(): string {
    return this.file.etag;
  }
  get body(): string {
    return this.file.text();
  }
  bytes(): Buffer {
    return this.file.bytes();
  }
}

/** Whether an If-None-Match header names this ETag (weak comparison, as RFC 9110 asks for GET), or is `*`. */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined || header === '') return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

/**
 * Answers phones: finds which vendor's file a path names, renders it for the enrolled device (or the model),
 * and records when, from where and with which firmware the phone asked. A MAC that is not enrolled gets 404.
 */
export function createProvisioning(deps: ProvisioningDeps) {
  const adapterById = new Map(deps.adapters.map((a) => [a.id as string, a]));

  const modelOf = (adapter: VendorAdapter, device: DeviceRow): ModelProfile => {
    const model = adapter.profile.models.get(device.model);
    if (model === undefined) throw new Error(`device ${device.mac}: model ${device.model} is not in vendor-profiles/${adapter.id}.json`);
    return model;
  };

  /** The profile a device gets now: its user's if someone sits there, else idle. */
  /** The profile a device gets now, or would get with `seated` at it (null: idle), as an admin may preview. */
  const profileOf = (device: DeviceRow, seated?: UserRow | null): { adapter: VendorAdapter; profile: DeviceProfile } => {
    const adapter = adapterById.get(device.vendor);
    if (adapter === undefined) throw new Error(`device ${device.mac}: unknown vendor ${device.vendor}`);
    const tenant = findTenant(deps.db, device.tenantId);
    if (tenant === undefined) throw new Error(`device ${device.mac}: tenant ${device.tenantId} is missing`);
    const user = seated === undefined ? userAtDevice(deps.db, device.id) : (seated ?? undefined);
    const profile = buildDeviceProfile({
      tenant: tenantSettings(tenant, deps.config.registrar),
      device,
      model: modelOf(adapter, device),
      user: user === undefined ? null : { row: user, keys: keysOf(deps.db, user.id) },
      baseUrl: deps.config.baseUrl,
    });
    return { adapter, profile };
  };

  const render = (adapter: VendorAdapter, plan: RenderPlan, model: string | undefined): string =>
    deps.templates.render(adapter.id, plan.template, model, escapeContext(plan.context, adapter.escape));
  /** A device's own file, from its template's skeleton: the same text as `render`, a fraction of the work. */
  const renderFile = (adapter: VendorAdapter, plan: RenderPlan, model: string | undefined): RenderedText =>
    deps.templates.renderFile(adapter.id, plan.template, model, plan.context, adapter.escape);

  /**
   * Rendered files, per device and per file kind, so a phone's fetch is a lookup rather than a render. Whatever
   * changes what a device gets goes through profilesChanged (or a template change), which empties its entry.
   */
  type Served = { response: Rendered200; account: DeviceProfile['account'] /** What holding it costs the cache budget, in bytes. */; cost: number };
  const deviceCache = new Map<number, Map<string, Served>>();
  const sharedCache = new Map<string, Rendered200>();
  /** Bytes held for rendered files; past the budget the least recently fetched devices are forgotten. */
  let cachedBytes = 0;
  const budget = (deps.cacheMegabytes ?? 64) * 1024 * 1024;
  /**
   * Each device's current ETag, per file kind, kept after its body is evicted (under a hundred bytes a phone),
   * so a polling phone that holds the current file gets its 304 without a render. Emptied by the same
   * invalidation as the bodies.
   */
  const currentEtags = new Map<string, Map<number, string>>();
  const evict = (id: number) => {
    const files = deviceCache.get(id);
    if (files === undefined) return;
    for (const file of files.values()) cachedBytes -= file.cost;
    deviceCache.delete(id);
  };
  const forget = (id: number) => {
    evict(id);
    for (const etags of currentEtags.values()) etags.delete(id);
  };
  const remember = (id: number, kind: string, served: Served) => {
    let files = deviceCache.get(id);
    if (files === undefined) {
      files = new Map();
      deviceCache.set(id, files);
    }
    const previous = files.get(kind);
    if (previous !== undefined) cachedBytes -= previous.cost;
    files.set(kind, served);
    cachedBytes += served.cost;
    let etags = currentEtags.get(kind);
    if (etags === undefined) {
      etags = new Map();
      currentEtags.set(kind, etags);
    }
    etags.set(id, served.response.etag);
    for (const oldest of deviceCache.keys()) {
      if (cachedBytes <= budget || oldest === id) break;
      evict(oldest);
    }
  };

  const ok = (adapter: VendorAdapter, body: string): Rendered200 => ({
    status: 200,
    body,
    bytes: () => Buffer.from(body, 'utf8'),
    contentType: adapter.contentType,
    etag: etagOf(body),
  });

  /**
   * A device file just rendered, kept as the cache keeps it: its per-phone values and a reference to the
   * skeleton they fill (shared by every phone of the shape), so sending it joins the two.
   */
  const rendered = (adapter: VendorAdapter, file: RenderedText, account: DeviceProfile['account']): Served => ({
    account,
    cost: file.cost + CACHE_ENTRY_OVERHEAD,
    response: new KeptFile(adapter.contentType, file),
  });

  const guard = createRequestGuard(deps.guard, deps.now, (event) => {
    deps.log.warn('security', 'an address failed too many phone requests and is blocked', {
      source: event.source,
      failures: event.failures,
      until: event.until.toISOString(),
    });
    try {
      recordAudit(deps.db, deps.auditTenantId(), deps.now(), PHONE, {
        action: 'security.address_blocked',
        detail: { ...event, until: event.until.toISOString() },
      });
    } catch (err) {
      deps.log.warn('database', 'could not audit a blocked address', { error: (err as Error).message });
    }
  });
  const claimDeps = { db: deps.db, now: deps.now };
  const pollSeconds = deps.bootstrapPollSeconds ?? 60;

  /** Refuses a request whose User-Agent or certificate names another MAC: counted, and audited if the MAC is enrolled. */
  const refuseMismatch = (request: PhoneRequest, mac: Mac, reason: 'user_agent_mac' | 'certificate_mac', named: readonly string[]): PhoneResponse => {
    guard.fail(request.ip);
    const device = findPhoneByMac(deps.db, mac);
    if (device !== undefined) {
      try {
        recordAudit(deps.db, device.tenantId, deps.now(), PHONE, {
          action: 'security.phone_mismatch',
          deviceMac: mac,
          detail: { reason, named, ip: request.ip, userAgent: request.userAgent },
        });
      } catch (err) {
        deps.log.warn('database', 'could not audit a refused phone request', { error: (err as Error).message });
      }
    }
    return FORBIDDEN;
  };

  const bootstrapOf = (mac: Mac, access: { provUsername: string; provPassword: string; screenSecret: string }): BootstrapProfile => ({
    mac,
    provisioning: provisioningAccess(deps.config.baseUrl, access.provUsername, access.provPassword),
    activationUrl: activationUrl(deps.config.baseUrl, { mac, screenSecret: access.screenSecret }),
    pollSeconds,
    baseUrl: deps.config.baseUrl,
  });
  /** Credentials of nobody, in the same shape as a device's: what a guesser and a second claimant get. */
  const decoyOf = (mac: Mac) =>
    bootstrapOf(mac, { provUsername: `hp${mac}`, provPassword: randomBytes(16).toString('hex'), screenSecret: randomBytes(16).toString('hex') });
  const realOf = (device: DeviceRow) =>
    bootstrapOf(device.mac as Mac, {
      provUsername: device.provUsername ?? '',
      provPassword: device.provPassword ?? '',
      screenSecret: device.screenSecret ?? '',
    });

  const renderBootstrap = (adapter: VendorAdapter, file: FileMatch, profile: BootstrapProfile): PhoneResponse => {
    const plan = adapter.planBootstrapFile(file, profile);
    if (plan === null) return NOT_FOUND;
    return { ...ok(adapter, render(adapter, plan, undefined)), noStore: true };
  };

  const claimantOf = (adapter: VendorAdapter, request: PhoneRequest): Claimant => ({
    ip: request.ip,
    userAgent: request.userAgent,
    firmware: userAgentFor(adapter, request.userAgent)?.firmware ?? null,
  });

  /**
   * A request that did not prove it is the phone. Whatever the MAC — unknown, unclaimed, claimed, active or
   * retired — the answer has the same status, headers and shape: under /prov/ a challenge, elsewhere a
   * bootstrap file. Only an unclaimed device's first claim gets real credentials in it.
   */
  const answerUnproven = (request: PhoneRequest, adapter: VendorAdapter, file: FileMatch, mac: Mac, device: PhoneDevice | undefined): PhoneResponse => {
    if (request.credentials !== null) guard.fail(request.ip);
    if (request.scope === 'credentialed') return CHALLENGE;
    if (file.upload === 'only') return request.method === 'GET' ? NOT_FOUND : NO_CONTENT;
    if (request.method === 'PUT') return NO_CONTENT;
    if (file.kind !== adapter.claimsWith) return renderBootstrap(adapter, file, decoyOf(mac));
    if (device === undefined) {
      guard.fail(request.ip);
      return renderBootstrap(adapter, file, decoyOf(mac));
    }
    let outcome: ReturnType<typeof claimByBootstrap>;
    try {
      outcome = claimByBootstrap(claimDeps, device.id, claimantOf(adapter, request));
    } catch (err) {
      // A claim that cannot be recorded hands nothing out; the phone asks again at its next boot or poll.
      if (storageConflict(err) === null) throw err;
      deps.log.warn('database', 'a phone could not claim its credentials: the database cannot be written', { mac, error: (err as Error).message });
      return renderBootstrap(adapter, file, decoyOf(mac));
    }
    if (outcome.kind === 'refused') {
      // Counted against the address, and put on record after the answer (so it takes no longer than an unknown
      // MAC's); no log line each: the block is logged once.
      guard.fail(request.ip);
      const claimant = claimantOf(adapter, request);
      setImmediate(() => {
        try {
          recordRefusedClaim(claimDeps, device.id, claimant);
        } catch (err) {
          deps.log.warn('database', 'could not record a refused claim', { mac, error: (err as Error).message });
        }
      });
      return renderBootstrap(adapter, file, decoyOf(mac));
    }
    if (outcome.device.access !== device.access) forget(device.id);
    deps.log.info('provisioning', 'a phone claimed its credentials', { mac, ip: request.ip, access: outcome.device.access });
    return renderBootstrap(adapter, file, realOf(outcome.device));
  };

  const serveDeviceFile = (request: PhoneRequest, matches: readonly [VendorAdapter, FileMatch][]): PhoneResponse => {
    const mac = matches[0]?.[1].mac;
    if (mac === null || mac === undefined) return NOT_FOUND;
    // A blocked address is refused whatever it asks, unless the request proves it is the phone: a phone behind
    // the same NAT as a guesser goes on being served.
    const blocked = (): PhoneResponse | null => {
      const seconds = guard.blockedFor(request.ip);
      return seconds > 0 ? { status: 429, retryAfterSeconds: seconds } : null;
    };
    // A phone names its own MAC in its User-Agent (Yealink, Snom) and certificate: a request naming another is not its.
    const uaMac = userAgentOf(request.userAgent)?.info.mac ?? null;
    if (uaMac !== null && uaMac !== mac) return blocked() ?? refuseMismatch(request, mac, 'user_agent_mac', [uaMac]);
    const certified = request.certificateMacs?.includes(mac) === true;
    if (request.certificateMacs !== null && !certified) return blocked() ?? refuseMismatch(request, mac, 'certificate_mac', request.certificateMacs);

    let device = findPhoneByMac(deps.db, mac);
    const match = device === undefined ? undefined : matches.find(([adapter]) => adapter.id === device?.vendor);
    if (device === undefined || match === undefined || (!certified && !credentialsMatch(request.credentials, device))) {
      const refused = blocked();
      if (refused !== null) return refused;
      // Who has not proven anything is answered by what the request shows, never by what is enrolled.
      const [openAdapter, openFile] = unprovenMatch(request, matches, mac);
      const claimable = device !== undefined && openAdapter.id === device.vendor ? device : undefined;
      return answerUnproven(request, openAdapter, openFile, mac, claimable);
    }
    const [adapter, file] = match;

    if (device.access !== 'active' && device.retiredAt === null) {
      // Credentials the phone did not get from a bootstrap file came from its redirect service: a claim.
      const row = claimByProof(claimDeps, device.id, claimantOf(adapter, request), certified ? 'certificate' : 'redirect');
      if (row.access !== device.access) forget(device.id);
      device = { ...device, access: row.access };
    }
    recordSeen(adapter, device, request);
    if (request.method === 'PUT') return file.upload === undefined ? NOT_FOUND : NO_CONTENT;
    if (file.upload === 'only') return request.method === 'HEAD' ? NO_CONTENT : NOT_FOUND;
    if (device.access === 'claimed' && device.retiredAt === null) return servePending(adapter, file, device.id);
    const known = currentEtags.get(file.kind)?.get(device.id);
    // For the main file, the account the phone holds must be on record already; in the rare case it is not, the
    // path below has the account to record.
    if (known !== undefined && ifNoneMatchHits(request.ifNoneMatch, known) && (file.kind !== MAIN_FILE_KIND || recordedEtag(device) === known)) {
      if (file.kind === MAIN_FILE_KIND && namesRevision(request)) deps.onServed?.(device, known);
      return { status: 304, etag: known };
    }
    const files = deviceCache.get(device.id);
    let served = files?.get(file.kind);
    if (files !== undefined) {
      // Most recently used last: the eviction below takes from the front.
      deviceCache.delete(device.id);
      deviceCache.set(device.id, files);
    }
    if (served === undefined) {
      const row = findDeviceById(deps.db, device.id);
      if (row === undefined) return NOT_FOUND; // deleted between the two reads
      const { profile } = profileOf(row);
      const plan = adapter.planDeviceFile(file, profile);
      if (plan === null) return NOT_FOUND;
      served = rendered(adapter, renderFile(adapter, plan, row.model), profile.account);
      remember(device.id, file.kind, served);
    }
    const answer = conditional(request, served.response);
    if (answer.status === 200 || namesRevision(request)) servedRevision(file, device, { etag: served.response.etag, account: served.account });
    return answer;
  };

  /**
   * A phone that proved it holds its credentials but is not active yet: its main file is its bootstrap file
   * (still no account), its other files point at it as usual. Rare, so never cached.
   */
  const servePending = (adapter: VendorAdapter, file: FileMatch, deviceId: number): PhoneResponse => {
    const row = findDeviceById(deps.db, deviceId);
    if (row === undefined) return NOT_FOUND;
    if (file.kind === adapter.claimsWith || file.kind === 'directory') return renderBootstrap(adapter, file, realOf(row));
    const plan = adapter.planDeviceFile(file, profileOf(row).profile);
    return plan === null ? NOT_FOUND : { ...ok(adapter, render(adapter, plan, row.model)), noStore: true };
  };

  /**
   * Which vendor's file a path names for a request that proved nothing (`<mac>.cfg` is Yealink's device file and
   * Poly's master): the vendor whose User-Agent it sends, else the one whose MAC prefix it is, else the first.
   */
  const unprovenMatch = (request: PhoneRequest, matches: readonly [VendorAdapter, FileMatch][], mac: Mac): [VendorAdapter, FileMatch] =>
    (matches.find(([adapter]) => adapter.id === userAgentOf(request.userAgent)?.vendor) ??
      matches.find(([adapter]) => adapter.profile.macPrefixes.includes(mac.slice(0, 6))) ??
      matches[0]) as [VendorAdapter, FileMatch];

  /**
   * What a User-Agent tells: the vendor whose form it has, and the model, firmware and MAC it names. A phone sends
   * the same User-Agent at every fetch, so each is read once and kept (a bounded number, short ones only: a client
   * inventing User-Agents only empties the memo), and every step of a fetch asks here.
   */
  const userAgents = new Map<string, { readonly vendor: string; readonly info: UserAgentInfo } | null>();
  const userAgentOf = (userAgent: string) => {
    if (userAgent === '') return null;
    const known = userAgents.get(userAgent);
    if (known !== undefined) return known;
    let found: { vendor: string; info: UserAgentInfo } | null = null;
    for (const adapter of deps.adapters) {
      const info = adapter.profile.parseUserAgent(userAgent);
      if (info !== null) {
        found = { vendor: adapter.id, info };
        break;
      }
    }
    if (userAgent.length <= 256) {
      if (userAgents.size >= USER_AGENT_MEMO) userAgents.clear();
      userAgents.set(userAgent, found);
    }
    return found;
  };
  /** What the User-Agent says of the phone, if it is in this vendor's form. */
  const userAgentFor = (adapter: VendorAdapter, userAgent: string): UserAgentInfo | null => {
    const known = userAgentOf(userAgent);
    return known?.vendor === adapter.id ? known.info : null;
  };

  /** `If-None-Match: *` says the phone holds some copy, not which: only a named ETag (or the file sent) tells. */
  const namesRevision = (request: PhoneRequest): boolean => request.ifNoneMatch?.trim() !== '*';

  const conditional = (request: PhoneRequest, response: Rendered200): PhoneResponse =>
    ifNoneMatchHits(request.ifNoneMatch, response.etag) ? { status: 304, etag: response.etag } : response;

  /** The phone now holds this revision of the file; for its main file, that is the account it registers with. */
  const servedRevision = (file: FileMatch, device: PhoneDevice, revision: Revision) => {
    if (file.kind !== MAIN_FILE_KIND) return;
    if (recordedEtag(device) !== revision.etag) {
      // A revision queued earlier in this turn and already overtaken goes; the one on record may be right again.
      if (device.servedEtag === revision.etag) pendingServed.delete(device.id);
      else pendingServed.set(device.id, revision);
      scheduleWrites();
    }
    deps.onServed?.(device, revision.etag);
  };

  /** The revision on record for the phone once this turn's writes are done. */
  const recordedEtag = (device: PhoneDevice): string | null => pendingServed.get(device.id)?.etag ?? device.servedEtag;

  /**
   * What fetches record (last seen, revision served) is written once per turn of the event loop, in one
   * transaction: a boot storm answers dozens of phones a turn, and a write each cost more than the 304 itself.
   * Whatever decides from these columns within the same turn (re-sync: where the phone is, which account and
   * revision it holds) calls flush() first.
   */
  const pendingSeen = new Map<number, DeviceSeen>();
  const pendingServed = new Map<number, Revision>();
  let writesScheduled = false;
  const scheduleWrites = () => {
    if (writesScheduled) return;
    writesScheduled = true;
    setImmediate(writePending);
  };
  const writePending = () => {
    writesScheduled = false;
    if (pendingSeen.size === 0 && pendingServed.size === 0) return;
    const seen = [...pendingSeen];
    const served = [...pendingServed];
    pendingSeen.clear();
    pendingServed.clear();
    try {
      // Statements prepared on the database itself run inside the transaction (one connection), and are
      // prepared once rather than on each transaction object.
      writeTransaction(deps.db, () => {
        for (const [id, fetch] of seen) recordDeviceSeen(deps.db, id, fetch);
        for (const [id, revision] of served) recordServed(deps.db, id, revision.etag, revision.account);
      });
      if (recordingFails) {
        recordingFails = false;
        deps.log.info('database', 'what phones fetched is recorded again');
      }
    } catch (err) {
      // Kept for the next write (another fetch's, a retry's, or close()), unless something newer came meanwhile.
      for (const [id, fetch] of seen) if (!pendingSeen.has(id)) pendingSeen.set(id, fetch);
      for (const [id, revision] of served) if (!pendingServed.has(id)) pendingServed.set(id, revision);
      // One warning per outage, not one per turn: a full disk under a boot storm would flood the log.
      if (!recordingFails) {
        recordingFails = true;
        deps.log.warn('database', 'could not record what phones fetched; phones still get their files, and it is tried again', {
          phones: seen.length + served.length,
          error: (err as Error).message,
        });
      }
      if (retryScheduled) return;
      retryScheduled = true;
      setTimeout(() => {
        retryScheduled = false;
        writePending();
      }, RECORD_RETRY_MS).unref();
    }
  };
  let recordingFails = false;
  let retryScheduled = false;

  const recordSeen = (adapter: VendorAdapter, device: PhoneDevice, request: PhoneRequest) => {
    const ua = userAgentFor(adapter, request.userAgent);
    if (request.userAgent !== '' && ua === null) {
      deps.log.warn('provisioning', 'User-Agent is not of the enrolled vendor', {
        mac: device.mac,
        vendor: device.vendor,
        userAgent: request.userAgent,
      });
    }
    const seen: DeviceSeen = { at: deps.now(), ip: request.ip, userAgent: request.userAgent, firmware: ua?.firmware ?? null };
    const pending = pendingSeen.get(device.id);
    const last =
      pending === undefined
        ? device
        : { lastSeenAt: pending.at, lastSeenIp: pending.ip, lastUserAgent: pending.userAgent, firmware: pending.firmware ?? device.firmware };
    if (!seenIsNews(last, seen, SEEN_INTERVAL_MS)) return;
    pendingSeen.set(device.id, { ...seen, firmware: seen.firmware ?? pending?.firmware ?? null });
    scheduleWrites();
  };

  return {
    /** Answers one phone request. Never throws for a path it does not know: that is a 404. */
    handle(request: PhoneRequest): PhoneResponse {
      const matches: [VendorAdapter, FileMatch][] = [];
      for (const adapter of deps.adapters) {
        const file = adapter.matchPath(request.filename);
        if (file !== null) matches.push([adapter, file]);
      }
      if (matches.length === 0) return NOT_FOUND;
      if (matches.some(([, f]) => f.mac !== null))
        return serveDeviceFile(
          request,
          matches.filter(([, f]) => f.mac !== null),
        );
      for (const [adapter, file] of matches) {
        const key = `${adapter.id}/${request.filename.toLowerCase()}`;
        const cached = sharedCache.get(key);
        if (cached !== undefined) return conditional(request, cached);
        const plan = adapter.planSharedFile(file, deps.config.baseUrl);
        if (plan === null) continue;
        const response = ok(adapter, render(adapter, plan, file.model?.id));
        sharedCache.set(key, response);
        return conditional(request, response);
      }
      return NOT_FOUND;
    },

    /** The budget of failed requests per address, shared with the phone screens: seconds an address stays blocked. */
    blockedFor: (ip: string): number => guard.blockedFor(ip),
    /** Counts a failed phone request (a screen asked with a wrong secret) against its address. */
    failed: (ip: string): void => guard.fail(ip),

    /** Forgets the rendered files of these devices: their profile changed. */
    invalidate(deviceIds: readonly number[]): void {
      for (const id of deviceIds) forget(id);
    },

    /** Writes what fetches recorded and is not yet written: before anything decides from it, and before closing. */
    flush(): void {
      writePending();
    },

    /** Forgets every rendered file: a template changed. */
    invalidateAll(): void {
      deviceCache.clear();
      currentEtags.clear();
      sharedCache.clear();
      cachedBytes = 0;
    },

    /** The device's main file as it would be served now: the revision a check-sync should make the phone fetch. */
    currentRevision(device: DeviceRow): Revision {
      const { adapter, profile } = profileOf(device);
      const main = adapter
        .deviceFiles(profile.device.mac, profile.device.model)
        .map((name) => adapter.matchPath(name))
        .find((f) => f?.kind === MAIN_FILE_KIND);
      const plan = main == null ? null : adapter.planDeviceFile(main, profile);
      if (plan === null) throw new Error(`${adapter.id} has no main device file`);
      return { etag: renderFile(adapter, plan, device.model).etag, account: profile.account };
    },

    /**
     * What the device's phone gets while it has not proven itself: each file as a bootstrap answer with the
     * device's own credentials (the answer of its first claim, and of its fetches while it waits).
     */
    renderBootstrapFiles(device: DeviceRow): RenderedFile[] {
      const adapter = adapterById.get(device.vendor);
      if (adapter === undefined) throw new Error(`device ${device.mac}: unknown vendor ${device.vendor}`);
      const out: RenderedFile[] = [];
      for (const name of adapter.deviceFiles(device.mac as Mac, modelOf(adapter, device))) {
        const file = adapter.matchPath(name);
        const plan = file === null || file.mac === null ? null : adapter.planBootstrapFile(file, realOf(device));
        if (plan !== null) out.push({ name, body: render(adapter, plan, undefined), contentType: adapter.contentType });
      }
      return out;
    },

    /** A login or logout screen in the device's vendor's format, every value escaped as XML. */
    renderScreen(device: DeviceRow, screen: Screen): { body: string; contentType: string } {
      const adapter = adapterById.get(device.vendor);
      if (adapter === undefined) throw new Error(`device ${device.mac}: unknown vendor ${device.vendor}`);
      const plan = adapter.planScreen(screen);
      return {
        body: deps.templates.render(adapter.id, plan.template, device.model, escapeContext(plan.context, escapeXml)),
        contentType: adapter.screenContentType,
      };
    },

    /** What the API shows of a device's provisioning: its mode, its files, and what an admin should look at. */
    summary(device: DeviceRow): DeviceSummary {
      const { adapter, profile } = profileOf(device);
      const warnings = [...profile.layout.warnings];
      if (!adapter.profile.macPrefixes.includes(device.mac.slice(0, 6))) {
        warnings.push(`MAC ${device.mac.slice(0, 6)} is not a known ${adapter.profile.name} prefix: check the vendor`);
      }
      return { mode: profile.mode, files: adapter.deviceFiles(profile.device.mac, profile.device.model), warnings };
    },

    /**
     * Every file the device fetches, rendered as it would get them now.
     * @param options.maskSecrets replace the account password with asterisks, for showing to people.
     * @param options.as render as if this user (null: nobody) sat at the device, without logging anyone in.
     */
    renderDeviceFiles(device: DeviceRow, options: { maskSecrets?: boolean; as?: UserRow | null } = {}): RenderedFile[] {
      const { adapter, profile: actual } = profileOf(device, options.as);
      const profile: DeviceProfile =
        options.maskSecrets === true
          ? {
              ...actual,
              account: { ...actual.account, password: SECRET_MASK },
              provisioning: provisioningAccess(deps.config.baseUrl, actual.provisioning.username, SECRET_MASK),
              webPassword: SECRET_MASK,
            }
          : actual;
      const out: RenderedFile[] = [];
      for (const name of adapter.deviceFiles(profile.device.mac, profile.device.model)) {
        const file = adapter.matchPath(name);
        if (file === null) continue;
        const plan = file.mac === null ? adapter.planSharedFile(file, deps.config.baseUrl) : adapter.planDeviceFile(file, profile);
        if (plan !== null) out.push({ name, body: render(adapter, plan, device.model), contentType: adapter.contentType });
      }
      return out;
    },
  };
}

export type Provisioning = ReturnType<typeof createProvisioning>;

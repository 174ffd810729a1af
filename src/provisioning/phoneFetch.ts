import type { Db } from '../db/client.ts';
import type { DeviceRow } from '../db/schema.ts';
import { recordAudit } from '../domain/audit.ts';
import { sameSecret } from '../domain/credentials.ts';
import { type Claimant, claimByBootstrap, claimByProof, macOfProvisioningUsername, recordRefusedClaim } from '../domain/deviceAccess.ts';
import { findPhoneByMac, type PhoneDevice } from '../domain/lookup.ts';
import type { Mac } from '../domain/mac.ts';
import { storageConflict } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { BootstrapProfile, FileMatch, VendorAdapter } from '../vendors/types.ts';
import type { BootstrapFiles } from './bootstrap.ts';
import type { DeviceCopies } from './deviceCopies.ts';
import type { FetchRecords, Revision } from './fetchRecords.ts';
import type { RequestGuard } from './guard.ts';
import { type FileAnswer, fileFromText, type RenderCache } from './renderCache.ts';
import { MAIN_FILE_KIND, type Rendering } from './rendering.ts';
import type { UserAgentReader } from './userAgents.ts';

/** The user name and password a phone sent (HTTP Basic, parsed by the HTTP layer). */
export interface PhoneCredentials {
  readonly username: string;
  readonly password: string;
}

/**
 * Which copy of the file the phone says it holds (If-None-Match): none, these revisions (ETags, compared
 * weakly: the HTTP layer drops `W/`), or some copy it does not name (`*`).
 */
export type HeldCopy = { readonly kind: 'none' } | { readonly kind: 'revisions'; readonly etags: readonly string[] } | { readonly kind: 'unnamed' };

/** One request of a phone for one of its files, in provisioning's terms. */
export interface PhoneFetch {
  /** The last path segment, as the phone sent it. */
  readonly filename: string;
  /**
   * open: the paths phones find on their own (DHCP, redirect service, a URL typed on the phone), where a phone
   * without credentials gets its bootstrap file; credentialed: under /prov/, where hotprov asks for them.
   */
  readonly scope: 'open' | 'credentialed';
  /** download: the file; probe: only whether there is one (HEAD); upload: the phone sends one (kept nowhere). */
  readonly action: 'download' | 'probe' | 'upload';
  readonly userAgent: string;
  readonly ip: string;
  /** The credentials the phone sent; null without. */
  readonly credentials: PhoneCredentials | null;
  /** The MACs a verified client certificate names; null without a verified certificate. */
  readonly certificateMacs: readonly Mac[] | null;
  readonly held: HeldCopy;
}

/** What provisioning answers a phone; the HTTP layer maps each kind to a status in one place. */
export type PhoneAnswer =
  | FileAnswer
  /** The phone holds the current file already: answered from the ETag alone, nothing rendered or inflated. */
  | { readonly kind: 'unchanged'; readonly etag: string }
  /** An upload (or a probe for one) hotprov accepts and drops. */
  | { readonly kind: 'upload_accepted' }
  /** Under /prov/ without this phone's credentials: the same answer for every MAC, enrolled or not. */
  | { readonly kind: 'needs_credentials' }
  /** A User-Agent or certificate that names another MAC than the path: refused before anything is looked up. */
  | { readonly kind: 'wrong_device' }
  | { readonly kind: 'not_found' }
  /** The address failed too often: blocked for this long. */
  | { readonly kind: 'blocked'; readonly retryAfterSeconds: number };

const NOT_FOUND: PhoneAnswer = { kind: 'not_found' };
const WRONG_DEVICE: PhoneAnswer = { kind: 'wrong_device' };
const NEEDS_CREDENTIALS: PhoneAnswer = { kind: 'needs_credentials' };
const UPLOAD_ACCEPTED: PhoneAnswer = { kind: 'upload_accepted' };
const PHONE = { name: 'phone' };

/** The phone's credentials against the device's own, compared in constant time. */
function credentialsMatch(sent: PhoneCredentials | null, device: Pick<DeviceRow, 'provUsername' | 'provPassword'>): boolean {
  if (sent === null || device.provUsername === null || device.provPassword === null) return false;
  return sameSecret(`${sent.username}:${sent.password}`, `${device.provUsername}:${device.provPassword}`);
}

/** Whether the phone holds this revision: it names it, or says it holds some copy (`*`). */
function holds(held: HeldCopy, etag: string): boolean {
  return held.kind === 'unnamed' || (held.kind === 'revisions' && held.etags.includes(etag));
}

export interface PhoneFetchDeps {
  readonly db: Db;
  readonly log: Logger;
  readonly now: () => Date;
  /** The instance's base URL for phones: what answers a request that proves no tenant. */
  readonly instanceBaseUrl: string;
  readonly adapters: readonly VendorAdapter[];
  readonly rendering: Rendering;
  readonly cache: RenderCache;
  readonly records: FetchRecords;
  /** The devices by MAC: this node's copies (PostgreSQL), or the database. */
  readonly devices: DeviceCopies;
  readonly bootstrap: BootstrapFiles;
  readonly userAgents: UserAgentReader;
  /** The budget of failed requests per source address. */
  readonly guard: RequestGuard;
  /** The tenant whose templates answer a request that proves no tenant. */
  readonly defaultTenantId: () => number;
  /** Told each time a phone was served its main device file (or an `unchanged` for it): the ETag it now has. */
  readonly onServed?: (device: PhoneDevice, etag: string) => void;
  /** Told of every answer and render (metrics count them); called on the phone path, so it must be cheap. */
  readonly observe?: PhoneFetchObserver;
}

/** What the phone path tells metrics: counts only, nothing about who asked. */
export interface PhoneFetchObserver {
  /** An answer: the vendor and file kind the path names (`unknown` for a path no vendor knows), and the answer's kind. */
  answered(vendor: string, fileKind: string, answer: PhoneAnswer['kind']): void;
  /** A file answered from the render cache (its bytes, or its ETag for an `unchanged`). */
  cacheHit(): void;
  /** A file rendered because the cache did not have it: how long the render took. */
  rendered(seconds: number): void;
}

const UNKNOWN = 'unknown';

/**
 * Answers phones: identify (which vendor's file a path names, and whether User-Agent and certificate agree),
 * prove (the device's credentials or certificate, else the answer of a request that proved nothing), answer
 * (the cached file, its `unchanged`, or a render). Records when, from where and with which firmware it asked.
 */
export function createPhoneFetch(deps: PhoneFetchDeps) {
  const { cache, records, bootstrap, rendering, guard, userAgents } = deps;
  const claimDeps = { db: deps.db, now: deps.now };

  /** Refuses a request whose User-Agent or certificate names another MAC: counted, and audited if the MAC is enrolled. */
  const refuseMismatch = async (
    request: PhoneFetch,
    mac: Mac,
    reason: 'user_agent_mac' | 'certificate_mac',
    named: readonly string[],
  ): Promise<PhoneAnswer> => {
    guard.fail(request.ip);
    const device = await findPhoneByMac(deps.db, mac);
    if (device !== undefined) {
      try {
        await recordAudit(deps.db, device.tenantId, deps.now(), PHONE, {
          action: 'security.phone_mismatch',
          deviceMac: mac,
          detail: { reason, named, ip: request.ip, userAgent: request.userAgent },
        });
      } catch (err) {
        deps.log.warn('database', 'could not audit a refused phone request', { error: (err as Error).message });
      }
    }
    return WRONG_DEVICE;
  };

  const claimantOf = (adapter: VendorAdapter, request: PhoneFetch): Claimant => ({
    ip: request.ip,
    userAgent: request.userAgent,
    firmware: userAgents.readFor(adapter, request.userAgent)?.firmware ?? null,
  });

  /** A bootstrap answer: a real one from its device's tenant's templates (tenantId), a decoy from the default's. */
  const bootstrapAnswer = (adapter: VendorAdapter, file: FileMatch, profile: BootstrapProfile, tenantId: number | null = null): PhoneAnswer =>
    bootstrap.answer(adapter, file, profile, tenantId) ?? NOT_FOUND;

  /**
   * A request that did not prove it is the phone. Whatever the MAC — unknown, unclaimed, claimed, active or
   * retired — the answer has the same kind and shape: under /prov/ a challenge, elsewhere a bootstrap file.
   * Only an unclaimed device's first claim gets real credentials in it.
   */
  const answerUnproven = async (
    request: PhoneFetch,
    adapter: VendorAdapter,
    file: FileMatch,
    mac: Mac,
    device: PhoneDevice | undefined,
  ): Promise<PhoneAnswer> => {
    if (request.credentials !== null) guard.fail(request.ip);
    if (request.scope === 'credentialed') return NEEDS_CREDENTIALS;
    if (file.upload === 'only') return request.action === 'download' ? NOT_FOUND : UPLOAD_ACCEPTED;
    if (request.action === 'upload') return UPLOAD_ACCEPTED;
    if (file.kind !== adapter.claimsWith) return bootstrapAnswer(adapter, file, bootstrap.decoy(mac));
    if (device === undefined) {
      guard.fail(request.ip);
      return bootstrapAnswer(adapter, file, bootstrap.decoy(mac));
    }
    let outcome: Awaited<ReturnType<typeof claimByBootstrap>>;
    try {
      outcome = await claimByBootstrap(claimDeps, device.id, claimantOf(adapter, request));
    } catch (err) {
      // A claim that cannot be recorded hands nothing out; the phone asks again at its next boot or poll.
      if (storageConflict(err) === null) throw err;
      deps.log.warn('database', 'a phone could not claim its credentials: the database cannot be written', { mac, error: (err as Error).message });
      return bootstrapAnswer(adapter, file, bootstrap.decoy(mac));
    }
    if (outcome.kind === 'refused') {
      // Counted against the address, and put on record after the answer (so it takes no longer than an unknown
      // MAC's); no log line each: the block is logged once.
      guard.fail(request.ip);
      const claimant = claimantOf(adapter, request);
      setImmediate(async () => {
        try {
          await recordRefusedClaim(claimDeps, device.id, claimant);
        } catch (err) {
          deps.log.warn('database', 'could not record a refused claim', { mac, error: (err as Error).message });
        }
      });
      return bootstrapAnswer(adapter, file, bootstrap.decoy(mac));
    }
    if (outcome.device.access !== device.access) cache.forget(device.id);
    deps.log.info('provisioning', 'a phone claimed its credentials', { mac, ip: request.ip, access: outcome.device.access });
    return bootstrapAnswer(adapter, file, await bootstrap.real(outcome.device), outcome.device.tenantId);
  };

  /**
   * Which vendor's file a path names for a request that proved nothing (`<mac>.cfg` is Yealink's device file and
   * Poly's master): the vendor whose User-Agent it sends, else the one whose MAC prefix it is, else the first.
   */
  const unprovenMatch = (request: PhoneFetch, matches: readonly [VendorAdapter, FileMatch][], mac: Mac): [VendorAdapter, FileMatch] =>
    (matches.find(([adapter]) => adapter.id === userAgents.read(request.userAgent)?.vendor) ??
      matches.find(([adapter]) => adapter.profile.macPrefixes.includes(mac.slice(0, 6))) ??
      matches[0]) as [VendorAdapter, FileMatch];

  /** The phone asked: recorded when it is news, with a warning when its User-Agent is another vendor's. */
  const recordSeen = (adapter: VendorAdapter, device: PhoneDevice, request: PhoneFetch) => {
    const ua = userAgents.readFor(adapter, request.userAgent);
    if (request.userAgent !== '' && ua === null) {
      deps.log.warn('provisioning', 'User-Agent is not of the enrolled vendor', { mac: device.mac, vendor: device.vendor, userAgent: request.userAgent });
    }
    records.seen(device, { at: deps.now(), ip: request.ip, userAgent: request.userAgent, firmware: ua?.firmware ?? null });
  };

  /** The phone now holds this revision of the file; for its main file, that is the account it registers with. */
  const servedRevision = (file: FileMatch, device: PhoneDevice, revision: Revision) => {
    if (file.kind !== MAIN_FILE_KIND) return;
    records.served(device, revision);
    deps.onServed?.(device, revision.etag);
  };

  /**
   * A phone that proved it holds its credentials but is not active yet: its main file is its bootstrap file
   * (still no account), its other files point at it as usual. Rare, so never cached.
   */
  const servePending = async (adapter: VendorAdapter, file: FileMatch, device: PhoneDevice): Promise<PhoneAnswer> => {
    if (file.kind === adapter.claimsWith || file.kind === 'directory') return bootstrapAnswer(adapter, file, await bootstrap.real(device), device.tenantId);
    const plan = adapter.planDeviceFile(file, await rendering.profileOf(adapter, device));
    return plan === null
      ? NOT_FOUND
      : { ...fileFromText(adapter.contentType, rendering.render(device.tenantId, adapter, plan, device.model)), bootstrap: true };
  };

  /**
   * A device's own file. `trustCopy`: the device may come from this node's copy; whatever a copy cannot decide (a
   * refusal, a claim, a render) starts over with the device read from the database.
   */
  const serveDeviceFile = async (request: PhoneFetch, matches: readonly [VendorAdapter, FileMatch][], trustCopy = true): Promise<PhoneAnswer> => {
    const mac = matches[0]?.[1].mac;
    if (mac === null || mac === undefined) return NOT_FOUND;
    // A blocked address is refused whatever it asks, unless the request proves it is the phone: a phone behind
    // the same NAT as a guesser goes on being served.
    const blocked = (): PhoneAnswer | null => {
      const seconds = guard.blockedFor(request.ip);
      return seconds > 0 ? { kind: 'blocked', retryAfterSeconds: seconds } : null;
    };
    // A phone names its own MAC in its User-Agent (Yealink, Snom) and certificate: a request naming another is not its.
    const uaMac = userAgents.read(request.userAgent)?.info.mac ?? null;
    if (uaMac !== null && uaMac !== mac) return blocked() ?? refuseMismatch(request, mac, 'user_agent_mac', [uaMac]);
    const certified = request.certificateMacs?.includes(mac) === true;
    if (request.certificateMacs !== null && !certified) return blocked() ?? refuseMismatch(request, mac, 'certificate_mac', request.certificateMacs);

    // Before anything is read: a render made from reads older than a change is not kept.
    const ticket = cache.ticket();
    // The one read of the device for this fetch (none with a copy): proof, records and, on a miss, the profile come from it.
    const found = trustCopy ? await deps.devices.find(mac) : { device: await deps.devices.read(mac), copy: false };
    const fromDatabase = () => serveDeviceFile(request, matches, false);
    let device = found.device;
    const match = device === undefined ? undefined : matches.find(([adapter]) => adapter.id === device?.vendor);
    if (device === undefined || match === undefined || (!certified && !credentialsMatch(request.credentials, device))) {
      // Credentials may have changed since the copy: only the database refuses.
      if (found.copy) return await fromDatabase();
      const refused = blocked();
      if (refused !== null) return refused;
      // Who has not proven anything is answered by what the request shows, never by what is enrolled.
      const [openAdapter, openFile] = unprovenMatch(request, matches, mac);
      const claimable = device !== undefined && openAdapter.id === device.vendor ? device : undefined;
      return answerUnproven(request, openAdapter, openFile, mac, claimable);
    }
    // The one adapter for this fetch: the enrolled vendor's, whose file the path names.
    const [adapter, file] = match;

    if (device.access !== 'active' && device.retiredAt === null) {
      if (found.copy) return await fromDatabase();
      // Credentials the phone did not get from a bootstrap file came from its redirect service: a claim.
      const row = await claimByProof(claimDeps, device.id, claimantOf(adapter, request), certified ? 'certificate' : 'redirect');
      if (row.access !== device.access) cache.forget(device.id);
      // The device as the claim left it: an activation by certificate gave it a new password and screen secret.
      device = row;
    }
    recordSeen(adapter, device, request);
    if (request.action === 'upload') return file.upload === undefined ? NOT_FOUND : UPLOAD_ACCEPTED;
    if (file.upload === 'only') return request.action === 'probe' ? UPLOAD_ACCEPTED : NOT_FOUND;
    if (device.access === 'claimed' && device.retiredAt === null) return await servePending(adapter, file, device);
    const known = cache.currentEtag(device.id, file.kind);
    // For the main file, the account the phone holds must be on record already; in the rare case it is not, the
    // path below has the account to record.
    if (known !== undefined && holds(request.held, known) && (file.kind !== MAIN_FILE_KIND || records.recordedEtag(device) === known)) {
      if (file.kind === MAIN_FILE_KIND && request.held.kind === 'revisions') deps.onServed?.(device, known);
      deps.observe?.cacheHit();
      return { kind: 'unchanged', etag: known };
    }
    let served = cache.file(device.id, file.kind);
    if (served === undefined) {
      // A render answers from the database: the device as it is now, not as copied.
      if (found.copy) return await fromDatabase();
      const started = performance.now();
      const profile = await rendering.profileOf(adapter, device);
      const plan = adapter.planDeviceFile(file, profile);
      if (plan === null) return NOT_FOUND;
      served = cache.keep(
        ticket,
        device.id,
        device.tenantId,
        file.kind,
        adapter.contentType,
        rendering.renderFile(device.tenantId, adapter, plan, device.model),
        profile.account,
      );
      deps.observe?.rendered((performance.now() - started) / 1000);
    } else deps.observe?.cacheHit();
    const { answer, account } = served;
    const unchanged = holds(request.held, answer.etag);
    // `*` says the phone holds some copy, not which: only a named ETag (or the file sent) tells the revision.
    if (!unchanged || request.held.kind === 'revisions') servedRevision(file, device, { etag: answer.etag, account });
    return unchanged ? { kind: 'unchanged', etag: answer.etag } : answer;
  };

  /**
   * Whose templates a shared file (a Yealink model's common file, Poly's generic master) comes from: the tenant of
   * the phone whose credentials or certificate the request carries (proven), else the default tenant's.
   */
  const sharedFileTenant = async (request: PhoneFetch): Promise<{ readonly tenantId: number; readonly proven: boolean }> => {
    const named = request.credentials === null ? null : macOfProvisioningUsername(request.credentials.username);
    const mac = named ?? (request.certificateMacs?.length === 1 ? (request.certificateMacs[0] ?? null) : null);
    const provenBy = (device: PhoneDevice | undefined): device is PhoneDevice =>
      device !== undefined && (request.certificateMacs?.includes(device.mac as Mac) === true || credentialsMatch(request.credentials, device));
    const found = mac === null ? { device: undefined, copy: false } : await deps.devices.find(mac);
    // A copy that does not prove it is asked again of the database: the credentials may be newer than the copy.
    const device = found.copy && !provenBy(found.device) && mac !== null ? await deps.devices.read(mac) : found.device;
    const proven = provenBy(device);
    // Credentials that prove nothing count against the address, as they do on a device's own file.
    if (!proven && request.credentials !== null) guard.fail(request.ip);
    return proven ? { tenantId: device.tenantId, proven } : { tenantId: deps.defaultTenantId(), proven };
  };

  /** One phone request's answer, for the paths some vendor knows (`matches`). */
  const answerMatched = async (request: PhoneFetch, matches: readonly [VendorAdapter, FileMatch][]): Promise<PhoneAnswer> => {
    const deviceFiles = matches.filter(([, f]) => f.mac !== null);
    if (deviceFiles.length > 0) return await serveDeviceFile(request, deviceFiles);
    const { tenantId, proven } = await sharedFileTenant(request);
    // A proven phone's tenant's address, else the instance's; kept under it, so a new base URL is a new file.
    const baseUrl = proven ? (await rendering.tenantOf(tenantId)).phoneBaseUrl : deps.instanceBaseUrl;
    for (const [adapter, file] of matches) {
      const key = `${adapter.id}/${baseUrl}/${request.filename.toLowerCase()}`;
      let shared = cache.sharedFile(tenantId, key);
      if (shared === undefined) {
        const plan = adapter.planSharedFile(file, baseUrl);
        if (plan === null) continue;
        const started = performance.now();
        shared = fileFromText(adapter.contentType, rendering.render(tenantId, adapter, plan, file.model?.id));
        cache.keepShared(tenantId, key, shared);
        deps.observe?.rendered((performance.now() - started) / 1000);
      } else deps.observe?.cacheHit();
      return holds(request.held, shared.etag) ? { kind: 'unchanged', etag: shared.etag } : shared;
    }
    return NOT_FOUND;
  };

  return {
    /** Answers one phone request. Never throws for a path it does not know: that is `not_found`. */
    async answer(request: PhoneFetch): Promise<PhoneAnswer> {
      const matches: [VendorAdapter, FileMatch][] = [];
      for (const adapter of deps.adapters) {
        const file = adapter.matchPath(request.filename);
        if (file !== null) matches.push([adapter, file]);
      }
      const first = matches[0];
      const answer = first === undefined ? NOT_FOUND : await answerMatched(request, matches);
      // The vendor whose path it is; `<mac>.cfg` is Yealink's and Poly's alike, counted under the first.
      deps.observe?.answered(first?.[0].id ?? UNKNOWN, first?.[1].kind ?? UNKNOWN, answer.kind);
      return answer;
    },
  };
}

export type PhoneFetcher = ReturnType<typeof createPhoneFetch>;

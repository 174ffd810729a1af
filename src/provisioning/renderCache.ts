import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { DeviceProfile } from '../vendors/types.ts';
import { createForgetClock } from './forgetClock.ts';
import type { RenderedText } from './skeletons.ts';

/** A file as a phone is sent it: its revision (ETag), its type, and its bytes, made when they are sent. */
export interface FileAnswer {
  readonly kind: 'file';
  readonly etag: string;
  readonly contentType: string;
  /** The body as the bytes sent: from the cache without a round trip through a string. */
  bytes(): Buffer;
  /** A bootstrap answer: never to be kept by a cache between hotprov and the phone. */
  readonly bootstrap?: true;
}

/** A device's file with the account in it (for its main file: what the phone will register with). */
export interface DeviceFile {
  readonly answer: FileAnswer;
  readonly account: DeviceProfile['account'];
}

/** What a cached file costs beyond its own values (objects, ETag, map entries), roughly, in bytes. */
const CACHE_ENTRY_OVERHEAD = 300;

/** A strong ETag: a hash of the text (shared files, bootstrap answers; a device's own file hashes its skeleton and values). */
export function etagOf(body: string): string {
  return `"${createHash('sha1').update(body).digest('base64url')}"`;
}

/** A file answered from its text, as just rendered. */
export function fileFromText(contentType: string, body: string): FileAnswer {
  return { kind: 'file', etag: etagOf(body), contentType, bytes: () => Buffer.from(body, 'utf8') };
}

/**
 * A cached device file: the answer (its phone's own values and the shared skeleton they fill, skeletons.ts, a few
 * hundred bytes a phone), the account it carries and its kind, in one object that is its own DeviceFile. A class
 * rather than objects of closures, and one object rather than three and a Map per device: the cache holds one per
 * phone, and at 100,000 phones every object a phone keeps is megabytes the storm's collector must walk.
 */
class KeptFile implements FileAnswer, DeviceFile {
  readonly fileKind: string;
  readonly contentType: string;
  readonly file: RenderedText;
  readonly account: DeviceProfile['account'];
  constructor(fileKind: string, contentType: string, file: RenderedText, account: DeviceProfile['account']) {
    this.fileKind = fileKind;
    this.contentType = contentType;
    this.file = file;
    this.account = account;
  }
  get kind(): 'file' {
    return 'file';
  }
  get answer(): FileAnswer {
    return this;
  }
  get etag(): string {
    return this.file.etag;
  }
  /** What holding it costs the cache budget, in bytes. */
  get cost(): number {
    return this.file.cost + CACHE_ENTRY_OVERHEAD;
  }
  bytes(): Buffer {
    return this.file.bytes();
  }
}

/** A device's kept files: the one it fetched (nearly always just its main file), or several. */
type KeptFiles = KeptFile | readonly KeptFile[];

const filesOf = (kept: KeptFiles | undefined): readonly KeptFile[] => (kept === undefined ? [] : kept instanceof KeptFile ? [kept] : kept);

/**
 * Rendered files, per device and per file kind, so a phone's fetch is a lookup rather than a render; and the
 * shared files every phone of a model fetches. Whatever changes what a device gets goes through profilesChanged
 * (or a template change), which empties its entries.
 *
 * Files are kept as their phone's values over a shared skeleton, in `lru-cache` under a byte budget (maxSize +
 * sizeCalculation): past it the least recently fetched devices are forgotten, all their files at once. It replaced
 * a hand-written Map-order LRU at no measured cost (a cached config file 37.3 → 34.6 µs, best of six interleaved
 * passes over 20,000 devices; test/provisioning/cacheMemory checks what the cache really holds).
 */
export function createRenderCache(megabytes = 64) {
  const budget = megabytes * 1024 * 1024;
  /** Each device's kept files by kind; an entry is replaced whole, so its size is counted again. */
  const bodies = new LRUCache<number, KeptFiles>({
    // lru-cache asks for a positive budget; 0 MB keeps nothing, as any file is larger than one byte.
    maxSize: Math.max(budget, 1),
    sizeCalculation: (kept) => {
      if (kept instanceof KeptFile) return kept.cost;
      let cost = 0;
      for (const file of kept) cost += file.cost;
      return cost;
    },
  });
  /**
   * Each device's current ETag, per file kind, kept after its body is evicted (under a hundred bytes a phone),
   * so a polling phone that holds the current file gets its 304 without a render. Emptied by the same
   * invalidation as the bodies.
   */
  const currentEtags = new Map<string, Map<number, string>>();
  /** Files that are the same for every phone (of a model) of a tenant, by tenant, vendor and file name. */
  const shared = new Map<string, FileAnswer>();
  /** The tenant of each device with something kept: a template change forgets its tenant's files without a database read. */
  const tenantOf = new Map<number, number>();
  /** A render that read the database before its device's files were forgotten is answered, not kept. */
  const clock = createForgetClock();
  const forgetDevice = (deviceId: number) => {
    bodies.delete(deviceId);
    for (const etags of currentEtags.values()) etags.delete(deviceId);
    tenantOf.delete(deviceId);
    clock.forgot(deviceId);
  };

  return {
    /** The ETag of the device's file of this kind as last rendered, while nothing changed it. */
    currentEtag: (deviceId: number, kind: string): string | undefined => currentEtags.get(kind)?.get(deviceId),

    /** The device's kept file of this kind; the device becomes the most recently used. */
    file(deviceId: number, kind: string): DeviceFile | undefined {
      const kept = bodies.get(deviceId);
      if (kept instanceof KeptFile) return kept.fileKind === kind ? kept : undefined;
      return kept?.find((f) => f.fileKind === kind);
    },

    /** Taken before the reads a render is made from: keep() then knows whether they may be stale. */
    ticket: (): number => clock.ticket(),

    /**
     * A device file just rendered, kept for the next fetches (a 304 needs just its ETag); not kept when the device's
     * files were forgotten after `ticket` was taken (the render may have read what the change replaced).
     */
    keep(
      ticket: number,
      deviceId: number,
      tenantId: number,
      kind: string,
      contentType: string,
      file: RenderedText,
      account: DeviceProfile['account'],
    ): DeviceFile {
      const kept = new KeptFile(kind, contentType, file, account);
      if (!clock.current(deviceId, ticket)) return kept;
      tenantOf.set(deviceId, tenantId);
      const others = filesOf(bodies.peek(deviceId)).filter((f) => f.fileKind !== kind);
      // An entry is replaced whole, so its size is counted again.
      bodies.set(deviceId, others.length === 0 ? kept : [...others, kept]);
      let etags = currentEtags.get(kind);
      if (etags === undefined) {
        etags = new Map();
        currentEtags.set(kind, etags);
      }
      etags.set(deviceId, kept.etag);
      return kept;
    },

    sharedFile: (tenantId: number, key: string): FileAnswer | undefined => shared.get(`${tenantId}/${key}`),
    keepShared: (tenantId: number, key: string, file: FileAnswer): void => {
      shared.set(`${tenantId}/${key}`, file);
    },

    /** What the kept device files cost, in bytes (the budget's count). */
    bytes: (): number => bodies.calculatedSize,

    /** Forgets a device's files and ETags: its profile changed. */
    forget: forgetDevice,

    /** Forgets a tenant's files, its devices' and its shared ones: one of its templates changed. */
    forgetTenant(tenantId: number): void {
      for (const [deviceId, owner] of tenantOf) if (owner === tenantId) forgetDevice(deviceId);
      // A render of the tenant's device under way has no entry yet, so no tenant to be found by.
      clock.forgotAll();
      for (const key of shared.keys()) if (key.startsWith(`${tenantId}/`)) shared.delete(key);
    },

    /** Forgets every file: a template changed. */
    forgetAll(): void {
      bodies.clear();
      currentEtags.clear();
      shared.clear();
      tenantOf.clear();
      clock.forgotAll();
    },
  };
}

export type RenderCache = ReturnType<typeof createRenderCache>;

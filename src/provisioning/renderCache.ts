import { createHash } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { LRUCache } from 'lru-cache';
import type { DeviceProfile } from '../vendors/types.ts';

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

/** What a cached file costs beyond its compressed text (objects, ETag, map entries), roughly, in bytes. */
const CACHE_ENTRY_OVERHEAD = 300;

/**
 * A strong ETag: a hash of the text. (Hashing the deflated bytes would be a tenth of the work, but would tie
 * every ETag, and the revisions on record for re-sync, to the zlib build that made them.)
 */
export function etagOf(body: string): string {
  return `"${createHash('sha1').update(body).digest('base64url')}"`;
}

/** A file answered from its text, as just rendered. */
export function fileFromText(contentType: string, body: string): FileAnswer {
  return { kind: 'file', etag: etagOf(body), contentType, bytes: () => Buffer.from(body, 'utf8') };
}

/**
 * Files as the cache keeps them: phone files repeat themselves (a line or element per key, expansion modules
 * included) and deflate about tenfold, so ten thousand phones fit the default budget.
 */
const deflate = (body: string): Buffer => {
  // zlib hands back a view into its 16 KB output buffer: kept as it is, a 3 KB file would hold on to all 16.
  const view = deflateRawSync(body, { level: 1 });
  const own = Buffer.allocUnsafeSlow(view.length);
  view.copy(own);
  return own;
};

interface KeptFile extends DeviceFile {
  /** What holding it costs the cache budget, in bytes. */
  readonly cost: number;
}

/**
 * A cache entry holding only the deflated bytes. Built apart from the text it came from: a closure made
 * beside that text would keep it alive, uncounted by the budget.
 */
function keptDeflated(contentType: string, etag: string, deflated: Buffer, length: number, account: DeviceProfile['account']): KeptFile {
  // Inflated in one piece of the known length: zlib's default 16 KB pieces would be joined with another copy.
  const bytes = () => inflateRawSync(deflated, { chunkSize: Math.max(length, 64) });
  return { account, cost: deflated.length + CACHE_ENTRY_OVERHEAD, answer: { kind: 'file', contentType, etag, bytes } };
}

/**
 * Rendered files, per device and per file kind, so a phone's fetch is a lookup rather than a render; and the
 * shared files every phone of a model fetches. Whatever changes what a device gets goes through profilesChanged
 * (or a template change), which empties its entries.
 *
 * Bodies are kept deflated in `lru-cache` under a byte budget (maxSize + sizeCalculation): past it the least
 * recently fetched devices are forgotten, all their files at once. It replaced a hand-written Map-order LRU at
 * no measured cost: a cached config file 37.3 → 34.6 µs, 2,000 phones through 4 MB +3.7 MB of file bytes either
 * way and 3.1 → 2.6 MB of heap (best of six interleaved passes over 20,000 devices; test/provisioning/cacheMemory).
 */
export function createRenderCache(megabytes = 64) {
  const budget = megabytes * 1024 * 1024;
  /** Each device's kept files by kind; an entry is replaced whole, so its size is counted again. */
  const bodies = new LRUCache<number, ReadonlyMap<string, KeptFile>>({
    // lru-cache asks for a positive budget; 0 MB keeps nothing, as any file is larger than one byte.
    maxSize: Math.max(budget, 1),
    sizeCalculation: (files) => {
      let cost = 0;
      for (const file of files.values()) cost += file.cost;
      return cost;
    },
  });
  /**
   * Each device's current ETag, per file kind, kept after its body is evicted (under a hundred bytes a phone),
   * so a polling phone that holds the current file gets its 304 without a render. Emptied by the same
   * invalidation as the bodies.
   */
  const currentEtags = new Map<string, Map<number, string>>();
  /** Files that are the same for every phone (of a model), by vendor and file name. */
  const shared = new Map<string, FileAnswer>();

  return {
    /** The ETag of the device's file of this kind as last rendered, while nothing changed it. */
    currentEtag: (deviceId: number, kind: string): string | undefined => currentEtags.get(kind)?.get(deviceId),

    /** The device's kept file of this kind; the device becomes the most recently used. */
    file: (deviceId: number, kind: string): DeviceFile | undefined => bodies.get(deviceId)?.get(kind),

    /**
     * A device file just rendered: answered from its text this once, and kept deflated for the next fetches
     * (the body is inflated only when it is sent; a 304 needs just the ETag).
     */
    keep(deviceId: number, kind: string, contentType: string, body: string, account: DeviceProfile['account']): DeviceFile {
      const answer = fileFromText(contentType, body);
      const kept = keptDeflated(contentType, answer.etag, deflate(body), Buffer.byteLength(body, 'utf8'), account);
      const files = new Map(bodies.peek(deviceId));
      files.set(kind, kept);
      bodies.set(deviceId, files);
      let etags = currentEtags.get(kind);
      if (etags === undefined) {
        etags = new Map();
        currentEtags.set(kind, etags);
      }
      etags.set(deviceId, answer.etag);
      return { answer, account };
    },

    sharedFile: (key: string): FileAnswer | undefined => shared.get(key),
    keepShared: (key: string, file: FileAnswer): void => {
      shared.set(key, file);
    },

    /** Forgets a device's files and ETags: its profile changed. */
    forget(deviceId: number): void {
      bodies.delete(deviceId);
      for (const etags of currentEtags.values()) etags.delete(deviceId);
    },

    /** Forgets every file: a template changed. */
    forgetAll(): void {
      bodies.clear();
      currentEtags.clear();
      shared.clear();
    },
  };
}

export type RenderCache = ReturnType<typeof createRenderCache>;

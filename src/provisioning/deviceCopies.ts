import { LRUCache } from 'lru-cache';
import type { PhoneDevice } from '../domain/lookup.ts';
import type { Mac } from '../domain/mac.ts';
import { createForgetClock } from './forgetClock.ts';

/** The columns a phone's fetches record (fetchRecords.ts); each node keeps its copies of them up to date itself. */
export type RecordedColumns = Partial<Pick<PhoneDevice, 'lastSeenAt' | 'lastSeenIp' | 'lastUserAgent' | 'firmware' | 'servedEtag'>>;

/** A device as a fetch found it: from this node's copy, or read from the database just now. */
export interface FoundDevice {
  readonly device: PhoneDevice | undefined;
  /** From the node's copy: good to confirm what the node already holds, never to refuse, claim or render. */
  readonly copy: boolean;
}

export interface DeviceCopiesOptions {
  /** Reads a device from the database by MAC (the phone path's columns). */
  readonly read: (mac: Mac) => Promise<PhoneDevice | undefined>;
  /** Whether copies are kept at all: on PostgreSQL, where the read is a round trip; on SQLite it takes microseconds. */
  readonly keep: boolean;
  /** How many devices' copies a node keeps at most (about half a kilobyte each); the least recently fetched go. */
  readonly maxDevices?: number;
}

/**
 * This node's copies of the device columns a phone's fetch reads (issue 16): on PostgreSQL a cached config fetch or a
 * 304 then waits on nothing. Only active devices in service are copied. Every change to one of those columns, made
 * on any node or by anything else that writes the database, drops the copy on every node: a trigger sends the change
 * feed a `deviceRows` notice at commit (migration 0002 of PostgreSQL). While the feed is not listening, nothing is
 * copied or used.
 *
 * What a copy may do is narrow, so a stale one opens nothing: it confirms a phone's credentials to answer from what
 * this node already rendered (a file, or its 304), which that phone was served under the same credentials. Credentials
 * that do not match it, a device that is not active, and a file to render all go back to the database (`read`): a
 * credential reset therefore never lets the old credentials have a file rendered after the reset, on any node, and
 * within the notice's delivery (milliseconds) at most what they had before.
 */
export function createDeviceCopies(options: DeviceCopiesOptions) {
  const copies = new LRUCache<Mac, PhoneDevice>({
    max: options.maxDevices ?? 100_000,
    // The MAC a device id is copied under goes with it.
    dispose: (device) => macOf.delete(device.id),
  });
  /** Device id → MAC of its copy: notices name devices by id. */
  const macOf = new Map<number, Mac>();
  const clock = createForgetClock();
  let trusted = options.keep;

  const forget = (deviceId: number) => {
    clock.forgot(deviceId);
    const mac = macOf.get(deviceId);
    if (mac !== undefined) copies.delete(mac);
  };

  /** Reads from the database; keeps a copy when it may (an active device, nothing forgotten since the read began). */
  const read = async (mac: Mac): Promise<PhoneDevice | undefined> => {
    if (!trusted) return await options.read(mac);
    const ticket = clock.ticket();
    const device = await options.read(mac);
    if (device === undefined || device.access !== 'active' || device.retiredAt !== null) {
      copies.delete(mac);
      return device;
    }
    if (trusted && clock.current(device.id, ticket)) {
      copies.set(mac, device);
      macOf.set(device.id, mac);
    }
    return device;
  };

  return {
    /** The device by MAC: this node's copy when it has one, else read from the database. */
    async find(mac: Mac): Promise<FoundDevice> {
      const copy = trusted ? copies.get(mac) : undefined;
      return copy === undefined ? { device: await read(mac), copy: false } : { device: copy, copy: true };
    },

    /** The device by MAC as the database has it now; its copy is replaced. */
    read,

    /** This node recorded a fetch of the device: its copy says so, so the next fetch does not record it again. */
    recorded(deviceId: number, columns: RecordedColumns): void {
      const mac = macOf.get(deviceId);
      const copy = mac === undefined ? undefined : copies.peek(mac);
      if (mac === undefined || copy === undefined) return;
      // Replacing a value disposes of the one before, and with it its id's MAC: set again.
      copies.set(mac, { ...copy, ...columns });
      macOf.set(deviceId, mac);
    },

    /** These devices' rows changed: their copies go. */
    forget(deviceIds: readonly number[]): void {
      for (const id of deviceIds) forget(id);
    },

    /** Drops every copy. */
    forgetAll(): void {
      clock.forgotAll();
      copies.clear();
    },

    /**
     * Whether notices of changes are being heard: when not (the change feed lost its connection), every copy goes and
     * none is kept or used until they are again.
     */
    trust(listening: boolean): void {
      clock.forgotAll();
      copies.clear();
      trusted = options.keep && listening;
    },

    /** How many devices this node has copies of. */
    get size(): number {
      return copies.size;
    },
  };
}

export type DeviceCopies = ReturnType<typeof createDeviceCopies>;

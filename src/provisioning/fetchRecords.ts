import type { Db } from '../db/client.ts';
import { type DeviceSeen, recordFetches, seenIsNews } from '../domain/devices.ts';
import type { PhoneDevice } from '../domain/lookup.ts';
import type { Logger } from '../log.ts';
import type { DeviceProfile } from '../vendors/types.ts';
import type { RecordedColumns } from './deviceCopies.ts';

/** A device's main file as rendered now: its ETag, and the account in it (what the phone will register with). */
export interface Revision {
  readonly etag: string;
  readonly account: DeviceProfile['account'];
}

export interface FetchRecordsDeps {
  readonly db: Db;
  readonly log: Logger;
  /** Told what is now recorded of a device (queued to be written): a node's copy of the device follows it. */
  readonly onRecorded?: (deviceId: number, columns: RecordedColumns) => void;
}

/** How soon records that could not be written (disk full, database locked) are tried again without a new fetch. */
const RECORD_RETRY_MS = 5_000;

/** Last-seen time stamps are written at most this often when nothing else about the request changed. */
const SEEN_INTERVAL_MS = 30_000;

/**
 * What fetches record (last seen, revision served) is written once per turn of the event loop, in one
 * transaction: a boot storm answers dozens of phones a turn, and a write each cost more than the 304 itself.
 * Whatever decides from these columns within the same turn (re-sync: where the phone is, which account and
 * revision it holds) calls flush() first.
 */
export function createFetchRecords(deps: FetchRecordsDeps) {
  const pendingSeen = new Map<number, DeviceSeen>();
  const pendingServed = new Map<number, Revision>();
  let writesScheduled = false;
  let recordingFails = false;
  let retryScheduled = false;

  const scheduleWrites = () => {
    if (writesScheduled) return;
    writesScheduled = true;
    setImmediate(writePending);
  };

  // One write at a time, in order: flush() waits for the one under way as well as for what is pending.
  let writing: Promise<void> = Promise.resolve();
  const writePending = (): Promise<void> => {
    writing = writing.then(writeNow);
    return writing;
  };

  const writeNow = async () => {
    writesScheduled = false;
    if (pendingSeen.size === 0 && pendingServed.size === 0) return;
    const seen = [...pendingSeen];
    const served = [...pendingServed];
    pendingSeen.clear();
    pendingServed.clear();
    try {
      await recordFetches(deps.db, seen, served);
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
        void writePending();
      }, RECORD_RETRY_MS).unref();
    }
  };

  /** The revision on record for the phone once this turn's writes are done. */
  const recordedEtag = (device: PhoneDevice): string | null => pendingServed.get(device.id)?.etag ?? device.servedEtag;

  return {
    recordedEtag,

    /** The phone asked: when, from where, with which User-Agent and firmware; written only when it is news. */
    seen(device: PhoneDevice, seen: DeviceSeen): void {
      const pending = pendingSeen.get(device.id);
      const last =
        pending === undefined
          ? device
          : { lastSeenAt: pending.at, lastSeenIp: pending.ip, lastUserAgent: pending.userAgent, firmware: pending.firmware ?? device.firmware };
      if (!seenIsNews(last, seen, SEEN_INTERVAL_MS)) return;
      const firmware = seen.firmware ?? pending?.firmware ?? null;
      pendingSeen.set(device.id, { ...seen, firmware });
      deps.onRecorded?.(device.id, { lastSeenAt: seen.at, lastSeenIp: seen.ip, lastUserAgent: seen.userAgent, firmware: firmware ?? device.firmware });
      scheduleWrites();
    },

    /** The phone now holds this revision of its main file: the account it registers with. */
    served(device: PhoneDevice, revision: Revision): void {
      if (recordedEtag(device) === revision.etag) return;
      // A revision queued earlier in this turn and already overtaken goes; the one on record may be right again.
      if (device.servedEtag === revision.etag) pendingServed.delete(device.id);
      else {
        pendingServed.set(device.id, revision);
        deps.onRecorded?.(device.id, { servedEtag: revision.etag });
      }
      scheduleWrites();
    },

    /** Writes what fetches recorded and is not yet written: before anything decides from it, and before closing. */
    flush(): Promise<void> {
      return writePending();
    },
  };
}

export type FetchRecords = ReturnType<typeof createFetchRecords>;

import { and, desc, eq, inArray, lt } from 'drizzle-orm';
import type { Config } from '../config.ts';
import type { Db } from '../db/client.ts';
import { type DeviceRow, type SyncJobRow, syncJobs } from '../db/schema.ts';
import type { ProfileChange } from '../domain/context.ts';
import { getDeviceById } from '../domain/lookup.ts';
import { getTenant } from '../domain/tenants.ts';
import type { Logger } from '../log.ts';
import type { Provisioning, Revision } from '../provisioning/service.ts';
import { formatSipUri, parseSipUri } from '../sip/message.ts';
import type { RelayResult } from '../sip/relays.ts';
import type { NotifyTarget, UdpNotifier } from '../sip/udpNotifier.ts';
import type { VendorAdapter } from '../vendors/types.ts';

/** When a phone that was told to re-sync counts as late, and how often it is told again. */
export interface ResyncPolicy {
  /** The phone must fetch its new profile this long after a NOTIFY was sent. */
  readonly fetchTimeoutMs: number;
  /** NOTIFYs sent again before the job is reported failed. */
  readonly retries: number;
}

export const DEFAULT_RESYNC_POLICY: ResyncPolicy = { fetchTimeoutMs: 60_000, retries: 2 };

export interface ResyncDeps {
  readonly db: Db;
  readonly log: Logger;
  readonly now: () => Date;
  readonly config: Pick<Config, 'registrar'>;
  readonly adapters: readonly VendorAdapter[];
  readonly provisioning: Provisioning;
  /** The UDP sender for the direct mode; null when hotprov has no SIP port. */
  readonly direct: UdpNotifier | null;
  readonly relays: {
    asterisk(c: RelayConnection, endpoint: string, event: string): Promise<RelayResult>;
    freeswitch(c: RelayConnection & { profile: string; domain: string }, user: string, event: string): Promise<RelayResult>;
  };
  readonly policy: ResyncPolicy;
}

interface RelayConnection {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly secret: string;
}

const OPEN_STATES = ['queued', 'sent', 'answered'] as const;

/**
 * Makes phones re-provision when their profile changed, and follows each one through: a check-sync NOTIFY is
 * queued, sent (directly over UDP or relayed by the PBX), answered, and done only when the phone fetched the
 * new revision of its main file. A phone that does not fetch in time is told again, then reported failed.
 */
export function createResync(deps: ResyncDeps) {
  const inFlight = new Set<Promise<void>>();
  const adapterOf = (device: DeviceRow) => deps.adapters.find((a) => a.id === device.vendor);

  const update = (id: number, values: Partial<SyncJobRow>, onlyIfOpen = true) =>
    deps.db
      .update(syncJobs)
      .set(values)
      .where(onlyIfOpen ? and(eq(syncJobs.id, id), inArray(syncJobs.state, [...OPEN_STATES])) : eq(syncJobs.id, id))
      .run();

  /** Where a direct NOTIFY goes: the contact the PBX reported, the configured one, else the phone's last IP on 5060. */
  const directTarget = (device: DeviceRow, account: string): { requestUri: string; host: string; port: number } | null => {
    const contact = parseSipUri(device.reportedContact ?? '') ?? parseSipUri(device.sipContact ?? '');
    if (contact !== null) return { requestUri: formatSipUri({ ...contact, user: account }), host: contact.host, port: contact.port };
    if (device.lastSeenIp === null) return null;
    const host = device.lastSeenIp.replace(/^::ffff:/, '');
    return { requestUri: formatSipUri({ user: account, host, port: 5060 }), host, port: 5060 };
  };

  /** Jobs whose NOTIFY is being sent right now. */
  const dispatching = new Set<number>();

  /** Sends (or re-sends) the NOTIFY of a job, and records what came of it. */
  const dispatch = async (job: SyncJobRow, device: DeviceRow): Promise<void> => {
    dispatching.add(job.id);
    try {
      await send(job, device, job.event);
    } finally {
      dispatching.delete(job.id);
    }
  };

  const send = async (job: SyncJobRow, device: DeviceRow, event: string): Promise<void> => {
    const tenant = getTenant(deps.db, device.tenantId);
    const account = device.servedAccount ?? device.idleAccount;
    update(job.id, { state: 'sent', sentAt: deps.now(), attempts: job.attempts + 1, error: null });
    try {
      if (tenant === undefined || tenant.notifyMode === 'direct') {
        const target = directTarget(device, account);
        if (target === null || deps.direct === null) {
          // Nothing to send to, now or on a retry: failed at once, with the reason, rather than `sent` until the time-out.
          const error = deps.direct === null ? 'no SIP port to send from' : 'no contact, configured contact or address is known for this phone';
          update(job.id, { state: 'failed', failedAt: deps.now(), error });
          if (waiting.get(device.id)?.id === job.id) waiting.delete(device.id);
          deps.log.warn('sip', 're-provisioning failed', { mac: device.mac, reason: job.reason, error });
          return;
        }
        const credentials =
          device.servedAuthName !== null && device.servedPassword !== null
            ? { username: device.servedAuthName, password: device.servedPassword }
            : { username: device.idleAccount, password: device.idlePassword };
        const notify: NotifyTarget = { ...target, event, credentials };
        const result = await deps.direct.send(notify);
        if (result.status === null) {
          update(job.id, { error: `no answer from ${target.host}:${target.port} (${result.transmissions} transmissions)` });
        } else {
          update(job.id, {
            state: 'answered',
            statusCode: result.status,
            answeredAt: deps.now(),
            error: result.status < 300 ? null : `the phone answered ${result.status} ${result.reason}`,
          });
        }
        return;
      }
      const connection = {
        host: tenant.relayHost ?? deps.config.registrar.host,
        port: tenant.relayPort ?? (tenant.notifyMode === 'asterisk' ? 5038 : 8021),
        username: tenant.relayUsername ?? '',
        secret: tenant.relaySecret ?? '',
      };
      const result =
        tenant.notifyMode === 'asterisk'
          ? await deps.relays.asterisk(connection, account, event)
          : await deps.relays.freeswitch(
              { ...connection, profile: tenant.relayProfile, domain: tenant.registrarHost ?? deps.config.registrar.host },
              account,
              event,
            );
      update(job.id, result.ok ? { state: 'answered', answeredAt: deps.now(), error: null } : { error: `the PBX refused: ${result.message}` });
    } catch (err) {
      update(job.id, { error: (err as Error).message });
    }
  };

  const track = (work: Promise<void>): Promise<void> => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
    return work;
  };

  /**
   * Supersedes the device's open job and queues a NOTIFY for the revision it should fetch now, unless the phone
   * already has exactly that (and `always` is false).
   */
  const queue = (device: DeviceRow, reason: string, event: string, always: boolean): SyncJobRow | null => {
    let revision: Revision;
    try {
      revision = deps.provisioning.currentRevision(device);
    } catch (err) {
      deps.log.error('sip', 'cannot render the new profile', { device: device.idleAccount, error: (err as Error).message });
      return null;
    }
    deps.db
      .update(syncJobs)
      .set({ state: 'superseded' })
      .where(and(eq(syncJobs.deviceId, device.id), inArray(syncJobs.state, [...OPEN_STATES])))
      .run();
    waiting.delete(device.id);
    if (!always && device.servedEtag === revision.etag) return null; // the phone already has exactly this
    const job = deps.db
      .insert(syncJobs)
      .values({
        tenantId: device.tenantId,
        deviceId: device.id,
        deviceMac: device.mac,
        reason,
        mode: getTenant(deps.db, device.tenantId)?.notifyMode ?? 'direct',
        target: device.servedAccount ?? device.idleAccount,
        event,
        state: 'queued',
        targetEtag: revision.etag,
        createdAt: deps.now(),
      })
      .returning()
      .get();
    waiting.set(device.id, { id: job.id, targetEtag: job.targetEtag });
    track(dispatch(job, device));
    return job;
  };

  /**
   * The open job of each device that has one, in memory: every fetch of a main file asks, and most devices have
   * none. Kept in step by every state change below; loaded once from the database.
   */
  const waiting = new Map<number, { id: number; targetEtag: string }>();
  for (const job of deps.db.select().from(syncJobs).where(inArray(syncJobs.state, [...OPEN_STATES])).all()) {
    if (job.deviceId !== null) waiting.set(job.deviceId, { id: job.id, targetEtag: job.targetEtag });
  }

  return {
    /** Queues and sends a NOTIFY to every changed device whose phone does not already have its new profile. */
    devicesChanged(change: ProfileChange): void {
      deps.provisioning.flush(); // what this turn's fetches recorded: where each phone is, what it holds
      for (const id of change.deviceIds) {
        const device = getDeviceById(deps.db, id);
        const adapter = device === undefined ? undefined : adapterOf(device);
        if (device !== undefined && adapter !== undefined) queue(device, change.reason, adapter.checkSyncEvent, false);
      }
    },

    /**
     * Reboots a phone because an admin asked: the vendor's reboot event, sent whether or not the profile changed.
     * @returns the job, or null when the vendor has no reboot event (Poly reboots on check-sync only by its own setting).
     */
    reboot(device: DeviceRow): SyncJobRow | null {
      const event = adapterOf(device)?.rebootEvent ?? null;
      if (event === null) return null;
      deps.provisioning.flush();
      return queue(getDeviceById(deps.db, device.id) ?? device, 'reboot', event, true);
    },

    /** A phone fetched its main file: the job waiting for that revision is done. */
    deviceServed(device: Pick<DeviceRow, 'id'>, etag: string): void {
      const job = waiting.get(device.id);
      if (job !== undefined && job.targetEtag === etag) {
        update(job.id, { state: 'fetched', fetchedAt: deps.now() }, false);
        waiting.delete(device.id);
      }
    },

    /** Tells late phones again, and reports those out of retries as failed. Run by a job every few seconds. */
    async checkOverdue(): Promise<void> {
      deps.provisioning.flush();
      const deadline = new Date(deps.now().getTime() - deps.policy.fetchTimeoutMs);
      const late = deps.db
        .select({ id: syncJobs.id })
        .from(syncJobs)
        .where(and(inArray(syncJobs.state, ['sent', 'answered']), lt(syncJobs.sentAt, deadline)))
        .all();
      const retries: Promise<void>[] = [];
      for (const { id } of late) {
        if (dispatching.has(id)) continue; // its NOTIFY is still under way (Timer F can outlast the fetch time-out)
        // Read again: an earlier step of this loop, or the phone, may have moved it on.
        const job = deps.db.select().from(syncJobs).where(eq(syncJobs.id, id)).get();
        if (job === undefined || !(['sent', 'answered'] as string[]).includes(job.state)) continue;
        const device = job.deviceId === null ? undefined : getDeviceById(deps.db, job.deviceId);
        if (device === undefined || job.attempts > deps.policy.retries) {
          const why = job.error ?? 'the phone did not fetch its new profile';
          update(job.id, { state: 'failed', failedAt: deps.now(), error: `${why} (after ${job.attempts} NOTIFYs)` });
          if (job.deviceId !== null && waiting.get(job.deviceId)?.id === job.id) waiting.delete(job.deviceId);
          deps.log.warn('sip', 're-provisioning failed', { mac: job.deviceMac, reason: job.reason, error: why });
          continue;
        }
        retries.push(track(dispatch(job, device)));
      }
      await Promise.allSettled(retries);
    },

    /** The newest job of a device, for the API. */
    latest(deviceId: number): SyncJobRow | undefined {
      return deps.db.select().from(syncJobs).where(eq(syncJobs.deviceId, deviceId)).orderBy(desc(syncJobs.id)).get();
    },

    /** Resolves when every NOTIFY under way has an outcome (for tests and shutdown). */
    async settled(): Promise<void> {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}

export type Resync = ReturnType<typeof createResync>;

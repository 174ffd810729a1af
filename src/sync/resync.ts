import type { Config } from '../config.ts';
import type { Db } from '../db/client.ts';
import type { DeviceRow, SyncJobRow, TenantRow } from '../db/schema.ts';
import { findDeviceById } from '../domain/lookup.ts';
import {
  dropSyncRetry,
  failSyncJob,
  failSyncUnsent,
  findLatestSyncJob,
  findSyncJob,
  listOverdueSyncJobIds,
  listSyncJobsAwaitingFetch,
  markSyncAnswered,
  markSyncFetched,
  markSyncSent,
  noteSyncError,
  openSyncJob,
  requeueFailedSyncJob,
  supersedeSyncJobs,
} from '../domain/syncJobs.ts';
import { findTenant } from '../domain/tenants.ts';
import type { Logger } from '../log.ts';
import type { Provisioning, Revision } from '../provisioning/assemble.ts';
import { formatSipUri, parseSipUri, type SipTransport, uriHost } from '../sip/message.ts';
import type { NotifyTarget, SipNotifier } from '../sip/notifier.ts';
import type { RelayResult } from '../sip/relays.ts';
import type { VendorAdapter } from '../vendors/types.ts';
import { relayConnectionOf } from './relayCheck.ts';

/** When a phone that was told to re-sync counts as late, and how often it is told again. */
export interface ResyncPolicy {
  /** The phone must fetch its new profile this long after a NOTIFY was sent. */
  readonly fetchTimeoutMs: number;
  /** NOTIFYs sent again before the job is reported failed. */
  readonly retries: number;
  /**
   * When a failed re-sync is tried again (one NOTIFY, then failed again if the phone still does not fetch):
   * the tenant's next poll window, once tenants have one; until then a fixed interval (`retryEvery`).
   */
  readonly nextRetry: (tenant: TenantRow | undefined, failedAt: Date) => Date;
}

/** A fixed wait before a failed re-sync is tried again. */
export const retryEvery =
  (ms: number): ResyncPolicy['nextRetry'] =>
  (_tenant, failedAt) =>
    new Date(failedAt.getTime() + ms);

export const DEFAULT_RESYNC_POLICY: ResyncPolicy = { fetchTimeoutMs: 60_000, retries: 2, nextRetry: retryEvery(15 * 60_000) };

export interface ResyncDeps {
  readonly db: Db;
  readonly log: Logger;
  readonly now: () => Date;
  readonly config: Pick<Config, 'registrar'>;
  readonly adapters: readonly VendorAdapter[];
  readonly provisioning: Provisioning;
  /** The SIP sender for the direct mode (UDP, TCP, TLS); null when hotprov has no SIP port. */
  readonly direct: SipNotifier | null;
  readonly relays: {
    asterisk(c: RelayConnection, endpoint: string, event: string): Promise<RelayResult>;
    freeswitch(c: RelayConnection & { profile: string; domain: string }, user: string, event: string): Promise<RelayResult>;
  };
  readonly policy: ResyncPolicy;
  /**
   * Told what each NOTIFY came to (metrics count them): answered by the phone or the PBX, fetched (the phone fetched
   * the revision; with the seconds since the job was queued, when this process queued it), or failed.
   */
  readonly onNotify?: (outcome: 'answered' | 'fetched' | 'failed', secondsToFetch?: number) => void;
}

interface RelayConnection {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly secret: string;
}

/**
 * Re-syncs phones whose profile changed (makes them re-provision now), and follows each one through: a check-sync
 * NOTIFY is queued, sent (directly over UDP, TCP or TLS, or relayed by the PBX), answered, and done only when the phone fetched the
 * new revision of its main file. A phone that does not fetch in time is told again, then reported failed.
 */
export async function createResync(deps: ResyncDeps) {
  const inFlight = new Set<Promise<void>>();
  const adapterOf = (device: DeviceRow) => deps.adapters.find((a) => a.id === device.vendor);

  /**
   * Where a direct NOTIFY goes, and over what: the contact the PBX reported (the registrar's, with the transport
   * the phone registered over), the configured one, else the phone's last IP on the default port of the transport
   * its profile registers with.
   */
  const directTarget = (device: DeviceRow, account: string, tenant: TenantRow | undefined): Omit<NotifyTarget, 'event' | 'credentials'> | null => {
    const contact = parseSipUri(device.reportedContact ?? '') ?? parseSipUri(device.sipContact ?? '');
    if (contact !== null) {
      return { requestUri: formatSipUri({ ...contact, user: account }), host: contact.host, port: contact.port, transport: contact.transport ?? 'udp' };
    }
    if (device.lastSeenIp === null) return null;
    const host = device.lastSeenIp.replace(/^::ffff:/, '');
    const transport = (tenant?.registrarTransport ?? deps.config.registrar.transport) as SipTransport;
    const port = transport === 'tls' ? 5061 : 5060;
    return { requestUri: formatSipUri({ user: account, host, port, transport }), host, port, transport };
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
    const tenant = await findTenant(deps.db, device.tenantId);
    const account = device.servedAccount ?? device.idleAccount;
    await markSyncSent(deps.db, job, deps.now());
    try {
      if (tenant === undefined || tenant.notifyMode === 'direct') {
        const target = directTarget(device, account, tenant);
        if (target === null || deps.direct === null) {
          // Nothing to send to: failed at once, with the reason, rather than `sent` until the time-out.
          await unsent(job, device, deps.direct === null ? 'no SIP port to send from' : 'no contact, configured contact or address is known for this phone');
          return;
        }
        const credentials =
          device.servedAuthName !== null && device.servedPassword !== null
            ? { username: device.servedAuthName, password: device.servedPassword }
            : { username: device.idleAccount, password: device.idlePassword };
        const notify: NotifyTarget = { ...target, event, credentials };
        const result = await deps.direct.send(notify);
        if (result.status === null && result.transmissions === 0) {
          // The connection (TCP, TLS) could not be made: nothing reached the phone.
          await unsent(job, device, `${target.transport.toUpperCase()} to ${uriHost(target.host)}:${target.port}: ${result.reason}`);
        } else if (result.status === null) {
          const over = target.transport === 'udp' ? `${result.transmissions} transmissions` : `${target.transport.toUpperCase()}: ${result.reason}`;
          await noteSyncError(deps.db, job.id, `no answer from ${uriHost(target.host)}:${target.port} (${over})`);
        } else {
          await markSyncAnswered(deps.db, job.id, deps.now(), {
            statusCode: result.status,
            error: result.status < 300 ? null : `the phone answered ${result.status} ${result.reason}`,
          });
          deps.onNotify?.('answered');
        }
        return;
      }
      // The tenant's own PBX: never another tenant's, nor the configured default when the tenant has its own.
      const connection = relayConnectionOf(tenant, deps.config.registrar.host);
      const result =
        tenant.notifyMode === 'asterisk'
          ? await deps.relays.asterisk(connection, account, event)
          : await deps.relays.freeswitch(
              { ...connection, profile: tenant.relayProfile, domain: tenant.registrarHost ?? deps.config.registrar.host },
              account,
              event,
            );
      if (result.ok) {
        await markSyncAnswered(deps.db, job.id, deps.now(), { statusCode: null, error: null });
        deps.onNotify?.('answered');
      } else await unsent(job, device, `the PBX refused: ${result.message}`);
    } catch (err) {
      // The relay could not be reached or signed in to (or the sender broke): nothing left.
      await unsent(job, device, (err as Error).message);
    }
  };

  /**
   * A NOTIFY that could not be sent: failed at once with the reason (not `sent` until the time-out), and tried
   * again at the next retry time; the phone's own fetch of the revision still completes it.
   */
  const unsent = async (job: SyncJobRow, device: DeviceRow, error: string): Promise<void> => {
    const at = deps.now();
    const retryAt = deps.policy.nextRetry(await findTenant(deps.db, device.tenantId), at);
    await failSyncUnsent(deps.db, job, { at, error, retryAt, idleAccount: device.idleAccount });
    deps.onNotify?.('failed');
    if (waiting.get(device.id)?.id === job.id) waiting.set(device.id, { id: job.id, targetEtag: job.targetEtag, failed: true });
    deps.log.warn('sip', 're-sync failed', { mac: device.mac, reason: job.reason, error, retryAt: retryAt.toISOString() });
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
  const queue = async (device: DeviceRow, revision: Revision, reason: string, event: string, always: boolean): Promise<SyncJobRow | null> => {
    await supersedeSyncJobs(deps.db, device.id);
    const superseded = waiting.get(device.id);
    if (superseded !== undefined) queuedAt.delete(superseded.id);
    waiting.delete(device.id);
    if (!always && device.servedEtag === revision.etag) return null; // the phone already has exactly this
    const job = await openSyncJob(
      deps.db,
      {
        tenantId: device.tenantId,
        deviceId: device.id,
        deviceMac: device.mac,
        reason,
        mode: (await findTenant(deps.db, device.tenantId))?.notifyMode ?? 'direct',
        target: device.servedAccount ?? device.idleAccount,
        event,
        targetEtag: revision.etag,
      },
      deps.now(),
    );
    waiting.set(device.id, { id: job.id, targetEtag: job.targetEtag, failed: false });
    queuedAt.set(job.id, performance.now());
    await track(dispatch(job, device));
    return job;
  };

  /**
   * The job each device's phone should fetch for, open or failed and waiting for a retry, in memory: every fetch
   * of a main file asks, and most devices have none. Kept in step by every state change below; loaded once from
   * the database.
   */
  const waiting = new Map<number, { id: number; targetEtag: string; failed: boolean }>();
  /** When this process queued each job still awaiting its fetch (the latency to a confirmed fetch); dropped with the job. */
  const queuedAt = new Map<number, number>();
  for (const job of await listSyncJobsAwaitingFetch(deps.db)) {
    if (job.deviceId !== null) waiting.set(job.deviceId, { id: job.id, targetEtag: job.targetEtag, failed: job.state === 'failed' });
  }

  /** A job that finally failed: said where admins look (the job's state and error, the audit log) and retried later. */
  const fail = async (job: SyncJobRow, device: DeviceRow | undefined, why: string): Promise<void> => {
    const at = deps.now();
    const retryAt = device === undefined ? null : deps.policy.nextRetry(await findTenant(deps.db, device.tenantId), at);
    const error = `${why} (after ${job.attempts} NOTIFYs)`;
    await failSyncJob(deps.db, job, { at, error, retryAt, idleAccount: device?.idleAccount ?? null });
    deps.onNotify?.('failed');
    if (job.deviceId !== null) {
      if (retryAt === null) {
        waiting.delete(job.deviceId);
        queuedAt.delete(job.id);
      } else waiting.set(job.deviceId, { id: job.id, targetEtag: job.targetEtag, failed: true });
    }
    deps.log.warn('sip', 're-sync failed', { mac: job.deviceMac, reason: job.reason, error: why, retryAt: retryAt?.toISOString() });
  };

  /** An event an admin asked for (reboot, send again): the profile rendered as it is now, the event sent whatever the phone holds. */
  const sendAsAsked = async (device: DeviceRow, event: string | null, reason: string): Promise<SyncJobRow | null> => {
    if (event === null) return null;
    await deps.provisioning.flush();
    const current = (await findDeviceById(deps.db, device.id)) ?? device;
    let revision: Revision;
    try {
      revision = await deps.provisioning.refreshDevice(current);
    } catch (err) {
      deps.log.error('sip', 'cannot render the profile', { device: device.idleAccount, error: (err as Error).message });
      return null;
    }
    return queue(current, revision, reason, event, true);
  };

  return {
    /**
     * Queues and sends a NOTIFY to a changed device unless its phone already has the new revision of its main file.
     * The device row must be read after provisioning.flush(): where the phone is, and what it holds.
     */
    async deviceChanged(device: DeviceRow, revision: Revision, reason: string): Promise<void> {
      const adapter = adapterOf(device);
      if (adapter !== undefined) await queue(device, revision, reason, adapter.checkSyncEvent, false);
    },

    /**
     * Reboots a phone because an admin asked: the vendor's reboot event, sent whether or not the profile changed.
     * @returns the job, or null when the vendor has no reboot event (Poly reboots on check-sync only by its own setting).
     */
    reboot: (device: DeviceRow): Promise<SyncJobRow | null> => sendAsAsked(device, adapterOf(device)?.rebootEvent ?? null, 'reboot'),

    /**
     * Tells the phone again to re-provision because an admin asked ("send again"): the vendor's check-sync event,
     * sent whether or not the phone already has its current revision.
     * @returns the job, or null when the profile cannot be rendered or the vendor is unknown.
     */
    resend: (device: DeviceRow): Promise<SyncJobRow | null> => sendAsAsked(device, adapterOf(device)?.checkSyncEvent ?? null, 'sent again'),

    /**
     * A phone fetched its main file: the job waiting for that revision is done, a failed one too (the phone's own
     * poll caught what the NOTIFY could not), which the audit log then says.
     */
    async deviceServed(device: Pick<DeviceRow, 'id'>, etag: string): Promise<void> {
      const job = waiting.get(device.id);
      if (job !== undefined && job.targetEtag === etag) {
        await markSyncFetched(deps.db, job.id, deps.now(), job.failed);
        waiting.delete(device.id);
        const since = queuedAt.get(job.id);
        queuedAt.delete(job.id);
        deps.onNotify?.('fetched', since === undefined ? undefined : (performance.now() - since) / 1000);
      }
    },

    /**
     * Tells late phones again, reports those out of retries as failed, and tries failed ones again once their
     * retry time came. Run by a job every few seconds.
     */
    async checkOverdue(): Promise<void> {
      await deps.provisioning.flush();
      const now = deps.now();
      const deadline = new Date(now.getTime() - deps.policy.fetchTimeoutMs);
      const retries: Promise<void>[] = [];
      for (const id of await listOverdueSyncJobIds(deps.db, deadline, now)) {
        if (dispatching.has(id)) continue; // its NOTIFY is still under way (Timer F can outlast the fetch time-out)
        // Read again: an earlier step of this loop, or the phone, may have moved it on.
        const job = await findSyncJob(deps.db, id);
        if (job === undefined || !(['sent', 'answered', 'failed'] as string[]).includes(job.state)) continue;
        const device = job.deviceId === null ? undefined : await findDeviceById(deps.db, job.deviceId);
        if (job.state === 'failed') {
          if (job.retryAt === null || job.retryAt > now) continue;
          if (device === undefined) {
            await dropSyncRetry(deps.db, job.id);
            continue;
          }
          // The retry time came: one NOTIFY more; it fails again at the next deadline unless the phone fetches.
          await requeueFailedSyncJob(deps.db, job.id);
          waiting.set(device.id, { id: job.id, targetEtag: job.targetEtag, failed: true });
          retries.push(track(dispatch(job, device)));
          continue;
        }
        if (device === undefined || job.attempts > deps.policy.retries) {
          await fail(job, device, job.error ?? 'the phone did not fetch its new profile');
          continue;
        }
        retries.push(track(dispatch(job, device)));
      }
      await Promise.allSettled(retries);
    },

    /** The newest job of a device, for the API. */
    async latest(deviceId: number): Promise<SyncJobRow | undefined> {
      return await findLatestSyncJob(deps.db, deviceId);
    },

    /** Resolves when every NOTIFY under way has an outcome (for tests and shutdown). */
    async settled(): Promise<void> {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}

export type Resync = Awaited<ReturnType<typeof createResync>>;

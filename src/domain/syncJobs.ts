import { and, count, desc, eq, inArray, isNotNull, isNull, lt, lte, or, type SQLWrapper, sql } from 'drizzle-orm';
import { type Db, perTables, returnedRow, tablesOf, writeTransaction } from '../db/client.ts';
import type { SyncJobRow } from '../db/schema.ts';
import { recordAudit } from './audit.ts';

/**
 * Sync jobs: one per re-sync hotprov owes a phone after a change (its check-sync NOTIFY, sent again while the phone
 * does not fetch), followed until the phone fetched the revision it was about. The one module that writes the sync_jobs table; sync/resync.ts sends the NOTIFYs and keeps the timers,
 * and calls these at each step.
 *
 *   queued → sent → answered → fetched
 *   queued, sent, answered → failed (retried later: → queued), or superseded by a newer change
 */

/** Who the audit log names for what the re-sync does by itself. */
const RESYNC_ACTOR = { name: 'resync' };

/** States of a job whose NOTIFY is under way or whose phone has still to fetch. */
export const OPEN_SYNC_STATES = ['queued', 'sent', 'answered'] as const;

/** Jobs whose phone should still fetch: open ones, and failed ones waiting for their retry. */
const awaitingFetchOf = perTables(({ syncJobs }) =>
  or(inArray(syncJobs.state, [...OPEN_SYNC_STATES]), and(eq(syncJobs.state, 'failed'), isNotNull(syncJobs.retryAt))),
);

const whileOpen = (db: Db, id: number) => {
  const { syncJobs } = tablesOf(db);
  return and(eq(syncJobs.id, id), inArray(syncJobs.state, [...OPEN_SYNC_STATES]));
};

/** What a new job is about: the device, why, how the NOTIFY goes and the revision the phone should fetch. */
export interface SyncJobPlan {
  readonly tenantId: number;
  readonly deviceId: number;
  readonly deviceMac: string;
  readonly reason: string;
  /** direct, asterisk or freeswitch. */
  readonly mode: string;
  /** The account the NOTIFY is addressed to. */
  readonly target: string;
  readonly event: string;
  readonly targetEtag: string;
}

/**
 * A newer change makes the device's jobs moot: open ones, and failed ones waiting for their retry, are superseded
 * (the revision to send is the new one; the audit log keeps any failure).
 */
export async function supersedeSyncJobs(db: Db, deviceId: number): Promise<void> {
  const { syncJobs } = tablesOf(db);
  await db
    .update(syncJobs)
    .set({ state: 'superseded', retryAt: null })
    .where(and(eq(syncJobs.deviceId, deviceId), awaitingFetchOf(db)));
}

/** Queues a NOTIFY for the revision the phone should fetch. */
export async function openSyncJob(db: Db, plan: SyncJobPlan, at: Date): Promise<SyncJobRow> {
  const { syncJobs } = tablesOf(db);
  return await returnedRow(
    db
      .insert(syncJobs)
      .values({ ...plan, state: 'queued', createdAt: at })
      .returning(),
  );
}

/** The NOTIFY of an open job leaves (again): one attempt more, the last error forgotten. */
export async function markSyncSent(db: Db, job: Pick<SyncJobRow, 'id' | 'attempts'>, at: Date): Promise<void> {
  const { syncJobs } = tablesOf(db);
  await db
    .update(syncJobs)
    .set({ state: 'sent', sentAt: at, attempts: job.attempts + 1, error: null })
    .where(whileOpen(db, job.id));
}

/** The phone or the PBX answered the NOTIFY of an open job; a refusal keeps its reason as the error. */
export async function markSyncAnswered(
  db: Db,
  id: number,
  at: Date,
  answer: { readonly statusCode: number | null; readonly error: string | null },
): Promise<void> {
  const { syncJobs } = tablesOf(db);
  await db
    .update(syncJobs)
    .set({ state: 'answered', answeredAt: at, error: answer.error, ...(answer.statusCode === null ? {} : { statusCode: answer.statusCode }) })
    .where(whileOpen(db, id));
}

/** What went wrong with an open job's NOTIFY this time (no answer, the PBX refused); it stays open for the watchdog. */
export async function noteSyncError(db: Db, id: number, error: string): Promise<void> {
  const { syncJobs } = tablesOf(db);
  await db.update(syncJobs).set({ error }).where(whileOpen(db, id));
}

/**
 * The NOTIFY of an open job could not be sent (nowhere to send it, the connection or the PBX refused): failed at
 * once, with the reason, and tried again at `retryAt`. `sentAt` goes back to null: nothing left, which is how the
 * console tells "could not be sent" from "the phone did not answer". Audited once per job, as failSyncJob does.
 */
export async function failSyncUnsent(
  db: Db,
  job: SyncJobRow,
  failure: { readonly at: Date; readonly error: string; readonly retryAt: Date | null; readonly idleAccount: string | null },
): Promise<void> {
  const { syncJobs } = tablesOf(db);
  await writeTransaction(db, async (tx) => {
    const failed = await tx
      .update(syncJobs)
      .set({ state: 'failed', sentAt: null, failedAt: failure.at, error: failure.error, retryAt: failure.retryAt })
      .where(whileOpen(tx, job.id))
      .returning({ id: syncJobs.id });
    if (failed.length > 0 && job.failedAt === null) {
      await recordAudit(tx, job.tenantId, failure.at, RESYNC_ACTOR, {
        action: 'sync.failed',
        deviceMac: job.deviceMac,
        idleAccount: failure.idleAccount,
        detail: { reason: job.reason, mode: job.mode, target: job.target, error: failure.error, retryAt: failure.retryAt?.toISOString() ?? null },
      });
    }
  });
}

/** A NOTIFY that cannot be sent at all, now or on a retry (nowhere to send it): failed at once, with the reason. */
export async function markSyncUndeliverable(db: Db, id: number, at: Date, error: string): Promise<void> {
  const { syncJobs } = tablesOf(db);
  await db.update(syncJobs).set({ state: 'failed', sentAt: null, failedAt: at, error }).where(whileOpen(db, id));
}

/**
 * A job whose phone never fetched: failed, with when it is tried again (null: never). Audited once per job, not at
 * every retry that fails again.
 */
export async function failSyncJob(
  db: Db,
  job: SyncJobRow,
  failure: { readonly at: Date; readonly error: string; readonly retryAt: Date | null; readonly idleAccount: string | null },
): Promise<void> {
  const { syncJobs } = tablesOf(db);
  await writeTransaction(db, async (tx) => {
    await tx.update(syncJobs).set({ state: 'failed', failedAt: failure.at, error: failure.error, retryAt: failure.retryAt }).where(eq(syncJobs.id, job.id));
    if (job.failedAt === null) {
      await recordAudit(tx, job.tenantId, failure.at, RESYNC_ACTOR, {
        action: 'sync.failed',
        deviceMac: job.deviceMac,
        idleAccount: failure.idleAccount,
        detail: { reason: job.reason, mode: job.mode, target: job.target, error: failure.error, retryAt: failure.retryAt?.toISOString() ?? null },
      });
    }
  });
}

/** A failed job's retry time came: queued for one NOTIFY more, unless something moved it on meanwhile. */
export async function requeueFailedSyncJob(db: Db, id: number): Promise<void> {
  const { syncJobs } = tablesOf(db);
  await db
    .update(syncJobs)
    .set({ state: 'queued', retryAt: null })
    .where(and(eq(syncJobs.id, id), eq(syncJobs.state, 'failed')));
}

/** A failed job whose device is gone is not tried again. */
export async function dropSyncRetry(db: Db, id: number): Promise<void> {
  const { syncJobs } = tablesOf(db);
  await db.update(syncJobs).set({ retryAt: null }).where(eq(syncJobs.id, id));
}

/**
 * The phone fetched the revision the job was about: done. When the job had failed before (the phone's own poll
 * caught what the NOTIFY could not), the audit log says it recovered.
 */
export async function markSyncFetched(db: Db, id: number, at: Date, recovered: boolean): Promise<void> {
  const { syncJobs } = tablesOf(db);
  await writeTransaction(db, async (tx) => {
    const row = (await tx.update(syncJobs).set({ state: 'fetched', fetchedAt: at, retryAt: null }).where(eq(syncJobs.id, id)).returning())[0];
    if (recovered && row !== undefined) {
      await recordAudit(tx, row.tenantId, at, RESYNC_ACTOR, {
        action: 'sync.recovered',
        deviceMac: row.deviceMac,
        detail: { reason: row.reason, failedAt: row.failedAt?.toISOString() ?? null },
      });
    }
  });
}

/** Every job whose phone should still fetch, oldest first. */
export async function listSyncJobsAwaitingFetch(db: Db): Promise<SyncJobRow[]> {
  const { syncJobs } = tablesOf(db);
  return await db.select().from(syncJobs).where(awaitingFetchOf(db)).orderBy(syncJobs.id);
}

/** Jobs the watchdog must look at: NOTIFYs sent before `sentBefore` whose phone has not fetched, and failed jobs whose retry time came. */
export async function listOverdueSyncJobIds(db: Db, sentBefore: Date, now: Date): Promise<number[]> {
  const { syncJobs } = tablesOf(db);
  const overdue = await db
    .select({ id: syncJobs.id })
    .from(syncJobs)
    .where(
      or(and(inArray(syncJobs.state, ['sent', 'answered']), lt(syncJobs.sentAt, sentBefore)), and(eq(syncJobs.state, 'failed'), lte(syncJobs.retryAt, now))),
    );
  return overdue.map((r) => r.id);
}

export async function findSyncJob(db: Db, id: number): Promise<SyncJobRow | undefined> {
  const { syncJobs } = tablesOf(db);
  return (await db.select().from(syncJobs).where(eq(syncJobs.id, id)))[0];
}

/** The newest job of a device: the state of its last change's re-sync. */
export async function findLatestSyncJob(db: Db, deviceId: number): Promise<SyncJobRow | undefined> {
  const { syncJobs } = tablesOf(db);
  return (await db.select().from(syncJobs).where(eq(syncJobs.deviceId, deviceId)).orderBy(desc(syncJobs.id)))[0];
}

/**
 * Per tenant, how many devices in service have a failed latest job (their last change did not reach the phone), in
 * one grouped query for the provider's overview. A device's latest job is the one no newer job of it follows
 * (sync_jobs_device covers the look-up).
 */
export async function countFailedResyncsByTenant(db: Db): Promise<{ readonly tenantId: number; readonly n: number }[]> {
  const { devices, syncJobs } = tablesOf(db);
  return await db
    .select({ tenantId: syncJobs.tenantId, n: count() })
    .from(syncJobs)
    .innerJoin(devices, and(eq(devices.id, syncJobs.deviceId), isNull(devices.retiredAt)))
    .where(
      and(
        eq(syncJobs.state, 'failed'),
        isNotNull(syncJobs.deviceId),
        sql`not exists (select 1 from ${syncJobs} as newer where newer.device_id = ${syncJobs.deviceId} and newer.id > ${syncJobs.id})`,
      ),
    )
    .groupBy(syncJobs.tenantId);
}

/**
 * For lists of devices that show each one's re-sync: its latest job, to left-join beside the device (`on`), the table
 * to select it from, and the condition "its latest job failed". One correlated look-up per device (sync_jobs_device
 * covers it), never every job read.
 */
export function latestSyncJobBeside(db: Db, deviceId: SQLWrapper) {
  const { syncJobs } = tablesOf(db);
  return {
    table: syncJobs,
    on: eq(syncJobs.id, sql`(select max(newest.id) from ${syncJobs} as newest where newest.device_id = ${deviceId})`),
    failed: eq(syncJobs.state, 'failed'),
  };
}

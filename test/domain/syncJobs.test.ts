import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { DeviceRow } from '../../src/db/schema.ts';
import { listAudit } from '../../src/domain/audit.ts';
import {
  failSyncJob,
  findLatestSyncJob,
  findSyncJob,
  listOverdueSyncJobIds,
  listSyncJobsAwaitingFetch,
  markSyncAnswered,
  markSyncFetched,
  markSyncSent,
  markSyncUndeliverable,
  noteSyncError,
  openSyncJob,
  requeueFailedSyncJob,
  supersedeSyncJobs,
} from '../../src/domain/syncJobs.ts';
import { buildDevice, createDomain, type DomainFixture } from '../helpers/domain.ts';

interface Context {
  f: DomainFixture;
  device: DeviceRow;
}

const AT = new Date('2026-03-02T09:00:00Z');
const later = (seconds: number) => new Date(AT.getTime() + seconds * 1000);

const Jobs = suite<Context>('domain/sync jobs');
Jobs.before.each(async (ctx) => {
  ctx.f = await createDomain(() => AT);
  ctx.device = await buildDevice(ctx.f);
});
Jobs.after.each(({ f }) => f.close());

const open = ({ f, device }: Context, etag = '"a"') =>
  openSyncJob(
    f.deps.db,
    {
      tenantId: f.tenantId,
      deviceId: device.id,
      deviceMac: device.mac,
      reason: 'login 101',
      mode: 'direct',
      target: device.idleAccount,
      event: 'check-sync',
      targetEtag: etag,
    },
    AT,
  );
const stateOf = async ({ f }: Context, id: number) => (await findSyncJob(f.deps.db, id))?.state;

Jobs('queued, sent, answered, fetched: each step records its time, the attempts and the answer', async (ctx) => {
  const db = ctx.f.deps.db;
  const job = await open(ctx);
  assert.is(job.state, 'queued');
  await markSyncSent(db, job, later(1));
  await markSyncAnswered(db, job.id, later(2), { statusCode: 200, error: null });
  await markSyncFetched(db, job.id, later(3), false);
  const done = await findSyncJob(db, job.id);
  assert.equal(
    [done?.state, done?.attempts, done?.statusCode, done?.sentAt, done?.answeredAt, done?.fetchedAt],
    ['fetched', 1, 200, later(1), later(2), later(3)],
  );
  assert.equal(await listSyncJobsAwaitingFetch(db), []);
});

Jobs('a job that is no longer open stays as it is: a late answer or error does not reopen it', async (ctx) => {
  const db = ctx.f.deps.db;
  const job = await open(ctx);
  await supersedeSyncJobs(db, ctx.device.id);
  await markSyncSent(db, job, later(1));
  await markSyncAnswered(db, job.id, later(2), { statusCode: 200, error: null });
  await noteSyncError(db, job.id, 'no answer');
  await markSyncUndeliverable(db, job.id, later(3), 'nowhere to send it');
  const row = await findSyncJob(db, job.id);
  assert.equal([row?.state, row?.attempts, row?.error], ['superseded', 0, null]);
});

Jobs("a newer change supersedes the device's open jobs and failed ones awaiting their retry, never finished ones", async (ctx) => {
  const db = ctx.f.deps.db;
  const fetched = await open(ctx);
  await markSyncFetched(db, fetched.id, later(1), false);
  const failed = await open(ctx);
  await failSyncJob(db, failed, { at: later(2), error: 'the phone did not fetch', retryAt: later(900), idleAccount: ctx.device.idleAccount });
  const sent = await open(ctx);
  await markSyncSent(db, sent, later(3));
  await supersedeSyncJobs(db, ctx.device.id);
  assert.equal(await Promise.all([fetched, failed, sent].map((j) => stateOf(ctx, j.id))), ['fetched', 'superseded', 'superseded']);
  assert.is((await findSyncJob(db, failed.id))?.retryAt, null, 'no retry for a superseded job');
});

Jobs('failing is audited once per job; a retry goes back to queued only from failed; a recovery is audited', async (ctx) => {
  const db = ctx.f.deps.db;
  const job = await open(ctx);
  await markSyncSent(db, job, later(1));
  await failSyncJob(db, job, { at: later(60), error: 'the phone did not fetch (after 1 NOTIFYs)', retryAt: later(960), idleAccount: ctx.device.idleAccount });
  assert.equal(await listOverdueSyncJobIds(db, later(0), later(959)), [], 'not before its retry time');
  assert.equal(await listOverdueSyncJobIds(db, later(0), later(960)), [job.id]);
  await requeueFailedSyncJob(db, job.id);
  await requeueFailedSyncJob(db, job.id);
  assert.is(await stateOf(ctx, job.id), 'queued');
  const again = await findSyncJob(db, job.id);
  if (again === undefined) return assert.unreachable('the job is gone');
  await markSyncSent(db, again, later(961));
  await failSyncJob(db, { ...again, failedAt: later(60) }, { at: later(1021), error: 'again', retryAt: later(1921), idleAccount: ctx.device.idleAccount });
  assert.is((await listAudit(db, ctx.f.tenantId, { action: 'sync.failed' })).length, 1, 'audited once, not at every retry');
  await markSyncFetched(db, job.id, later(1500), true);
  const recovered = await listAudit(db, ctx.f.tenantId, { action: 'sync.recovered' });
  assert.equal(
    recovered.map((e) => [e.deviceMac, JSON.parse(e.detail).reason]),
    [[ctx.device.mac, 'login 101']],
  );
  assert.equal([await stateOf(ctx, job.id), (await findSyncJob(db, job.id))?.retryAt], ['fetched', null]);
});

Jobs('the watchdog finds NOTIFYs sent before the deadline whose phone has not fetched', async (ctx) => {
  const db = ctx.f.deps.db;
  const early = await open(ctx, '"early"');
  await markSyncSent(db, early, later(0));
  const answered = await open(ctx, '"answered"');
  await markSyncSent(db, answered, later(5));
  await markSyncAnswered(db, answered.id, later(6), { statusCode: 200, error: null });
  const recent = await open(ctx, '"recent"');
  await markSyncSent(db, recent, later(40));
  const queued = await open(ctx, '"queued"');
  assert.equal((await listOverdueSyncJobIds(db, later(30), later(30))).sort(), [early.id, answered.id]);
  assert.is((await findLatestSyncJob(db, ctx.device.id))?.id, queued.id);
});

/** Every file under src/, by its path from src/. */
function sourceFiles(dir: string, root = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path, root);
    return entry.name.endsWith('.ts') ? [relative(root, path)] : [];
  });
}

Jobs('one writer: only domain/syncJobs.ts touches the sync_jobs table', () => {
  const src = fileURLToPath(new URL('../../src', import.meta.url));
  const touching = sourceFiles(src).filter((file) => {
    const text = readFileSync(join(src, file), 'utf8');
    const fromSchema = /import\s*\{([^}]*)\}\s*from\s*'[./]*db\/schema\.ts'/g;
    // A table is reached through an import of a schema, or taken from the database (tablesOf, perTables).
    const namesTable = (m: RegExpMatchArray) => /(^|[\s,])syncJobs([\s,]|$)/.test(m[1] ?? m[2] ?? '');
    const importsTable = [...text.matchAll(fromSchema)].some(namesTable);
    const takesTable = [...text.matchAll(/(?:const\s*\{([^}]*)\}\s*=\s*tablesOf\(|perTables\(\(\{([^}]*)\}\))/g)].some(namesTable);
    return importsTable || takesTable || /\bsync_jobs\b/.test(text.replace(/^\s*(\*|\/\/).*$/gm, ''));
  });
  // The two schema files define the table (SQLite and its PostgreSQL twin); the domain module is its one user.
  assert.equal(touching.sort(), ['db/schema.pg.ts', 'db/schema.ts', 'domain/syncJobs.ts']);
});

Jobs.run();

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
Jobs.before.each((ctx) => {
  ctx.f = createDomain(() => AT);
  ctx.device = buildDevice(ctx.f);
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
const stateOf = ({ f }: Context, id: number) => findSyncJob(f.deps.db, id)?.state;

Jobs('queued, sent, answered, fetched: each step records its time, the attempts and the answer', (ctx) => {
  const db = ctx.f.deps.db;
  const job = open(ctx);
  assert.is(job.state, 'queued');
  markSyncSent(db, job, later(1));
  markSyncAnswered(db, job.id, later(2), { statusCode: 200, error: null });
  markSyncFetched(db, job.id, later(3), false);
  const done = findSyncJob(db, job.id);
  assert.equal(
    [done?.state, done?.attempts, done?.statusCode, done?.sentAt, done?.answeredAt, done?.fetchedAt],
    ['fetched', 1, 200, later(1), later(2), later(3)],
  );
  assert.equal(listSyncJobsAwaitingFetch(db), []);
});

Jobs('a job that is no longer open stays as it is: a late answer or error does not reopen it', (ctx) => {
  const db = ctx.f.deps.db;
  const job = open(ctx);
  supersedeSyncJobs(db, ctx.device.id);
  markSyncSent(db, job, later(1));
  markSyncAnswered(db, job.id, later(2), { statusCode: 200, error: null });
  noteSyncError(db, job.id, 'no answer');
  markSyncUndeliverable(db, job.id, later(3), 'nowhere to send it');
  const row = findSyncJob(db, job.id);
  assert.equal([row?.state, row?.attempts, row?.error], ['superseded', 0, null]);
});

Jobs("a newer change supersedes the device's open jobs and failed ones awaiting their retry, never finished ones", (ctx) => {
  const db = ctx.f.deps.db;
  const fetched = open(ctx);
  markSyncFetched(db, fetched.id, later(1), false);
  const failed = open(ctx);
  failSyncJob(db, failed, { at: later(2), error: 'the phone did not fetch', retryAt: later(900), idleAccount: ctx.device.idleAccount });
  const sent = open(ctx);
  markSyncSent(db, sent, later(3));
  supersedeSyncJobs(db, ctx.device.id);
  assert.equal(
    [fetched, failed, sent].map((j) => stateOf(ctx, j.id)),
    ['fetched', 'superseded', 'superseded'],
  );
  assert.is(findSyncJob(db, failed.id)?.retryAt, null, 'no retry for a superseded job');
});

Jobs('failing is audited once per job; a retry goes back to queued only from failed; a recovery is audited', (ctx) => {
  const db = ctx.f.deps.db;
  const job = open(ctx);
  markSyncSent(db, job, later(1));
  failSyncJob(db, job, { at: later(60), error: 'the phone did not fetch (after 1 NOTIFYs)', retryAt: later(960), idleAccount: ctx.device.idleAccount });
  assert.equal(listOverdueSyncJobIds(db, later(0), later(959)), [], 'not before its retry time');
  assert.equal(listOverdueSyncJobIds(db, later(0), later(960)), [job.id]);
  requeueFailedSyncJob(db, job.id);
  requeueFailedSyncJob(db, job.id);
  assert.is(stateOf(ctx, job.id), 'queued');
  const again = findSyncJob(db, job.id);
  if (again === undefined) return assert.unreachable('the job is gone');
  markSyncSent(db, again, later(961));
  failSyncJob(db, { ...again, failedAt: later(60) }, { at: later(1021), error: 'again', retryAt: later(1921), idleAccount: ctx.device.idleAccount });
  assert.is(listAudit(db, ctx.f.tenantId, { action: 'sync.failed' }).length, 1, 'audited once, not at every retry');
  markSyncFetched(db, job.id, later(1500), true);
  const recovered = listAudit(db, ctx.f.tenantId, { action: 'sync.recovered' });
  assert.equal(
    recovered.map((e) => [e.deviceMac, JSON.parse(e.detail).reason]),
    [[ctx.device.mac, 'login 101']],
  );
  assert.equal([stateOf(ctx, job.id), findSyncJob(db, job.id)?.retryAt], ['fetched', null]);
});

Jobs('the watchdog finds NOTIFYs sent before the deadline whose phone has not fetched', (ctx) => {
  const db = ctx.f.deps.db;
  const early = open(ctx, '"early"');
  markSyncSent(db, early, later(0));
  const answered = open(ctx, '"answered"');
  markSyncSent(db, answered, later(5));
  markSyncAnswered(db, answered.id, later(6), { statusCode: 200, error: null });
  const recent = open(ctx, '"recent"');
  markSyncSent(db, recent, later(40));
  const queued = open(ctx, '"queued"');
  assert.equal(listOverdueSyncJobIds(db, later(30), later(30)).sort(), [early.id, answered.id]);
  assert.is(findLatestSyncJob(db, ctx.device.id)?.id, queued.id);
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

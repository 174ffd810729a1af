import { eq, sql } from 'drizzle-orm';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type RetryInfo, runSerializable, sqlState } from '../../src/db/pgTransaction.ts';
import * as schema from '../../src/db/schema.pg.ts';
import { createLogger, silentLogger } from '../../src/log.ts';
import type { LogEntry } from '../helpers/logs.ts';
import { type FreshPostgresDatabase, freshPostgresDatabase } from '../helpers/postgres.ts';

/**
 * src/db/pgTransaction.ts over the real PostgreSQL schema: serializable transactions that race on one row all land,
 * because the ones PostgreSQL aborts (40001, 40P01) run again; other errors, and races past the retries, are thrown.
 */

interface Context {
  fresh: FreshPostgresDatabase;
  pool: pg.Pool;
  db: NodePgDatabase<typeof schema>;
  tenantId: number;
}

const Serializable = suite<Context>('db/serializable transactions with retries (PostgreSQL)', {} as Context);

Serializable.before.each(async (ctx) => {
  ctx.fresh = await freshPostgresDatabase();
  ctx.pool = new pg.Pool({ connectionString: ctx.fresh.url, max: 10 });
  ctx.db = drizzle(ctx.pool, { schema });
  const [tenant] = await ctx.db.insert(schema.tenants).values({ slug: 'acme', name: 'Acme' }).returning({ id: schema.tenants.id });
  if (tenant === undefined) throw new Error('no tenant');
  ctx.tenantId = tenant.id;
});

Serializable.after.each(async (ctx) => {
  await ctx.pool.end();
  await ctx.fresh.close();
});

const nextIdleNumber = async (ctx: Context, tenantId = ctx.tenantId) => {
  const [row] = await ctx.db.select({ n: schema.tenants.nextIdleNumber }).from(schema.tenants).where(eq(schema.tenants.id, tenantId));
  return row?.n;
};

Serializable('50 read-modify-write transactions on one counter at once: every one counted, some after a retry', async (ctx) => {
  const retries: RetryInfo[] = [];
  const logs: string[] = [];
  const log = createLogger('debug', (line) => logs.push(line));
  const taken = await Promise.all(
    Array.from({ length: 50 }, () =>
      runSerializable(
        ctx.db,
        async (tx) => {
          const [row] = await tx.select({ n: schema.tenants.nextIdleNumber }).from(schema.tenants).where(eq(schema.tenants.id, ctx.tenantId));
          const n = row?.n ?? 0;
          await tx
            .update(schema.tenants)
            .set({ nextIdleNumber: n + 1 })
            .where(eq(schema.tenants.id, ctx.tenantId));
          return n;
        },
        { retries: 200, log, onRetry: (r) => retries.push(r) },
      ),
    ),
  );
  assert.is(await nextIdleNumber(ctx), 51, 'the counter went up once per transaction');
  assert.equal(
    [...taken].sort((a, b) => a - b),
    Array.from({ length: 50 }, (_, i) => i + 1),
    'each transaction took a different number',
  );
  assert.ok(retries.length > 0, 'some transactions were run again');
  assert.ok(
    retries.every((r) => r.code === '40001'),
    `aborted as serialization failures: ${[...new Set(retries.map((r) => r.code))]}`,
  );
  const logged = logs.map((l) => JSON.parse(l) as LogEntry).filter((l) => /running it again/.test(l.msg));
  assert.is(logged.length, retries.length, 'each retry logged');
});

Serializable('a transaction raced on every try is thrown after the retries, as the serialization failure', async (ctx) => {
  let runs = 0;
  const err = await runSerializable(
    ctx.db,
    async (tx) => {
      runs++;
      await tx.select().from(schema.tenants).where(eq(schema.tenants.id, ctx.tenantId)); // the snapshot is taken
      // Another node changes the row and commits meanwhile.
      await ctx.pool.query('UPDATE tenants SET next_idle_number = next_idle_number + 100 WHERE id = $1', [ctx.tenantId]);
      await tx
        .update(schema.tenants)
        .set({ nextIdleNumber: sql`${schema.tenants.nextIdleNumber} + 1` })
        .where(eq(schema.tenants.id, ctx.tenantId));
    },
    { retries: 2, log: silentLogger, maxDelayMs: 1 },
  ).then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(err !== null, 'thrown');
  assert.is(sqlState(err), '40001');
  assert.is(runs, 3, 'the first try and two retries');
  assert.is(await nextIdleNumber(ctx), 301, 'none of the three tries wrote');
});

Serializable('an error that is not a race is thrown at once, without a retry, and nothing is written', async (ctx) => {
  let runs = 0;
  const retries: RetryInfo[] = [];
  const err = await runSerializable(
    ctx.db,
    async (tx) => {
      runs++;
      await tx.update(schema.tenants).set({ nextIdleNumber: 99 }).where(eq(schema.tenants.id, ctx.tenantId));
      await tx.insert(schema.tenants).values({ slug: 'acme', name: 'Acme again' }); // unique slug
    },
    { retries: 5, log: silentLogger, onRetry: (r) => retries.push(r) },
  ).then(
    () => null,
    (e: unknown) => e,
  );
  assert.is(sqlState(err), '23505');
  assert.is(runs, 1);
  assert.equal(retries, []);
  assert.is(await nextIdleNumber(ctx), 1);

  const plain = await runSerializable(
    ctx.db,
    async () => {
      throw new Error('not a database error');
    },
    { log: silentLogger },
  ).catch((e: unknown) => e);
  assert.instance(plain, Error);
  assert.is((plain as Error).message, 'not a database error');
});

Serializable('two transactions that deadlock: the one PostgreSQL aborts (40P01) runs again, both land', async (ctx) => {
  const [other] = await ctx.db.insert(schema.tenants).values({ slug: 'other', name: 'Other' }).returning({ id: schema.tenants.id });
  if (other === undefined) throw new Error('no tenant');
  // Each locks one row, waits until the other has locked the other row, then asks for it: a deadlock.
  let arrived = 0;
  let release = () => {};
  const bothLocked = new Promise<void>((resolve) => {
    release = resolve;
  });
  const retries: RetryInfo[] = [];
  const bump = (first: number, second: number) =>
    runSerializable(
      ctx.db,
      async (tx) => {
        const increment = (id: number) =>
          tx
            .update(schema.tenants)
            .set({ nextIdleNumber: sql`${schema.tenants.nextIdleNumber} + 1` })
            .where(eq(schema.tenants.id, id));
        await increment(first);
        if (++arrived === 2) release();
        await bothLocked;
        await increment(second);
      },
      { retries: 10, log: silentLogger, onRetry: (r) => retries.push(r) },
    );
  await Promise.all([bump(ctx.tenantId, other.id), bump(other.id, ctx.tenantId)]);
  assert.is(retries[0]?.code, '40P01', `retried after: ${retries.map((r) => r.code)}`);
  assert.is(await nextIdleNumber(ctx), 3);
  assert.is(await nextIdleNumber(ctx, other.id), 3);
});

Serializable('sqlState finds the SQLSTATE on pg’s error and under drizzle’s wrapper', async (ctx) => {
  const pgError = await ctx.pool.query('SELECT 1/0').catch((e: unknown) => e);
  assert.is(sqlState(pgError), '22012');
  const drizzleError = await ctx.db.execute(sql`SELECT 1/0`).catch((e: unknown) => e);
  assert.is((drizzleError as { code?: unknown }).code, undefined, 'drizzle keeps the code on its cause');
  assert.is(sqlState(drizzleError), '22012');
  assert.is(sqlState(new Error('plain')), null);
});

Serializable.run();

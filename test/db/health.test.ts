import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { postgresProbes } from '../../src/db/health.ts';
import { migratePostgres } from '../../src/db/postgres.ts';
import { type PgCluster, startPostgres } from '../helpers/postgres.ts';

/**
 * The PostgreSQL readiness probes (`postgresProbes`, for `/readyz` once nodes run on PostgreSQL), against a real
 * throwaway cluster: each passes on a database a node can use and fails on one it cannot.
 */
interface ProbesContext {
  cluster: PgCluster;
  pools: pg.Pool[];
}

const Probes = suite<ProbesContext>('PostgreSQL readiness probes', { cluster: undefined as unknown as PgCluster, pools: [] });
Probes.before(async (ctx) => {
  ctx.cluster = await startPostgres();
});
Probes.after.each(async (ctx) => {
  await Promise.all(ctx.pools.splice(0).map((p) => p.end()));
});
Probes.after((ctx) => ctx.cluster.stop());

/** A pool on `url`, ended after the test. */
function poolOf(ctx: ProbesContext, url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 3, connectionTimeoutMillis: 2000 });
  pool.on('error', () => {});
  ctx.pools.push(pool);
  return pool;
}

/** Each probe's outcome: null when it passed, else its error message. */
async function outcomes(probes: ReturnType<typeof postgresProbes>): Promise<Record<string, string | null>> {
  const entries = await Promise.all(
    Object.entries(probes).map(async ([name, probe]) => {
      try {
        await probe();
        return [name, null] as const;
      } catch (err) {
        return [name, (err as Error).message] as const;
      }
    }),
  );
  return Object.fromEntries(entries);
}

Probes('a migrated primary: every probe passes', async (ctx) => {
  const pool = poolOf(ctx, await ctx.cluster.createDatabase());
  await migratePostgres(pool);
  assert.equal(await outcomes(postgresProbes(pool)), { database: null, databaseWritable: null, migrationsCurrent: null });
});

Probes('a database not migrated yet: migrationsCurrent fails, the others pass', async (ctx) => {
  const pool = poolOf(ctx, await ctx.cluster.createDatabase());
  const result = await outcomes(postgresProbes(pool));
  assert.is(result.database, null);
  assert.is(result.databaseWritable, null);
  assert.type(result.migrationsCurrent, 'string');
});

Probes("a newer journal than the database's (a release whose migrations did not run): migrationsCurrent fails", async (ctx) => {
  const pool = poolOf(ctx, await ctx.cluster.createDatabase());
  await migratePostgres(pool);
  await pool.query('DELETE FROM drizzle.__drizzle_migrations WHERE created_at = (SELECT max(created_at) FROM drizzle.__drizzle_migrations)');
  assert.match((await outcomes(postgresProbes(pool))).migrationsCurrent ?? '', /older than this release/);
});

Probes('transactions read-only (default_transaction_read_only, as a full managed disk sets it): databaseWritable fails', async (ctx) => {
  const url = await ctx.cluster.createDatabase();
  const setup = poolOf(ctx, url);
  await migratePostgres(setup);
  await setup.query(`ALTER DATABASE ${new URL(url).pathname.slice(1)} SET default_transaction_read_only = on`);
  // The setting applies to connections made from now on.
  const pool = poolOf(ctx, url);
  const result = await outcomes(postgresProbes(pool));
  assert.is(result.database, null);
  assert.match(result.databaseWritable ?? '', /read-only/);
});

Probes('the server gone: database fails', async (ctx) => {
  const pool = poolOf(ctx, await ctx.cluster.createDatabase());
  await migratePostgres(pool);
  ctx.cluster.stop();
  const result = await outcomes(postgresProbes(pool));
  assert.type(result.database, 'string');
  assert.type(result.databaseWritable, 'string');
});

Probes.run();

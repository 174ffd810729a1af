import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg, { type Pool } from 'pg';
import { StartupError } from '../errors.ts';
import * as schema from './schema.pg.ts';

/** The PostgreSQL migrations, found from this file both as src/db/postgres.ts and as dist/db/postgres.js. */
export const PG_MIGRATIONS = fileURLToPath(new URL('../../src/db/migrations-pg', import.meta.url));

/**
 * The advisory lock every hotprov node takes to migrate: one number for the whole database ("hotprov" in ASCII),
 * so nodes starting together queue on it instead of racing the migrator.
 */
export const MIGRATION_LOCK_KEY = 0x686f7470726f76n;

/**
 * Brings a PostgreSQL database's schema up to date. The migrations run on one connection that holds
 * `pg_advisory_lock` for their whole run: a second node starting at the same time waits, then finds nothing left
 * to do. The lock is a session lock, so it also goes if the connection dies half-way (the migrator's own
 * transaction rolls back).
 */
export async function migratePostgres(pool: Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
    try {
      await migrate(drizzle(client, { schema }), { migrationsFolder: PG_MIGRATIONS });
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY.toString()]);
    }
  } finally {
    client.release();
  }
}

/** A PostgreSQL URL with its password replaced, for messages. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://…';
  }
}

/**
 * Connects a pool to the database a PostgreSQL URL names and migrates it (under the advisory lock). The pool's
 * connections are opened as needed, at most `maxConnections` at once.
 * @throws StartupError naming the URL without its password when the server cannot be reached or the migrations fail.
 */
export async function openPostgres(
  url: string,
  maxConnections = 10,
): Promise<{ db: ReturnType<typeof drizzle<typeof schema>>; pool: Pool; close(): Promise<void> }> {
  const pool = new pg.Pool({ connectionString: url, max: maxConnections, application_name: 'hotprov' });
  // An idle connection the server closed (a restart, a failover) is dropped by the pool; a new one is made on demand.
  pool.on('error', () => {});
  try {
    await migratePostgres(pool);
  } catch (err) {
    await pool.end().catch(() => {});
    const message = (err as Error).message.split('\n')[0] ?? String(err);
    const cause = (err as { cause?: Error }).cause?.message;
    throw new StartupError(`HOTPROV_DB ${redactedUrl(url)}: ${message}${cause === undefined ? '' : `: ${cause}`}`);
  }
  return { db: drizzle(pool, { schema }), pool, close: () => pool.end() };
}

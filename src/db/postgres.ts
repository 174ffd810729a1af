import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import type { Pool } from 'pg';
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

import Database from 'better-sqlite3';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import type { Pool } from 'pg';
import { PATHS } from '../paths.ts';
import { PG_MIGRATIONS } from './postgres.ts';

/** The probes `/readyz` runs on the database (http/health.ts `createReadiness`), by check name. */
export type DatabaseProbes = Readonly<Record<'database' | 'databaseWritable' | 'migrationsCurrent', () => Promise<void>>>;

/**
 * How long the write probe waits for another connection's write lock. A node whose writes would wait longer is
 * not ready; the probe holds the event loop at most this long, and only while another writer holds the lock.
 */
const WRITE_PROBE_BUSY_MS = 200;

/**
 * The SQLite readiness probes, for `/readyz`:
 * - `database`: the server's own connection answers (`SELECT 1`);
 * - `databaseWritable`: a fresh connection to the same file takes the write lock within a short busy timeout
 *   (`BEGIN IMMEDIATE`, then `ROLLBACK`: nothing is written). A fresh one, so the server's connection keeps its long
 *   busy timeout and the probe also notices a file deleted or replaced under the running node;
 * - `migrationsCurrent`: the newest migration of this release's journal is recorded as applied.
 * @param sqlite the server's connection (OpenDb.sqlite).
 * @param path HOTPROV_DB: the file, or ':memory:' (then the write probe uses the server's connection).
 * @param migrationsFolder the journal's folder; this release's by default.
 */
export function sqliteProbes(sqlite: Database.Database, path: string, migrationsFolder: string = PATHS.migrations): DatabaseProbes {
  const newest = readMigrationFiles({ migrationsFolder }).at(-1)?.folderMillis ?? 0;
  const selectOne = sqlite.prepare('SELECT 1').pluck();
  const newestApplied = sqlite.prepare('SELECT max(created_at) FROM __drizzle_migrations').pluck();
  const takeWriteLock = (connection: Database.Database) => {
    connection.exec('BEGIN IMMEDIATE');
    connection.exec('ROLLBACK');
  };
  return {
    async database() {
      if (selectOne.get() !== 1) throw new Error('SELECT 1 did not answer 1');
    },
    async databaseWritable() {
      // An in-memory database has no other connection that could hold its lock.
      if (path === ':memory:') return takeWriteLock(sqlite);
      const probe = new Database(path, { fileMustExist: true, timeout: WRITE_PROBE_BUSY_MS });
      try {
        takeWriteLock(probe);
      } finally {
        probe.close();
      }
    },
    async migrationsCurrent() {
      const applied = newestApplied.get() as number | string | null;
      // Later migrations (a newer release's node migrated first) are fine: each release's are additive.
      if (applied === null || Number(applied) < newest) throw new Error(`the newest migration applied is older than this release's (${newest})`);
    },
  };
}

/**
 * The PostgreSQL readiness probes, the same checks over the nodes' pool:
 * - `database`: `SELECT 1` answers;
 * - `databaseWritable`: the server is a primary, not a standby in recovery (HOTPROV_DB pointing at the old primary's
 *   address after a failover), and new transactions are not read-only (`default_transaction_read_only`, which some
 *   managed services switch on when the disk is full);
 * - `migrationsCurrent`: the newest migration of this release's journal is recorded as applied.
 * A probe that waits for a connection is cut short by createReadiness's time limit; the pool's own
 * `connectionTimeoutMillis` bounds how long its query stays queued.
 */
export function postgresProbes(pool: Pool, migrationsFolder: string = PG_MIGRATIONS): DatabaseProbes {
  const newest = readMigrationFiles({ migrationsFolder }).at(-1)?.folderMillis ?? 0;
  return {
    async database() {
      const { rows } = await pool.query<{ one: number }>('SELECT 1 AS one');
      if (rows[0]?.one !== 1) throw new Error('SELECT 1 did not answer 1');
    },
    async databaseWritable() {
      const { rows } = await pool.query<{ standby: boolean; readOnly: string }>(
        `SELECT pg_is_in_recovery() AS standby, current_setting('transaction_read_only') AS "readOnly"`,
      );
      if (rows[0]?.standby !== false) throw new Error('the server is a standby in recovery, not the primary');
      if (rows[0]?.readOnly !== 'off') throw new Error('transactions are read-only (default_transaction_read_only)');
    },
    async migrationsCurrent() {
      // drizzle's PostgreSQL migrator keeps its journal in the `drizzle` schema; created_at is a bigint (a string here).
      const { rows } = await pool.query<{ applied: string | null }>('SELECT max(created_at) AS applied FROM drizzle.__drizzle_migrations');
      const applied = rows[0]?.applied ?? null;
      if (applied === null || Number(applied) < newest) throw new Error(`the newest migration applied is older than this release's (${newest})`);
    },
  };
}

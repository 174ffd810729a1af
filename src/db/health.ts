import Database from 'better-sqlite3';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { PATHS } from '../paths.ts';

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
export function sqliteProbes(
  sqlite: Database.Database,
  path: string,
  migrationsFolder: string = PATHS.migrations,
): Readonly<Record<'database' | 'databaseWritable' | 'migrationsCurrent', () => Promise<void>>> {
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

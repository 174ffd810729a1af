import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core';
import * as schema from './schema.ts';
import { PATHS } from '../paths.ts';

/** The database or a transaction on it: domain functions accept either. */
export type Db = BaseSQLiteDatabase<'sync', Database.RunResult, typeof schema>;

/**
 * Runs `fn` in a write transaction that takes the write lock at BEGIN (IMMEDIATE), so a read-then-write
 * cannot lose a race to another connection half-way. The callback must be synchronous.
 */
export function writeTransaction<T>(db: Db, fn: (tx: Db) => T): T {
  return db.transaction((tx) => fn(tx), { behavior: 'immediate' });
}

export interface OpenDb {
  readonly db: Db;
  readonly sqlite: Database.Database;
  close(): void;
}

const MIGRATIONS = PATHS.migrations;

/**
 * Opens (creating if needed) the SQLite database and brings its schema up to date.
 * Safe on a database with data: foreign keys are off while migrations run, because a table rebuild
 * inside the migrator's transaction would otherwise cascade deletes into child rows; they are
 * checked afterwards and switched on for the life of the connection.
 * @param path a file path, or ':memory:' for a throwaway database.
 * @throws Error when the migrated data violates a foreign key.
 */
export function openDb(path: string): OpenDb {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new Database(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = OFF');
  const db = drizzle(sqlite, { schema });
  try {
    migrate(db, { migrationsFolder: MIGRATIONS });
    const broken = sqlite.pragma('foreign_key_check') as unknown[];
    if (broken.length > 0) {
      throw new Error(`foreign key violations after migrating ${path}: ${JSON.stringify(broken.slice(0, 5))}`);
    }
  } catch (err) {
    sqlite.close();
    throw err;
  }
  sqlite.pragma('foreign_keys = ON');
  return { db, sqlite, close: () => sqlite.close() };
}

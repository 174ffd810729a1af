import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core';
import { StartupError } from '../errors.ts';
import { PATHS } from '../paths.ts';
import * as schema from './schema.ts';

/** The database or a transaction on it: domain functions accept either. */
export type Db = BaseSQLiteDatabase<'sync', Database.RunResult, typeof schema>;

/** Every table of hotprov's schema. */
export type Tables = typeof schema;

/**
 * The tables of the engine `db` runs on (SQLite's or PostgreSQL's twin, src/db/schema.pg.ts): the domain builds its
 * queries from these, never from an import of one schema, so the same code runs on both.
 */
export function tablesOf(db: Db): Tables {
  return db._.fullSchema as Tables;
}

/**
 * A value made from the tables (a column list for a select, a condition) once per engine, instead of once per
 * call: `build` runs the first time each schema is asked for.
 */
export function perTables<T>(build: (tables: Tables) => T): (db: Db) => T {
  const made = new WeakMap<Tables, T>();
  return (db) => {
    const tables = tablesOf(db);
    let value = made.get(tables);
    if (value === undefined) {
      value = build(tables);
      made.set(tables, value);
    }
    return value;
  };
}

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
 * @throws StartupError naming HOTPROV_DB when the file cannot be opened or written, or a migration fails.
 */
export function openDb(path: string): OpenDb {
  let sqlite: Database.Database;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    sqlite = new Database(path);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = OFF');
  } catch (err) {
    throw new StartupError(`HOTPROV_DB ${path} cannot be opened for writing: ${why(err)}`);
  }
  const db = drizzle(sqlite, { schema });
  try {
    migrateOnce(() => migrate(db, { migrationsFolder: MIGRATIONS }));
    const broken = sqlite.pragma('foreign_key_check') as unknown[];
    if (broken.length > 0) {
      throw new Error(`foreign key violations: ${JSON.stringify(broken.slice(0, 5))}`);
    }
  } catch (err) {
    sqlite.close();
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && /^SQLITE_(READONLY|CANTOPEN|FULL|IOERR)/.test(code)) {
      throw new StartupError(`HOTPROV_DB ${path} cannot be written: ${why(err)}`);
    }
    throw new StartupError(`HOTPROV_DB ${path}: the migrations in ${MIGRATIONS} failed: ${why(err)}`);
  }
  sqlite.pragma('foreign_keys = ON');
  return { db, sqlite, close: () => sqlite.close() };
}

/**
 * Runs the pending migrations. Processes that open a new database at once (the server and `hotprov` commands)
 * each see them pending, and the migrator reads that before its transaction: the first commits them, the others
 * fail on a table that now exists. Those try again, and find nothing left to do; a migration that fails on its
 * own fails every time, and that error is the one reported.
 */
function migrateOnce(run: () => void): void {
  for (let attempt = 1; ; attempt++) {
    try {
      run();
      return;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

/** The first line of an error's own words, with its cause: enough to fix it, never a stack trace. */
function why(err: unknown): string {
  const firstLine = (v: unknown) => (typeof v === 'string' ? (v.split('\n')[0] ?? '').replace(/[\s']+$/, '') : '');
  const e = err as { message?: unknown; cause?: { message?: unknown } };
  const message = firstLine(e.message) || String(err);
  const cause = firstLine(e.cause?.message);
  return cause === '' ? message : `${message}: ${cause}`;
}

/**
 * Calls `onChange` when another connection (another process: the command line, an admin's sqlite3) has committed
 * to the database since the last look, checked every `everyMs` with SQLite's `data_version`, which this
 * connection's own commits leave alone. The timer does not keep the process alive; `stop` before closing.
 */
export function watchOtherWriters(sqlite: Database.Database, everyMs: number, onChange: () => void): { stop(): void } {
  const version = () => sqlite.pragma('data_version', { simple: true }) as number;
  let seen = version();
  const timer = setInterval(() => {
    const now = version();
    if (now === seen) return;
    seen = now;
    onChange();
  }, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { is } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { PgDatabase, PgTransaction } from 'drizzle-orm/pg-core';
import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core';
import type { Pool } from 'pg';
import { StartupError } from '../errors.ts';
import { silentLogger } from '../log.ts';
import { PATHS } from '../paths.ts';
import { runSerializable } from './pgTransaction.ts';
import { openPostgres } from './postgres.ts';
import * as schema from './schema.ts';

/** The database or a transaction on it: domain functions accept either. */
export type Db = BaseSQLiteDatabase<'sync', Database.RunResult, typeof schema>;

/** The engines hotprov runs on: SQLite in a file (one office), PostgreSQL (a provider's nodes). */
export type Dialect = 'sqlite' | 'postgres';

/**
 * Which engine a database (or a transaction on it) runs on. The domain is typed against SQLite's query builder; a
 * PostgreSQL database has the same builder methods, and the few places where the engines differ ask this.
 */
export function dialectOf(db: Db): Dialect {
  return is(db as unknown, PgDatabase) ? 'postgres' : 'sqlite';
}

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

/** Transactions open on a SQLite connection: the tail each new one waits behind, and whether one is running. */
interface SqliteTransactions {
  tail: Promise<unknown>;
}
const sqliteTransactions = new WeakMap<Database.Database, SqliteTransactions>();
/** The stand-ins for a database inside one of its transactions (the same connection, known as being inside). */
const insideTransaction = new WeakSet<object>();

/**
 * Runs `fn` in a write transaction and answers what it returns; rolled back if it throws.
 *
 * On SQLite, BEGIN IMMEDIATE takes the write lock at once, so a read-then-write cannot lose a race to another
 * connection half-way, and the transactions of this process queue one behind the other. The database answers
 * synchronously, so `fn` runs from BEGIN to COMMIT within one turn of the event loop; `fn` must await nothing but the
 * database (no PIN check, no network), or other requests' statements would land inside it: that is refused.
 * Called with the transaction handle of an outer transaction, it runs as a savepoint within it.
 */
export async function writeTransaction<T>(db: Db, fn: (tx: Db) => Promise<T>): Promise<T> {
  if (dialectOf(db) === 'postgres') return postgresTransaction(db, fn);
  const sqlite = (db as unknown as { $client: Database.Database }).$client;
  if (insideTransaction.has(db)) return savepoint(sqlite, db, fn);
  let queue = sqliteTransactions.get(sqlite);
  if (queue === undefined) {
    queue = { tail: Promise.resolve() };
    sqliteTransactions.set(sqlite, queue);
  }
  const run = queue.tail.then(() => immediateTransaction(sqlite, db, fn));
  queue.tail = run.catch(() => undefined);
  return run;
}

async function immediateTransaction<T>(sqlite: Database.Database, db: Db, fn: (tx: Db) => Promise<T>): Promise<T> {
  const tx = Object.create(db) as Db;
  insideTransaction.add(tx);
  let turnEnded = false;
  const turn = setImmediate(() => {
    turnEnded = true;
  });
  sqlite.exec('BEGIN IMMEDIATE');
  try {
    const result = await fn(tx);
    if (turnEnded) throw new Error('a SQLite transaction awaited something other than the database: it is rolled back');
    sqlite.exec('COMMIT');
    return result;
  } catch (err) {
    if (sqlite.inTransaction) sqlite.exec('ROLLBACK');
    throw err;
  } finally {
    clearImmediate(turn);
    insideTransaction.delete(tx);
  }
}

/** The PostgreSQL database behind a Db, as drizzle's node-postgres driver made it. */
// biome-ignore lint/suspicious/noExplicitAny: one driver's database seen through the other's type; cast once here
type PgDb = PgDatabase<any, any, any>;

/**
 * PostgreSQL: serializable, so concurrent transactions of several nodes behave as if one ran after the other (what
 * SQLite's single writer gives), run again when PostgreSQL aborts one as a race. Inside a transaction: a savepoint.
 */
function postgresTransaction<T>(db: Db, fn: (tx: Db) => Promise<T>): Promise<T> {
  const pg = db as unknown as PgDb;
  const work = (tx: unknown) => fn(tx as Db);
  if (is(pg, PgTransaction)) return pg.transaction(work);
  // Many racers on one row (a burst of refused claims of one MAC) each wait their turn rather than give up.
  return runSerializable(pg, work, { log: silentLogger, retries: 30 });
}

/**
 * The database a statement is prepared on: on SQLite the connection's own database even inside a transaction (the
 * transaction runs on it), so a statement is prepared once; on PostgreSQL the transaction itself, whose connection
 * the statement must use.
 */
export function statementOwner(db: Db): Db {
  return insideTransaction.has(db) ? (Object.getPrototypeOf(db) as Db) : db;
}

/** A point in time as a raw SQL parameter takes it (drizzle's column mapping does not see placeholders in SET). */
export function timeParameter(db: Db, at: Date): number | Date {
  return dialectOf(db) === 'sqlite' ? at.getTime() : at;
}

let savepoints = 0;
async function savepoint<T>(sqlite: Database.Database, tx: Db, fn: (tx: Db) => Promise<T>): Promise<T> {
  const name = `hotprov_${++savepoints}`;
  sqlite.exec(`SAVEPOINT ${name}`);
  try {
    const result = await fn(tx);
    sqlite.exec(`RELEASE ${name}`);
    return result;
  } catch (err) {
    sqlite.exec(`ROLLBACK TO ${name}`);
    sqlite.exec(`RELEASE ${name}`);
    throw err;
  }
}

/** A SQLite database opened and migrated. */
export interface OpenDb {
  readonly db: Db;
  readonly dialect: 'sqlite';
  readonly sqlite: Database.Database;
  close(): void;
}

/** A PostgreSQL database reached through a pool, migrated. */
export interface OpenPostgres {
  readonly db: Db;
  readonly dialect: 'postgres';
  readonly pool: Pool;
  /** There is no SQLite connection: reading it is a bug, and throws. */
  readonly sqlite: never;
  close(): Promise<void>;
}

export type OpenDatabase = OpenDb | OpenPostgres;

/**
 * Opens what HOTPROV_DB names: a SQLite file (created if needed) or a PostgreSQL database, its schema brought up to
 * date either way.
 * @throws StartupError naming HOTPROV_DB (never its password) when it cannot be opened, written or migrated.
 */
export async function openDatabase(config: { readonly dbPath: string; readonly dbEngine: Dialect }): Promise<OpenDatabase> {
  if (config.dbEngine === 'sqlite') return openDb(config.dbPath);
  const open = await openPostgres(config.dbPath);
  return {
    db: open.db as unknown as Db,
    dialect: 'postgres',
    pool: open.pool,
    get sqlite(): never {
      throw new Error('HOTPROV_DB is PostgreSQL: there is no SQLite connection');
    },
    close: open.close,
  };
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
  return { db, dialect: 'sqlite', sqlite, close: () => sqlite.close() };
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

/** The row an INSERT or UPDATE … RETURNING must give back (one that gives none is a bug, not a case to handle). */
export async function returnedRow<T>(query: PromiseLike<T[]>): Promise<T> {
  const [row] = await query;
  if (row === undefined) throw new Error('the statement returned no row');
  return row;
}

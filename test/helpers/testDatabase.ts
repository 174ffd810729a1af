import Database from 'better-sqlite3';
import { type SQL, sql } from 'drizzle-orm';
import pg, { type Pool, type PoolClient } from 'pg';
import { type Db, dialectOf, type OpenDatabase } from '../../src/db/client.ts';
import { freshPostgresDatabase } from './postgres.ts';

/**
 * The engine the suite runs on: SQLite unless HOTPROV_TEST_DB=postgres, when each test server and domain fixture
 * gets a migrated PostgreSQL database of its own in the cluster the test process shares (`npm test` runs the
 * domain and HTTP suites both ways).
 */
export const TEST_ENGINE: 'sqlite' | 'postgres' = process.env.HOTPROV_TEST_DB === 'postgres' ? 'postgres' : 'sqlite';

/**
 * HOTPROV_DB for a new throwaway database of the suite's engine, and how to drop it once closed. On SQLite it is in
 * memory, or the file `sqliteFile` when it must outlive its connection (a test that closes and opens it again).
 */
export async function throwawayDatabase(
  sqliteFile?: string,
  engine: 'sqlite' | 'postgres' = TEST_ENGINE,
): Promise<{ readonly location: string; drop(): Promise<void> }> {
  if (engine === 'sqlite') return { location: sqliteFile ?? ':memory:', drop: async () => {} };
  const fresh = await freshPostgresDatabase();
  return { location: fresh.url, drop: () => fresh.close() };
}

/** Runs SQL written out (a test's fault: a trigger, a lock) on the database of either engine. */
export async function executeSql(db: Db, text: string): Promise<void> {
  if (dialectOf(db) === 'sqlite') await db.run(sql.raw(text));
  else await (db as unknown as { execute(query: SQL): Promise<unknown> }).execute(sql.raw(text));
}

/** Takes a fault away again. */
export type Undo = () => Promise<void>;

/**
 * The disk fills up: every row written from now on is refused as on a full disk, reads go on.
 * SQLite: the database is capped at the pages it has and the room left in them is used up (SQLITE_FULL).
 * PostgreSQL: every table refuses new row versions with the error a full disk gives (SQLSTATE 53100, disk_full).
 */
export async function fillTheDisk(database: OpenDatabase): Promise<Undo> {
  if (database.dialect === 'sqlite') {
    const { sqlite } = database;
    const pages = Number(sqlite.pragma('page_count', { simple: true }));
    sqlite.pragma(`max_page_count = ${pages}`);
    const insert = sqlite.prepare("INSERT INTO audit_events (tenant_id, at, actor, action, detail) VALUES (1, 0, 'filler', 'filler', '{}')");
    for (let i = 0; i < 100_000; i++) {
      try {
        insert.run();
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_FULL') break;
        throw err;
      }
    }
    return async () => {
      sqlite.pragma('max_page_count = 1073741823');
    };
  }
  await database.pool.query(`
    CREATE FUNCTION hotprov_test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'could not extend file "base/%": No space left on device', TG_TABLE_NAME
        USING ERRCODE = 'disk_full', HINT = 'Check free disk space.';
    END $$;
    DO $$
    DECLARE t text;
    BEGIN
      FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP
        EXECUTE format('CREATE TRIGGER hotprov_test_disk_full BEFORE INSERT OR UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION hotprov_test_disk_full()', t);
      END LOOP;
    END $$;`);
  return async () => {
    await database.pool.query('DROP FUNCTION hotprov_test_disk_full() CASCADE');
  };
}

/**
 * The database turns read-only, as a file whose permissions changed or a managed PostgreSQL that switched
 * `default_transaction_read_only` on (as some do when the disk is full): every write fails, reads go on.
 */
export async function makeReadOnly(database: OpenDatabase): Promise<Undo> {
  if (database.dialect === 'sqlite') {
    database.sqlite.pragma('query_only = ON');
    return async () => {
      database.sqlite.pragma('query_only = OFF');
    };
  }
  return await onEverySession(database.pool, 'default_transaction_read_only', 'on');
}

/**
 * Another process takes the database's write lock, as the `hotprov` command line in the middle of a write, and this
 * process's connections give up waiting for it after 20 ms (not seconds); reads go on. Undo commits and lets go.
 * SQLite: BEGIN IMMEDIATE on a connection of its own, and busy_timeout. PostgreSQL: a session of its own holds
 * every table in EXCLUSIVE mode (which lets plain reads through), and lock_timeout.
 */
export async function holdWriteLock(database: OpenDatabase): Promise<Undo> {
  if (database.dialect === 'sqlite') {
    database.sqlite.pragma('busy_timeout = 20');
    const other = new Database(database.sqlite.name);
    other.exec('BEGIN IMMEDIATE');
    return async () => {
      other.exec('COMMIT');
      other.close();
    };
  }
  const giveUpSooner = await onEverySession(database.pool, 'lock_timeout', '20ms');
  const other = new pg.Client({ connectionString: (database.pool.options as { connectionString: string }).connectionString });
  await other.connect();
  await other.query('BEGIN');
  const { rows } = await other.query<{ tables: string }>(
    "SELECT string_agg(format('%I', tablename), ', ') AS tables FROM pg_tables WHERE schemaname = 'public'",
  );
  await other.query(`LOCK TABLE ${rows[0]?.tables} IN EXCLUSIVE MODE`);
  return async () => {
    await other.query('COMMIT');
    await other.end();
    await giveUpSooner();
  };
}

/**
 * Sets a PostgreSQL setting for every session of the pool's database: those it opens from now on (ALTER DATABASE)
 * and those it holds (SET on each; call it while no query is under way). Undo puts the setting back as it was.
 */
async function onEverySession(pool: Pool, name: string, value: string): Promise<Undo> {
  const { database, before } = await withEverySession(pool, async ([first, ...others]) => {
    const { rows } = await first.query<{ database: string; before: string }>('SELECT current_database() AS database, current_setting($1) AS before', [name]);
    const was = { database: first.escapeIdentifier(rows[0]?.database ?? ''), before: rows[0]?.before ?? '' };
    await first.query(`ALTER DATABASE ${was.database} SET ${name} = ${first.escapeLiteral(value)}`);
    for (const session of [first, ...others]) await session.query(`SET ${name} = ${session.escapeLiteral(value)}`);
    return was;
  });
  return () =>
    withEverySession(pool, async ([first, ...others]) => {
      // Sessions first: a read-only one could not ALTER DATABASE.
      for (const session of [first, ...others]) await session.query(`SET ${name} = ${session.escapeLiteral(before)}`);
      await first.query(`ALTER DATABASE ${database} RESET ${name}`);
    });
}

/** Runs `work` on every session the pool holds idle (at least one), each checked out meanwhile so nothing else uses it. */
async function withEverySession<T>(pool: Pool, work: (sessions: [PoolClient, ...PoolClient[]]) => Promise<T>): Promise<T> {
  const first = await pool.connect();
  const others: PoolClient[] = [];
  try {
    while (pool.idleCount > 0) others.push(await pool.connect());
    return await work([first, ...others]);
  } finally {
    for (const session of [first, ...others]) session.release();
  }
}

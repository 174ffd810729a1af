import { type SQL, sql } from 'drizzle-orm';
import { type Db, dialectOf } from '../../src/db/client.ts';
import { freshPostgresDatabase } from './postgres.ts';

/**
 * The engine the suite runs on: SQLite unless HOTPROV_TEST_DB=postgres, when each test server and domain fixture
 * gets a migrated PostgreSQL database of its own in the cluster the test process shares (`npm test` runs the
 * domain and HTTP suites both ways).
 */
export const TEST_ENGINE: 'sqlite' | 'postgres' = process.env.HOTPROV_TEST_DB === 'postgres' ? 'postgres' : 'sqlite';

/** HOTPROV_DB for a new throwaway database of the suite's engine, and how to drop it once closed. */
export async function throwawayDatabase(): Promise<{ readonly location: string; drop(): Promise<void> }> {
  if (TEST_ENGINE === 'sqlite') return { location: ':memory:', drop: async () => {} };
  const fresh = await freshPostgresDatabase();
  return { location: fresh.url, drop: () => fresh.close() };
}

/** Runs SQL written out (a test's fault: a trigger, a lock) on the database of either engine. */
export async function executeSql(db: Db, text: string): Promise<void> {
  if (dialectOf(db) === 'sqlite') await db.run(sql.raw(text));
  else await (db as unknown as { execute(query: SQL): Promise<unknown> }).execute(sql.raw(text));
}

import type { Db } from './client.ts';

const statements = new WeakMap<Db, Map<string, unknown>>();

/**
 * A statement on the phone-request path, prepared once per database: building a query with drizzle costs more
 * than SQLite takes to run it, and a boot storm runs these thousands of times a second.
 */
export function preparedOnce<T>(db: Db, name: string, prepare: () => T): T {
  let byName = statements.get(db);
  if (byName === undefined) {
    byName = new Map();
    statements.set(db, byName);
  }
  let statement = byName.get(name) as T | undefined;
  if (statement === undefined) {
    statement = prepare();
    byName.set(name, statement);
  }
  return statement;
}

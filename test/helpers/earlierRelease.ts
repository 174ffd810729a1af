import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { PATHS } from '../../src/paths.ts';

/**
 * A database as an earlier release left it: only the first `migrations` of src/db/migrations applied (a copy of
 * the folder with the later ones dropped from its journal), so a test can put data in before `openDb` upgrades it.
 * @param dir a temporary folder for the copy of the migrations.
 */
export function databaseAsReleasedBefore(dir: string, path: string, migrations: number): Database.Database {
  const folder = join(dir, 'migrations');
  cpSync(PATHS.migrations, folder, { recursive: true });
  const journalPath = join(folder, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { idx: number }[] };
  journal.entries = journal.entries.filter((e) => e.idx < migrations);
  writeFileSync(journalPath, JSON.stringify(journal));
  const sqlite = new Database(path);
  sqlite.pragma('foreign_keys = OFF');
  migrate(drizzle(sqlite), { migrationsFolder: folder });
  return sqlite;
}

import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { PATHS } from '../paths.ts';

/**
 * Backups of a SQLite database while hotprov runs, and their restore. A copy of the file alone can miss what is
 * still in the WAL: the online backup API copies the pages as one reader sees them, so the copy is consistent.
 */

/** Pages copied so far of the total (a progress bar). */
export type BackupProgress = (done: number, total: number) => void;

/** Why a file cannot be restored, or a backup not made: said to the operator as it is. */
export class BackupError extends Error {
  override readonly name = 'BackupError';
}

/** A hotprov database file, as checked before it is restored. */
export interface CheckedDatabase {
  /** Migrations recorded in it. */
  readonly migrations: number;
  /** Migrations this release has: the ones it lacks run at the next start. */
  readonly migrationsOfThisRelease: number;
}

/** After this many restarts (other connections wrote during the copy) the rest is copied in one step. */
const RESTARTS_BEFORE_ONE_STEP = 3;

/** Copies `source` to `target` page by page with SQLite's online backup; `target` appears only when complete. */
async function onlineCopy(source: Database.Database, target: string, progress: BackupProgress): Promise<void> {
  const partial = `${target}.partial`;
  rmSync(partial, { force: true });
  let lastRemaining = Number.POSITIVE_INFINITY;
  let restarts = 0;
  try {
    const result = await source.backup(partial, {
      progress({ totalPages, remainingPages }) {
        // A write by another connection restarts the copy; under a steady stream of writes, one step finishes it.
        if (remainingPages > lastRemaining) restarts++;
        lastRemaining = remainingPages;
        progress(totalPages - remainingPages, totalPages);
        return restarts >= RESTARTS_BEFORE_ONE_STEP ? 0x7fffffff : Math.max(64, Math.ceil(totalPages / 50));
      },
    });
    progress(result.totalPages, result.totalPages);
    // The copy is one self-contained file: a WAL-mode file would grow -wal and -shm beside it whenever it is read.
    const copy = new Database(partial);
    copy.pragma('journal_mode = DELETE');
    copy.close();
    renameSync(partial, target);
  } finally {
    rmSync(partial, { force: true });
  }
}

/**
 * Checks a file is a hotprov database this release can run: SQLite that passes its integrity check, with hotprov's
 * migration record, every migration in it one this release knows (a newer release's database is refused).
 */
export function checkHotprovDatabase(file: string, migrationsFolder: string = PATHS.migrations): CheckedDatabase {
  if (!existsSync(file)) throw new BackupError(`${file} does not exist`);
  let sqlite: Database.Database;
  try {
    sqlite = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new BackupError(`${file} cannot be opened as a SQLite database: ${(err as Error).message}`);
  }
  try {
    let verdict: unknown;
    try {
      verdict = sqlite.pragma('integrity_check', { simple: true });
    } catch (err) {
      throw new BackupError(`${file} is not a SQLite database or is damaged: ${(err as Error).message}`);
    }
    if (verdict !== 'ok') throw new BackupError(`${file} is damaged: SQLite's integrity check says ${String(verdict)}`);
    const hasRecord = sqlite.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '__drizzle_migrations'").pluck().get() === 1;
    if (!hasRecord) throw new BackupError(`${file} is a SQLite database but not hotprov's: it has no migration record`);
    const applied = sqlite.prepare('SELECT hash FROM __drizzle_migrations').pluck().all() as string[];
    const known = new Set(readMigrationFiles({ migrationsFolder }).map((m) => m.hash));
    const unknown = applied.filter((hash) => !known.has(hash));
    if (applied.length === 0) throw new BackupError(`${file} has no migration applied: it is not a hotprov database`);
    if (unknown.length > 0) {
      throw new BackupError(
        `${file} has ${unknown.length} migration(s) this release does not know: it was made by a newer hotprov; restore it with that release`,
      );
    }
    return { migrations: applied.length, migrationsOfThisRelease: known.size };
  } finally {
    sqlite.close();
  }
}

/**
 * A consistent copy of the database at `source` into `target` (which must not exist), while hotprov may be serving
 * and writing it; checked afterwards as a restore would check it.
 * @returns the copy's size in bytes.
 */
export async function backupSqlite(source: string, target: string, progress: BackupProgress = () => {}): Promise<{ readonly bytes: number }> {
  if (!existsSync(source)) throw new BackupError(`no SQLite database at ${source} (HOTPROV_DB)`);
  if (existsSync(target)) throw new BackupError(`${target} exists already: give a new file name (nothing is overwritten)`);
  const sqlite = new Database(source, { fileMustExist: true, timeout: 5000 });
  try {
    await onlineCopy(sqlite, target, progress);
  } catch (err) {
    throw new BackupError(`the backup of ${source} failed, nothing written: ${(err as Error).message}`);
  } finally {
    sqlite.close();
  }
  checkHotprovDatabase(target);
  return { bytes: statSync(target).size };
}

/**
 * Whether a process has the database open: in WAL mode every connection holds a shared lock for its lifetime, so
 * an exclusive lock is refused at once while hotprov (or another command) uses the file.
 */
export function databaseInUse(file: string): boolean {
  if (!existsSync(file)) return false;
  const probe = new Database(file, { fileMustExist: true, timeout: 0 });
  try {
    probe.pragma('locking_mode = EXCLUSIVE');
    probe.exec('BEGIN EXCLUSIVE');
    // Nobody else has it: what is still in its WAL goes into the file before the file is moved aside.
    probe.exec('COMMIT');
    probe.pragma('wal_checkpoint(TRUNCATE)');
    return false;
  } catch (err) {
    if ((err as { code?: unknown }).code === 'SQLITE_BUSY') return true;
    throw err;
  } finally {
    probe.close();
  }
}

/**
 * Puts the backup `file` in place of the database at `target`: checked first (a hotprov database of this release
 * or an older one), refused while a process uses the database, the previous file kept aside (with its WAL).
 * @returns what was checked, and where the previous database now is (null when there was none).
 */
export async function restoreSqlite(
  file: string,
  target: string,
  progress: BackupProgress = () => {},
  now: Date = new Date(),
): Promise<CheckedDatabase & { readonly previous: string | null }> {
  const checked = checkHotprovDatabase(file);
  if (databaseInUse(target)) throw new BackupError(`a process is using ${target}: stop hotprov first (systemctl stop hotprov), then restore`);
  // A fresh place (a new server's data folder) is made.
  mkdirSync(dirname(target), { recursive: true });
  const source = new Database(file, { readonly: true, fileMustExist: true });
  const incoming = `${target}.restoring`;
  try {
    rmSync(incoming, { force: true });
    await onlineCopy(source, incoming, progress);
  } finally {
    source.close();
  }
  let previous: string | null = null;
  if (existsSync(target)) {
    previous = `${target}.before-restore-${now.toISOString().replace(/[:.]/g, '-')}`;
    renameSync(target, previous);
    for (const suffix of ['-wal', '-shm']) if (existsSync(`${target}${suffix}`)) renameSync(`${target}${suffix}`, `${previous}${suffix}`);
  }
  renameSync(incoming, target);
  return { ...checked, previous };
}

import { asc, getTableName, gt, is, sql } from 'drizzle-orm';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { getTableConfig as getPgTableConfig, type PgColumn, PgTable } from 'drizzle-orm/pg-core';
import { getTableConfig as getSqliteTableConfig, SQLiteTable } from 'drizzle-orm/sqlite-core';
import type { Pool } from 'pg';
import type { OpenDb } from './client.ts';
import { migratePostgres } from './postgres.ts';
import * as pgSchema from './schema.pg.ts';
import * as sqliteSchema from './schema.ts';

/** One table of schema.ts with its PostgreSQL twin of schema.pg.ts (same property names). */
export interface TablePair {
  readonly name: string;
  readonly sqlite: SQLiteTable;
  readonly pg: PgTable;
}

/**
 * Every table of schema.ts paired with its twin, parents before children (a table comes after every table its
 * foreign keys point to), so each row's parents are already there when it is inserted.
 */
export function copyOrder(): TablePair[] {
  const twins = new Map<string, PgTable>();
  for (const value of Object.values(pgSchema)) if (is(value, PgTable)) twins.set(getTableName(value), value);
  const tables = new Map<string, SQLiteTable>();
  for (const value of Object.values(sqliteSchema)) if (is(value, SQLiteTable)) tables.set(getTableName(value), value);

  const ordered: TablePair[] = [];
  const placed = new Set<string>();
  const visiting = new Set<string>();
  const place = (name: string) => {
    if (placed.has(name)) return;
    if (visiting.has(name)) throw new Error(`foreign keys form a cycle through ${name}: no parent-first order`);
    visiting.add(name);
    const table = tables.get(name);
    const twin = twins.get(name);
    if (table === undefined) throw new Error(`a foreign key points to ${name}, which schema.ts does not define`);
    if (twin === undefined) throw new Error(`table ${name} has no twin in schema.pg.ts`);
    for (const fk of getSqliteTableConfig(table).foreignKeys) {
      const parent = getTableName(fk.reference().foreignTable);
      if (parent !== name) place(parent);
    }
    visiting.delete(name);
    placed.add(name);
    ordered.push({ name, sqlite: table, pg: twin });
  };
  for (const name of tables.keys()) place(name);
  return ordered;
}

/** The transaction lock every copy takes before it looks at the target ("hpcopy" in ASCII). */
export const COPY_LOCK_KEY = 0x6870636f7079n;

/** Rows per INSERT: 500, fewer for a wide table so one statement stays under PostgreSQL's 65,535 parameters. */
function batchSize(columns: number): number {
  return Math.max(1, Math.min(500, Math.floor(60_000 / Math.max(1, columns))));
}

export interface TableCopied {
  readonly table: string;
  readonly source: number;
  readonly target: number;
}

export class TargetNotEmptyError extends Error {
  readonly tables: readonly string[];
  constructor(tables: readonly string[]) {
    super(`the PostgreSQL database already has rows in ${tables.join(', ')}: copy into an empty database (no merging)`);
    this.tables = tables;
  }
}

export interface CopyOptions {
  /** Called after each batch: the table, rows copied so far, the table's row count. */
  readonly progress?: (table: string, done: number, total: number) => void;
}

/**
 * Copies every row of the SQLite database into PostgreSQL (issue 16's data move). The target's schema is brought
 * up to date first (migratePostgres); the target must be empty. All rows go in ONE PostgreSQL transaction, so a
 * failure half-way leaves the target as empty as it was. SQLite is read in one read transaction: a server writing
 * to it meanwhile does not make the copy see half of a change. Afterwards each serial sequence continues after
 * max(id), and the row counts are compared table by table (a difference throws, rolling everything back).
 */
export async function copySqliteToPostgres(source: OpenDb, pool: Pool, options: CopyOptions = {}): Promise<TableCopied[]> {
  await migratePostgres(pool);
  const pairs = copyOrder();
  const client = await pool.connect();
  const target = drizzlePg(client);
  // A snapshot of the source for the whole copy (WAL: writers go on, we keep reading the state at BEGIN).
  source.sqlite.exec('BEGIN');
  try {
    await client.query('BEGIN');
    try {
      // Copies started together queue here: the first fills the target, the others then find it not empty.
      await client.query('SELECT pg_advisory_xact_lock($1)', [COPY_LOCK_KEY.toString()]);
      const nonEmpty: string[] = [];
      for (const { name } of pairs) {
        const { rowCount } = await client.query(`SELECT 1 FROM "${name}" LIMIT 1`);
        if ((rowCount ?? 0) > 0) nonEmpty.push(name);
      }
      if (nonEmpty.length > 0) throw new TargetNotEmptyError(nonEmpty);

      const results: TableCopied[] = [];
      for (const pair of pairs) {
        const config = getSqliteTableConfig(pair.sqlite);
        const key = config.columns.find((c) => c.primary);
        if (key === undefined) throw new Error(`table ${pair.name} has no single-column primary key to read it in order by`);
        const total = (source.db.select({ n: sql<number>`count(*)` }).from(pair.sqlite).get() as { n: number }).n;
        const size = batchSize(config.columns.length);
        let done = 0;
        let last: unknown;
        options.progress?.(pair.name, 0, total);
        for (;;) {
          // Keyset paging by primary key: each batch is one indexed range read.
          const query = source.db.select().from(pair.sqlite);
          const rows = (last === undefined ? query : query.where(gt(key, last))).orderBy(asc(key)).limit(size).all() as Record<string, unknown>[];
          if (rows.length === 0) break;
          try {
            await target.insert(pair.pg).values(rows);
          } catch (err) {
            // drizzle's error quotes the statement with every value (password hashes among them): keep PostgreSQL's reason only.
            const reason = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
            throw new Error(`table ${pair.name}, rows ${done + 1} to ${done + rows.length}: ${reason}`);
          }
          done += rows.length;
          last = rows[rows.length - 1]?.[keyProperty(pair.sqlite, key.name)];
          options.progress?.(pair.name, done, total);
        }
        results.push({ table: pair.name, source: total, target: 0 });
      }

      // Rows came with their ids: move each serial sequence past them, or the next insert would collide.
      for (const pair of pairs) {
        const serial = getPgTableConfig(pair.pg).columns.find((c: PgColumn) => c.columnType === 'PgSerial');
        if (serial === undefined) continue;
        await client.query(`SELECT setval(pg_get_serial_sequence($1, $2), max("${serial.name}")) FROM "${pair.name}"`, [`"${pair.name}"`, serial.name]);
      }

      const counted: TableCopied[] = [];
      for (const r of results) {
        const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${r.table}"`);
        counted.push({ ...r, target: Number(rows[0]?.n ?? 0) });
      }
      const differ = counted.filter((r) => r.source !== r.target);
      if (differ.length > 0) {
        throw new Error(`row counts differ after the copy: ${differ.map((r) => `${r.table} ${r.source} → ${r.target}`).join(', ')}`);
      }
      await client.query('COMMIT');
      return counted;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    }
  } finally {
    source.sqlite.exec('ROLLBACK');
    client.release();
  }
}

/** The row property (camelCase in schema.ts) of a SQL column name. */
function keyProperty(table: SQLiteTable, columnName: string): string {
  const entry = Object.entries(table as unknown as Record<string, unknown>).find(
    ([, column]) => typeof column === 'object' && column !== null && (column as { name?: unknown }).name === columnName,
  );
  if (entry === undefined) throw new Error(`no property for column ${columnName}`);
  return entry[0];
}

/** The URL with its password replaced by ***, for messages and logs. */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    // Not parseable: hide anything between "://user:" and "@".
    return url.replace(/(:\/\/[^:/@]*:)[^@]*@/, '$1***@');
  }
}

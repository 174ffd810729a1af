import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { is } from 'drizzle-orm';
import { getTableConfig, SQLiteTable } from 'drizzle-orm/sqlite-core';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openDb } from '../../src/db/client.ts';
import { MIGRATION_LOCK_KEY, migratePostgres, PG_MIGRATIONS } from '../../src/db/postgres.ts';
import * as sqliteSchema from '../../src/db/schema.ts';
import { type PgCluster, startPostgres } from '../helpers/postgres.ts';

/**
 * The two schema definitions cannot drift (issue 16): src/db/schema.ts (SQLite) and src/db/schema.pg.ts
 * (PostgreSQL), each migrated by its own committed migrations, are read back from the live databases and compared:
 * tables, columns, nullability, whether a default exists, primary keys and indexes.
 */

/**
 * The only type differences allowed: what a SQLite column is (its declared type, with drizzle's mode from
 * schema.ts, since SQLite stores timestamps and booleans as plain integers) → the PostgreSQL type it must have.
 */
const TYPE_MAPPING: Readonly<Record<string, string>> = {
  'integer primary key autoincrement': 'serial',
  integer: 'integer',
  'integer timestamp_ms': 'timestamp with time zone',
  'integer boolean': 'boolean',
  text: 'text',
};

interface Queryable {
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** How drizzle declares each SQLite column ("table.column" → kind), for the kinds SQLite itself cannot tell apart. */
function sqliteModes(): Map<string, string> {
  const modes = new Map<string, string>();
  for (const table of Object.values(sqliteSchema)) {
    if (!is(table, SQLiteTable)) continue;
    const config = getTableConfig(table);
    for (const column of config.columns) {
      const mode = column.columnType === 'SQLiteTimestamp' ? 'timestamp_ms' : column.columnType === 'SQLiteBoolean' ? 'boolean' : null;
      if (mode !== null) modes.set(`${config.name}.${column.name}`, mode);
    }
  }
  return modes;
}

const normalisePredicate = (where: string | null) =>
  where === null
    ? '-'
    : where
        .replace(/[()"`]/g, '')
        .replace(/\s+/g, ' ')
        .trim()
        .toLowerCase();

/** The SQLite database's schema as lines, its types already translated through TYPE_MAPPING. */
function describeSqlite(sqlite: ReturnType<typeof openDb>['sqlite']): string[] {
  const modes = sqliteModes();
  const lines: string[] = [];
  const tables = sqlite
    .prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__drizzle%' ORDER BY name`)
    .all() as { name: string; sql: string }[];
  for (const table of tables) {
    lines.push(`table ${table.name}`);
    const columns = sqlite.prepare(`PRAGMA table_info("${table.name}")`).all() as {
      name: string;
      type: string;
      notnull: number;
      dflt_value: string | null;
      pk: number;
    }[];
    const autoincrement = /AUTOINCREMENT/i.test(table.sql);
    for (const c of columns) {
      const declared = c.type.toLowerCase();
      const kind =
        c.pk > 0 && declared === 'integer' && autoincrement
          ? 'integer primary key autoincrement'
          : [declared, modes.get(`${table.name}.${c.name}`)].filter(Boolean).join(' ');
      const type = TYPE_MAPPING[kind] ?? `${kind} (not in TYPE_MAPPING)`;
      // A primary key is never NULL, whatever SQLite's pragma says of it.
      const notNull = c.notnull === 1 || c.pk > 0;
      lines.push(`column ${table.name}.${c.name}: ${type}, ${notNull ? 'not null' : 'nullable'}, ${c.dflt_value === null ? 'no default' : 'default'}`);
    }
    const pk = columns
      .filter((c) => c.pk > 0)
      .sort((a, b) => a.pk - b.pk)
      .map((c) => c.name);
    lines.push(`primary key ${table.name} (${pk.join(', ')})`);
    const indexes = sqlite.prepare(`PRAGMA index_list("${table.name}")`).all() as { name: string; unique: number; origin: string }[];
    for (const index of indexes) {
      if (index.origin === 'pk') continue;
      const columnsOf = (sqlite.prepare(`PRAGMA index_info("${index.name}")`).all() as { seqno: number; name: string }[])
        .sort((a, b) => a.seqno - b.seqno)
        .map((c) => c.name);
      const sql = (sqlite.prepare(`SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?`).get(index.name) as { sql: string | null } | undefined)
        ?.sql;
      const where = sql?.match(/\bWHERE\b([\s\S]*)$/i)?.[1] ?? null;
      lines.push(`index ${index.name} on ${table.name} (${columnsOf.join(', ')})${index.unique === 1 ? ' unique' : ''} where ${normalisePredicate(where)}`);
    }
  }
  return lines.sort();
}

/** The PostgreSQL database's schema as the same lines. */
async function describePostgres(db: Queryable): Promise<string[]> {
  const lines: string[] = [];
  const tables = await db.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  for (const { table_name: table } of tables.rows) {
    lines.push(`table ${table}`);
    const columns = await db.query<{ column_name: string; data_type: string; is_nullable: string; column_default: string | null }>(
      `SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns
       WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`,
      [table],
    );
    for (const c of columns.rows) {
      const serial = c.data_type === 'integer' && c.column_default?.startsWith('nextval(') === true;
      const type = serial ? 'serial' : c.data_type;
      const hasDefault = c.column_default !== null && !serial;
      lines.push(`column ${table}.${c.column_name}: ${type}, ${c.is_nullable === 'NO' ? 'not null' : 'nullable'}, ${hasDefault ? 'default' : 'no default'}`);
    }
    const pk = await db.query<{ column_name: string }>(
      `SELECT k.column_name FROM information_schema.table_constraints t
       JOIN information_schema.key_column_usage k ON k.constraint_name = t.constraint_name AND k.table_schema = t.table_schema
       WHERE t.table_schema = 'public' AND t.table_name = $1 AND t.constraint_type = 'PRIMARY KEY' ORDER BY k.ordinal_position`,
      [table],
    );
    lines.push(`primary key ${table} (${pk.rows.map((r) => r.column_name).join(', ')})`);
    const indexes = await db.query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1 AND indexname <> $2`,
      [table, `${table}_pkey`],
    );
    for (const index of indexes.rows) {
      const parsed = index.indexdef.match(/^CREATE (UNIQUE )?INDEX \S+ ON \S+ USING \w+ \(([^)]*)\)(?: WHERE (.*))?$/);
      if (parsed === null) {
        lines.push(`index ${index.indexname} on ${table}: cannot read ${index.indexdef}`);
        continue;
      }
      const indexColumns = (parsed[2] ?? '').split(',').map((c) => c.trim().replace(/"/g, ''));
      lines.push(
        `index ${index.indexname} on ${table} (${indexColumns.join(', ')})${parsed[1] ? ' unique' : ''} where ${normalisePredicate(parsed[3] ?? null)}`,
      );
    }
  }
  return lines.sort();
}

/** What only one side has, line by line; empty when the two agree. */
function drift(sqliteLines: readonly string[], pgLines: readonly string[]): string {
  const inPg = new Set(pgLines);
  const inSqlite = new Set(sqliteLines);
  return [
    ...sqliteLines.filter((l) => !inPg.has(l)).map((l) => `- SQLite:     ${l}`),
    ...pgLines.filter((l) => !inSqlite.has(l)).map((l) => `+ PostgreSQL: ${l}`),
  ].join('\n');
}

const Drift = suite<{ cluster: PgCluster }>('db/schema drift between SQLite and PostgreSQL', { cluster: undefined as unknown as PgCluster });
Drift.before(async (ctx) => {
  ctx.cluster = await startPostgres();
});
Drift.after(({ cluster }) => cluster.stop());

Drift('both migrated databases have the same tables, columns, nullability, defaults, primary keys and indexes', async ({ cluster }) => {
  const pool = new pg.Pool({ connectionString: await cluster.createDatabase() });
  const sqlite = openDb(':memory:');
  try {
    await migratePostgres(pool);
    const sqliteLines = describeSqlite(sqlite.sqlite);
    const pgLines = await describePostgres(pool);
    const differences = drift(sqliteLines, pgLines);
    assert.is(differences, '', `src/db/schema.ts and src/db/schema.pg.ts (or their migrations) differ:\n${differences}\n`);
    // The comparison saw the schema itself, not two empty lists: the rule hot-desking rests on is there.
    assert.ok(pgLines.includes('index hotdesk_sessions_open_user on hotdesk_sessions (user_id) unique where ended_at is null'), pgLines.join('\n'));
    assert.ok(pgLines.includes('column devices.hotdesk: boolean, not null, default'));
  } finally {
    sqlite.close();
    await pool.end();
  }
});

Drift('a change on one side only is reported line by line', async ({ cluster }) => {
  const pool = new pg.Pool({ connectionString: await cluster.createDatabase() });
  const sqlite = openDb(':memory:');
  const client = await pool.connect();
  try {
    await migratePostgres(pool);
    // DDL is transactional in PostgreSQL: drift it, read it, roll it back.
    await client.query('BEGIN');
    await client.query('DROP INDEX hotdesk_sessions_open_device');
    await client.query('ALTER TABLE users ALTER COLUMN pin_hash SET NOT NULL');
    await client.query('ALTER TABLE tenants ALTER COLUMN retired_at TYPE bigint USING 0');
    const differences = drift(describeSqlite(sqlite.sqlite), await describePostgres(client));
    await client.query('ROLLBACK');
    assert.equal(differences.split('\n').sort(), [
      '+ PostgreSQL: column tenants.retired_at: bigint, nullable, no default',
      '+ PostgreSQL: column users.pin_hash: text, not null, no default',
      '- SQLite:     column tenants.retired_at: timestamp with time zone, nullable, no default',
      '- SQLite:     column users.pin_hash: text, nullable, no default',
      '- SQLite:     index hotdesk_sessions_open_device on hotdesk_sessions (device_id) unique where ended_at is null',
    ]);
  } finally {
    client.release();
    sqlite.close();
    await pool.end();
  }
});

Drift('nodes starting together on a fresh database migrate it once', async ({ cluster }) => {
  const url = await cluster.createDatabase();
  const pools = Array.from({ length: 4 }, () => new pg.Pool({ connectionString: url }));
  try {
    await Promise.all(pools.map((pool) => migratePostgres(pool)));
    const journal = JSON.parse(readFileSync(join(PG_MIGRATIONS, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] };
    const applied = await pools[0]?.query<{ hash: string }>('SELECT hash FROM drizzle.__drizzle_migrations');
    assert.is(applied?.rowCount, journal.entries.length, 'each migration recorded once');
    assert.is(new Set(applied?.rows.map((r) => r.hash)).size, journal.entries.length);
    // The lock is given back: a node starting later is not kept waiting.
    const held = await pools[0]?.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND (classid::bigint << 32 | objid::bigint) = $1`, [
      MIGRATION_LOCK_KEY.toString(),
    ]);
    assert.is(held?.rowCount, 0);
    await migratePostgres(pools[1] as pg.Pool);
    assert.is((await pools[0]?.query('SELECT 1 FROM drizzle.__drizzle_migrations'))?.rowCount, journal.entries.length);
  } finally {
    await Promise.all(pools.map((pool) => pool.end()));
  }
});

Drift.run();

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PG_MIGRATIONS } from '../../src/db/postgres.ts';
import { freshPostgresDatabase } from '../helpers/postgres.ts';

/**
 * test/helpers/postgres.ts `freshPostgresDatabase()`: each test gets a database of its own, every migration
 * applied, copied from a template migrated once per process in the cluster the test process shares.
 */

const Fresh = suite('test helper: a fresh, migrated PostgreSQL database per test');

async function query<R extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

Fresh('a fresh database has every committed migration applied, and its rows are its own', async () => {
  const journal = JSON.parse(readFileSync(join(PG_MIGRATIONS, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] };
  const first = await freshPostgresDatabase();
  const second = await freshPostgresDatabase();
  try {
    assert.is.not(first.url, second.url);
    for (const url of [first.url, second.url]) {
      const [applied] = await query<{ n: number }>(url, 'SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations');
      assert.is(applied?.n, journal.entries.length, 'every migration applied');
    }
    await query(first.url, `INSERT INTO tenants (slug, name) VALUES ('only-here', 'Only in the first')`);
    assert.equal(await query(first.url, 'SELECT slug FROM tenants'), [{ slug: 'only-here' }]);
    assert.equal(await query(second.url, 'SELECT slug FROM tenants'), [], 'the second database does not see the first one’s rows');
  } finally {
    await first.close();
    await second.close();
  }
});

Fresh('close() drops the database', async () => {
  const fresh = await freshPostgresDatabase();
  const name = new URL(fresh.url).pathname.slice(1);
  const exists = async () => (await query(fresh.url.replace(/\/[^/]+$/, '/postgres'), 'SELECT 1 FROM pg_database WHERE datname = $1', [name])).length === 1;
  assert.ok(await exists());
  await fresh.close();
  assert.not.ok(await exists());
});

Fresh('ten databases asked for at once are ten working databases', async () => {
  const all = await Promise.all(Array.from({ length: 10 }, () => freshPostgresDatabase()));
  try {
    assert.is(new Set(all.map((d) => d.url)).size, 10);
    for (const fresh of all) assert.equal(await query(fresh.url, 'SELECT count(*)::int AS n FROM devices'), [{ n: 0 }]);
  } finally {
    await Promise.all(all.map((d) => d.close()));
  }
});

Fresh.run();

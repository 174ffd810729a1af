import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

/**
 * Each table has one writer: the domain module that owns its rules. Where a table holds a group of columns with
 * rules of their own, the module owning those rules writes them, and only those (listed here with the columns).
 */
const SRC = fileURLToPath(new URL('../src', import.meta.url));

const WRITERS: Record<string, readonly string[]> = {
  tenants: ['domain/tenants.ts', 'domain/redirect.ts (redirect_base_url)'],
  devices: ['domain/devices.ts', 'domain/deviceAccess.ts (access, claim and activation columns)', 'domain/redirect.ts (redirect_* columns)'],
  users: ['domain/users.ts'],
  userKeys: ['domain/users.ts'],
  hotdeskSessions: ['domain/sessions.ts'],
  loginThrottles: ['domain/lockout.ts'],
  syncJobs: ['domain/syncJobs.ts'],
  auditEvents: ['domain/audit.ts'],
  admins: ['domain/admins.ts'],
  signInThrottles: ['domain/admins.ts'],
  adminSessions: ['domain/admins.ts'],
  apiTokens: ['domain/admins.ts'],
  templateRevisions: ['domain/templates.ts'],
  webhookEndpoints: ['domain/webhooks.ts'],
  webhookDeliveries: ['domain/webhookEvents.ts'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'migrations' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** drizzle table variables and their SQL names, from the schema. */
function tables(): Map<string, string> {
  const schema = readFileSync(join(SRC, 'db/schema.ts'), 'utf8');
  return new Map([...schema.matchAll(/export const (\w+) = sqliteTable\(\s*'(\w+)'/g)].map((m) => [m[1] ?? '', m[2] ?? '']));
}

/** Which files write which table: drizzle's insert/update/delete, and SQL written out. */
function writers(): Map<string, Set<string>> {
  const known = tables();
  const bySqlName = new Map([...known].map(([variable, sqlName]) => [sqlName, variable]));
  const found = new Map<string, Set<string>>();
  const add = (table: string, file: string) => {
    const set = found.get(table) ?? new Set<string>();
    set.add(relative(SRC, file));
    found.set(table, set);
  };
  for (const file of sourceFiles(SRC)) {
    if (file.endsWith(join('db', 'schema.ts'))) continue;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\.(?:insert|update|delete)\(\s*(?:schema\.)?(\w+)\s*\)/g)) {
      if (known.has(m[1] ?? '')) add(m[1] ?? '', file);
    }
    for (const m of text.matchAll(/\b(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+(\w+)/gi)) {
      const variable = bySqlName.get(m[1] ?? '');
      if (variable !== undefined) add(variable, file);
    }
  }
  return found;
}

const Writers = suite('every table has one writer');

Writers('each table is written only by the domain modules listed as its writers', () => {
  const found = writers();
  for (const [table, files] of found) {
    const allowed = (WRITERS[table] ?? []).map((w) => w.split(' ')[0]);
    for (const file of files) assert.ok(allowed.includes(file), `${file} writes ${table}; its writers are ${allowed.join(', ') || 'not listed'}`);
  }
});

Writers('every table of the schema has its writers listed, and each listed writer writes it', () => {
  const found = writers();
  for (const table of tables().keys()) assert.ok(WRITERS[table] !== undefined, `${table} has no writer listed`);
  for (const [table, listed] of Object.entries(WRITERS)) {
    for (const writer of listed) {
      const file = writer.split(' ')[0] ?? '';
      assert.ok(found.get(table)?.has(file), `${file} is listed as a writer of ${table} but does not write it`);
    }
  }
});

Writers('the scan sees writes at all: a write outside the domain would be caught', () => {
  const found = writers();
  assert.ok((found.get('devices')?.size ?? 0) >= 3);
  assert.ok(found.get('signInThrottles')?.has('domain/admins.ts'), 'SQL written out is read too');
});

Writers.run();

import { existsSync } from 'node:fs';
import { stdout } from 'node:process';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { BackupError, backupSqlite, restoreSqlite } from './db/backup.ts';
import { openDatabase, openDb } from './db/client.ts';
import { copySqliteToPostgres, maskUrl, TargetNotEmptyError } from './db/copy.ts';
import { ROLES, type Role } from './domain/access.ts';
import { createAdmin, listAdmins } from './domain/admins.ts';
import { recordAudit } from './domain/audit.ts';
import type { Actor, DomainDeps } from './domain/deps.ts';
import { listDevices } from './domain/devices.ts';
import { TenantCreateBody } from './domain/inputs.ts';
import { findDeviceByMac } from './domain/lookup.ts';
import { parseMac } from './domain/mac.ts';
import { listRedirectStates } from './domain/redirect.ts';
import { listOpenSessions } from './domain/sessions.ts';
import { deleteTenant } from './domain/tenantDeletion.ts';
import { createTenant, ensureDefaultTenant, findActiveTenantBySlug, listActiveTenants, tenantPhoneBaseUrl } from './domain/tenants.ts';
import { listUsers } from './domain/users.ts';
import { AppError } from './errors.ts';
import { createLogger } from './log.ts';
import { CREDENTIALED_PATH } from './provisioning/profile.ts';
import { createRedirects } from './redirect/registrations.ts';
import { readSecret } from './terminal.ts';
import { loadVendorAdapters } from './vendors/adapters.ts';
import { createModelCatalog } from './vendors/catalog.ts';

/** Exit codes scripts can rely on. */
const EXIT = { ok: 0, failed: 1, usage: 2, aborted: 130 } as const;

const USAGE = `usage: hotprov admin create <username> [--tenant <slug>] [--role provider|admin|helpdesk] [--password-stdin]
                                  (password typed at the prompt, piped in, or HOTPROV_NEW_ADMIN_PASSWORD;
                                  role: admin with --tenant, provider without)
       hotprov admin list
       hotprov tenant create <slug> --name "<name>"
       hotprov tenant list [--json]        slug, name, devices, users, seated desks
       hotprov tenant delete <slug> [--force]
                                  retires the tenant's devices (phones get their wipe file); refused
                                  while desks are seated unless --force; the default tenant is kept
       hotprov redirect sync              register every enrolled phone that is not yet
       hotprov redirect status [mac]      what hotprov knows, or what the service says of one MAC
       hotprov redirect register <mac>
       hotprov redirect deregister <mac>
       (\`hotprov rps …\` is the same: the command's earlier name)
       hotprov db copy --to postgres://user:pass@host/db
                                  copies every row of HOTPROV_DB (SQLite) into an empty PostgreSQL
                                  database, all or nothing; refused when the target has any rows
       hotprov backup <file>              a consistent copy of the SQLite database (HOTPROV_DB), also while
                                  hotprov runs; on PostgreSQL use pg_dump
       hotprov restore <file>             puts a backup in place of HOTPROV_DB (hotprov stopped); the previous
                                  file is kept beside it as <db>.before-restore-<time>`;

/** A progress bar on standard error: redrawn in place at a terminal, a line every 10 % otherwise. */
function progressBar(label: string) {
  let lastDecile = -1;
  return (done: number, total: number) => {
    const share = total === 0 ? 1 : done / total;
    if (process.stderr.isTTY) {
      const width = 30;
      const filled = Math.round(share * width);
      process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
      if (done === total) process.stderr.write('\n');
    } else if (Math.floor(share * 10) > lastDecile || done === total) {
      lastDecile = Math.floor(share * 10);
      process.stderr.write(`${label} ${done}/${total} (${Math.round(share * 100)}%)\n`);
    }
  };
}

/** `hotprov redirect …`: the phones' registrations at their vendor's redirect service. */
async function redirect(config: Config, verb: string | undefined, mac: string | undefined): Promise<number> {
  if (
    verb === undefined ||
    !['sync', 'status', 'register', 'deregister'].includes(verb) ||
    ((verb === 'register' || verb === 'deregister') && mac === undefined)
  ) {
    process.stderr.write(`${USAGE}\n`);
    return EXIT.usage;
  }
  const log = createLogger('warn', () => {});
  const { db, close } = await openDatabase(config);
  const redirects = createRedirects({
    db,
    log,
    now: () => new Date(),
    phoneBaseUrlOf: (t) => tenantPhoneBaseUrl(t, config),
    credentialedPath: CREDENTIALED_PATH,
  });
  try {
    if (verb === 'sync') {
      const bar = progressBar('registering');
      const results = await redirects.syncAll((done, total) => bar(done, total));
      const count = (status: string) => results.filter((r) => r?.status === status).length;
      const skipped = results.filter((r) => r === null).length;
      stdout.write(
        `registered ${count('registered')}, failed ${count('error')}, owned by another account ${count('registered_elsewhere')}, no service set up ${skipped}\n`,
      );
      return count('error') + count('registered_elsewhere') === 0 ? EXIT.ok : EXIT.failed;
    }
    if (verb === 'status' && mac === undefined) {
      const rows = await listRedirectStates(db);
      for (const d of rows) stdout.write(`${d.mac}\t${d.idleAccount}\t${d.vendor}\t${d.redirectStatus}\t${d.redirectMessage ?? ''}\n`);
      return rows.some((d) => d.redirectStatus === 'error' || d.redirectStatus === 'registered_elsewhere') ? EXIT.failed : EXIT.ok;
    }
    const parsed = parseMac(mac ?? '');
    const device = parsed === null ? undefined : await findDeviceByMac(db, parsed);
    if (device === undefined || device.retiredAt !== null) {
      process.stderr.write(`hotprov: ${mac} is not enrolled\n`);
      return EXIT.failed;
    }
    const result =
      verb === 'register' ? await redirects.register(device) : verb === 'deregister' ? await redirects.deregister(device) : await redirects.check(device);
    await redirects.settled();
    if (result === null) {
      process.stderr.write(`hotprov: no ${device.vendor} redirect service is set up\n`);
      return EXIT.failed;
    }
    stdout.write(`${device.mac}\t${result.status}\t${result.message}\n`);
    return result.status === 'error' || result.status === 'registered_elsewhere' ? EXIT.failed : EXIT.ok;
  } finally {
    await close();
  }
}

/** Who the command line's changes are audited as. */
const CLI: Actor = { name: 'cli' };

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  name: { type: 'string' },
  json: { type: 'boolean' },
  force: { type: 'boolean' },
  tenant: { type: 'string' },
  role: { type: 'string' },
  'password-stdin': { type: 'boolean' },
  to: { type: 'string' },
} as const;

type Options = { -readonly [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

/** A refusal of the command as typed (exit 2), with what to type instead. */
function usageError(message: string): number {
  process.stderr.write(`hotprov: ${message}\n`);
  return EXIT.usage;
}

/**
 * Domain dependencies for the command line: it renders no file and sends no NOTIFY (a running server does both for
 * its own changes only; the phones' files are rendered from the database when they fetch).
 */
function cliDeps(db: DomainDeps['db'], deviceLifecycle?: DomainDeps['deviceLifecycle']): DomainDeps {
  return {
    db,
    now: () => new Date(),
    catalog: createModelCatalog(loadVendorAdapters().map((a) => a.profile)),
    profilesChanged: async () => [],
    ...(deviceLifecycle === undefined ? {} : { deviceLifecycle }),
  };
}

/** `hotprov tenant …`: the provider's tenants, by the same domain functions (and rules) as the API's. */
async function tenant(config: Config, verb: string | undefined, slug: string | undefined, options: Options): Promise<number> {
  if (verb === undefined || !['create', 'list', 'delete'].includes(verb) || (verb !== 'list' && slug === undefined)) {
    process.stderr.write(`${USAGE}\n`);
    return EXIT.usage;
  }
  if (verb === 'create') {
    if (options.name === undefined) return usageError('--name: give the tenant\'s name (hotprov tenant create <slug> --name "<name>")');
    const input = TenantCreateBody.safeParse({ slug, name: options.name ?? '' });
    if (!input.success) {
      const issue = input.error.issues[0];
      return usageError(
        `${issue?.path.join('.') === 'name' ? '--name' : 'slug'}: ${issue?.message ?? 'invalid'} (hotprov tenant create <slug> --name "<name>")`,
      );
    }
  }
  const { db, close } = await openDatabase(config);
  try {
    await ensureDefaultTenant(db);
    if (verb === 'list') {
      const rows = [];
      for (const t of await listActiveTenants(db)) {
        rows.push({
          slug: t.slug,
          name: t.name,
          devices: (await listDevices(db, t.id)).length,
          users: (await listUsers(db, t.id)).length,
          seated: (await listOpenSessions(db, t.id)).length,
        });
      }
      if (options.json === true) stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else {
        stdout.write('slug\tname\tdevices\tusers\tseated\n');
        for (const r of rows) stdout.write(`${r.slug}\t${r.name}\t${r.devices}\t${r.users}\t${r.seated}\n`);
      }
      return EXIT.ok;
    }
    if (verb === 'create') {
      const row = await createTenant(cliDeps(db), CLI, { slug: slug ?? '', name: options.name ?? '' });
      stdout.write(`created tenant ${row.slug} (${row.name})\n`);
      return EXIT.ok;
    }
    const target = await findActiveTenantBySlug(db, slug ?? '');
    if (target === undefined) {
      process.stderr.write(`hotprov: no tenant ${slug} (\`hotprov tenant list\` shows them)\n`);
      return EXIT.failed;
    }
    // Each retired phone is taken off its redirect service, as a deletion over the API does.
    const redirects = createRedirects({
      db,
      log: createLogger('warn', () => {}),
      now: () => new Date(),
      phoneBaseUrlOf: (t) => tenantPhoneBaseUrl(t, config),
      credentialedPath: CREDENTIALED_PATH,
    });
    const devices = (await listDevices(db, target.id)).length;
    try {
      await deleteTenant(
        cliDeps(db, (event) => redirects.onLifecycle(event)),
        CLI,
        target.id,
        { force: options.force === true },
      );
    } catch (err) {
      if (err instanceof AppError && err.code === 'tenant_in_use') {
        const seated = (err.details as { seated?: number } | undefined)?.seated ?? 0;
        process.stderr.write(`hotprov: ${seated} ${seated === 1 ? 'desk is' : 'desks are'} seated in ${target.slug}; log them out first, or give --force\n`);
        return EXIT.failed;
      }
      throw err;
    } finally {
      await redirects.settled();
    }
    stdout.write(`deleted tenant ${target.slug}: ${devices} ${devices === 1 ? 'device' : 'devices'} retired\n`);
    // This process sends no NOTIFY; a running server notices the change (data_version) and serves the wipe files.
    if (devices > 0)
      process.stderr.write(
        `hotprov: the phones get their wipe file at their next fetch (a running hotprov notices within a second); no NOTIFY is sent from here, while deleting over the API or in the console re-syncs them at once\n`,
      );
    return EXIT.ok;
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    process.stderr.write(`hotprov: ${err.message}\n`);
    return EXIT.failed;
  } finally {
    await close();
  }
}

/** Reads standard input to its end: a password a script pipes in (`--password-stdin`), its final newline dropped. */
async function readAllStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  return text.replace(/\r?\n$/, '');
}

/** `hotprov admin …`: console accounts; a provider, or an admin or helpdesk of one tenant. */
async function admin(config: Config, verb: string | undefined, name: string | undefined, options: Options): Promise<number> {
  if ((verb !== 'create' && verb !== 'list') || (verb === 'create' && name === undefined)) {
    process.stderr.write(`${USAGE}\n`);
    return EXIT.usage;
  }
  const role = (options.role ?? (options.tenant === undefined ? 'provider' : 'admin')) as Role;
  if (verb === 'create') {
    if (!(ROLES as readonly string[]).includes(role)) return usageError(`--role ${role}: use one of ${ROLES.join(', ')}`);
    if (role === 'provider' && options.tenant !== undefined)
      return usageError('a provider belongs to no tenant: leave out --tenant, or give --role admin or helpdesk');
    if (role !== 'provider' && options.tenant === undefined)
      return usageError(`${role === 'admin' ? 'an admin' : 'a helpdesk'} belongs to one tenant: give --tenant <slug>`);
  }
  const { db, close } = await openDatabase(config);
  try {
    const defaultTenant = await ensureDefaultTenant(db);
    if (verb === 'list') {
      for (const a of await listAdmins(db)) stdout.write(`${a.username}\n`);
      return EXIT.ok;
    }
    const tenantRow = options.tenant === undefined ? null : await findActiveTenantBySlug(db, options.tenant);
    if (tenantRow === undefined) {
      process.stderr.write(`hotprov: no tenant ${options.tenant} (\`hotprov tenant list\` shows them)\n`);
      return EXIT.failed;
    }
    const password =
      options['password-stdin'] === true ? await readAllStdin() : (process.env.HOTPROV_NEW_ADMIN_PASSWORD ?? (await readSecret(`password for ${name}: `)));
    if (password === null) {
      process.stderr.write('hotprov: aborted, nothing created\n');
      return EXIT.aborted;
    }
    const now = new Date();
    const created = await createAdmin(db, now, name ?? '', password, { role, tenantId: tenantRow?.id ?? null });
    // A provider's account is audited where a provider acts by default: the default tenant.
    await recordAudit(db, tenantRow?.id ?? defaultTenant.id, now, CLI, { action: 'admin.created', detail: { username: created.username, role: created.role } });
    stdout.write(`created console user ${created.username} (${created.role}${tenantRow === null ? '' : ` of ${tenantRow.slug}`})\n`);
    return EXIT.ok;
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    process.stderr.write(`hotprov: ${err.message}\n`);
    return EXIT.failed;
  } finally {
    await close();
  }
}

/** `hotprov db copy --to postgres://…`: the data move from SQLite to PostgreSQL (issue 16). */
async function dbCommand(config: Config, verb: string | undefined, options: Options): Promise<number> {
  if (verb !== 'copy') {
    process.stderr.write(`${USAGE}\n`);
    return EXIT.usage;
  }
  const to = options.to;
  if (to === undefined || !/^postgres(ql)?:\/\//i.test(to)) return usageError('--to: give the PostgreSQL database as postgres://user:pass@host/db');
  const shown = maskUrl(to);
  // openDb would create an empty database at a mistyped path, and the copy would "succeed" with nothing in it.
  if (config.dbEngine !== 'sqlite') {
    process.stderr.write('hotprov: db copy copies a SQLite database (HOTPROV_DB) to PostgreSQL; HOTPROV_DB is already PostgreSQL\n');
    return EXIT.failed;
  }
  if (config.dbPath === ':memory:' || !existsSync(config.dbPath)) {
    process.stderr.write(`hotprov: no SQLite database at ${config.dbPath} (HOTPROV_DB) to copy from\n`);
    return EXIT.failed;
  }
  const source = openDb(config.dbPath);
  const pool = new pg.Pool({ connectionString: to, max: 2 });
  // A connection dropped while idle in the pool would otherwise crash the process.
  pool.on('error', () => {});
  try {
    const bars = new Map<string, (done: number, total: number) => void>();
    const copied = await copySqliteToPostgres(source, pool, {
      progress: (table, done, total) => {
        let bar = bars.get(table);
        if (bar === undefined) {
          bar = progressBar(table);
          bars.set(table, bar);
        }
        bar(done, total);
      },
    });
    const rows = copied.reduce((sum, t) => sum + t.target, 0);
    stdout.write('table\tsqlite\tpostgres\n');
    for (const t of copied) stdout.write(`${t.table}\t${t.source}\t${t.target}\n`);
    stdout.write(`copied ${rows} rows in ${copied.length} tables from ${config.dbPath} to ${shown}; row counts match\n`);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof TargetNotEmptyError) {
      process.stderr.write(`hotprov: ${shown}: ${err.message}; nothing copied\n`);
      return EXIT.failed;
    }
    // pg's messages do not carry the password, but the URL may appear in them: mask it anyway.
    const message = ((err as Error).message ?? String(err)).split(to).join(shown);
    process.stderr.write(`hotprov: copy to ${shown} failed, nothing copied (rolled back): ${message}\n`);
    return EXIT.failed;
  } finally {
    await pool.end();
    source.close();
  }
}

/** What to say on PostgreSQL, where hotprov does not copy the database itself. */
const POSTGRES_BACKUPS =
  'HOTPROV_DB is PostgreSQL: back it up with pg_dump (pg_dump -Fc -f hotprov.dump <url>) and restore with pg_restore (pg_restore --clean --if-exists -d <url> hotprov.dump); see docs/scale-out.md';

/** `hotprov backup <file>` and `hotprov restore <file>`: the SQLite database, copied consistently while it is in use. */
async function backupCommand(config: Config, verb: 'backup' | 'restore', file: string | undefined): Promise<number> {
  if (file === undefined) return usageError(`hotprov ${verb} <file>: give the backup file`);
  if (config.dbEngine !== 'sqlite') {
    process.stderr.write(`hotprov: ${POSTGRES_BACKUPS}\n`);
    return EXIT.failed;
  }
  if (config.dbPath === ':memory:') return usageError('HOTPROV_DB is :memory:: there is no file to back up or restore');
  try {
    if (verb === 'backup') {
      const { bytes } = await backupSqlite(config.dbPath, file, progressBar('backing up (pages)'));
      stdout.write(`backed up ${config.dbPath} to ${file} (${bytes} bytes); checked: a hotprov database SQLite finds intact\n`);
      return EXIT.ok;
    }
    const restored = await restoreSqlite(file, config.dbPath, progressBar('restoring (pages)'));
    const pending = restored.migrationsOfThisRelease - restored.migrations;
    stdout.write(
      `restored ${file} to ${config.dbPath}${restored.previous === null ? '' : `; the previous database is kept at ${restored.previous}`}\n` +
        (pending > 0 ? `the backup is of an older release: ${pending} migration(s) run when hotprov starts\n` : ''),
    );
    return EXIT.ok;
  } catch (err) {
    if (!(err instanceof BackupError)) throw err;
    process.stderr.write(`hotprov: ${err.message}\n`);
    return EXIT.failed;
  }
}

async function main(args: readonly string[]): Promise<number> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`hotprov: ${err.message}\n`);
      return EXIT.usage;
    }
    throw err;
  }
  let positionals: string[];
  let options: Options;
  try {
    const parsed = parseArgs({ args: [...args], options: OPTIONS, allowPositionals: true });
    if (parsed.values.help === true) {
      stdout.write(`${USAGE}\n`);
      return EXIT.ok;
    }
    positionals = parsed.positionals;
    options = parsed.values;
  } catch (err) {
    process.stderr.write(`hotprov: ${(err as Error).message}\n${USAGE}\n`);
    return EXIT.usage;
  }
  const [area, verb, name] = positionals;
  // `rps` was the command's first name (after Yealink's service); scripts written for it keep working.
  if (area === 'redirect' || area === 'rps') return redirect(config, verb, name);
  if (area === 'tenant') return tenant(config, verb, name, options);
  if (area === 'admin') return admin(config, verb, name, options);
  if (area === 'db') return dbCommand(config, verb, options);
  // `hotprov backup <file>`: the file is the verb's place.
  if (area === 'backup' || area === 'restore') return backupCommand(config, area, verb);
  process.stderr.write(`${USAGE}\n`);
  return EXIT.usage;
}

process.exitCode = await main(process.argv.slice(2));

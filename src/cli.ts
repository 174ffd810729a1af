import { stdout } from 'node:process';
import { parseArgs } from 'node:util';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { openDb } from './db/client.ts';
import { createAdmin, listAdmins } from './domain/admins.ts';
import { findDeviceByMac } from './domain/lookup.ts';
import { parseMac } from './domain/mac.ts';
import { listRedirectStates } from './domain/redirect.ts';
import { AppError } from './errors.ts';
import { createLogger } from './log.ts';
import { CREDENTIALED_PATH } from './provisioning/profile.ts';
import { createRedirects } from './redirect/registrations.ts';
import { readSecret } from './terminal.ts';

/** Exit codes scripts can rely on. */
const EXIT = { ok: 0, failed: 1, usage: 2, aborted: 130 } as const;

const USAGE = `usage: hotprov admin create <username>   (password from HOTPROV_NEW_ADMIN_PASSWORD or standard input)
       hotprov admin list
       hotprov redirect sync              register every enrolled phone that is not yet
       hotprov redirect status [mac]      what hotprov knows, or what the service says of one MAC
       hotprov redirect register <mac>
       hotprov redirect deregister <mac>
       (\`hotprov rps …\` is the same: the command's earlier name)`;

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
  const { db, close } = openDb(config.dbPath);
  const redirects = createRedirects({ db, log, now: () => new Date(), baseUrl: config.phoneBaseUrl, phoneUrl: `${config.phoneBaseUrl}${CREDENTIALED_PATH}` });
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
      const rows = listRedirectStates(db);
      for (const d of rows) stdout.write(`${d.mac}\t${d.idleAccount}\t${d.vendor}\t${d.redirectStatus}\t${d.redirectMessage ?? ''}\n`);
      return rows.some((d) => d.redirectStatus === 'error' || d.redirectStatus === 'registered_elsewhere') ? EXIT.failed : EXIT.ok;
    }
    const parsed = parseMac(mac ?? '');
    const device = parsed === null ? undefined : findDeviceByMac(db, parsed);
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
    close();
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
  try {
    const parsed = parseArgs({ args: [...args], options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
    if (parsed.values.help === true) {
      stdout.write(`${USAGE}\n`);
      return EXIT.ok;
    }
    positionals = parsed.positionals;
  } catch (err) {
    process.stderr.write(`hotprov: ${(err as Error).message}\n${USAGE}\n`);
    return EXIT.usage;
  }
  const [area, verb, name] = positionals;
  // `rps` was the command's first name (after Yealink's service); scripts written for it keep working.
  if (area === 'redirect' || area === 'rps') return redirect(config, verb, name);
  if (area !== 'admin' || (verb !== 'create' && verb !== 'list') || (verb === 'create' && name === undefined)) {
    process.stderr.write(`${USAGE}\n`);
    return EXIT.usage;
  }
  const { db, close } = openDb(config.dbPath);
  try {
    if (verb === 'list') {
      for (const a of listAdmins(db)) stdout.write(`${a.username}\n`);
      return EXIT.ok;
    }
    const password = process.env.HOTPROV_NEW_ADMIN_PASSWORD ?? (await readSecret(`password for ${name}: `));
    if (password === null) {
      process.stderr.write('hotprov: aborted, nothing created\n');
      return EXIT.aborted;
    }
    const admin = await createAdmin(db, new Date(), name ?? '', password);
    stdout.write(`created console user ${admin.username}\n`);
    return EXIT.ok;
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    process.stderr.write(`hotprov: ${err.message}\n`);
    return EXIT.failed;
  } finally {
    close();
  }
}

process.exitCode = await main(process.argv.slice(2));

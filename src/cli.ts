import { stdin, stdout } from 'node:process';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { openDb } from './db/client.ts';
import { createAdmin, listAdmins } from './domain/admins.ts';
import { AppError } from './errors.ts';

/** Exit codes scripts can rely on. */
const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

const USAGE = `usage: hotprov admin create <username>   (password from HOTPROV_NEW_ADMIN_PASSWORD or standard input)
       hotprov admin list`;

/** Reads one line: the password, typed at a terminal (not echoed) or piped in. */
async function readSecret(prompt: string): Promise<string> {
  if (stdin.isTTY) stdout.write(prompt);
  if (stdin.isTTY) stdin.setRawMode(true);
  let text = '';
  for await (const chunk of stdin) {
    text += String(chunk);
    if (/[\r\n\u0004]/.test(text)) break;
  }
  if (stdin.isTTY) {
    stdin.setRawMode(false);
    stdout.write('\n');
  }
  stdin.pause();
  return text.split(/[\r\n\u0004]/)[0] ?? '';
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
  const [area, verb, name] = args;
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

import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freeTcpPort } from './sipp.ts';

/**
 * A throwaway PostgreSQL cluster for tests (issue 16): initdb in a temporary directory, listening on 127.0.0.1 and a
 * socket in that directory only, as an unprivileged user when the tests run as root (postgres refuses root).
 * One cluster per test file (a few seconds to start); each suite takes its own database from it.
 */
export interface PgCluster {
  readonly port: number;
  /** A new, empty database with a random name; returns its connection URL. */
  createDatabase(): Promise<string>;
  /** Stops the cluster and removes its directory. */
  stop(): void;
}

/** Debian's binaries (/usr/lib/postgresql/<version>/bin), the newest version installed. */
export function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (newest === undefined) throw new Error("PostgreSQL is not installed: run test/tools/prepare.sh (it installs Debian's postgresql)");
  return join(root, newest, 'bin');
}

/** The user postgres runs as: ourselves, or `nobody` when we are root. */
function runAs(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('nobody:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) throw new Error('no user nobody to run postgres as');
  return { uid: Number(uid), gid: Number(gid) };
}

export async function startPostgres(): Promise<PgCluster> {
  const bin = postgresBin();
  const user = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'hotprov-pg-'));
  if (user !== null) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const as = user === null ? {} : { uid: user.uid, gid: user.gid };
  const env = { ...process.env, LC_ALL: 'C', HOME: dir };
  const pgCtl = (args: string[]) => spawnSync(join(bin, 'pg_ctl'), ['-D', data, ...args], { ...as, env, stdio: 'ignore' });

  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', stop);
    pgCtl(['stop', '-m', 'immediate', '-w']);
    rmSync(dir, { recursive: true, force: true });
  };
  // Also when a test throws or the runner exits early: no postgres outlives the test process.
  process.on('exit', stop);

  try {
    execFileSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync'], {
      ...as,
      env,
      stdio: 'pipe',
    });
    const port = await freeTcpPort();
    // Loopback and the temporary socket directory only; durability off, the data is thrown away.
    const options = `-k ${dir} -h 127.0.0.1 -p ${port} -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
    const started = pgCtl(['start', '-w', '-t', '60', '-l', join(dir, 'log'), '-o', options]);
    if (started.status !== 0) {
      const log = existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8') : '';
      throw new Error(`pg_ctl start failed (${started.status}): ${log}`);
    }
    const admin = `postgres://postgres@127.0.0.1:${port}`;
    return {
      port,
      async createDatabase() {
        const name = `hotprov_${randomBytes(6).toString('hex')}`;
        const client = new pg.Client({ connectionString: `${admin}/postgres` });
        await client.connect();
        try {
          await client.query(`CREATE DATABASE ${name}`);
        } finally {
          await client.end();
        }
        return `${admin}/${name}`;
      },
      stop,
    };
  } catch (err) {
    stop();
    throw err;
  }
}

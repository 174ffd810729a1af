import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { migratePostgres } from '../../src/db/postgres.ts';
import { freeTcpPort } from './sipp.ts';

/**
 * A throwaway PostgreSQL cluster for tests (issue 16): initdb in a temporary directory, listening on 127.0.0.1 and a
 * socket in that directory only, as an unprivileged user when the tests run as root (postgres refuses root).
 * `startPostgres()` starts a cluster of the caller's own (a few seconds); `freshPostgresDatabase()` takes a new,
 * already migrated database from the one cluster shared by the whole test process, in milliseconds.
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

/** The cluster the whole test process shares: started on first use, stopped when the process exits. */
let shared: Promise<PgCluster> | undefined;

/** The test process's one shared cluster (started on first use; `startPostgres` stops it at exit). */
export function sharedPostgres(): Promise<PgCluster> {
  shared ??= startPostgres().catch((err: unknown) => {
    shared = undefined;
    throw err;
  });
  return shared;
}

/** A database of its own for a test, already migrated; `close()` drops it. */
export interface FreshPostgresDatabase {
  readonly url: string;
  /** Drops the database. End every pool and client on it first (DROP DATABASE waits a few seconds for them, then fails). */
  close(): Promise<void>;
}

/** The migrated template every fresh database is copied from, made once per process in the shared cluster. */
const TEMPLATE = 'hotprov_migrated_template';

interface SharedAdmin {
  readonly cluster: PgCluster;
  /** Connections to the cluster's `postgres` database for CREATE and DROP DATABASE; idle ones do not hold the process open. */
  readonly admin: pg.Pool;
}

let sharedAdmin: Promise<SharedAdmin> | undefined;

async function prepareTemplate(): Promise<SharedAdmin> {
  const cluster = await sharedPostgres();
  const base = `postgres://postgres@127.0.0.1:${cluster.port}`;
  const admin = new pg.Pool({ connectionString: `${base}/postgres`, max: 4, allowExitOnIdle: true });
  await admin.query(`CREATE DATABASE ${TEMPLATE}`);
  const pool = new pg.Pool({ connectionString: `${base}/${TEMPLATE}`, max: 1 });
  try {
    await migratePostgres(pool);
  } finally {
    await pool.end();
  }
  // A template is copied only while nobody is connected to it: refuse connections from now on.
  await admin.query(`ALTER DATABASE ${TEMPLATE} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
  return { cluster, admin };
}

/**
 * A new database with every migration applied, for one test file or one test: a copy of a template migrated once per
 * process (`CREATE DATABASE … TEMPLATE`), in the cluster the whole test process shares.
 */
export async function freshPostgresDatabase(): Promise<FreshPostgresDatabase> {
  sharedAdmin ??= prepareTemplate().catch((err: unknown) => {
    sharedAdmin = undefined;
    throw err;
  });
  const { cluster, admin } = await sharedAdmin;
  const name = `hotprov_${randomBytes(6).toString('hex')}`;
  // WAL_LOG, PostgreSQL 15's default, named so no other default slows it: FILE_COPY checkpoints, ten times slower here.
  await admin.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE} STRATEGY WAL_LOG`);
  let dropped = false;
  return {
    url: `postgres://postgres@127.0.0.1:${cluster.port}/${name}`,
    async close() {
      if (dropped) return;
      dropped = true;
      await admin.query(`DROP DATABASE ${name}`);
    },
  };
}

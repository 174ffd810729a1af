import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type Leadership, startLeadership } from '../../src/db/leader.ts';
import { createLogger } from '../../src/log.ts';
import { Events, until } from '../helpers/events.ts';
import type { LogEntry } from '../helpers/logs.ts';
import { type FreshPostgresDatabase, freshPostgresDatabase } from '../helpers/postgres.ts';

/**
 * src/db/leader.ts over a real PostgreSQL: of the nodes on one database exactly one runs the scheduled work, by an
 * advisory lock; when the leader's connection dies another takes over, and stop() hands over at once.
 */

const KEY = 0x686f7470726f764cn;
const RETRY_MS = 50;

interface Contender {
  readonly name: string;
  readonly leadership: Leadership;
  /** 'gain' and 'lose', in the order the node was told. */
  readonly changes: Events<'gain' | 'lose'>;
  readonly log: Events<LogEntry>;
}

interface Context {
  db: FreshPostgresDatabase;
  pool: pg.Pool;
  contenders: Contender[];
  /** Every gain, by contender name, across all of them. */
  gains: Events<string>;
}

const Leader = suite<Context>('db/leader: one node runs the scheduled work (advisory lock)', {} as Context);

Leader.before.each(async (ctx) => {
  ctx.db = await freshPostgresDatabase();
  ctx.pool = new pg.Pool({ connectionString: ctx.db.url, max: 2 });
  ctx.contenders = [];
  ctx.gains = new Events<string>();
});

Leader.after.each(async (ctx) => {
  await Promise.all(ctx.contenders.map((c) => c.leadership.stop()));
  await ctx.pool.end();
  await ctx.db.close();
});

/** A node contending for KEY; its lock's connection is named `name` in pg_stat_activity. */
async function contend(ctx: Context, name: string, options: { checkTimeoutMs?: number; reachable?: () => boolean } = {}): Promise<Contender> {
  const { checkTimeoutMs, reachable = () => true } = options;
  const changes = new Events<'gain' | 'lose'>();
  const log = new Events<LogEntry>();
  const leadership = await startLeadership({
    connect: async () => {
      if (!reachable()) throw new Error(`${name} cannot reach the database`);
      const client = new pg.Client({ connectionString: ctx.db.url, application_name: name });
      await client.connect();
      return client;
    },
    key: KEY,
    retryMs: RETRY_MS,
    ...(checkTimeoutMs === undefined ? {} : { checkTimeoutMs }),
    log: createLogger('debug', (line) => log.push(JSON.parse(line) as LogEntry)),
    onGain: () => {
      changes.push('gain');
      ctx.gains.push(name);
    },
    onLose: () => changes.push('lose'),
  });
  const contender = { name, leadership, changes, log };
  ctx.contenders.push(contender);
  return contender;
}

/** The names of the connections holding an advisory lock in this test's database. */
async function lockHolders(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>(
    `SELECT a.application_name AS name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  );
  return rows.map((r) => r.name).sort();
}

const leaders = (ctx: Context) => ctx.contenders.filter((c) => c.leadership.isLeader()).map((c) => c.name);

Leader('of three nodes exactly one is the leader, and it holds the lock', async (ctx) => {
  const first = await contend(ctx, 'node-1');
  await contend(ctx, 'node-2');
  await contend(ctx, 'node-3');
  assert.equal(leaders(ctx), ['node-1'], 'the first to try wins');
  assert.equal(first.changes.seen, ['gain']);
  assert.equal(await lockHolders(ctx.pool), ['node-1']);
  assert.equal(ctx.gains.seen, ['node-1']);
});

Leader('the leader’s connection killed: it stops at once, and another node takes over', async (ctx) => {
  // node-1 is cut off from the database once its connection is killed, as a node that died would be (otherwise it
  // might win the lock back itself, which is as correct, but is not what this test is about).
  let cutOff = false;
  const old = await contend(ctx, 'node-1', { reachable: () => !cutOff });
  await contend(ctx, 'node-2');
  await contend(ctx, 'node-3');
  cutOff = true;
  await ctx.pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'node-1'`);
  await old.changes.next('node-1 told it lost', (c) => c === 'lose');
  assert.not.ok(old.leadership.isLeader());
  const successor = await ctx.gains.next('a new leader', (name) => name !== 'node-1');
  assert.equal(leaders(ctx), [successor]);
  assert.equal(await lockHolders(ctx.pool), [successor]);

  // node-1 comes back as a contender, not as a second leader.
  await old.log.next('node-1 failing to reconnect', (l) => /cannot reach/.test(String(l.err)));
  cutOff = false;
  await until('node-1 tried again on a new connection', async () => (await triedLock(ctx.pool, 'node-1')) > 0);
  assert.equal(old.changes.seen, ['gain', 'lose']);
  assert.equal(leaders(ctx), [successor]);
  assert.equal(await lockHolders(ctx.pool), [successor]);
});

Leader('a leader whose connection goes silent gives leadership up, before the database frees the lock', async (ctx) => {
  const old = await contend(ctx, 'node-1', { checkTimeoutMs: 300 });
  await contend(ctx, 'node-2');
  const { rows } = await ctx.pool.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = 'node-1'`);
  const pid = rows[0]?.pid;
  if (pid === undefined) throw new Error('no connection of node-1');
  // The server process of node-1's session freezes: its connection is open but answers nothing (as in a network cut).
  process.kill(pid, 'SIGSTOP');
  try {
    await old.changes.next('node-1 gives up', (c) => c === 'lose');
    assert.ok(old.log.seen.some((l) => /lost the lock/.test(l.msg) && /no answer within 300 ms/.test(String(l.err))));
    assert.equal(leaders(ctx), [], 'no second leader while the frozen session still holds the lock');
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  // The session notices its client went away and ends: the lock is free, node-2 takes it.
  assert.is(await ctx.gains.next('node-2 takes over', (name) => name === 'node-2'), 'node-2');
  assert.equal(await lockHolders(ctx.pool), ['node-2']);
});

Leader('stop() hands the lock over at once', async (ctx) => {
  const first = await contend(ctx, 'node-1');
  await contend(ctx, 'node-2');
  await first.leadership.stop();
  assert.equal(first.changes.seen, ['gain', 'lose'], 'told before the lock went');
  assert.not.ok(first.leadership.isLeader());
  assert.equal(await lockHolders(ctx.pool), [], 'released when stop() resolves');
  assert.is(await connections(ctx.pool, 'node-1'), 0, 'its connection closed');
  assert.is(await ctx.gains.next('node-2 takes over', (name) => name === 'node-2'), 'node-2');
  assert.equal(await lockHolders(ctx.pool), ['node-2']);
});

Leader('a node that is not the leader stops without ever being told it lost', async (ctx) => {
  await contend(ctx, 'node-1');
  const second = await contend(ctx, 'node-2');
  await second.leadership.stop();
  assert.equal(second.changes.seen, []);
  assert.is(await connections(ctx.pool, 'node-2'), 0);
  assert.equal(leaders(ctx), ['node-1']);
});

Leader('50 nodes started together: exactly one leader', async (ctx) => {
  await Promise.all(Array.from({ length: 50 }, (_, i) => contend(ctx, `node-${i + 1}`)));
  const [only, ...others] = leaders(ctx);
  assert.ok(only !== undefined, 'one leader');
  assert.equal(others, []);
  assert.equal(ctx.gains.seen, [only]);
  assert.equal(await lockHolders(ctx.pool), [only]);
});

/** Connections named `name` whose last statement was the try for the lock, and finished. */
async function triedLock(pool: pg.Pool, name: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND state = 'idle' AND query LIKE '%pg_try_advisory_lock%'`,
    [name],
  );
  return rows[0]?.n ?? -1;
}

async function connections(pool: pg.Pool, name: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [name]);
  return rows[0]?.n ?? -1;
}

Leader.run();

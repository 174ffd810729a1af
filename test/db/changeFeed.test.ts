import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CHANGE_CHANNEL, type ChangeFeed, type ChangeNotice, createChangeFeed, MAX_PAYLOAD_BYTES, noticePayloads } from '../../src/db/changeFeed.ts';
import { createLogger } from '../../src/log.ts';
import { Events } from '../helpers/events.ts';
import type { LogEntry } from '../helpers/logs.ts';
import { type FreshPostgresDatabase, freshPostgresDatabase, postgresBin } from '../helpers/postgres.ts';

/**
 * src/db/changeFeed.ts over a real PostgreSQL: nodes on one database hear each other's changes (LISTEN/NOTIFY on
 * hotprov_changes), never their own, long device lists whole, and a node that lost its listening connection
 * listens again and is told to drop its caches.
 */

interface Node {
  readonly feed: ChangeFeed;
  readonly notices: Events<ChangeNotice>;
  readonly gaps: Events<number>;
  /** 'lost' and 'gap' as the feed told them, in order. */
  readonly told: string[];
  readonly log: Events<LogEntry>;
  /** Times the feed opened a listening connection. */
  connections: number;
}

interface Context {
  db: FreshPostgresDatabase;
  pool: pg.Pool;
  nodes: Node[];
}

const Feed = suite<Context>('db/change feed between nodes (LISTEN/NOTIFY)', {} as Context);

Feed.before.each(async (ctx) => {
  ctx.db = await freshPostgresDatabase();
  ctx.pool = new pg.Pool({ connectionString: ctx.db.url, max: 4 });
  ctx.nodes = [];
});

Feed.after.each(async (ctx) => {
  await Promise.all(ctx.nodes.map((n) => n.feed.close()));
  await ctx.pool.end();
  await ctx.db.close();
});

/** A node's feed; its listening connection is named `name` in pg_stat_activity. */
async function startNode(ctx: Context, name: string, backoff = { firstMs: 20, maxMs: 200 }, check = { everyMs: 10_000, timeoutMs: 5000 }): Promise<Node> {
  const log = new Events<LogEntry>();
  const notices = new Events<ChangeNotice>();
  const gaps = new Events<number>();
  const told: string[] = [];
  const node = { notices, gaps, told, log, connections: 0 } as Omit<Node, 'feed'> & { feed?: ChangeFeed };
  node.feed = await createChangeFeed({
    pool: ctx.pool,
    listenOn: {
      connect: async () => {
        const client = new pg.Client({ connectionString: ctx.db.url, application_name: name });
        await client.connect();
        node.connections++;
        return client;
      },
    },
    nodeId: name,
    log: createLogger('debug', (line) => log.push(JSON.parse(line) as LogEntry)),
    onNotice: (notice) => notices.push(notice),
    onLost: () => told.push('lost'),
    onGap: () => {
      told.push('gap');
      gaps.push(gaps.seen.length + 1);
    },
    backoff,
    check,
  });
  ctx.nodes.push(node as Node);
  return node as Node;
}

async function listeningConnections(pool: pg.Pool, name: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [name]);
  return rows[0]?.n ?? -1;
}

Feed('two nodes hear each other’s notices and never their own', async (ctx) => {
  const a = await startNode(ctx, 'node-a');
  const b = await startNode(ctx, 'node-b');
  await a.feed.publish({ kind: 'devices', deviceIds: [7, 8] });
  assert.equal(await b.notices.next('A’s notice at B'), { kind: 'devices', deviceIds: [7, 8] });
  await b.feed.publish({ kind: 'tenant', tenantId: 1 });
  await b.feed.publish({ kind: 'served', deviceId: 7, etag: '"3f2a"' });
  await a.notices.next('B’s second notice at A', (n) => n.kind === 'served');
  // Notices arrive in commit order: had A heard its own, it would be first in A's list.
  assert.equal(a.notices.seen, [
    { kind: 'tenant', tenantId: 1 },
    { kind: 'served', deviceId: 7, etag: '"3f2a"' },
  ]);
  await a.feed.publish({ kind: 'all' });
  await b.notices.next('A’s last notice at B', (n) => n.kind === 'all');
  assert.equal(
    b.notices.seen.map((n) => n.kind),
    ['devices', 'all'],
    'B heard nothing of its own',
  );
  assert.equal(a.gaps.seen, []);
  assert.equal(b.gaps.seen, []);
});

Feed('50 notices published at once by two nodes all arrive at a third, each once', async (ctx) => {
  const a = await startNode(ctx, 'node-a');
  const b = await startNode(ctx, 'node-b');
  const c = await startNode(ctx, 'node-c');
  await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).feed.publish({ kind: 'devices', deviceIds: [i + 1] })));
  await a.feed.publish({ kind: 'all' });
  await b.feed.publish({ kind: 'all' });
  await c.notices.next('A’s last notice', (n) => n.kind === 'all');
  await c.notices.next('B’s last notice', (n) => n.kind === 'all', c.notices.seen.findIndex((n) => n.kind === 'all') + 1);
  const heard = c.notices.seen.flatMap((n) => (n.kind === 'devices' ? n.deviceIds : [])).sort((x, y) => x - y);
  assert.equal(
    heard,
    Array.from({ length: 50 }, (_, i) => i + 1),
  );
});

Feed('a notice about 5,000 devices arrives whole, in parts under 8000 bytes', async (ctx) => {
  const a = await startNode(ctx, 'node-a');
  const b = await startNode(ctx, 'node-b');
  // Ten-digit ids, the longest an integer column holds, make the parts as few ids as they can be.
  const deviceIds = Array.from({ length: 5000 }, (_, i) => (i % 2 === 0 ? 2_147_483_647 - i : i + 1));
  const payloads = noticePayloads({ kind: 'devices', deviceIds }, a.feed.nodeId);
  assert.ok(payloads.length > 1, 'split into parts');
  for (const p of payloads) assert.ok(Buffer.byteLength(p) <= MAX_PAYLOAD_BYTES, `a part of ${Buffer.byteLength(p)} bytes`);
  assert.equal(noticePayloads({ kind: 'devices', deviceIds: [] }, a.feed.nodeId), [], 'no device, no notice');

  await a.feed.publish({ kind: 'devices', deviceIds });
  await a.feed.publish({ kind: 'all' });
  await b.notices.next('the notice after the long one', (n) => n.kind === 'all');
  const parts = b.notices.seen.filter((n) => n.kind === 'devices');
  assert.is(parts.length, payloads.length);
  assert.equal(
    parts.flatMap((p) => p.deviceIds),
    deviceIds,
    'every id once, in order',
  );
});

Feed('a NOTIFY published inside a transaction leaves at commit, and never after a rollback', async (ctx) => {
  const a = await startNode(ctx, 'node-a');
  const b = await startNode(ctx, 'node-b');
  const client = await ctx.pool.connect();
  try {
    await client.query('BEGIN');
    await a.feed.publish({ kind: 'tenant', tenantId: 1 }, client);
    await client.query('ROLLBACK');
    await client.query('BEGIN');
    await a.feed.publish({ kind: 'tenant', tenantId: 2 }, client);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
  await a.feed.publish({ kind: 'all' });
  await b.notices.next('the last notice', (n) => n.kind === 'all');
  assert.equal(b.notices.seen, [{ kind: 'tenant', tenantId: 2 }, { kind: 'all' }]);
});

Feed('a payload that is not a notice (NOTIFY from psql) is logged and ignored; the feed goes on', async (ctx) => {
  const a = await startNode(ctx, 'node-a');
  const b = await startNode(ctx, 'node-b');
  const psql = (command: string) => execFileSync(join(postgresBin(), 'psql'), ['-X', '-q', '-d', ctx.db.url, '-c', command], { stdio: 'pipe' });
  psql(`NOTIFY ${CHANGE_CHANNEL}, 'x'`);
  psql(`NOTIFY ${CHANGE_CHANNEL}, '{"kind":"devices","tenantId":1,"deviceIds":[1]}'`); // no sender
  psql(`NOTIFY ${CHANGE_CHANNEL}, '{"from":"elsewhere","kind":"devices","tenantId":1,"deviceIds":["1; DROP"]}'`);
  psql(`NOTIFY ${CHANGE_CHANNEL}, '{"from":"elsewhere","kind":"reboot-everything"}'`);
  await a.feed.publish({ kind: 'tenant', tenantId: 4 });
  await b.notices.next('the real notice', (n) => n.kind === 'tenant');
  assert.equal(b.notices.seen, [{ kind: 'tenant', tenantId: 4 }]);
  const ignored = b.log.seen.filter((l) => l.level === 'warn' && /not one of ours/.test(l.msg));
  assert.is(ignored.length, 4);
  assert.is(ignored[0]?.payload, 'x');
});

Feed('a node whose listening connection is killed listens again, is told to drop its caches, and hears what follows', async (ctx) => {
  const a = await startNode(ctx, 'node-a');
  const b = await startNode(ctx, 'node-b');
  assert.is(await listeningConnections(ctx.pool, 'node-b'), 1);
  await ctx.pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'node-b'`);
  await b.gaps.next('B listening again');
  assert.equal(b.told, ['lost', 'gap'], 'told it lost the connection (trust nothing kept) before it listens again');
  assert.is(b.connections, 2);
  assert.ok(b.log.seen.some((l) => l.level === 'warn' && /lost the listening connection/.test(l.msg)));
  await a.feed.publish({ kind: 'devices', deviceIds: [5] });
  assert.equal(await b.notices.next('A’s notice after the gap'), { kind: 'devices', deviceIds: [5] });
  assert.equal(a.gaps.seen, [], 'A lost nothing');

  // Killed again, and again: a gap each time.
  for (const expected of [2, 3]) {
    await ctx.pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'node-b'`);
    await b.gaps.next(`gap ${expected}`, (n) => n === expected);
  }
  assert.is(await listeningConnections(ctx.pool, 'node-b'), 1, 'one listening connection, none left over');
});

Feed('a node whose listening connection goes silent gives it up, listens again and is told to drop its caches', async (ctx) => {
  const a = await startNode(ctx, 'node-a');
  const b = await startNode(ctx, 'node-b', undefined, { everyMs: 50, timeoutMs: 300 });
  const { rows } = await ctx.pool.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = 'node-b'`);
  const pid = rows[0]?.pid;
  if (pid === undefined) throw new Error('no connection of node-b');
  // The server process of B's listening session freezes: open, but silent (as in a network cut).
  process.kill(pid, 'SIGSTOP');
  try {
    await b.gaps.next('B listening again on a new connection');
    assert.ok(b.log.seen.some((l) => /lost the listening connection/.test(l.msg) && /no answer within 300 ms/.test(String(l.err))));
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  await a.feed.publish({ kind: 'tenant', tenantId: 2 });
  assert.equal(await b.notices.next('A’s notice on the new connection'), { kind: 'tenant', tenantId: 2 });
  assert.is(b.connections, 2);
});

Feed('a node that cannot reconnect keeps trying with back-off, and catches up when the database is back', async (ctx) => {
  const a = await startNode(ctx, 'node-a');
  const b = await startNode(ctx, 'node-b');
  // No new connections to the database for a while: B's reconnections fail.
  const dbName = new URL(ctx.db.url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: ctx.db.url.replace(/\/[^/]+$/, '/postgres') });
  await admin.connect();
  const held = await ctx.pool.connect();
  try {
    await admin.query(`ALTER DATABASE ${dbName} WITH ALLOW_CONNECTIONS false`);
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'node-b'`);
    const failed = (l: LogEntry) => /reconnecting failed/.test(l.msg);
    const first = await b.log.next('a failed reconnection', failed);
    await b.log.next('a second failed reconnection', failed, b.log.seen.indexOf(first) + 1);
    assert.equal(b.gaps.seen, [], 'no gap reported before listening again');
    await a.feed.publish({ kind: 'tenant', tenantId: 9 }, held); // B misses this one: the gap says so
  } finally {
    await admin.query(`ALTER DATABASE ${dbName} WITH ALLOW_CONNECTIONS true`);
    await admin.end();
    held.release();
  }
  await b.gaps.next('B listening again');
  await a.feed.publish({ kind: 'all' });
  await b.notices.next('the notice after the gap', (n) => n.kind === 'all');
  assert.equal(b.notices.seen, [{ kind: 'all' }]);
});

Feed('close() stops reconnecting and leaves no connection', async (ctx) => {
  const c = await startNode(ctx, 'node-c', { firstMs: 50, maxMs: 50 });
  assert.is(await listeningConnections(ctx.pool, 'node-c'), 1);
  await c.feed.close();
  assert.is(await listeningConnections(ctx.pool, 'node-c'), 0, 'closed at once');

  // Closed while waiting to reconnect: it never connects again.
  const d = await startNode(ctx, 'node-d', { firstMs: 50, maxMs: 50 });
  await ctx.pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'node-d'`);
  await d.log.next('D noticed its lost connection', (l) => /lost the listening connection/.test(l.msg));
  await d.feed.close();
  // Several back-off periods: a reconnection, had close() not stopped it, would have happened by now.
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.is(d.connections, 1, 'no reconnection after close()');
  assert.equal(d.gaps.seen, []);
  assert.is(await listeningConnections(ctx.pool, 'node-d'), 0);
});

Feed.run();

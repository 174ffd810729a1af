import { and, count, eq, isNull } from 'drizzle-orm';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CHANGE_CHANNEL, parsePayload } from '../../src/db/changeFeed.ts';
import { type OpenDatabase, openDatabase, tablesOf } from '../../src/db/client.ts';
import { type Nodes, startNodes } from '../helpers/nodes.ts';
import { freshPostgresDatabase } from '../helpers/postgres.ts';
import { basicAuthorization, LOOPBACK_NETWORKS } from '../helpers/server.ts';

/**
 * Two hotprov processes on one PostgreSQL database (issue 16): what one node changes, a phone fetching from the other
 * sees at once; racing logins through both leave no user or desk with two sessions; a node killed during a login
 * storm loses no login it acknowledged, and the other goes on serving.
 */
const Cluster = suite<{ nodes: Nodes; db: OpenDatabase; url: string; drop: () => Promise<void> }>('cluster: two nodes, one PostgreSQL');

const MAC = '001565aabb01';
const USERS = 10;
const DESKS = 10;

Cluster.before(async (ctx) => {
  const fresh = await freshPostgresDatabase();
  ctx.drop = fresh.close;
  ctx.url = fresh.url;
  ctx.nodes = await startNodes({ db: fresh.url, count: 2 });
  ctx.db = await openDatabase({ dbPath: fresh.url, dbEngine: 'postgres' });
  // The office trusts its LAN (here loopback): a phone that claims its credentials from it is active at once.
  const { tenants } = tablesOf(ctx.db.db);
  await ctx.db.db.update(tenants).set({ trustedNetworks: JSON.stringify([...LOOPBACK_NETWORKS]) });
  for (let d = 1; d <= DESKS; d++) {
    const mac = `001565aabb${d.toString(16).padStart(2, '0')}`;
    assert.is((await ctx.nodes.api(d % 2, 'POST', '/api/v1/devices', { mac, vendor: 'yealink', model: 'T46U' })).status, 201);
  }
  for (let u = 1; u <= USERS; u++) {
    const user = { extension: `${100 + u}`, displayName: `User ${u}`, sipPassword: `secret-${u}`, pin: '4826' };
    assert.is((await ctx.nodes.api(u % 2, 'POST', '/api/v1/users', user)).status, 201);
  }
});

Cluster.after(async (ctx) => {
  await ctx.nodes?.stop();
  await ctx.db?.close();
  await ctx.drop?.();
});

/** The phone's fetch of its main file from node i, with the credentials it was given. */
async function fetchConfig(ctx: { nodes: Nodes; db: OpenDatabase }, i: number): Promise<string> {
  const { devices } = tablesOf(ctx.db.db);
  const [device] = await ctx.db.db.select().from(devices).where(eq(devices.mac, MAC));
  if (device?.provUsername == null || device.provPassword == null) throw new Error('the device has no credentials');
  const res = await fetch(`${ctx.nodes.nodes[i]?.url}/prov/${MAC}.cfg`, {
    headers: { authorization: basicAuthorization(device.provUsername, device.provPassword), 'user-agent': 'Yealink SIP-T46U 108.86.0.45 00:15:65:aa:bb:01' },
  });
  assert.is(res.status, 200);
  return await res.text();
}

Cluster('a login on node A reaches a phone fetching from node B at once, though B had the idle file in its cache', async (ctx) => {
  const idle = await fetchConfig(ctx, 1);
  assert.match(idle, /account\.1\.user_name = HD0001/);
  assert.is(await fetchConfig(ctx, 1), idle, 'node B answers from its cache');
  const login = await ctx.nodes.api(0, 'POST', '/api/v1/hotdesk/login', { device: MAC, extension: '101', pin: '4826' });
  assert.is(login.status, 200);
  const seated = await fetchConfig(ctx, 1);
  assert.match(seated, /account\.1\.user_name = 101/);
  assert.not.match(seated, /HD0001/);
  const logout = await ctx.nodes.api(1, 'POST', '/api/v1/hotdesk/logout', { device: MAC });
  assert.is(logout.status, 200);
  assert.match(await fetchConfig(ctx, 0), /account\.1\.user_name = HD0001/, 'and back to idle on node A after a logout on B');
});

Cluster('1,000 logins racing through both nodes: no user and no desk ends with two open sessions', async (ctx) => {
  const pick = (n: number) => Math.floor(Math.random() * n) + 1;
  const answers = await Promise.all(
    Array.from({ length: 1000 }, (_, i) =>
      ctx.nodes.api(i % 2, 'POST', '/api/v1/hotdesk/login', {
        device: `001565aabb${pick(DESKS).toString(16).padStart(2, '0')}`,
        extension: `${100 + pick(USERS)}`,
        pin: '4826',
      }),
    ),
  );
  // A user's PIN checks under way count against their tries: past five at once the rest are turned away (429), the
  // guard of the "every guard holds" issue, held across nodes. Nothing else may come back.
  const statuses = new Set(answers.map((a) => a.status));
  assert.ok(
    [...statuses].every((s) => s === 200 || s === 429),
    `answers: ${[...statuses].join(', ')}`,
  );
  assert.ok(answers.filter((a) => a.status === 200).length >= USERS, 'logins went through');
  const { hotdeskSessions } = tablesOf(ctx.db.db);
  const open = isNull(hotdeskSessions.endedAt);
  const perUser = await ctx.db.db.select({ n: count() }).from(hotdeskSessions).where(open).groupBy(hotdeskSessions.userId);
  const perDesk = await ctx.db.db.select({ n: count() }).from(hotdeskSessions).where(open).groupBy(hotdeskSessions.deviceId);
  assert.ok(
    perUser.every((r) => r.n === 1),
    'one open session per user',
  );
  assert.ok(
    perDesk.every((r) => r.n === 1),
    'one open session per desk',
  );
  assert.ok(perUser.length > 0 && perUser.length <= Math.min(USERS, DESKS));
});

/** Desk d's MAC (1-based). */
const deskMac = (d: number) => `001565aabb${d.toString(16).padStart(2, '0')}`;

/** The device's credentials as the database has them now. */
async function credentialsOf(ctx: { db: OpenDatabase }, mac: string): Promise<{ id: number; user: string; password: string }> {
  const { devices } = tablesOf(ctx.db.db);
  const [device] = await ctx.db.db.select().from(devices).where(eq(devices.mac, mac));
  if (device?.provUsername == null || device.provPassword == null) throw new Error(`${mac} has no credentials`);
  return { id: device.id, user: device.provUsername, password: device.provPassword };
}

/** A phone's fetch of its main file from node i with these credentials, naming the revision it holds if any. */
async function phoneFetch(ctx: { nodes: Nodes }, i: number, mac: string, credentials: { user: string; password: string }, etag?: string) {
  const colons = mac.match(/../g)?.join(':');
  const res = await fetch(`${ctx.nodes.nodes[i]?.url}/prov/${mac}.cfg`, {
    headers: {
      authorization: basicAuthorization(credentials.user, credentials.password),
      'user-agent': `Yealink SIP-T46U 108.86.0.45 ${colons}`,
      ...(etag === undefined ? {} : { 'if-none-match': etag }),
    },
  });
  return { status: res.status, etag: res.headers.get('etag') ?? '', text: await res.text() };
}

/** Resolves once the database has announced a change to this device's row (a listener of the test's own hears it). */
async function rowChangeHeard(url: string, deviceId: number): Promise<{ heard: Promise<void>; stop: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const heard = new Promise<void>((resolve) =>
    client.on('notification', (message) => {
      const notice = parsePayload(message.payload ?? '')?.notice;
      if (notice?.kind === 'deviceRows' && notice.deviceIds.includes(deviceId)) resolve();
    }),
  );
  await client.query(`LISTEN ${CHANGE_CHANNEL}`);
  return { heard, stop: () => client.end() };
}

Cluster('a credential reset on node A: the old credentials open nothing more on node B, which had the device and its file', async (ctx) => {
  const mac = deskMac(2);
  const old = await credentialsOf(ctx, mac);
  assert.is((await phoneFetch(ctx, 1, mac, old)).status, 200);
  const cached = await phoneFetch(ctx, 1, mac, old);
  assert.is(cached.status, 200, 'node B answers from its copy of the device and its rendered file');
  const listening = await rowChangeHeard(ctx.url, old.id);
  try {
    const reset = await ctx.nodes.api(0, 'POST', `/api/v1/devices/${mac}/unclaim`);
    assert.is(reset.status, 200);
    // Once the database has announced it (within milliseconds of the commit), no node accepts the old credentials.
    await listening.heard;
  } finally {
    await listening.stop();
  }
  for (const node of [1, 0]) {
    const after = await phoneFetch(ctx, node, mac, old);
    assert.is(after.status, 401, `node ${node}`);
    assert.not.match(after.text, /account\.1\./);
    assert.is((await phoneFetch(ctx, node, mac, old, cached.etag)).status, 401, `node ${node}, with the revision it held`);
  }
});

Cluster('node B answers a polling phone from what it holds while the devices table is locked: a cached fetch waits on no query', async (ctx) => {
  const mac = deskMac(3);
  const credentials = await credentialsOf(ctx, mac);
  // The phone's first fetch is its claim (the device becomes active); the second is read as an active device's.
  assert.is((await phoneFetch(ctx, 1, mac, credentials)).status, 200);
  const first = await phoneFetch(ctx, 1, mac, credentials);
  assert.is(first.status, 200);
  const locker = new pg.Client({ connectionString: ctx.url });
  await locker.connect();
  try {
    await locker.query('BEGIN');
    // Not even a read of the table gets through until the lock goes.
    await locker.query('LOCK TABLE devices IN ACCESS EXCLUSIVE MODE');
    const stillLocked = new Promise<'waited for the database'>((resolve) => setTimeout(() => resolve('waited for the database'), 20_000));
    const polls = Promise.all([phoneFetch(ctx, 1, mac, credentials, first.etag), phoneFetch(ctx, 1, mac, credentials)]);
    const answered = await Promise.race([polls, stillLocked]);
    assert.ok(Array.isArray(answered), 'answered while the lock was held');
    const [poll, download] = answered as Awaited<typeof polls>;
    assert.is(poll.status, 304);
    assert.equal([download.status, download.text], [200, first.text]);
  } finally {
    await locker.query('ROLLBACK');
    await locker.end();
  }
});

/** How many lines of node i's log (JSON lines) say this. */
const logLines = (ctx: { nodes: Nodes }, i: number, message: string) =>
  (ctx.nodes.nodes[i]?.log ?? '').split('\n').filter((line) => line.includes(`"${message}"`)).length;

async function until(what: string, done: () => Promise<boolean> | boolean, withinMs = 60_000): Promise<void> {
  const end = Date.now() + withinMs;
  while (!(await done())) {
    if (Date.now() > end) throw new Error(`not within ${withinMs / 1000} s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

Cluster('automatic logout runs on one node; when that node is killed, the other takes it over', async (ctx) => {
  const { hotdeskSessions } = tablesOf(ctx.db.db);
  const openSessions = async () => (await ctx.db.db.select({ n: count() }).from(hotdeskSessions).where(isNull(hotdeskSessions.endedAt)))[0]?.n ?? 0;
  const seat = async (via: number) => {
    for (let d = 4; d <= 6; d++) {
      const login = await ctx.nodes.api(via, 'POST', '/api/v1/hotdesk/login', { device: deskMac(d), extension: `${100 + d}`, pin: '4826' });
      assert.is(login.status, 200, `login at desk ${d}`);
    }
  };
  // A running node that said it took the work more often than it said it gave it up (a killed node says nothing).
  const leaders = () =>
    [0, 1].filter(
      (i) =>
        ctx.nodes.nodes[i]?.running === true &&
        logLines(ctx, i, 'this node runs the scheduled work') > logLines(ctx, i, 'this node no longer runs the scheduled work'),
    );
  await until('a node leads', () => leaders().length === 1);
  const [leader = 0] = leaders();
  const other = 1 - leader;
  await seat(other);
  // Every two seconds: set on the node that does not run the work; the leader hears of it and schedules it.
  assert.is((await ctx.nodes.api(other, 'PATCH', '/api/v1/tenant', { autoLogoutCron: '*/2 * * * * *' })).status, 200);
  try {
    await until('everyone is logged out', async () => (await openSessions()) === 0);
    assert.is(logLines(ctx, other, 'automatic logout scheduled'), 0, 'the other node schedules nothing');
    assert.ok(logLines(ctx, leader, 'automatic logout scheduled') >= 1);
    const ended = await ctx.db.db.select({ reason: hotdeskSessions.endReason }).from(hotdeskSessions).where(eq(hotdeskSessions.method, 'api'));
    assert.ok(ended.some((s) => s.reason?.includes('scheduled')));

    await ctx.nodes.kill(leader, 'SIGKILL');
    await until('the other node takes the work over', () => leaders().includes(other), 30_000);
    await seat(other);
    await until('everyone is logged out again, by the node that is left', async () => (await openSessions()) === 0);
  } finally {
    await ctx.nodes.api(other, 'PATCH', '/api/v1/tenant', { autoLogoutCron: null });
    if (!ctx.nodes.nodes[leader]?.running) await ctx.nodes.restart(leader);
  }
});

Cluster('node A killed during a login storm: every login it acknowledged is in the database; node B goes on serving', async (ctx) => {
  const acknowledged: number[] = [];
  const storm = Array.from({ length: 200 }, async (_, i) => {
    const res = await ctx.nodes
      .api(i % 2, 'POST', '/api/v1/hotdesk/login', {
        device: `001565aabb${((i % DESKS) + 1).toString(16).padStart(2, '0')}`,
        extension: `${100 + ((i * 7) % USERS) + 1}`,
        pin: '4826',
      })
      .catch(() => null);
    if (res?.status === 200) acknowledged.push(res.body.session.id);
  });
  // Killed while its share of the storm is under way.
  await new Promise((resolve) => setTimeout(resolve, 150));
  await ctx.nodes.kill(0, 'SIGKILL');
  await Promise.all(storm);
  assert.ok(acknowledged.length > 0);
  const { hotdeskSessions } = tablesOf(ctx.db.db);
  const stored = new Set((await ctx.db.db.select({ id: hotdeskSessions.id }).from(hotdeskSessions)).map((s) => s.id));
  assert.equal(
    acknowledged.filter((id) => !stored.has(id)),
    [],
    'no acknowledged session is missing',
  );
  const after = await ctx.nodes.api(1, 'POST', '/api/v1/hotdesk/login', { device: MAC, extension: '101', pin: '4826' });
  assert.is(after.status, 200, 'node B still logs people in');
  const open = await ctx.db.db
    .select({ n: count() })
    .from(hotdeskSessions)
    .where(and(isNull(hotdeskSessions.endedAt), eq(hotdeskSessions.id, after.body.session.id)));
  assert.is(open[0]?.n, 1);
});

Cluster.run();

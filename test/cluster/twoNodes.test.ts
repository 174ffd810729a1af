import { and, count, eq, isNull } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type OpenDatabase, openDatabase, tablesOf } from '../../src/db/client.ts';
import { type Nodes, startNodes } from '../helpers/nodes.ts';
import { freshPostgresDatabase } from '../helpers/postgres.ts';
import { basicAuthorization, LOOPBACK_NETWORKS } from '../helpers/server.ts';

/**
 * Two hotprov processes on one PostgreSQL database (issue 16): what one node changes, a phone fetching from the other
 * sees at once; racing logins through both leave no user or desk with two sessions; a node killed during a login
 * storm loses no login it acknowledged, and the other goes on serving.
 */
const Cluster = suite<{ nodes: Nodes; db: OpenDatabase; drop: () => Promise<void> }>('cluster: two nodes, one PostgreSQL');

const MAC = '001565aabb01';
const USERS = 10;
const DESKS = 10;

Cluster.before(async (ctx) => {
  const fresh = await freshPostgresDatabase();
  ctx.drop = fresh.close;
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

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type Nodes, startNodes } from './helpers/nodes.ts';
import { basicAuthorization, LOOPBACK_NETWORKS } from './helpers/server.ts';

/**
 * SIGTERM during a storm (issue 18): hotprov stops taking new work but finishes what it took. Every login it answered
 * 200 is in the database, every phone it served is recorded as seen (fetch records flushed at close), nothing is
 * answered with a server error, and the process exits 0.
 */
const Shutdown = suite<{ nodes: Nodes; dir: string; db: string }>('SIGTERM during a login and fetch storm');

const USERS = 40;
const DESKS = 40;
const deskMac = (d: number) => `001565cc${d.toString(16).padStart(4, '0')}`;

Shutdown.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hotprov-shutdown-'));
  ctx.db = join(ctx.dir, 'hotprov.db');
  ctx.nodes = await startNodes({ db: ctx.db, count: 1, env: { HOTPROV_DRAIN_SECONDS: '1' } });
  // The office trusts its LAN (here loopback): a phone's first credentialed fetch activates it.
  assert.is((await ctx.nodes.api(0, 'PATCH', '/api/v1/tenant', { trustedNetworks: [...LOOPBACK_NETWORKS] })).status, 200);
  for (let d = 1; d <= DESKS; d++) {
    assert.is((await ctx.nodes.api(0, 'POST', '/api/v1/devices', { mac: deskMac(d), vendor: 'yealink', model: 'T46U' })).status, 201);
  }
  for (let u = 1; u <= USERS; u++) {
    const user = { extension: `${300 + u}`, displayName: `User ${u}`, sipPassword: `secret-${u}`, pin: '4826' };
    assert.is((await ctx.nodes.api(0, 'POST', '/api/v1/users', user)).status, 201);
  }
});

Shutdown.after(async (ctx) => {
  await ctx.nodes?.stop();
  rmSync(ctx.dir, { recursive: true, force: true });
});

Shutdown('nothing acknowledged is lost, nothing is answered 5xx, and the process exits 0', async (ctx) => {
  const file = new Database(ctx.db, { readonly: true });
  const credentials = new Map(
    (file.prepare('SELECT mac, prov_username AS user, prov_password AS password FROM devices').all() as { mac: string; user: string; password: string }[]).map(
      (d) => [d.mac, d],
    ),
  );
  file.close();
  const node = ctx.nodes.nodes[0];
  if (node === undefined) throw new Error('no node');

  const loggedIn: number[] = [];
  const served = new Set<string>();
  const statuses: number[] = [];
  let sigtermSent = false;
  const afterSigterm: number[] = [];
  const answered = (status: number) => {
    statuses.push(status);
    if (sigtermSent) afterSigterm.push(status);
  };
  const login = async (k: number) => {
    const res = await ctx.nodes
      .api(0, 'POST', '/api/v1/hotdesk/login', { device: deskMac((k % DESKS) + 1), extension: `${300 + ((k * 7) % USERS) + 1}`, pin: '4826' })
      .catch(() => null);
    if (res === null) return;
    answered(res.status);
    if (res.status === 200) loggedIn.push(res.body.session.id as number);
  };
  const phoneFetch = async (k: number) => {
    const mac = deskMac((k % DESKS) + 1);
    const c = credentials.get(mac);
    if (c === undefined) throw new Error(`${mac} has no credentials`);
    const colons = mac.match(/../g)?.join(':');
    try {
      const res = await fetch(`${node.url}/prov/${mac}.cfg`, {
        headers: { authorization: basicAuthorization(c.user, c.password), 'user-agent': `Yealink SIP-T46U 108.86.0.45 ${colons}` },
      });
      await res.arrayBuffer();
      answered(res.status);
      if (res.status === 200) served.add(mac);
    } catch {
      // Refused once the port is closed: nothing was acknowledged.
    }
  };
  // Waves of work until well after the signal, so requests are in flight when it comes and keep arriving after.
  const storm = (async () => {
    for (let wave = 0; wave < 40; wave++) {
      await Promise.all([...Array.from({ length: 10 }, (_, i) => login(wave * 10 + i)), ...Array.from({ length: 10 }, (_, i) => phoneFetch(wave * 10 + i))]);
      if (!node.running) return;
    }
  })();
  while (loggedIn.length < 20) await new Promise((resolve) => setTimeout(resolve, 10));
  sigtermSent = true;
  const exit = await ctx.nodes.kill(0, 'SIGTERM');
  await storm;

  assert.is(exit, 0, 'a clean exit');
  assert.ok(afterSigterm.length > 0, 'requests were answered during the drain');
  assert.equal(
    statuses.filter((s) => s >= 500),
    [],
    'no server error',
  );
  const after = new Database(ctx.db, { readonly: true });
  try {
    const stored = new Set((after.prepare('SELECT id FROM hotdesk_sessions').all() as { id: number }[]).map((s) => s.id));
    assert.equal(
      loggedIn.filter((id) => !stored.has(id)),
      [],
      'every acknowledged login is in the database',
    );
    const seen = new Set((after.prepare('SELECT mac FROM devices WHERE last_seen_at IS NOT NULL').all() as { mac: string }[]).map((d) => d.mac));
    assert.equal(
      [...served].filter((mac) => !seen.has(mac)),
      [],
      'every phone served is recorded as seen',
    );
  } finally {
    after.close();
  }
  assert.match(node.log, /"stopping"/);
});

Shutdown.run();

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NODES_TOKEN, type Nodes, startNodes } from '../helpers/nodes.ts';

/**
 * contrib/haproxy/haproxy.cfg as shipped, in front of two hotprov processes on one SQLite file: only its listen
 * address, its node addresses, its log target and its stats socket are replaced (loopback, a temporary folder).
 */
const SHIPPED = readFileSync(new URL('../../contrib/haproxy/haproxy.cfg', import.meta.url), 'utf8');
const HAPROXY = '/usr/sbin/haproxy';

interface ClusterContext {
  dir: string;
  nodes: Nodes;
  haproxy: ChildProcess;
  /** haproxy's standard error: its own warnings and, through `log stderr`, one line per request. */
  haproxyLog: string;
  /** The frontend: `http://127.0.0.1:<port>`. */
  front: string;
  socket: string;
}

/** The shipped file with each site-specific line replaced; each must be found exactly as many times as expected. */
function forTest(config: string, front: number, nodePorts: readonly number[], socket: string): string {
  const replace = (text: string, pattern: RegExp, by: string | ((match: string) => string), expected: number): string => {
    const found = text.match(new RegExp(pattern.source, 'gm'))?.length ?? 0;
    assert.is(found, expected, `${pattern} in contrib/haproxy/haproxy.cfg`);
    return text.replace(new RegExp(pattern.source, 'gm'), by as string);
  };
  let text = replace(config, /^ {4}bind :80$/, `    bind 127.0.0.1:${front}`, 1);
  text = replace(text, /^ {4}log \/dev\/log local0$/, '    log stderr format raw local0', 1);
  text = replace(text, /^( {4}stats socket )\/run\/haproxy\/admin\.sock( .*)$/, (line) => line.replace('/run/haproxy/admin.sock', socket), 1);
  // The example's nodes become ours: the first server line gives way to one per node, the others go.
  let first = true;
  text = replace(
    text,
    /^ {4}server node\d+ \S+$/,
    () => {
      if (!first) return '\u0000';
      first = false;
      return nodePorts.map((port, i) => `    server node${i + 1} 127.0.0.1:${port}`).join('\n');
    },
    3,
  );
  text = text.replace(/^\u0000\n/gm, '');
  // Nothing but loopback: the test never lets haproxy reach another address.
  for (const line of text.split('\n').filter((l) => /^\s*(bind|server)\s/.test(l))) assert.match(line, /\s127\.0\.0\.1:\d+(\s|$)/, line);
  return text;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** One server's row of haproxy's `show stat`: its state (UP, DOWN, "UP 1/2"…) and the answers it gave, by class. */
interface ServerStat {
  readonly status: string;
  readonly responses2xx: number;
  readonly responses5xx: number;
}

/** `show stat` on the stats socket, for the backend's servers by name. */
function serverStats(socket: string): Promise<Record<string, ServerStat>> {
  return new Promise((resolve, reject) => {
    const conn = connect(socket);
    let text = '';
    conn.on('data', (d) => {
      text += String(d);
    });
    conn.on('error', reject);
    conn.on('end', () => {
      const [header = '', ...rows] = text.trim().split('\n');
      const columns = header.replace(/^# /, '').split(',');
      const col = (row: string[], name: string) => row[columns.indexOf(name)] ?? '';
      const servers: Record<string, ServerStat> = {};
      for (const row of rows.map((r) => r.split(','))) {
        if (col(row, 'pxname') !== 'hotprov_nodes' || ['FRONTEND', 'BACKEND'].includes(col(row, 'svname'))) continue;
        servers[col(row, 'svname')] = {
          status: col(row, 'status'),
          responses2xx: Number(col(row, 'hrsp_2xx')),
          responses5xx: Number(col(row, 'hrsp_5xx')),
        };
      }
      resolve(servers);
    });
    conn.end('show stat\n');
  });
}

/** Waits until haproxy reports the server in that state (its health checks decide; no time is asserted). */
async function until(ctx: ClusterContext, server: string, status: 'UP' | 'DOWN'): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if ((await serverStats(ctx.socket))[server]?.status === status) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`haproxy did not see ${server} ${status} within 60 s:\n${ctx.haproxyLog.slice(-3000)}`);
}

/** A request through the proxy, as a client at `from` (a loopback address of its own) sends it. */
function requestFrom(
  from: string,
  url: string,
  headers: Record<string, string> = {},
  options: { method?: string; body?: string } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { localAddress: from, headers, method: options.method ?? 'GET', agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => {
        body += String(d);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** n GET requests of the API through the proxy, one after the other, each on a new connection; their statuses. */
async function apiRequests(ctx: ClusterContext, n: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    statuses.push((await requestFrom('127.0.0.1', `${ctx.front}/api/v1/tenant`, { authorization: `Bearer ${NODES_TOKEN}` })).status);
  }
  return statuses;
}

const Haproxy = suite<ClusterContext>('contrib/haproxy/haproxy.cfg in front of two hotprov nodes', {} as ClusterContext);

Haproxy.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hotprov-haproxy-'));
  ctx.socket = join(ctx.dir, 'admin.sock');
  const frontPort = await freePort();
  ctx.front = `http://127.0.0.1:${frontPort}`;
  ctx.nodes = await startNodes({
    db: join(ctx.dir, 'hotprov.db'),
    count: 2,
    baseUrl: ctx.front,
    // Behind the proxy, as its README says; a node told to stop keeps serving while haproxy takes it out.
    env: { HOTPROV_TRUST_PROXY: 'true', HOTPROV_DRAIN_SECONDS: '600' },
  });
  const file = join(ctx.dir, 'haproxy.cfg');
  writeFileSync(
    file,
    forTest(
      SHIPPED,
      frontPort,
      ctx.nodes.nodes.map((n) => n.httpPort),
      ctx.socket,
    ),
  );
  ctx.haproxyLog = '';
  // -db: in the foreground, whatever `daemon` says.
  ctx.haproxy = spawn(HAPROXY, ['-f', file, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
  ctx.haproxy.stderr?.on('data', (d) => {
    ctx.haproxyLog += String(d);
  });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (ctx.haproxy.exitCode !== null) throw new Error(`haproxy exited (${ctx.haproxy.exitCode}):\n${ctx.haproxyLog}`);
    try {
      const stats = await serverStats(ctx.socket);
      if (stats.node1?.status === 'UP' && stats.node2?.status === 'UP') return;
    } catch {
      // The socket is not there yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`haproxy did not see both nodes up:\n${ctx.haproxyLog}`);
});

Haproxy.after(async (ctx) => {
  if (ctx.haproxy !== undefined && ctx.haproxy.exitCode === null) {
    ctx.haproxy.kill('SIGTERM');
    await new Promise((r) => ctx.haproxy.once('exit', r));
  }
  await ctx.nodes?.stop();
  rmSync(ctx.dir, { recursive: true, force: true });
});

Haproxy('haproxy -c accepts the shipped file as it is, and as the test runs it', ({ dir }) => {
  const shipped = join(dir, 'shipped.cfg');
  writeFileSync(shipped, SHIPPED);
  for (const file of [shipped, join(dir, 'haproxy.cfg')]) {
    const check = spawnSync(HAPROXY, ['-c', '-f', file], { encoding: 'utf8' });
    assert.is(check.status, 0, `${file}:\n${check.stdout}${check.stderr}`);
    assert.match(check.stdout, /Configuration file is valid/);
  }
});

Haproxy('requests reach both nodes, round-robin: phones, the API and the console on one frontend', async (ctx) => {
  const before = await serverStats(ctx.socket);
  const statuses = await apiRequests(ctx, 20);
  assert.equal(statuses, Array(20).fill(200));
  const after = await serverStats(ctx.socket);
  for (const server of ['node1', 'node2']) {
    const served = (after[server]?.responses2xx ?? 0) - (before[server]?.responses2xx ?? 0);
    assert.is(served, 10, `${server} answered ${served} of 20`);
  }
  // A device enrolled through one node, fetched by its phone through either.
  const enrolled = await requestFrom(
    '127.0.0.1',
    `${ctx.front}/api/v1/devices`,
    { authorization: `Bearer ${NODES_TOKEN}`, 'content-type': 'application/json' },
    { method: 'POST', body: JSON.stringify({ mac: '805ec0112233', vendor: 'yealink', model: 'T54W' }) },
  );
  assert.is(enrolled.status, 201, enrolled.body);
  const console = await requestFrom('127.0.0.1', `${ctx.front}/console/login`);
  assert.is(console.status, 200);
  assert.match(console.body, /<form[^>]*method="post"/i);
  const bootstrap = await requestFrom('127.0.0.1', `${ctx.front}/805ec0112233.cfg`, { 'user-agent': 'Yealink SIP-T54W 96.86.0.70 80:5e:c0:11:22:33' });
  assert.is(bootstrap.status, 200);
  assert.ok(bootstrap.body.includes(`${ctx.front}/prov/`), 'the phone is sent back through the proxy (HOTPROV_BASE_URL)');
});

Haproxy("the client's address reaches hotprov through X-Forwarded-For, not one the client made up", async (ctx) => {
  const enrolled = await ctx.nodes.api(0, 'POST', '/api/v1/devices', { mac: '805ec0445566', vendor: 'yealink', model: 'T54W' });
  assert.is(enrolled.status, 201);
  // The phone is at 127.0.0.7; it claims to be forwarding for another address.
  const claim = await requestFrom('127.0.0.7', `${ctx.front}/805ec0445566.cfg`, {
    'user-agent': 'Yealink SIP-T54W 96.86.0.70 80:5e:c0:44:55:66',
    'x-forwarded-for': '203.0.113.9',
  });
  assert.is(claim.status, 200);
  const device = await ctx.nodes.api(1, 'GET', '/api/v1/devices/805ec0445566');
  assert.is(device.body.access?.claim?.ip, '127.0.0.7', JSON.stringify(device.body.access));
});

Haproxy('a node answering 503 on /readyz (told to stop, draining) gets no traffic; back in when it is ready again', async (ctx) => {
  const exited = ctx.nodes.kill(1, 'SIGTERM');
  await until(ctx, 'node2', 'DOWN');
  const before = await serverStats(ctx.socket);
  assert.equal(await apiRequests(ctx, 20), Array(20).fill(200));
  const after = await serverStats(ctx.socket);
  assert.is(after.node2?.responses2xx, before.node2?.responses2xx, 'node2 got none');
  assert.is((after.node1?.responses2xx ?? 0) - (before.node1?.responses2xx ?? 0), 20, 'node1 got every one');
  // node2 was not dead, only not ready: it still answers when asked directly.
  assert.ok(ctx.nodes.nodes[1]?.running);
  assert.is((await ctx.nodes.api(1, 'GET', '/api/v1/tenant')).status, 200);
  void ctx.nodes.kill(1, 'SIGTERM');
  assert.is(await exited, 0);
  await ctx.nodes.restart(1);
  await until(ctx, 'node2', 'UP');
  const spread = await serverStats(ctx.socket);
  assert.equal(await apiRequests(ctx, 4), Array(4).fill(200));
  assert.ok(((await serverStats(ctx.socket)).node2?.responses2xx ?? 0) > (spread.node2?.responses2xx ?? 0), 'node2 serves again');
});

Haproxy('after SIGKILL of a node every request still succeeds, before and after haproxy marks it down', async (ctx) => {
  assert.is(await ctx.nodes.kill(0, 'SIGKILL'), 'SIGKILL');
  // Before the health checks notice: a connection refused is retried on the other node.
  assert.equal(await apiRequests(ctx, 20), Array(20).fill(200));
  await until(ctx, 'node1', 'DOWN');
  const before = await serverStats(ctx.socket);
  assert.equal(await apiRequests(ctx, 20), Array(20).fill(200));
  const after = await serverStats(ctx.socket);
  assert.is((after.node2?.responses2xx ?? 0) - (before.node2?.responses2xx ?? 0), 20, 'node2 answered every one');
  assert.is(after.node1?.responses5xx, before.node1?.responses5xx);
  await ctx.nodes.restart(0);
  await until(ctx, 'node1', 'UP');
});

Haproxy.run();

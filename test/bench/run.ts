/**
 * `npm run bench [-- --devices 10000 --duration 5 --rounds 3 --connections 100 --out data/bench.json --scale 100000 --profile DIR --db sqlite|postgres --nodes 1]`
 *
 * A benchmark, not a test: it measures and prints, and asserts nothing. In one run it
 *   1. seeds a fresh database with N devices across the vendors, half with a logged-in user with 10 BLF keys;
 *   2. starts hotprov as its own process, compiled as `npm start` runs it, and times process start → first config served;
 *   3. fetches every device's main file once (the boot storm: nothing cached yet);
 *   4. starts a bare node:http server answering the same paths with the same bytes, and the same Map behind Koa
 *      and @koa/router (the given stack's own ceiling);
 *   5. drives the three with autocannon (random devices, their vendor's User-Agent), then with If-None-Match
 *      (304), taking turns for --rounds rounds; each figure is the median round;
 *   6. logs 1,000 users in through the API and times request → NOTIFY datagram received;
 *   7. reads hotprov's peak memory; with --scale it repeats start-up and memory at that many devices.
 * It prints one table and writes the figures as JSON.
 */
import { type ChildProcess, type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { hashSecret, verifySecret } from '../../src/domain/credentials.ts';
import { freshPostgresDatabase } from '../helpers/postgres.ts';
import { type SeededDevice, seed } from './seed.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TOKEN = 'bench-token-0123456789abcdef';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i < 0 ? undefined : process.argv[i + 1];
  return value === undefined ? fallback : Number(value);
}
const outIndex = process.argv.indexOf('--out');
const OUT = outIndex < 0 ? join(ROOT, 'data', 'bench.json') : (process.argv[outIndex + 1] ?? '');
// --node-flags "--max-semi-space-size=4 …": V8 flags for hotprov's process only (not the baselines nor the client).
const nodeFlagsIndex = process.argv.indexOf('--node-flags');
const NODE_FLAGS = nodeFlagsIndex < 0 ? [] : (process.argv[nodeFlagsIndex + 1] ?? '').split(/\s+/).filter((f) => f !== '');
const profileIndex = process.argv.indexOf('--profile');
const PROFILE_DIR = profileIndex < 0 ? '' : (process.argv[profileIndex + 1] ?? '');
const DEVICES = option('devices', 10_000);
const DURATION = option('duration', 5);
const ROUNDS = Math.max(1, option('rounds', 3));
const CONNECTIONS = option('connections', 100);
const SCALE = option('scale', 0);
const LOGINS = option('logins', 1000);
// --db postgres: the seeded database is moved to a throwaway PostgreSQL (`hotprov db copy`), and hotprov runs on it;
// --nodes N: N hotprov processes on it, the fetches spread over them by the bench (its connections split evenly).
const dbIndex = process.argv.indexOf('--db');
const ENGINE = dbIndex < 0 ? 'sqlite' : (process.argv[dbIndex + 1] ?? 'sqlite');
if (ENGINE !== 'sqlite' && ENGINE !== 'postgres') throw new Error('--db: sqlite or postgres');
const NODES = Math.max(1, option('nodes', 1));
if (NODES > 1 && ENGINE !== 'postgres') throw new Error('--nodes: several nodes share PostgreSQL only (--db postgres)');

const say = (line: string) => process.stderr.write(`${line}\n`);

/** Starts a process and resolves once it printed a line matching `ready` (or the port answers). */
const SETPRIV = '/usr/bin/setpriv';

/**
 * A Node process the kernel stops when the benchmark dies (setpriv's parent-death signal): a bench that ran out
 * of memory, which skips every clean-up, leaves no hotprov or baseline behind.
 */
function spawnNode(args: string[], options: SpawnOptions): ChildProcess {
  return existsSync(SETPRIV) ? spawn(SETPRIV, ['--pdeathsig', 'TERM', process.execPath, ...args], options) : spawn(process.execPath, args, options);
}

function startProcess(args: string[], env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; line: string }> {
  return new Promise((resolve, reject) => {
    const child = spawnNode(args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let seen = '';
    const onData = (d: Buffer) => {
      seen += String(d);
      const line = seen.split('\n').find((l) => ready.test(l));
      if (line !== undefined) resolve({ child, line });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => reject(new Error(`process exited (${code}) before it was ready: ${seen.slice(-500)}`)));
  });
}

/** Peak resident memory of a process, from /proc (VmHWM), in MB. */
function peakRssMb(pid: number | undefined): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]);
    return Math.round(kb / 1024);
  } catch {
    return null;
  }
}

/** Starts hotprov as its own process; `firstConfig` then tells when it serves. */
function startHotprov(db: string, port: number, sipPort: number): ChildProcess {
  // --profile DIR: hotprov writes a V8 CPU profile there when it stops (open it in Chrome's DevTools).
  const profile = PROFILE_DIR === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`];
  return spawnNode([...profile, ...NODE_FLAGS, 'dist/main.js'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      HOTPROV_DB: db,
      HOTPROV_HTTP_PORT: String(port),
      HOTPROV_HTTP_HOST: '127.0.0.1',
      HOTPROV_SIP_PORT: String(sipPort),
      HOTPROV_ADMIN_TOKEN: TOKEN,
      HOTPROV_BASE_URL: `http://127.0.0.1:${port}`,
      HOTPROV_LOG_LEVEL: 'error',
    },
  });
}

/** Asks a process to stop and waits until it did, so it can finish writing (a CPU profile, the database). */
function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** What a phone sends: its User-Agent and its own credentials. */
const phoneHeaders = (d: SeededDevice | undefined): Record<string, string> => (d === undefined ? {} : { 'user-agent': d.ua, authorization: d.authorization });

/** Polls until a device file answers 200: the moment a phone would be served. */
async function firstConfig(url: string, device: SeededDevice | undefined, since: number): Promise<number> {
  for (;;) {
    try {
      const res = await fetch(`${url}${device?.path ?? '/'}`, { headers: phoneHeaders(device) });
      await res.arrayBuffer();
      if (res.status === 200) return performance.now() - since;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Load {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  non2xx: number;
}

/** The same load spread over several nodes (each gets an equal share of the connections): summed, worst latencies. */
async function driveAll(
  urls: readonly string[],
  devices: readonly SeededDevice[],
  etags: Map<string, string> | null,
  duration: number,
  amount?: number,
): Promise<Load> {
  if (urls.length === 1) return drive(urls[0] as string, devices, etags, duration, amount);
  const share = amount === undefined ? undefined : Math.ceil(amount / urls.length);
  const loads = await Promise.all(
    urls.map((url, n) =>
      drive(url, share === undefined ? devices : devices.filter((_, i) => i % urls.length === n), etags, duration, share, Math.ceil(CONNECTIONS / urls.length)),
    ),
  );
  return {
    requestsPerSecond: loads.reduce((sum, l) => sum + l.requestsPerSecond, 0),
    p50: Math.max(...loads.map((l) => l.p50)),
    p99: Math.max(...loads.map((l) => l.p99)),
    max: Math.max(...loads.map((l) => l.max)),
    errors: loads.reduce((sum, l) => sum + l.errors, 0),
    non2xx: loads.reduce((sum, l) => sum + l.non2xx, 0),
  };
}

function drive(
  url: string,
  devices: readonly SeededDevice[],
  etags: Map<string, string> | null,
  duration: number,
  amount?: number,
  connections = CONNECTIONS,
): Promise<Load> {
  let i = 0;
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        connections,
        ...(amount === undefined ? { duration } : { amount }),
        requests: [
          {
            setupRequest: (req: autocannon.Request) => {
              // Sequential over the fleet when counting (every phone once), random otherwise.
              const d = (amount === undefined ? devices[Math.floor(Math.random() * devices.length)] : devices[i++ % devices.length]) as SeededDevice;
              const headers = phoneHeaders(d);
              const etag = etags?.get(d.path);
              if (etag !== undefined) headers['if-none-match'] = etag;
              return { ...req, path: d.path, headers };
            },
          },
        ],
      },
      (err: Error | null, result: autocannon.Result) => {
        if (err !== null) return reject(err);
        resolve({
          requestsPerSecond: Math.round(result.requests.average),
          p50: result.latency.p50,
          p99: result.latency.p99,
          max: result.latency.max,
          errors: result.errors + result.timeouts,
          non2xx: result.non2xx,
        });
      },
    );
  });
}

/** The scrypt PIN check every login makes, timed alone with hotprov's own parameters: the floor under a login. */
async function pinCheckLatency(count: number): Promise<{ p50: number; p99: number }> {
  const stored = await hashSecret('4826');
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    if (!(await verifySecret('4826', stored))) throw new Error('the PIN check refused the right PIN');
    times.push(performance.now() - started);
  }
  return percentiles(times);
}

function percentiles(values: number[]): { p50: number; p99: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const pct = (p: number) => Math.round((sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN) * 10) / 10;
  return { p50: pct(50), p99: pct(99) };
}

async function loginLatency(url: string, devices: readonly SeededDevice[], count: number): Promise<{ p50: number; p99: number; received: number }> {
  const socket = createSocket('udp4');
  const arrived = new Map<string, number>();
  socket.on('message', (data, from) => {
    const text = data.toString();
    const account = /^NOTIFY sip:([^@]+)@/.exec(text)?.[1];
    if (account !== undefined && !arrived.has(account)) arrived.set(account, performance.now());
    const keep = text.split('\r\n').filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l));
    socket.send(['SIP/2.0 200 OK', ...keep, 'Content-Length: 0', '', ''].join('\r\n'), from.port, from.address);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  const port = socket.address().port;
  const idle = devices.filter((_, i) => i % 2 === 1).slice(0, count);
  const latencies: number[] = [];
  for (const [u, d] of idle.entries()) {
    const started = performance.now();
    const res = await fetch(`${url}/api/v1/hotdesk/login`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ device: d.idleAccount, extension: String(9000000 + u), pin: '4826', contact: `sip:${d.idleAccount}@127.0.0.1:${port}` }),
    });
    await res.arrayBuffer();
    for (let wait = 0; !arrived.has(d.idleAccount) && wait < 200; wait++) await new Promise((r) => setTimeout(r, 1));
    const at = arrived.get(d.idleAccount);
    if (at !== undefined) latencies.push(at - started);
  }
  socket.close();
  return { ...percentiles(latencies), received: latencies.length };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'hotprov-bench-'));
  const children: ChildProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  try {
    say('compiling hotprov as npm start runs it…');
    const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
    if (build.status !== 0) throw new Error('npm run build failed');
    say(`seeding ${DEVICES} devices…`);
    const db = join(dir, 'bench.db');
    const devices = await seed(db, DEVICES, Math.min(LOGINS, Math.floor(DEVICES / 2)));
    let hotprovDb = db;
    let dropPostgres = async () => {};
    if (ENGINE === 'postgres') {
      say('moving it to a throwaway PostgreSQL (hotprov db copy)…');
      const fresh = await freshPostgresDatabase();
      dropPostgres = fresh.close;
      // The copy wants an empty target: a fresh database has the schema and no rows.
      const copy = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'db', 'copy', '--to', fresh.url], {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, HOTPROV_DB: db },
      });
      if (copy.status !== 0) throw new Error('hotprov db copy failed');
      hotprovDb = fresh.url;
    }
    cleanups.push(() => dropPostgres());
    const port = 18_000 + Math.floor(Math.random() * 1000);
    const hotprovStart = performance.now();
    const nodes = Array.from({ length: NODES }, (_, n) => startHotprov(hotprovDb, port + 10 + n, 0));
    const child = nodes[0] as ChildProcess;
    children.push(...nodes);
    const urls = nodes.map((_, n) => `http://127.0.0.1:${port + 10 + n}`);
    const url = urls[0] as string;
    const startupMs = Math.max(...(await Promise.all(urls.map((u) => firstConfig(u, devices[0], hotprovStart)))));

    say(`boot storm: every phone fetches once, nothing cached${NODES > 1 ? `, spread over ${NODES} nodes` : ''}…`);
    const stormStarted = performance.now();
    const storm = await driveAll(urls, devices, null, 0, devices.length);
    const stormSeconds = (performance.now() - stormStarted) / 1000;

    say('collecting the bytes for the baseline…');
    // One JSON line per file, written as fetched: 100,000 phones' files are gigabytes, more than one string holds.
    const filesPath = join(dir, 'files.ndjson');
    const filesFd = openSync(filesPath, 'w');
    const etags = new Map<string, string>();
    for (const d of devices) {
      const res = await fetch(`${url}${d.path}`, { headers: phoneHeaders(d) });
      const body = await res.text();
      const etag = res.headers.get('etag') ?? '';
      writeSync(filesFd, `${JSON.stringify({ path: d.path, etag, type: res.headers.get('content-type') ?? 'text/plain', body })}\n`);
      etags.set(d.path, etag);
    }
    closeSync(filesFd);

    const ceiling = async (kind: 'bare' | 'koa') => {
      const { child: base, line } = await startProcess(['--import', 'tsx', 'test/bench/baseline.ts', filesPath, '0', kind], {}, /^listening \d+/);
      children.push(base);
      return { child: base, url: `http://127.0.0.1:${line.split(' ')[1]}` };
    };
    const bare = await ceiling('bare');
    const koaServer = await ceiling('koa');
    // This machine's speed drifts by a quarter from minute to minute (the cores are shared), so the three servers
    // take turns, round after round, and each figure is its median round: a slow minute hits all of them.
    const servers = { hotprov: urls, baseline: [bare.url], koa: [koaServer.url] } as const;
    const runs = () => ({ config: [] as Load[], notModified: [] as Load[] });
    const rounds = { hotprov: runs(), baseline: runs(), koa: runs() };
    say('warming up: a second of each run on each server, not counted (the first run of a code path compiles it)…');
    for (const kind of ['config', 'notModified'] as const) {
      for (const server of ['hotprov', 'baseline', 'koa'] as const) await driveAll(servers[server], devices, kind === 'config' ? null : etags, 1);
    }
    for (let round = 1; round <= ROUNDS; round++) {
      say(`round ${round} of ${ROUNDS}: ${DURATION} s of config fetches, then of 304s, from hotprov, the baseline and the Koa baseline in turn…`);
      for (const kind of ['config', 'notModified'] as const) {
        for (const server of ['hotprov', 'baseline', 'koa'] as const) {
          rounds[server][kind].push(await driveAll(servers[server], devices, kind === 'config' ? null : etags, DURATION));
        }
      }
    }
    const median = (loads: Load[]): Load => [...loads].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond)[Math.floor(loads.length / 2)] as Load;
    const hot200 = median(rounds.hotprov.config);
    const hot304 = median(rounds.hotprov.notModified);
    const base200 = median(rounds.baseline.config);
    const base304 = median(rounds.baseline.notModified);
    const koa = { config: median(rounds.koa.config), notModified: median(rounds.koa.notModified) };
    const rss = peakRssMb(child.pid);
    await stop(bare.child);
    await stop(koaServer.child);

    const logins = Math.min(LOGINS, Math.floor(DEVICES / 2));
    say(`${logins} logins, request → NOTIFY received…`);
    const notify = await loginLatency(url, devices, logins);
    const pinCheck = await pinCheckLatency(100);
    for (const node of nodes) await stop(node);

    let scaled: { devices: number; startupMs: number; rssMb: number | null } | null = null;
    if (SCALE > 0) {
      say(`start-up and memory with ${SCALE} devices…`);
      const bigDb = join(dir, 'big.db');
      const big = await seed(bigDb, SCALE);
      const bigStart = performance.now();
      const bigChild = startHotprov(bigDb, port + 1, 0);
      children.push(bigChild);
      const bigStartup = await firstConfig(`http://127.0.0.1:${port + 1}`, big[0], bigStart);
      // Enough fetches to fill the rendered-file cache to its budget: memory then is what it will stay at.
      await drive(`http://127.0.0.1:${port + 1}`, big, null, 0, Math.min(big.length, 10_000));
      scaled = { devices: SCALE, startupMs: Math.round(bigStartup), rssMb: peakRssMb(bigChild.pid) };
      await stop(bigChild);
    }

    const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
    const report = {
      at: new Date().toISOString(),
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? '', memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version },
      devices: DEVICES,
      engine: ENGINE,
      nodes: NODES,
      connections: CONNECTIONS,
      durationSeconds: DURATION,
      rounds: ROUNDS,
      requestsPerSecondByRound: Object.fromEntries(
        Object.entries(rounds).map(([server, kinds]) => [
          server,
          { config: kinds.config.map((l) => l.requestsPerSecond), notModified: kinds.notModified.map((l) => l.requestsPerSecond) },
        ]),
      ),
      startupMs: Math.round(startupMs),
      bootStorm: { phones: devices.length, seconds: Math.round(stormSeconds * 100) / 100, ...storm },
      hotprov: { config: hot200, notModified: hot304, peakRssMb: rss },
      baseline: { config: base200, notModified: base304 },
      koaBaseline: koa,
      ratio: { config: ratio(hot200.requestsPerSecond, base200.requestsPerSecond), notModified: ratio(hot304.requestsPerSecond, base304.requestsPerSecond) },
      koaRatio: {
        config: ratio(koa.config.requestsPerSecond, base200.requestsPerSecond),
        notModified: ratio(koa.notModified.requestsPerSecond, base304.requestsPerSecond),
      },
      loginToNotifyMs: notify,
      pinCheckMs: pinCheck,
      scaled,
    };
    writeFileSync(OUT, `${JSON.stringify(report, null, 2)}\n`);

    // A 304 run answers nothing but 304s: only transport errors count there.
    const row = (name: string, l: Load, expect304 = false, all: Load[] = []) =>
      `| ${name.padEnd(31)} | ${String(l.requestsPerSecond).padStart(8)} | ${String(l.p50).padStart(5)} | ${String(l.p99).padStart(5)} | ${String(l.max).padStart(6)} | ${String(l.errors + (expect304 ? 0 : l.non2xx)).padStart(6)} | ${all.map((r) => r.requestsPerSecond).join(' ')}`;
    const lines = [
      `hotprov benchmark on ${ENGINE}${NODES > 1 ? ` with ${NODES} nodes` : ''}: ${DEVICES} devices, ${CONNECTIONS} connections, ${ROUNDS} rounds of ${DURATION} s per run (median round shown), ${report.machine.cpus} cores (${report.machine.cpu})`,
      '| run                             |    req/s |   p50 |   p99 |    max | errors | req/s by round',
      '|---------------------------------|----------|-------|-------|--------|--------|---',
      row(`boot storm (${devices.length} phones, cold)`, storm),
      row('hotprov config', hot200, false, rounds.hotprov.config),
      row('baseline config', base200, false, rounds.baseline.config),
      row('Koa baseline config', koa.config, false, rounds.koa.config),
      row('hotprov 304', hot304, true, rounds.hotprov.notModified),
      row('baseline 304', base304, true, rounds.baseline.notModified),
      row('Koa baseline 304', koa.notModified, true, rounds.koa.notModified),
      '',
      `ratio hotprov/baseline: config ${report.ratio.config}, 304 ${report.ratio.notModified}   (latencies in ms)`,
      `ratio Koa baseline/baseline, the stack's own ceiling: config ${report.koaRatio.config}, 304 ${report.koaRatio.notModified}`,
      `start-up to first config: ${report.startupMs} ms; peak RSS ${rss ?? '?'} MB`,
      `login → NOTIFY received: p50 ${notify.p50} ms, p99 ${notify.p99} ms (${notify.received}/${logins} arrived); of which the PIN check alone (scrypt): p50 ${pinCheck.p50} ms, p99 ${pinCheck.p99} ms`,
      ...(scaled === null ? [] : [`${scaled.devices} devices: start-up ${scaled.startupMs} ms, peak RSS ${scaled.rssMb ?? '?'} MB`]),
      `figures written to ${OUT}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    for (const c of children) c.kill('SIGKILL');
    for (const cleanup of cleanups) await cleanup().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

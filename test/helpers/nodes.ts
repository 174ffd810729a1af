import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Several real hotprov processes (src/main.ts, as `npm start` runs it but from the sources) on one database: the
 * multi-node tests' cluster. Each node has its own loopback HTTP port and SIP port, kept across restarts (a load
 * balancer's config names them); they share HOTPROV_DB and nothing else.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The bearer token of every node's API. */
export const NODES_TOKEN = 'nodes-test-token-0123456789abcdef';

/** How long a node may take from spawn to its first 200 on /readyz (tsx compiles the sources on a busy machine). */
const READY_WITHIN_MS = 90_000;
/** How long `stop` waits for a node's clean exit after SIGTERM before it kills it. */
const STOP_WITHIN_MS = 15_000;
/** The last characters of each node's standard error kept (its log lines). */
const LOG_KEPT = 1 << 20;

export interface NodesOptions {
  /** HOTPROV_DB of every node: a SQLite file path, or a postgres:// URL. */
  readonly db: string;
  readonly count: number;
  /** More variables for every node (HOTPROV_TRUST_PROXY, HOTPROV_DRAIN_SECONDS…), or per node by its index. */
  readonly env?: Readonly<Record<string, string>> | ((index: number) => Readonly<Record<string, string>>);
  /** HOTPROV_BASE_URL of every node, e.g. the load balancer's URL; by default each node's own URL. */
  readonly baseUrl?: string;
}

export interface HotprovNode {
  readonly index: number;
  /** `http://127.0.0.1:<httpPort>`. */
  readonly url: string;
  readonly httpPort: number;
  /** The UDP port its NOTIFYs leave from (HOTPROV_SIP_PORT). */
  readonly sipPort: number;
  /** Whether its process is running now. */
  readonly running: boolean;
  /** What it wrote to standard error (its JSON log lines), across restarts. */
  readonly log: string;
}

export interface Nodes {
  readonly nodes: readonly HotprovNode[];
  /** Calls node i's JSON API with NODES_TOKEN; a body is sent as JSON. */
  // biome-ignore lint/suspicious/noExplicitAny: a test reads whatever JSON the route answered, and asserts on it
  api(i: number, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Sends the signal to node i; resolves with its exit code (or the signal's name) once it has exited. */
  kill(i: number, signal: 'SIGKILL' | 'SIGTERM'): Promise<number | string | null>;
  /** Starts node i again (after it exited) on the same ports; resolves when its /readyz answers 200. */
  restart(i: number): Promise<void>;
  /**
   * Stops every running node: SIGTERM (again every half second, so a draining node stops at once), then SIGKILL for
   * one that does not exit. Call it in a `finally` or `after`.
   */
  stop(): Promise<void>;
}

interface NodeState {
  index: number;
  httpPort: number;
  sipPort: number;
  env: Record<string, string>;
  child: ChildProcess | null;
  exited: Promise<number | string | null>;
  log: string;
}

/** Starts `count` nodes on `db`, each until its /readyz answers 200; on a failure the ones started are stopped. */
export async function startNodes(options: NodesOptions): Promise<Nodes> {
  const ports = await freePorts(options.count);
  const states: NodeState[] = ports.map(({ http, sip }, index) => ({
    index,
    httpPort: http,
    sipPort: sip,
    env: nodeEnv(options, index, http, sip),
    child: null,
    exited: Promise.resolve(null),
    log: '',
  }));
  // Should the test process end without `stop` (an uncaught error), no node outlives it.
  const killAll = () => {
    for (const s of states) if (s.child?.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
  };
  process.on('exit', killAll);

  const running = (s: NodeState) => s.child !== null && s.child.exitCode === null && s.child.signalCode === null;
  const at = (i: number): NodeState => {
    const s = states[i];
    if (s === undefined) throw new Error(`no node ${i}: there are ${states.length}`);
    return s;
  };
  const stop = async () => {
    await Promise.all(
      states.filter(running).map(async (s) => {
        s.child?.kill('SIGTERM');
        // A node that drains (HOTPROV_DRAIN_SECONDS) stops at once on a second SIGTERM; signals sent together may merge.
        const again = setInterval(() => s.child?.kill('SIGTERM'), 500);
        const timer = setTimeout(() => s.child?.kill('SIGKILL'), STOP_WITHIN_MS);
        await s.exited;
        clearInterval(again);
        clearTimeout(timer);
      }),
    );
    process.off('exit', killAll);
  };

  try {
    await Promise.all(states.map((s) => launch(s)));
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    nodes: states.map((s) => ({
      index: s.index,
      url: urlOf(s),
      httpPort: s.httpPort,
      sipPort: s.sipPort,
      get running() {
        return running(s);
      },
      get log() {
        return s.log;
      },
    })),
    async api(i, method, path, body) {
      const res = await fetch(`${urlOf(at(i))}${path}`, {
        method,
        headers: { authorization: `Bearer ${NODES_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text === '' ? null : JSON.parse(text) };
    },
    kill(i, signal) {
      const s = at(i);
      if (!running(s)) throw new Error(`node ${i} is not running`);
      s.child?.kill(signal);
      return s.exited;
    },
    async restart(i) {
      const s = at(i);
      if (running(s)) throw new Error(`node ${i} is still running: kill it first`);
      await launch(s);
    },
    stop,
  };
}

const urlOf = (s: NodeState) => `http://127.0.0.1:${s.httpPort}`;

/** The node's environment: this process's, without any HOTPROV_* of its own, then the node's. */
function nodeEnv(options: NodesOptions, index: number, httpPort: number, sipPort: number): Record<string, string> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !e[0].startsWith('HOTPROV_')));
  return {
    ...inherited,
    TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json'),
    HOTPROV_DB: options.db,
    HOTPROV_HTTP_HOST: '127.0.0.1',
    HOTPROV_HTTP_PORT: String(httpPort),
    HOTPROV_SIP_PORT: String(sipPort),
    HOTPROV_ADMIN_TOKEN: NODES_TOKEN,
    HOTPROV_BASE_URL: options.baseUrl ?? `http://127.0.0.1:${httpPort}`,
    HOTPROV_SIP_REGISTRAR: '127.0.0.1',
    ...(typeof options.env === 'function' ? options.env(index) : options.env),
  };
}

/** Spawns the node and waits for its first 200 on /readyz; rejects with its log when it exits or takes too long. */
async function launch(s: NodeState): Promise<void> {
  // --pdeathsig: the kernel kills the node if the test process dies without cleaning up (even by SIGKILL).
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', process.execPath, '--import', 'tsx', join(ROOT, 'src/main.ts')], {
    cwd: ROOT,
    env: s.env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  s.child = child;
  s.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  child.stderr?.on('data', (d) => {
    s.log = (s.log + String(d)).slice(-LOG_KEPT);
  });
  const deadline = Date.now() + READY_WITHIN_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`node ${s.index} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${s.log}`);
    try {
      const res = await fetch(`${urlOf(s)}/readyz`, { signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`node ${s.index} was not ready within ${READY_WITHIN_MS / 1000} s:\n${s.log}`);
}

/** A free loopback TCP port and a free UDP port per node, all held open until all are picked so none repeats. */
async function freePorts(count: number): Promise<{ http: number; sip: number }[]> {
  const tcp: Server[] = [];
  const udp: UdpSocket[] = [];
  try {
    const picked: { http: number; sip: number }[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      tcp.push(server);
      const http = await new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
      });
      // The notifier binds its port on every IPv4 address, so the probe does too.
      const socket = createSocket('udp4');
      udp.push(socket);
      const sip = await new Promise<number>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(0, '0.0.0.0', () => resolve(socket.address().port));
      });
      picked.push({ http, sip });
    }
    return picked;
  } finally {
    await Promise.all([...tcp.map((s) => new Promise((r) => s.close(r))), ...udp.map((s) => new Promise<void>((r) => s.close(() => r())))]);
  }
}

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Config, loadConfig } from '../../src/config.ts';
import type { ProfileChange } from '../../src/domain/context.ts';
import { createHotprov, type Hotprov } from '../../src/hotprov.ts';
import { type Logger, silentLogger } from '../../src/log.ts';

export const TEST_TOKEN = 'test-token-0123456789abcdef';

/** A config as production reads it, from variables, with a throwaway database unless told otherwise. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    HOTPROV_DB: ':memory:',
    HOTPROV_SIP_PORT: '0',
    HOTPROV_BASE_URL: 'http://prov.example.test:8080',
    HOTPROV_SIP_REGISTRAR: 'pbx.example.test',
    HOTPROV_ADMIN_TOKEN: TEST_TOKEN,
    ...env,
  });
}

export interface TestServer {
  readonly url: string;
  readonly hotprov: Hotprov;
  /** Every profile change hotprov announced, in order. */
  readonly changes: ProfileChange[];
  /** Calls the JSON API with the bearer token; the body is sent as JSON. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Fetches a phone path as a phone with the given User-Agent would. */
  phone(path: string, userAgent?: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

/** Starts hotprov on a real socket (127.0.0.1, a free port) over a fresh in-memory database with the real migrations. */
export async function startTestServer(
  options: { env?: Record<string, string>; log?: Logger; now?: () => Date; verifySecret?: (secret: string, hash: string) => Promise<boolean> } = {},
): Promise<TestServer> {
  const changes: ProfileChange[] = [];
  const hotprov = await createHotprov({
    config: testConfig(options.env),
    adminToken: TEST_TOKEN,
    log: options.log ?? silentLogger,
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.verifySecret === undefined ? {} : { verifySecret: options.verifySecret }),
    onProfilesChanged: (c) => changes.push(c),
    // Short SIP timers: a phone that never answers costs 640 ms, not RFC 3261's 32 s.
    sipTimers: { t1: 20, t2: 80, timeoutF: 640 },
  });
  const server: Server = await new Promise((resolve) => {
    const s = hotprov.app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    hotprov,
    changes,
    async api(method, path, body) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${TEST_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text === '' ? null : JSON.parse(text) };
    },
    phone(path, userAgent = '', init = {}) {
      return fetch(`${url}${path}`, { ...init, headers: { 'user-agent': userAgent, ...(init.headers ?? {}) } });
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await hotprov.close();
    },
  };
}

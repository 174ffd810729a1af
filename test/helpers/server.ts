import type { Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createHotprov, type Hotprov } from '../../src/composition.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { tablesOf } from '../../src/db/client.ts';
import type { ProfileChange } from '../../src/domain/deps.ts';
import { findDeviceByMac } from '../../src/domain/lookup.ts';
import type { Mac } from '../../src/domain/mac.ts';
import { createHttpsServer } from '../../src/http/https.ts';
import { type Logger, silentLogger } from '../../src/log.ts';
import { throwawayDatabase } from './testDatabase.ts';

export const TEST_TOKEN = 'test-token-0123456789abcdef';

/** The addresses tests run from. */
export const LOOPBACK_NETWORKS = ['127.0.0.0/8', '::1/128'] as const;

/** The Authorization header of HTTP Basic. */
export const basicAuthorization = (username: string, password: string): string => `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;

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
  /** `https://127.0.0.1:<port>` of the HTTPS listener when the config has one (HOTPROV_TLS_CERT/KEY), else null. */
  readonly httpsUrl: string | null;
  readonly hotprov: Hotprov;
  /** Every profile change hotprov announced, in order. */
  readonly changes: ProfileChange[];
  /** Calls the JSON API with the bearer token; the body is sent as JSON. */
  // biome-ignore lint/suspicious/noExplicitAny: a test reads whatever JSON the route answered, and asserts on it
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /**
   * Fetches a phone file as the enrolled phone does once it holds its credentials: under /prov/ with HTTP Basic.
   * A path naming no enrolled MAC (shared files) is fetched as given.
   */
  phone(path: string, userAgent?: string, init?: RequestInit): Promise<Response>;
  /** Where and with which Authorization header the enrolled phone fetches a path (as `phone` does). */
  phoneTarget(path: string): Promise<{ url: string; authorization: string | null }>;
  /** Fetches a path as given, without credentials: what a factory-fresh phone or a MAC guesser sends. */
  anonymous(path: string, userAgent?: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

/**
 * Starts hotprov on a real socket (127.0.0.1, a free port) over a fresh in-memory database with the real migrations.
 * With HOTPROV_TLS_CERT and HOTPROV_TLS_KEY in env (e.g. `env: pki.env()` from helpers/tls.ts) it also serves HTTPS,
 * as main.ts does, on another free port: httpsUrl.
 */
export async function startTestServer(
  options: {
    env?: Record<string, string>;
    log?: Logger;
    now?: () => Date;
    /** Runs before the listeners start, e.g. to add a test-only route behind the app's own middleware. */
    beforeListen?: (hotprov: Hotprov) => void;
    /** Checks PINs and passwords; a test passes its own to count the checks. */
    verifySecret?: (secret: string, hash: string) => Promise<boolean>;
    /** The shipped templates, from a test's own copy (an upgrade changes a file in it between two starts). */
    templatesDir?: string;
  } = {},
): Promise<TestServer> {
  const changes: ProfileChange[] = [];
  const throwaway = options.env?.HOTPROV_DB === undefined ? await throwawayDatabase() : null;
  const config = testConfig({ ...(throwaway === null ? {} : { HOTPROV_DB: throwaway.location }), ...options.env });
  const hotprov = await createHotprov({
    config,
    adminToken: TEST_TOKEN,
    log: options.log ?? silentLogger,
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.verifySecret === undefined ? {} : { verifySecret: options.verifySecret }),
    ...(options.templatesDir === undefined ? {} : { templatesDir: options.templatesDir }),
    onProfilesChanged: (c) => changes.push(c),
    // Short SIP timers: a phone that never answers costs 640 ms, not RFC 3261's 32 s.
    sipTimers: { t1: 20, t2: 80, timeoutF: 640 },
  });
  // The test tenant trusts loopback as an office trusts its LAN: a phone (this test) that claims its credentials
  // from 127.0.0.1 is active at once. Tests of untrusted networks set trustedNetworks themselves.
  await hotprov.database.db.update(tablesOf(hotprov.database.db).tenants).set({ trustedNetworks: JSON.stringify([...LOOPBACK_NETWORKS]) });
  options.beforeListen?.(hotprov);
  const server: Server = await new Promise((resolve) => {
    const s = hotprov.app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const phoneTarget = async (path: string): Promise<{ url: string; authorization: string | null }> => {
    const mac = /^\/(?:prov\/)?[^/]*?([0-9a-f]{12})[^/]*$/i.exec(path)?.[1];
    const device = mac === undefined ? undefined : await findDeviceByMac(hotprov.database.db, mac.toLowerCase() as Mac);
    if (device === undefined || device.provUsername === null || device.provPassword === null) return { url: `${url}${path}`, authorization: null };
    return { url: `${url}/prov/${path.replace(/^\/(prov\/)?/, '')}`, authorization: basicAuthorization(device.provUsername, device.provPassword) };
  };
  const { https } = config;
  const secureServer: HttpsServer | null =
    https === null
      ? null
      : await new Promise((resolve) => {
          const s = createHttpsServer(https, hotprov.app.callback()).listen(0, '127.0.0.1', () => resolve(s));
        });
  const httpsUrl = secureServer === null ? null : `https://127.0.0.1:${(secureServer.address() as AddressInfo).port}`;
  return {
    url,
    httpsUrl,
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
    phoneTarget,
    async phone(path, userAgent = '', init = {}) {
      const target = await phoneTarget(path);
      const headers: Record<string, string> = { 'user-agent': userAgent, ...(init.headers as Record<string, string> | undefined) };
      if (target.authorization !== null) headers.authorization ??= target.authorization;
      return fetch(target.url, { ...init, headers });
    },
    anonymous(path, userAgent = '', init = {}) {
      return fetch(`${url}${path}`, { ...init, headers: { 'user-agent': userAgent, ...(init.headers ?? {}) } });
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (secureServer !== null) await new Promise<void>((resolve) => secureServer.close(() => resolve()));
      await hotprov.close();
      await throwaway?.drop();
    },
  };
}

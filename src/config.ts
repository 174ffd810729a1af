import { networkInterfaces } from 'node:os';

/** The SIP transports a tenant's registrar can be reached over. */
export const SIP_TRANSPORTS = ['udp', 'tcp', 'tls'] as const;
export type SipTransport = (typeof SIP_TRANSPORTS)[number];

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Everything hotprov reads from its environment, validated once at start-up. Nothing else reads process.env. */
export interface Config {
  /** HOTPROV_HTTP_PORT: port of the phone, API and console listener (default 8080). */
  readonly httpPort: number;
  /** HOTPROV_HTTP_HOST: address to listen on (default 0.0.0.0, all interfaces). */
  readonly httpHost: string;
  /** HOTPROV_DB: SQLite database file (default data/hotprov.db); ':memory:' for a throwaway database. */
  readonly dbPath: string;
  /** HOTPROV_ADMIN_TOKEN: bearer token for /api/v1; when unset one is generated into data/admin-token. */
  readonly adminToken: string | null;
  /** HOTPROV_ADMIN_PASSWORD: on first start, creates console user `admin` with this password (10+ characters). */
  readonly adminPassword: string | null;
  /** HOTPROV_BASE_URL: the URL phones use to reach hotprov, written into rendered configs (no trailing slash). */
  readonly baseUrl: string;
  /** HOTPROV_SIP_PORT: UDP port check-sync NOTIFYs leave from (default 5060, 0 = any free port). */
  readonly sipPort: number;
  /** Default registrar of the default tenant; a tenant's own settings override it. */
  readonly registrar: {
    /** HOTPROV_SIP_REGISTRAR: host name or IP of the PBX (default: the host of HOTPROV_BASE_URL). */
    readonly host: string;
    /** HOTPROV_SIP_REGISTRAR_PORT: default 5060. */
    readonly port: number;
    /** HOTPROV_SIP_TRANSPORT: udp, tcp or tls (default udp). */
    readonly transport: SipTransport;
  };
  /** HOTPROV_SYNC_FETCH_TIMEOUT: seconds a phone has to fetch its new profile after a NOTIFY (default 60). */
  readonly syncFetchTimeoutSeconds: number;
  /** HOTPROV_SYNC_RETRIES: NOTIFYs sent again to a phone that did not fetch, before reporting failure (default 2). */
  readonly syncRetries: number;
  /** HOTPROV_CACHE_MB: memory for rendered phone files (default 64); least recently fetched phones are forgotten first. */
  readonly cacheMegabytes: number;
  /** HOTPROV_TRUST_PROXY: honour X-Forwarded-For and X-Forwarded-Proto from a reverse proxy (default false). */
  readonly trustProxy: boolean;
  /** HOTPROV_LOG_LEVEL: debug, info, warn or error (default info). */
  readonly logLevel: LogLevel;
}

/** Thrown by loadConfig with every problem found, one per line. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads and validates the HOTPROV_* variables.
 * @param env the environment to read, process.env in production.
 * @returns a frozen Config.
 * @throws ConfigError listing every invalid variable at once.
 */
export function loadConfig(env: Env): Config {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };

  const port = (name: string, fallback: number, allowZero: boolean): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    const min = allowZero ? 0 : 1;
    if (!/^\d+$/.test(raw) || n < min || n > 65535) {
      problems.push(`${name}=${JSON.stringify(raw)} is not a port number (${min}-65535)`);
      return fallback;
    }
    return n;
  };

  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const raw = read(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    const match = allowed.find((a) => a === raw);
    if (match === undefined) {
      problems.push(`${name}=${JSON.stringify(raw)} must be one of: ${allowed.join(', ')}`);
      return fallback;
    }
    return match;
  };

  const httpPort = port('HOTPROV_HTTP_PORT', 8080, false);
  const sipPort = port('HOTPROV_SIP_PORT', 5060, true);
  const registrarPort = port('HOTPROV_SIP_REGISTRAR_PORT', 5060, false);
  const transport = oneOf('HOTPROV_SIP_TRANSPORT', SIP_TRANSPORTS, 'udp');
  const logLevel = oneOf('HOTPROV_LOG_LEVEL', LOG_LEVELS, 'info');
  const trustProxy = oneOf('HOTPROV_TRUST_PROXY', ['true', 'false', '1', '0'] as const, 'false');

  const adminToken = read('HOTPROV_ADMIN_TOKEN') ?? null;
  if (adminToken !== null && adminToken.length < 16) {
    problems.push('HOTPROV_ADMIN_TOKEN must be at least 16 characters long');
  }

  const adminPassword = read('HOTPROV_ADMIN_PASSWORD') ?? null;
  if (adminPassword !== null && adminPassword.length < 10) problems.push('HOTPROV_ADMIN_PASSWORD must be at least 10 characters long');

  const baseUrl = parseBaseUrl(read('HOTPROV_BASE_URL'), httpPort, problems);

  const registrarHost = read('HOTPROV_SIP_REGISTRAR') ?? hostOf(baseUrl);
  if (!/^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/.test(registrarHost)) {
    problems.push(`HOTPROV_SIP_REGISTRAR=${JSON.stringify(registrarHost)} is not a host name or IP address`);
  }

  const httpHost = read('HOTPROV_HTTP_HOST') ?? '0.0.0.0';
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name}=${JSON.stringify(raw)} must be a whole number from ${min} to ${max}`);
      return fallback;
    }
    return Number(raw);
  };
  const syncFetchTimeoutSeconds = integer('HOTPROV_SYNC_FETCH_TIMEOUT', 60, 1, 86400);
  const syncRetries = integer('HOTPROV_SYNC_RETRIES', 2, 0, 20);
  const cacheMegabytes = integer('HOTPROV_CACHE_MB', 64, 0, 65536);

  if (problems.length > 0) throw new ConfigError(problems);

  return Object.freeze({
    httpPort,
    httpHost,
    dbPath: read('HOTPROV_DB') ?? 'data/hotprov.db',
    adminToken,
    adminPassword,
    baseUrl,
    sipPort,
    registrar: Object.freeze({ host: registrarHost, port: registrarPort, transport }),
    syncFetchTimeoutSeconds,
    syncRetries,
    cacheMegabytes,
    trustProxy: trustProxy === 'true' || trustProxy === '1',
    logLevel,
  });
}

function parseBaseUrl(raw: string | undefined, httpPort: number, problems: string[]): string {
  if (raw === undefined) return `http://${firstLanAddress()}:${httpPort}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    problems.push(`HOTPROV_BASE_URL=${JSON.stringify(raw)} is not a URL`);
    return '';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    problems.push(`HOTPROV_BASE_URL must start with http:// or https:// (got ${url.protocol})`);
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '') {
    problems.push('HOTPROV_BASE_URL must not carry a query, fragment or credentials');
  }
  return url.href.replace(/\/+$/, '');
}

function hostOf(baseUrl: string): string {
  try {
    return new URL(baseUrl).hostname;
  } catch {
    return '127.0.0.1';
  }
}

/** Phones cannot reach 127.0.0.1, so the default base URL uses the first LAN address. */
function firstLanAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) {
      if (a.family === 'IPv4' && !a.internal) return a.address;
    }
  }
  return '127.0.0.1';
}

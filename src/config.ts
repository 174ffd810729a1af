import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { cidrProblem } from './domain/networks.ts';

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
  /**
   * HOTPROV_BASE_URL: the URL phones use to reach hotprov, written into rendered configs (no trailing slash).
   * Its default is https://<first LAN address>:<HOTPROV_HTTPS_PORT> when HTTPS is configured.
   */
  readonly baseUrl: string;
  /**
   * The base URL hotprov hands to phones and redirect services (bootstrap files, setting-server URLs, RPS/SRAPS/ZTP):
   * https:// whenever hotprov has HTTPS. It is baseUrl when that is already https:// or when HTTPS is off; with HTTPS
   * on and an http:// baseUrl it is the same host and path on https:// and HOTPROV_HTTPS_PORT.
   */
  readonly phoneBaseUrl: string;
  /** The HTTPS listener (HOTPROV_TLS_CERT + HOTPROV_TLS_KEY), or null when hotprov serves plain HTTP only. */
  readonly https: HttpsConfig | null;
  /** HOTPROV_SIP_PORT: UDP port check-sync NOTIFYs leave from (default 5060, 0 = any free port). */
  /** HOTPROV_SIP_PORT: UDP port check-sync NOTIFYs leave from, IPv4 and IPv6 (default 5060, 0 = any free port). */
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
  /**
   * HOTPROV_SIP_TLS_CA: PEM file of the certificate authorities a phone's certificate must chain to when a NOTIFY
   * goes over TLS (the vendors' device CAs); unset, TLS NOTIFYs are encrypted but the phone is not verified.
   */
  readonly sipTlsCa: string | null;
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
  /** Failed phone requests (guessed MACs, wrong credentials) an address may make before it is blocked. */
  readonly phoneGuard: {
    /** HOTPROV_PHONE_FAILURE_BUDGET: failures per window (default 20). */
    readonly budget: number;
    /** HOTPROV_PHONE_FAILURE_WINDOW: the window, in seconds (default 600). */
    readonly windowSeconds: number;
    /** HOTPROV_PHONE_BLOCK_SECONDS: how long an address over budget is blocked (default 900). */
    readonly blockSeconds: number;
    /** HOTPROV_PHONE_ALLOW: comma-separated CIDRs never blocked (default none). */
    readonly allow: readonly string[];
  };
}

/** The HTTPS listener: beside the HTTP one, the same app (phones, API, console), on httpHost. */
export interface HttpsConfig {
  /** HOTPROV_HTTPS_PORT: default 8443. */
  readonly port: number;
  /** HOTPROV_TLS_CERT: PEM file of the server certificate, followed by any intermediate certificates. */
  readonly certFile: string;
  /** HOTPROV_TLS_KEY: PEM file of the certificate's private key (unencrypted). */
  readonly keyFile: string;
  /** The two files' text, read and checked once at start-up (they parse, and the key belongs to the certificate). */
  readonly certPem: string;
  readonly keyPem: string;
  /**
   * HOTPROV_TLS_CLIENT_CA: PEM bundle of the phone vendors' device CAs. When set the listener asks every client for
   * a certificate and verifies it against this bundle; clients without one are still served.
   */
  readonly clientCaFile: string | null;
  readonly clientCaPem: string | null;
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

  const https = readHttps(read, port, httpPort, problems);
  const baseUrl = parseBaseUrl(read('HOTPROV_BASE_URL'), https === null ? { scheme: 'http', port: httpPort } : { scheme: 'https', port: https.port }, problems);
  const phoneBaseUrl = https === null ? baseUrl : httpsVariant(baseUrl, https.port);

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
  const sipTlsCaFile = read('HOTPROV_SIP_TLS_CA');
  let sipTlsCa: string | null = null;
  if (sipTlsCaFile !== undefined) {
    try {
      sipTlsCa = readFileSync(sipTlsCaFile, 'utf8');
      if (!sipTlsCa.includes('-----BEGIN CERTIFICATE-----')) problems.push(`HOTPROV_SIP_TLS_CA=${JSON.stringify(sipTlsCaFile)} holds no PEM certificate`);
    } catch (err) {
      problems.push(`HOTPROV_SIP_TLS_CA=${JSON.stringify(sipTlsCaFile)} cannot be read: ${(err as Error).message}`);
    }
  }
  const syncFetchTimeoutSeconds = integer('HOTPROV_SYNC_FETCH_TIMEOUT', 60, 1, 86400);
  const syncRetries = integer('HOTPROV_SYNC_RETRIES', 2, 0, 20);
  const cacheMegabytes = integer('HOTPROV_CACHE_MB', 64, 0, 65536);
  const phoneGuard = Object.freeze({
    budget: integer('HOTPROV_PHONE_FAILURE_BUDGET', 20, 1, 1_000_000),
    windowSeconds: integer('HOTPROV_PHONE_FAILURE_WINDOW', 600, 1, 86400),
    blockSeconds: integer('HOTPROV_PHONE_BLOCK_SECONDS', 900, 1, 86400 * 7),
    allow: Object.freeze(cidrList('HOTPROV_PHONE_ALLOW', read('HOTPROV_PHONE_ALLOW'), problems)),
  });

  if (problems.length > 0) throw new ConfigError(problems);

  return Object.freeze({
    httpPort,
    httpHost,
    dbPath: read('HOTPROV_DB') ?? 'data/hotprov.db',
    adminToken,
    adminPassword,
    baseUrl,
    phoneBaseUrl,
    https,
    sipPort,
    registrar: Object.freeze({ host: registrarHost, port: registrarPort, transport }),
    sipTlsCa,
    syncFetchTimeoutSeconds,
    syncRetries,
    cacheMegabytes,
    trustProxy: trustProxy === 'true' || trustProxy === '1',
    logLevel,
    phoneGuard,
  });
}

function cidrList(name: string, raw: string | undefined, problems: string[]): string[] {
  if (raw === undefined) return [];
  const cidrs = raw
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  for (const cidr of cidrs) {
    const problem = cidrProblem(cidr);
    if (problem !== null) problems.push(`${name}: ${problem}`);
  }
  return cidrs;
}

function parseBaseUrl(raw: string | undefined, listener: { scheme: 'http' | 'https'; port: number }, problems: string[]): string {
  if (raw === undefined) return `${listener.scheme}://${firstLanAddress()}:${listener.port}`;
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

/** An http:// base URL moved to hotprov's own HTTPS listener: same host and path, https:// and the HTTPS port. */
function httpsVariant(baseUrl: string, httpsPort: number): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    return baseUrl;
  }
  if (url.protocol === 'https:') return baseUrl;
  url.protocol = 'https:';
  url.port = String(httpsPort);
  return url.href.replace(/\/+$/, '');
}

type PortReader = (name: string, fallback: number, allowZero: boolean) => number;

/**
 * HOTPROV_TLS_CERT and HOTPROV_TLS_KEY (both or neither), HOTPROV_HTTPS_PORT and HOTPROV_TLS_CLIENT_CA. Each file
 * must be readable and hold what its name says, and the key must be the certificate's: found here, not when the
 * first phone connects.
 */
function readHttps(read: (name: string) => string | undefined, port: PortReader, httpPort: number, problems: string[]): HttpsConfig | null {
  const certFile = read('HOTPROV_TLS_CERT');
  const keyFile = read('HOTPROV_TLS_KEY');
  const clientCaFile = read('HOTPROV_TLS_CLIENT_CA') ?? null;
  const httpsPort = port('HOTPROV_HTTPS_PORT', 8443, false);
  if (certFile === undefined || keyFile === undefined) {
    if (certFile !== undefined) problems.push('HOTPROV_TLS_CERT is set without HOTPROV_TLS_KEY: HTTPS needs both');
    if (keyFile !== undefined) problems.push('HOTPROV_TLS_KEY is set without HOTPROV_TLS_CERT: HTTPS needs both');
    if (certFile === undefined && keyFile === undefined) {
      if (clientCaFile !== null) problems.push('HOTPROV_TLS_CLIENT_CA needs HTTPS: set HOTPROV_TLS_CERT and HOTPROV_TLS_KEY too');
      if (read('HOTPROV_HTTPS_PORT') !== undefined) problems.push('HOTPROV_HTTPS_PORT is set but HTTPS is off: set HOTPROV_TLS_CERT and HOTPROV_TLS_KEY too');
    }
    return null;
  }
  if (httpsPort === httpPort) problems.push(`HOTPROV_HTTPS_PORT and HOTPROV_HTTP_PORT are both ${httpPort}: they need a port each`);

  const certPem = readPemFile('HOTPROV_TLS_CERT', certFile, problems);
  const keyPem = readPemFile('HOTPROV_TLS_KEY', keyFile, problems);
  const clientCaPem = clientCaFile === null ? null : readPemFile('HOTPROV_TLS_CLIENT_CA', clientCaFile, problems);

  let certificate: X509Certificate | null = null;
  if (certPem !== null) {
    try {
      certificate = new X509Certificate(certPem);
    } catch (err) {
      problems.push(`HOTPROV_TLS_CERT=${certFile} does not hold a PEM certificate (${(err as Error).message})`);
    }
  }
  let key: KeyObject | null = null;
  if (keyPem !== null) {
    try {
      key = createPrivateKey(keyPem);
    } catch (err) {
      problems.push(`HOTPROV_TLS_KEY=${keyFile} does not hold an unencrypted PEM private key (${(err as Error).message})`);
    }
  }
  if (certificate !== null && key !== null && !certificate.checkPrivateKey(key)) {
    problems.push(`HOTPROV_TLS_KEY=${keyFile} is not the key of the certificate in HOTPROV_TLS_CERT=${certFile}`);
  }
  if (clientCaPem !== null) checkCaBundle(clientCaFile ?? '', clientCaPem, problems);

  if (certPem === null || keyPem === null) return null;
  return Object.freeze({ port: httpsPort, certFile, keyFile, certPem, keyPem, clientCaFile, clientCaPem });
}

function readPemFile(name: string, file: string, problems: string[]): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a folder' : (err as Error).message;
    problems.push(`${name}=${file} cannot be read (${why})`);
    return null;
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Every certificate in the bundle must parse: one broken entry would otherwise silently distrust a vendor. */
function checkCaBundle(file: string, pem: string, problems: string[]): void {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    problems.push(`HOTPROV_TLS_CLIENT_CA=${file} holds no PEM certificate`);
    return;
  }
  blocks.forEach((block, i) => {
    try {
      const ca = new X509Certificate(block);
      if (!ca.ca) problems.push(`HOTPROV_TLS_CLIENT_CA=${file}: certificate ${i + 1} (${ca.subject.replace(/\n/g, ', ')}) is not a CA certificate`);
    } catch (err) {
      problems.push(`HOTPROV_TLS_CLIENT_CA=${file}: certificate ${i + 1} does not parse (${(err as Error).message})`);
    }
  });
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

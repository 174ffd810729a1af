import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { z } from 'zod';
import { cidrProblem } from './domain/networks.ts';
import { phoneBaseUrlOf } from './urls.ts';

/** The SIP transports a tenant's registrar can be reached over. */
export const SIP_TRANSPORTS = ['udp', 'tcp', 'tls'] as const;
export type SipTransport = (typeof SIP_TRANSPORTS)[number];

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** JSON lines for machines (the default), or one readable line per event for people at a terminal. */
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Everything hotprov reads from its environment, validated once at start-up. Nothing else reads process.env. */
export interface Config {
  /** HOTPROV_HTTP_PORT: port of the phone, API and console listener (default 8080). */
  readonly httpPort: number;
  /** HOTPROV_HTTP_HOST: address to listen on (default 0.0.0.0, all interfaces). */
  readonly httpHost: string;
  /** HOTPROV_DB: SQLite database file (default data/hotprov.db); ':memory:' for a throwaway database. */
  /** HOTPROV_DB as given: a SQLite file path, or a PostgreSQL URL (with its password: never log it). */
  readonly dbPath: string;
  /** Which engine HOTPROV_DB names. */
  readonly dbEngine: 'sqlite' | 'postgres';
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
  /** HOTPROV_SIP_PORT: UDP port check-sync NOTIFYs leave from, IPv4 and IPv6 (default 5060, 0 = any free port). */
  readonly sipPort: number;
  /**
   * HOTPROV_SIP_HOST: the host name or IP this node's NOTIFYs name in Via and Contact (default: the host of
   * HOTPROV_BASE_URL). Behind a load balancer the base URL is the balancer's; each node names itself here.
   */
  readonly sipHost: string;
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
  /**
   * HOTPROV_DRAIN_SECONDS: after SIGTERM, how long /readyz answers 503 while requests are still served, before the
   * listeners close (default 0): behind a load balancer, longer than its health checks take to mark a node down.
   */
  readonly drainSeconds: number;
  /** HOTPROV_LOG_LEVEL: debug, info, warn or error (default info). */
  readonly logLevel: LogLevel;
  /** HOTPROV_LOG_FORMAT: json (one JSON object a line, the default) or pretty (for people). */
  readonly logFormat: LogFormat;
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
  /** Who may read GET /metrics: a request with the token, or one from an allowed address. */
  readonly metrics: {
    /** HOTPROV_METRICS_TOKEN: `Authorization: Bearer <token>` is let in from any address (16+ characters; default none). */
    readonly token: string | null;
    /** HOTPROV_METRICS_ALLOW: comma-separated CIDRs let in without the token (default 127.0.0.0/8,::1: this machine). */
    readonly allow: readonly string[];
  };
  /** Where and how tenants' webhooks are delivered. */
  readonly webhooks: {
    /**
     * HOTPROV_WEBHOOK_ALLOW: comma-separated CIDRs of private, loopback or link-local addresses a webhook may still be
     * delivered to (default none: only public addresses, so a tenant cannot make hotprov call into its own network).
     */
    readonly allow: readonly string[];
    /** HOTPROV_WEBHOOK_CA: PEM file of certificate authorities trusted for webhook endpoints, beside the public ones. */
    readonly ca: string | null;
    /** HOTPROV_WEBHOOK_TIMEOUT: seconds an endpoint has to answer a delivery (default 10). */
    readonly timeoutSeconds: number;
    /** HOTPROV_WEBHOOK_RETRY_SECONDS: the waits before each retry of a failed delivery, in seconds. */
    readonly retrySeconds: readonly number[];
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

/*
 * One zod schema per variable, made for its name so every message names it (and shows the value, except for
 * secrets). An unset or blank variable is undefined and gets the default. Rules between variables (HTTPS needs a
 * certificate and its key, the base URL's default follows the HTTPS port, the registrar follows the base URL) and
 * the files they name are checked after, in loadConfig.
 */
type Variable<T> = (name: string) => z.ZodType<T, string | undefined>;

/** The variable as set: trimmed, and undefined when blank. */
const setting = z
  .string()
  .optional()
  .transform((v) => (v?.trim() === '' ? undefined : v?.trim()));

/** A variable with a default: the rule sees only a set value. */
const withDefault =
  <T>(fallback: T, rule: (name: string) => z.ZodType<T, string>): Variable<T> =>
  (name) =>
    setting.pipe(rule(name).optional()).transform((value) => (value === undefined ? fallback : value));

const shown = (name: string, input: unknown) => `${name}=${JSON.stringify(input)}`;

/** A TCP or UDP port; 0 (any free port) only where allowed. */
const portRule = (name: string, min: 0 | 1) =>
  z
    .string()
    .refine((s) => /^\d+$/.test(s) && Number(s) >= min && Number(s) <= 65535, {
      error: (iss) => `${shown(name, iss.input)} is not a port number (${min}-65535)`,
    })
    .transform(Number);

const port = (fallback: number, { allowZero = false } = {}): Variable<number> => withDefault(fallback, (name) => portRule(name, allowZero ? 0 : 1));

/** HOTPROV_HTTPS_PORT: unset is not the same as 8443, since setting it without HTTPS is a mistake worth naming. */
const optionalPort: Variable<number | undefined> = (name) => setting.pipe(portRule(name, 1).optional());

const wholeNumber = (fallback: number, min: number, max: number): Variable<number> =>
  withDefault(fallback, (name) =>
    z
      .string()
      .refine((s) => /^\d+$/.test(s) && Number(s) >= min && Number(s) <= max, {
        error: (iss) => `${shown(name, iss.input)} must be a whole number from ${min} to ${max}`,
      })
      .transform(Number),
  );

/** One of a few words, in any case. */
const oneOf = <const T extends readonly [string, ...string[]]>(allowed: T, fallback: T[number]): Variable<T[number]> =>
  withDefault(fallback, (name) =>
    z
      .string()
      .transform((s) => s.toLowerCase())
      .pipe(z.enum(allowed, { error: (iss) => `${shown(name, iss.input)} must be one of: ${allowed.join(', ')}` })),
  );

const yesNo = (fallback: boolean): Variable<boolean> =>
  withDefault(fallback, (name) =>
    z.stringbool({
      truthy: ['true', '1'],
      falsy: ['false', '0'],
      error: (iss) => `${shown(name, String(iss.input).toLowerCase())} must be one of: true, false, 1, 0`,
    }),
  );

/** A secret: its length is checked, its value never repeated in a message. */
const secret = (minLength: number): Variable<string | null> =>
  withDefault(null, (name) => z.string().min(minLength, { error: `${name} must be at least ${minLength} characters long` }));

const text = (fallback: string): Variable<string> => withDefault(fallback, () => z.string());
const optionalText: Variable<string | undefined> = () => setting;

/** A comma-separated list of CIDRs, each checked. */
const cidrs = (fallback: readonly string[] = []): Variable<readonly string[]> =>
  withDefault(fallback, (name) =>
    z
      .string()
      .transform((s) =>
        s
          .split(',')
          .map((c) => c.trim())
          .filter((c) => c !== ''),
      )
      .check((ctx) => {
        for (const cidr of ctx.value) {
          const problem = cidrProblem(cidr);
          if (problem !== null) ctx.issues.push({ code: 'custom', input: ctx.value, message: `${name}: ${problem}` });
        }
      })
      .transform((list) => Object.freeze(list)),
  );

/** A comma-separated list of waits in seconds (fractions allowed), each from 0.1 s to a week. */
const waits = (fallback: readonly number[]): Variable<readonly number[]> =>
  withDefault(fallback, (name) =>
    z
      .string()
      .transform((s) => s.split(',').map((w) => w.trim()))
      .refine((list) => list.every((w) => /^\d+(\.\d+)?$/.test(w) && Number(w) >= 0.1 && Number(w) <= 604_800), {
        error: (iss) => `${shown(name, String(iss.input))} must be seconds separated by commas, each from 0.1 to 604800`,
      })
      .transform((list) => Object.freeze(list.map(Number))),
  );

/** Who may scrape /metrics without the token unless HOTPROV_METRICS_ALLOW says otherwise: this machine only. */
export const LOOPBACK_NETWORKS: readonly string[] = Object.freeze(['127.0.0.0/8', '::1']);

/** An http:// or https:// URL without query, fragment or credentials, kept without its trailing slash. */
const baseUrl: Variable<string | undefined> = (name) =>
  setting.pipe(
    z
      .string()
      .transform((raw, ctx) => {
        let url: URL;
        try {
          url = new URL(raw);
        } catch {
          ctx.issues.push({ code: 'custom', input: raw, message: `${shown(name, raw)} is not a URL` });
          return z.NEVER;
        }
        if (url.protocol !== 'http:' && url.protocol !== 'https:') {
          ctx.issues.push({ code: 'custom', input: raw, message: `${name} must start with http:// or https:// (got ${url.protocol})` });
        }
        if (url.search !== '' || url.hash !== '' || url.username !== '') {
          ctx.issues.push({ code: 'custom', input: raw, message: `${name} must not carry a query, fragment or credentials` });
        }
        return url.href.replace(/\/+$/, '');
      })
      .optional(),
  );

/** A file of PEM certificates, read once now. */
const certificateFile: Variable<string | null> = withDefault(null, (name) =>
  z.string().transform((file, ctx) => {
    try {
      const pem = readFileSync(file, 'utf8');
      if (!pem.includes('-----BEGIN CERTIFICATE-----'))
        ctx.issues.push({ code: 'custom', input: file, message: `${shown(name, file)} holds no PEM certificate` });
      return pem;
    } catch (err) {
      ctx.issues.push({ code: 'custom', input: file, message: `${shown(name, file)} cannot be read: ${(err as Error).message}` });
      return z.NEVER;
    }
  }),
);

/** Every variable hotprov reads, its rule and its default. The README's configuration table lists the same. */
const VARIABLES = {
  HOTPROV_HTTP_PORT: port(8080),
  HOTPROV_HTTP_HOST: text('0.0.0.0'),
  HOTPROV_TLS_CERT: optionalText,
  HOTPROV_TLS_KEY: optionalText,
  HOTPROV_HTTPS_PORT: optionalPort,
  HOTPROV_TLS_CLIENT_CA: optionalText,
  HOTPROV_DB: text('data/hotprov.db'),
  HOTPROV_ADMIN_TOKEN: secret(16),
  HOTPROV_ADMIN_PASSWORD: secret(10),
  HOTPROV_BASE_URL: baseUrl,
  HOTPROV_SIP_PORT: port(5060, { allowZero: true }),
  HOTPROV_SIP_HOST: optionalText,
  HOTPROV_SIP_TLS_CA: certificateFile,
  HOTPROV_SIP_REGISTRAR: optionalText,
  HOTPROV_SIP_REGISTRAR_PORT: port(5060),
  HOTPROV_SIP_TRANSPORT: oneOf(SIP_TRANSPORTS, 'udp'),
  HOTPROV_SYNC_FETCH_TIMEOUT: wholeNumber(60, 1, 86400),
  HOTPROV_SYNC_RETRIES: wholeNumber(2, 0, 20),
  HOTPROV_CACHE_MB: wholeNumber(64, 0, 65536),
  HOTPROV_TRUST_PROXY: yesNo(false),
  HOTPROV_DRAIN_SECONDS: wholeNumber(0, 0, 3600),
  HOTPROV_PHONE_FAILURE_BUDGET: wholeNumber(20, 1, 1_000_000),
  HOTPROV_PHONE_FAILURE_WINDOW: wholeNumber(600, 1, 86400),
  HOTPROV_PHONE_BLOCK_SECONDS: wholeNumber(900, 1, 86400 * 7),
  HOTPROV_PHONE_ALLOW: cidrs(),
  HOTPROV_METRICS_TOKEN: secret(16),
  HOTPROV_METRICS_ALLOW: cidrs(LOOPBACK_NETWORKS),
  HOTPROV_WEBHOOK_ALLOW: cidrs(),
  HOTPROV_WEBHOOK_CA: certificateFile,
  HOTPROV_WEBHOOK_TIMEOUT: wholeNumber(10, 1, 120),
  // 30 s, 2 min, 10 min, 30 min, 2 h, 6 h, 12 h: about 21 hours in all before a delivery is given up.
  HOTPROV_WEBHOOK_RETRY_SECONDS: waits([30, 120, 600, 1800, 7200, 21600, 43200]),
  HOTPROV_LOG_LEVEL: oneOf(LOG_LEVELS, 'info'),
  HOTPROV_LOG_FORMAT: oneOf(LOG_FORMATS, 'json'),
} as const;

type Variables = { -readonly [K in keyof typeof VARIABLES]: z.output<ReturnType<(typeof VARIABLES)[K]>> };

/** The variables' schema, each made for its name. */
const ENV_SCHEMA = z.object(
  Object.fromEntries(Object.entries(VARIABLES).map(([name, variable]) => [name, variable(name)])) as {
    [K in keyof typeof VARIABLES]: ReturnType<(typeof VARIABLES)[K]>;
  },
);

/**
 * Each variable on its own, so that a bad one is reported and replaced by its default while the others (and the
 * rules between them) are still checked: every problem is listed at once.
 */
function readVariables(env: Env, problems: string[]): Variables {
  const values: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(ENV_SCHEMA.shape)) {
    const parsed = (schema as z.ZodType).safeParse(env[name]);
    if (parsed.success) {
      values[name] = parsed.data;
    } else {
      problems.push(...new Set(parsed.error.issues.map((i) => i.message)));
      values[name] = (schema as z.ZodType).parse(undefined);
    }
  }
  return values as Variables;
}

/** What is wrong with a PostgreSQL URL (never repeating its password), or null. */
function postgresUrlProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a URL: use postgres://user:password@host:5432/database';
  }
  if (url.hostname === '' && !url.searchParams.has('host')) return 'names no host: use postgres://user:password@host:5432/database';
  if (url.pathname.replace(/^\//, '') === '') return 'names no database: use postgres://user:password@host:5432/database';
  return null;
}

/**
 * Reads and validates the HOTPROV_* variables.
 * @param env the environment to read, process.env in production.
 * @returns a frozen Config.
 * @throws ConfigError listing every invalid variable at once.
 */
export function loadConfig(env: Env): Config {
  const problems: string[] = [];
  const v = readVariables(env, problems);

  const https = readHttps(v, problems);
  const baseUrl = v.HOTPROV_BASE_URL ?? `${https === null ? 'http' : 'https'}://${firstLanAddress()}:${https === null ? v.HOTPROV_HTTP_PORT : https.port}`;
  const phoneBaseUrl = phoneBaseUrlOf(baseUrl, https?.port ?? null);

  const registrarHost = v.HOTPROV_SIP_REGISTRAR ?? hostOf(baseUrl);
  if (!/^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/.test(registrarHost)) {
    problems.push(`HOTPROV_SIP_REGISTRAR=${JSON.stringify(registrarHost)} is not a host name or IP address`);
  }
  const sipHost = (v.HOTPROV_SIP_HOST ?? hostOf(baseUrl)).replace(/^\[|\]$/g, '');
  if (!/^[A-Za-z0-9.-]+$|^[0-9A-Fa-f:.]+$/.test(sipHost)) {
    problems.push(`HOTPROV_SIP_HOST=${JSON.stringify(sipHost)} is not a host name or IP address`);
  }

  // A PostgreSQL URL names a server and a database; anything else is a SQLite file path.
  const dbEngine = /^postgres(ql)?:/i.test(v.HOTPROV_DB) ? 'postgres' : 'sqlite';
  if (dbEngine === 'postgres') {
    const problem = postgresUrlProblem(v.HOTPROV_DB);
    if (problem !== null) problems.push(`HOTPROV_DB: ${problem}`);
    // A token generated into one node's data folder would be unknown to the others.
    if (v.HOTPROV_ADMIN_TOKEN === null) problems.push('HOTPROV_ADMIN_TOKEN must be set with PostgreSQL: every node must accept the same token');
  }

  if (problems.length > 0) throw new ConfigError(problems);

  return Object.freeze({
    httpPort: v.HOTPROV_HTTP_PORT,
    httpHost: v.HOTPROV_HTTP_HOST,
    dbPath: v.HOTPROV_DB,
    dbEngine,
    adminToken: v.HOTPROV_ADMIN_TOKEN,
    adminPassword: v.HOTPROV_ADMIN_PASSWORD,
    baseUrl,
    phoneBaseUrl,
    https,
    sipPort: v.HOTPROV_SIP_PORT,
    sipHost,
    registrar: Object.freeze({ host: registrarHost, port: v.HOTPROV_SIP_REGISTRAR_PORT, transport: v.HOTPROV_SIP_TRANSPORT }),
    sipTlsCa: v.HOTPROV_SIP_TLS_CA,
    syncFetchTimeoutSeconds: v.HOTPROV_SYNC_FETCH_TIMEOUT,
    syncRetries: v.HOTPROV_SYNC_RETRIES,
    cacheMegabytes: v.HOTPROV_CACHE_MB,
    trustProxy: v.HOTPROV_TRUST_PROXY,
    drainSeconds: v.HOTPROV_DRAIN_SECONDS,
    logLevel: v.HOTPROV_LOG_LEVEL,
    logFormat: v.HOTPROV_LOG_FORMAT,
    phoneGuard: Object.freeze({
      budget: v.HOTPROV_PHONE_FAILURE_BUDGET,
      windowSeconds: v.HOTPROV_PHONE_FAILURE_WINDOW,
      blockSeconds: v.HOTPROV_PHONE_BLOCK_SECONDS,
      allow: v.HOTPROV_PHONE_ALLOW,
    }),
    metrics: Object.freeze({ token: v.HOTPROV_METRICS_TOKEN, allow: v.HOTPROV_METRICS_ALLOW }),
    webhooks: Object.freeze({
      allow: v.HOTPROV_WEBHOOK_ALLOW,
      ca: v.HOTPROV_WEBHOOK_CA,
      timeoutSeconds: v.HOTPROV_WEBHOOK_TIMEOUT,
      retrySeconds: v.HOTPROV_WEBHOOK_RETRY_SECONDS,
    }),
  });
}

/**
 * HOTPROV_TLS_CERT and HOTPROV_TLS_KEY (both or neither), HOTPROV_HTTPS_PORT and HOTPROV_TLS_CLIENT_CA. Each file
 * must be readable and hold what its name says, and the key must be the certificate's: found here, not when the
 * first phone connects.
 */
function readHttps(v: Variables, problems: string[]): HttpsConfig | null {
  const certFile = v.HOTPROV_TLS_CERT;
  const keyFile = v.HOTPROV_TLS_KEY;
  const clientCaFile = v.HOTPROV_TLS_CLIENT_CA ?? null;
  const httpsPort = v.HOTPROV_HTTPS_PORT ?? 8443;
  const httpPort = v.HOTPROV_HTTP_PORT;
  if (certFile === undefined || keyFile === undefined) {
    if (certFile !== undefined) problems.push('HOTPROV_TLS_CERT is set without HOTPROV_TLS_KEY: HTTPS needs both');
    if (keyFile !== undefined) problems.push('HOTPROV_TLS_KEY is set without HOTPROV_TLS_CERT: HTTPS needs both');
    if (certFile === undefined && keyFile === undefined) {
      if (clientCaFile !== null) problems.push('HOTPROV_TLS_CLIENT_CA needs HTTPS: set HOTPROV_TLS_CERT and HOTPROV_TLS_KEY too');
      if (v.HOTPROV_HTTPS_PORT !== undefined) problems.push('HOTPROV_HTTPS_PORT is set but HTTPS is off: set HOTPROV_TLS_CERT and HOTPROV_TLS_KEY too');
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

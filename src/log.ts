import { type DestinationStream, pino } from 'pino';
import type { LogLevel } from './config.ts';

/** What part of hotprov a log line comes from. */
export type LogCategory = 'lifecycle' | 'http' | 'provisioning' | 'hotdesk' | 'api' | 'database' | 'security' | 'sip' | 'webhooks';

export type LogExtra = Readonly<Record<string, unknown>>;

/**
 * What the code base logs through: a category, a message, and fields. Behind it, pino writes one JSON object a
 * line (`{"level":"info","time":"…","category":"http","msg":"…",…fields}`).
 */
export interface Logger {
  /** Whether lines of this level are written: lets a hot path skip building one. */
  enabled(level: LogLevel): boolean;
  debug(category: LogCategory, message: string, extra?: LogExtra): void;
  info(category: LogCategory, message: string, extra?: LogExtra): void;
  warn(category: LogCategory, message: string, extra?: LogExtra): void;
  error(category: LogCategory, message: string, extra?: LogExtra): void;
}

const CENSOR = '[redacted]';

/**
 * Fields known to carry secrets, redacted by pino by path whatever their key looks like (request headers, a
 * redirect service's API key). Keys that look secret (`SECRET_KEY`) are caught at any depth by `redact` as well.
 */
export const REDACT_PATHS: readonly string[] = [
  'headers.authorization',
  'headers["proxy-authorization"]',
  'headers.cookie',
  'headers["set-cookie"]',
  'target.password',
  'apiKey',
  '*.apiKey',
  'headers["x-api-key"]',
  '*.sipPassword',
  '*.provPassword',
];

/** Keys whose values never reach a log line, whatever the caller passes. */
const SECRET_KEY = /pass|pin|secret|token|authorization|cookie|hash/i;

/** Replaces the value of every secret-looking key, at any depth, with "[redacted]"; an Error becomes its message. */
export function redact(value: unknown, depth = 0): unknown {
  if (value instanceof Error) return value.message;
  if (depth > 5 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) ? CENSOR : redact(v, depth + 1);
  }
  return out;
}

/** Where lines go: stderr (written synchronously, so the last line before an exit is not lost). */
const stderrLines = (): DestinationStream => pino.destination({ dest: 2, sync: true });

/** A sink that receives each finished line without its newline (tests pass an array's push). */
const sinkStream = (sink: (line: string) => void): DestinationStream => ({
  write: (chunk: string) => {
    for (const line of chunk.split('\n')) if (line !== '') sink(line);
  },
});

/**
 * A logger writing one JSON object a line.
 * @param level the lowest level written.
 * @param sink receives each finished line; stderr when not given. `prettyLines(sink)` turns them readable.
 */
export function createLogger(level: LogLevel, sink?: (line: string) => void): Logger {
  const root = pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        // "info", not 30: the lines are read by people with jq as much as by programs.
        level: (label) => ({ level: label }),
        log: (fields) => redact(fields) as Record<string, unknown>,
      },
      redact: { paths: [...REDACT_PATHS], censor: CENSOR },
    },
    sink === undefined ? stderrLines() : sinkStream(sink),
  );
  // One child per category, made when first used: the category is bound once, not serialised per call.
  const children = new Map<LogCategory, pino.Logger>();
  const child = (category: LogCategory) => {
    let c = children.get(category);
    if (c === undefined) {
      c = root.child({ category });
      children.set(category, c);
    }
    return c;
  };
  const write = (lvl: LogLevel) => (category: LogCategory, message: string, extra?: LogExtra) => {
    if (!root.isLevelEnabled(lvl)) return;
    if (extra === undefined) child(category)[lvl](message);
    else child(category)[lvl](extra, message);
  };
  return {
    enabled: (lvl) => root.isLevelEnabled(lvl),
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
  };
}

/**
 * HOTPROV_LOG_FORMAT=pretty: each JSON line as one line for people,
 * `2026-12-02T02:49:56.000Z INFO  [lifecycle] hotprov is serving listen=0.0.0.0:8080 …`.
 */
export function prettyLines(sink: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): (line: string) => void {
  const value = (v: unknown) => (typeof v === 'string' && /^[\w.:/@+[\]-]+$/.test(v) ? v : JSON.stringify(v));
  return (line) => {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      sink(line);
      return;
    }
    const { time, level, category, msg, pid: _pid, ...fields } = entry;
    const tail = Object.entries(fields)
      .map(([k, v]) => ` ${k}=${value(v)}`)
      .join('');
    sink(`${String(time)} ${String(level).toUpperCase().padEnd(5)} [${String(category)}] ${String(msg)}${tail}`);
  };
}

/** A logger that keeps nothing, for tests that do not look at logs. */
export const silentLogger: Logger = { enabled: () => false, debug() {}, info() {}, warn() {}, error() {} };

import type { LogLevel } from './config.ts';

/** What part of hotprov a log line comes from. */
export type LogCategory = 'lifecycle' | 'http' | 'provisioning' | 'hotdesk' | 'api' | 'database' | 'security' | 'sip';

export type LogExtra = Readonly<Record<string, unknown>>;

export interface Logger {
  /** Whether lines of this level are written: lets a hot path skip building one. */
  enabled(level: LogLevel): boolean;
  debug(category: LogCategory, message: string, extra?: LogExtra): void;
  info(category: LogCategory, message: string, extra?: LogExtra): void;
  warn(category: LogCategory, message: string, extra?: LogExtra): void;
  error(category: LogCategory, message: string, extra?: LogExtra): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Keys whose values never reach a log line, whatever the caller passes. */
const SECRET_KEY = /pass|pin|secret|token|authorization|cookie|hash/i;

/** Replaces the value of every secret-looking key, at any depth, with "[redacted]". */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 5 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) ? '[redacted]' : redact(v, depth + 1);
  }
  return out;
}

function format(value: unknown): string {
  if (typeof value === 'string') return /^[\w.:/@+-]*$/.test(value) && value !== '' ? value : JSON.stringify(value);
  if (value instanceof Error) return JSON.stringify(value.message);
  return JSON.stringify(value);
}

/**
 * A logger writing one line per event to the given sink (stderr by default).
 * @param level the lowest level written.
 * @param sink receives each finished line; tests pass an array's push to read what was logged.
 */
export function createLogger(level: LogLevel, sink: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Logger {
  const min = RANK[level];
  const write = (lvl: LogLevel, category: LogCategory, message: string, extra?: LogExtra) => {
    if (RANK[lvl] < min) return;
    const fields = extra === undefined ? {} : (redact(extra) as Record<string, unknown>);
    const tail = Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => ` ${k}=${format(v)}`)
      .join('');
    sink(`${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} [${category}] ${message}${tail}`);
  };
  return {
    enabled: (lvl) => RANK[lvl] >= min,
    debug: (c, m, e) => write('debug', c, m, e),
    info: (c, m, e) => write('info', c, m, e),
    warn: (c, m, e) => write('warn', c, m, e),
    error: (c, m, e) => write('error', c, m, e),
  };
}

/** A logger that keeps nothing, for tests that do not look at logs. */
export const silentLogger: Logger = { enabled: () => false, debug() {}, info() {}, warn() {}, error() {} };

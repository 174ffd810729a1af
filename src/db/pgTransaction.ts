import type { TablesRelationalConfig } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import type { Logger } from '../log.ts';

/*
 * Serializable transactions on PostgreSQL, retried (issue 16): racing logins on several nodes are safe because
 * PostgreSQL aborts all but one of the transactions that would see each other's writes out of order
 * (serialization_failure, SQLSTATE 40001) or that wait on each other's locks (deadlock_detected, 40P01); such an
 * abort means "run it again", so `runSerializable` does, after a short random wait that grows with each try (racers
 * spread out instead of colliding again), up to `retries` times, then throws the last error. Any other error is
 * thrown at once. The function may run more than once: it must do nothing outside the transaction (no NOTIFY to
 * phones, no cache writes) until it returned. Dependencies: a drizzle PostgreSQL database, a logger; the wait uses the
 * event loop's timer and Math.random unless given.
 */

/** The SQLSTATEs after which the same transaction may simply run again. */
export const RETRYABLE_SQLSTATES: ReadonlySet<string> = new Set(['40001', '40P01']);

/** How many times a transaction is run again by default before its error is thrown. */
export const DEFAULT_SERIALIZABLE_RETRIES = 10;

export interface RetryInfo {
  /** 1 for the first retry. */
  readonly attempt: number;
  /** The SQLSTATE that aborted the try before. */
  readonly code: string;
  /** How long it waited before this retry. */
  readonly delayMs: number;
}

export interface SerializableOptions {
  /** Retries after the first try (so at most retries + 1 runs). */
  readonly retries?: number;
  readonly log: Logger;
  /** Told of each retry, before it runs (metrics, tests). */
  readonly onRetry?: (retry: RetryInfo) => void;
  /** Longest wait before a retry, in milliseconds. */
  readonly maxDelayMs?: number;
  /** A number in [0, 1) for the jitter. */
  readonly random?: () => number;
}

/**
 * The SQLSTATE of a database error, wherever the driver put it: pg's DatabaseError has `code`; drizzle wraps it in a
 * DrizzleQueryError whose `cause` is the pg error.
 */
export function sqlState(err: unknown): string | null {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return null;
}

/**
 * Runs `fn` in a serializable transaction, again (after a short jittered wait) when PostgreSQL aborted it as a race.
 * Call it on the database, never inside another transaction (there it would be a savepoint, without the isolation).
 */
export async function runSerializable<
  TQueryResult extends PgQueryResultHKT,
  TFullSchema extends Record<string, unknown>,
  TSchema extends TablesRelationalConfig,
  T,
>(
  db: PgDatabase<TQueryResult, TFullSchema, TSchema>,
  fn: (tx: PgTransaction<TQueryResult, TFullSchema, TSchema>) => Promise<T>,
  options: SerializableOptions,
): Promise<T> {
  const retries = options.retries ?? DEFAULT_SERIALIZABLE_RETRIES;
  const maxDelayMs = options.maxDelayMs ?? 100;
  const random = options.random ?? Math.random;
  for (let attempt = 0; ; attempt++) {
    try {
      return await db.transaction(fn, { isolationLevel: 'serializable' });
    } catch (err) {
      const code = sqlState(err);
      if (code === null || !RETRYABLE_SQLSTATES.has(code)) throw err;
      if (attempt >= retries) {
        options.log.warn('database', 'transaction aborted as a race too often, gave up', { code, tries: attempt + 1 });
        throw err;
      }
      // Full jitter: anywhere up to 2, 4, 8… ms (capped), so the racers that collided do not collide again.
      const delayMs = Math.round(random() * Math.min(maxDelayMs, 2 ** (attempt + 1)));
      options.log.debug('database', 'transaction aborted as a race, running it again', { code, attempt: attempt + 1, delayMs });
      options.onRetry?.({ attempt: attempt + 1, code, delayMs });
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

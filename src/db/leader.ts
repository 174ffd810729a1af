import type pg from 'pg';
import type { Logger } from '../log.ts';

/*
 * One node at a time runs the scheduled work (automatic logout, the re-sync watchdog, redirect retries) when several
 * share one PostgreSQL (issue 16). Leadership is a session-level `pg_try_advisory_lock(key)` held on a connection
 * of its own: PostgreSQL gives it to one session only, and takes it back when that session ends, so a dead leader
 * frees it by itself. A node that is not the leader tries again every `retryMs`; the leader asks its connection
 * `SELECT 1` as often and gives up one that stays silent `checkTimeoutMs` (a network cut: PostgreSQL frees the lock
 * only when it notices, after its TCP keepalive time, and by then this node must have stopped). When its connection
 * errors, ends or goes silent the node calls `onLose` at once (it can no longer know it holds the lock) and, after
 * two retry periods (so a healthy contender, trying every period, usually goes first), connects and tries again.
 * `stop()` unlocks and closes. Dependencies: a function that opens a connection, the key, a logger; the timers are
 * the event loop's.
 */

/** The lock of the scheduled work: "hotprov" and "L" in ASCII, apart from the migrations' key (db/postgres.ts). */
export const SCHEDULED_WORK_LOCK_KEY = 0x686f7470726f764cn;

export interface LeadershipOptions {
  /** Opens a new, connected client, used for the lock only. */
  readonly connect: () => Promise<pg.Client>;
  /** The advisory lock's key (a PostgreSQL bigint). */
  readonly key: bigint;
  /** How often a node that is not the leader tries to become it, and the leader checks its connection. */
  readonly retryMs: number;
  /** How long the leader waits for its connection to answer a check before it gives leadership up (5 s by default). */
  readonly checkTimeoutMs?: number;
  readonly log: Logger;
  /** This node became the leader: start the scheduled work. */
  readonly onGain: () => void;
  /** This node is no longer (sure to be) the leader: stop the scheduled work now. After `onGain` only. */
  readonly onLose: () => void;
}

export interface Leadership {
  isLeader(): boolean;
  /** Unlocks, closes the connection and stops trying; calls `onLose` first when this node was the leader. */
  stop(): Promise<void>;
}

/**
 * Joins the contest for `key`; resolves after the first try (so `isLeader()` answers at once), whether it won the
 * lock, found it taken, or could not connect (then it goes on trying).
 */
export async function startLeadership(options: LeadershipOptions): Promise<Leadership> {
  const { connect, retryMs, log, onGain, onLose } = options;
  const key = options.key.toString();
  const checkTimeoutMs = options.checkTimeoutMs ?? 5000;

  let stopped = false;
  /** The lock is held on `client`; `leader` once onGain was called for it. */
  let holding = false;
  let leader = false;
  let client: pg.Client | null = null;
  let timer: NodeJS.Timeout | null = null;
  const attempts = new Set<Promise<void>>();

  const call = (what: string, callback: () => void) => {
    try {
      callback();
    } catch (err) {
      log.error('lifecycle', `leadership: ${what} failed`, { err });
    }
  };

  const lose = (reason: string, level: 'info' | 'warn') => {
    if (!leader) return;
    leader = false;
    log[level]('lifecycle', 'this node no longer runs the scheduled work', { reason });
    call('onLose', onLose);
  };

  const close = (c: pg.Client) => {
    c.removeAllListeners();
    // An ended client may still report a late socket error: keep one listener so it is not an uncaught 'error'.
    c.on('error', () => {});
    return c.end().catch(() => {});
  };

  const schedule = (ms: number) => {
    if (stopped || timer !== null) return;
    timer = setTimeout(() => {
      timer = null;
      void run();
    }, ms);
  };

  /** The lock's connection is gone or unusable: no longer the leader, and try again later on a new one. */
  const dropConnection = (c: pg.Client, err: unknown) => {
    if (c !== client) return;
    client = null;
    holding = false;
    void close(c);
    lose('its connection to the database was lost', 'warn');
    if (!stopped) log.warn('database', 'leadership: lost the lock’s connection', { err: err ?? 'connection ended' });
    schedule(2 * retryMs);
  };

  const tryOnce = async () => {
    let c = client;
    if (c === null) {
      try {
        c = await connect();
      } catch (err) {
        log.warn('database', 'leadership: connecting failed', { err });
        schedule(2 * retryMs);
        return;
      }
      if (stopped) {
        await close(c);
        return;
      }
      const connected = c;
      connected.on('error', (err) => dropConnection(connected, err));
      connected.on('end', () => dropConnection(connected, null));
      client = connected;
    }
    if (holding) {
      await check(c);
      return;
    }
    const answer = await ask<{ locked: boolean }>(c, 'SELECT pg_try_advisory_lock($1::bigint) AS locked', [key]);
    if (c !== client) return; // lost while asking: dropConnection already scheduled the next try
    if ('failure' in answer) {
      dropConnection(c, answer.failure);
      return;
    }
    const locked = answer.rows[0]?.locked === true;
    if (!locked) {
      schedule(retryMs);
      return;
    }
    holding = true;
    if (stopped) return; // stop() is waiting for this try: it unlocks
    leader = true;
    log.info('lifecycle', 'this node runs the scheduled work (leader)');
    call('onGain', onGain);
    schedule(retryMs);
  };

  /** Runs a statement on the lock's connection: its rows, or the error, or one after checkTimeoutMs of silence. */
  const ask = async <R extends pg.QueryResultRow>(c: pg.Client, text: string, values: unknown[]): Promise<{ rows: R[] } | { failure: unknown }> => {
    let timeout: NodeJS.Timeout | undefined;
    const silent = new Promise<{ failure: Error }>((resolve) => {
      timeout = setTimeout(() => resolve({ failure: new Error(`no answer within ${checkTimeoutMs} ms`) }), checkTimeoutMs);
    });
    const answer = await Promise.race([
      c.query<R>(text, values).then(
        ({ rows }) => ({ rows }),
        (err: unknown) => ({ failure: err }),
      ),
      silent,
    ]);
    clearTimeout(timeout);
    return answer;
  };

  /** The leader's connection still answers (so its session, and the lock, still exist); given up otherwise. */
  const check = async (c: pg.Client) => {
    const answer = await ask(c, 'SELECT 1', []);
    if (c !== client) return;
    if ('failure' in answer) dropConnection(c, answer.failure);
    else schedule(retryMs);
  };

  const run = () => {
    const attempt = tryOnce().finally(() => attempts.delete(attempt));
    attempts.add(attempt);
    return attempt;
  };

  await run();

  return {
    isLeader: () => leader,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      await Promise.all(attempts);
      const c = client;
      client = null;
      if (c === null) return;
      lose('stopped', 'info');
      if (holding) {
        // Unlocked before the connection closes: another node may take over at its next try.
        holding = false;
        await ask(c, 'SELECT pg_advisory_unlock($1::bigint)', [key]);
      }
      await close(c);
    },
  };
}

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { z } from 'zod';
import type { Logger } from '../log.ts';

/*
 * The change feed between hotprov nodes sharing one PostgreSQL (issue 16): a node that changed what phones get says
 * so with a NOTIFY on channel `hotprov_changes`; every other node hears it on one dedicated listening connection and
 * drops what it kept (rendered files, ETags, tenant settings) or confirms a re-sync. The database itself sends one kind,
 * `deviceRows` from `database` (a trigger on devices), which every node hears. Notices are JSON naming their
 * sender; a node ignores its own and logs and ignores what does not parse. Long device lists are split so each
 * payload stays under PostgreSQL's 8000-byte limit, never dropping an id. When the listening connection errors or
 * ends, or stops answering a periodic `SELECT 1` (a network cut would otherwise lose notices without a word), the
 * feed reconnects with back-off and, once listening again, calls `onGap`: notices sent meanwhile are lost, so the
 * node must drop its caches. Dependencies: a pool (or any `query`) to publish, a way to connect the listener, a
 * logger; the timers are the event loop's.
 */

/** The PostgreSQL channel every node listens on. */
export const CHANGE_CHANNEL = 'hotprov_changes';

/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more; ours stay below this, with room to spare. */
export const MAX_PAYLOAD_BYTES = 7900;

/** What changed, as other nodes need to hear it. */
export type ChangeNotice =
  /** These devices' files changed (a login, a logout, an edit): drop their rendered files and ETags. */
  | { readonly kind: 'devices'; readonly deviceIds: readonly number[] }
  /**
   * These devices' rows changed in a column a phone's fetch reads (credentials, access, profile): drop the copies of
   * them. Sent by the database itself (a trigger, migration 0002 of PostgreSQL), from `database`, to every node.
   */
  | { readonly kind: 'deviceRows'; readonly deviceIds: readonly number[] }
  /** A tenant's settings or templates changed: drop all its files and its settings. */
  | { readonly kind: 'tenant'; readonly tenantId: number }
  /** A phone fetched this revision from the sending node: the node that sent its NOTIFY confirms the re-sync. */
  | { readonly kind: 'served'; readonly deviceId: number; readonly etag: string }
  /** Anything may have changed (the command line, a data move): drop everything. */
  | { readonly kind: 'all' };

const id = z.number().int().positive();
const sender = { from: z.string().min(1).max(64) };
/** A payload as it travels: the notice and the node that sent it. */
const payloadSchema = z.discriminatedUnion('kind', [
  z.object({ ...sender, kind: z.literal('devices'), deviceIds: z.array(id).min(1) }),
  z.object({ ...sender, kind: z.literal('deviceRows'), deviceIds: z.array(id).min(1) }),
  z.object({ ...sender, kind: z.literal('tenant'), tenantId: id }),
  z.object({ ...sender, kind: z.literal('served'), deviceId: id, etag: z.string().min(1).max(256) }),
  z.object({ ...sender, kind: z.literal('all') }),
]);

/** This process's node id: random, so two processes never take each other's notices for their own. */
export const PROCESS_NODE_ID = randomBytes(8).toString('hex');

/** Something that runs a query: a pg Pool, a pool's client inside a transaction (the NOTIFY then leaves at commit). */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<unknown>;
}

export interface ChangeFeedOptions {
  /** Publishes go through it (a pg Pool). */
  readonly pool: Queryable;
  /** The listening connection: a URL, or a function returning a new, connected client. */
  readonly listenOn: { readonly connectionString: string } | { readonly connect: () => Promise<pg.Client> };
  /** Who this node is in payloads; its own notices are ignored. The process's random id by default. */
  readonly nodeId?: string;
  readonly log: Logger;
  /** A notice from another node. A throw or rejection is logged, the feed goes on. */
  readonly onNotice: (notice: ChangeNotice, from: string) => void | Promise<void>;
  /** The listening connection is lost: from now until `onGap`, notices are missed; nothing kept may be trusted. */
  readonly onLost?: () => void;
  /** Listening again after a lost connection: notices may have been missed, drop every cache. */
  readonly onGap: () => void;
  /** Waits between reconnection attempts: the first, doubled after each failure up to the last. */
  readonly backoff?: { readonly firstMs: number; readonly maxMs: number };
  /** How often the listening connection is asked `SELECT 1`, and how long it may take to answer (10 s and 5 s). */
  readonly check?: { readonly everyMs: number; readonly timeoutMs: number };
}

export interface ChangeFeed {
  /** This node's id in its payloads. */
  readonly nodeId: string;
  /**
   * Tells every other node; resolves once PostgreSQL took the NOTIFY (delivered at once, or at the commit of `via`'s
   * transaction). An empty device list sends nothing.
   */
  publish(notice: ChangeNotice | readonly ChangeNotice[], via?: Queryable): Promise<void>;
  /** Stops listening and reconnecting; resolves when the listening connection is closed. */
  close(): Promise<void>;
}

/**
 * The payloads that carry a notice from `nodeId`, each under MAX_PAYLOAD_BYTES: one, or for a long device list as
 * many as it takes, every id in exactly one of them.
 */
export function noticePayloads(notice: ChangeNotice, nodeId: string): string[] {
  if (notice.kind !== 'devices' && notice.kind !== 'deviceRows') return [JSON.stringify({ from: nodeId, ...notice })];
  const envelope = (deviceIds: readonly number[]) => JSON.stringify({ from: nodeId, kind: notice.kind, deviceIds });
  const emptyBytes = Buffer.byteLength(envelope([]));
  const payloads: string[] = [];
  let chunk: number[] = [];
  let bytes = emptyBytes;
  for (const deviceId of notice.deviceIds) {
    // Digits and a comma (ASCII, one byte each).
    const cost = String(deviceId).length + 1;
    if (chunk.length > 0 && bytes + cost > MAX_PAYLOAD_BYTES) {
      payloads.push(envelope(chunk));
      chunk = [];
      bytes = emptyBytes;
    }
    chunk.push(deviceId);
    bytes += cost;
  }
  if (chunk.length > 0) payloads.push(envelope(chunk));
  return payloads;
}

/** Parses a payload; null when it is not one of ours (logged by the caller). */
export function parsePayload(payload: string): { notice: ChangeNotice; from: string } | null {
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch {
    return null;
  }
  const parsed = payloadSchema.safeParse(json);
  if (!parsed.success) return null;
  const { from, ...notice } = parsed.data;
  return { notice, from };
}

/**
 * Starts listening on `hotprov_changes`; resolves once the first LISTEN is in place (a notice published after that
 * reaches this node). Rejects when that first connection fails: a node that cannot listen must not start serving.
 */
export async function createChangeFeed(options: ChangeFeedOptions): Promise<ChangeFeed> {
  const { pool, log, onNotice, onGap } = options;
  const nodeId = options.nodeId ?? PROCESS_NODE_ID;
  const backoff = options.backoff ?? { firstMs: 100, maxMs: 5000 };
  const check = options.check ?? { everyMs: 10_000, timeoutMs: 5000 };
  const listenOn = options.listenOn;
  const connect =
    'connect' in listenOn
      ? listenOn.connect
      : async () => {
          const client = new pg.Client({ connectionString: listenOn.connectionString, keepAlive: true });
          try {
            await client.connect();
          } catch (err) {
            await client.end().catch(() => {});
            throw err;
          }
          return client;
        };

  let closed = false;
  let listener: pg.Client | null = null;
  let failures = 0;
  let retryTimer: NodeJS.Timeout | null = null;
  let checkTimer: NodeJS.Timeout | null = null;
  /** The connection attempt under way, so close() waits for it and closes what it made. */
  let connecting: Promise<void> | null = null;

  const received = (message: pg.Notification) => {
    if (message.channel !== CHANGE_CHANNEL) return;
    const parsed = parsePayload(message.payload ?? '');
    if (parsed === null) {
      log.warn('database', 'change feed: ignored a notice that is not one of ours', { payload: (message.payload ?? '').slice(0, 200) });
      return;
    }
    if (parsed.from === nodeId) return;
    const failed = (err: unknown) => log.error('database', 'change feed: handling a notice failed', { kind: parsed.notice.kind, err });
    try {
      const result = onNotice(parsed.notice, parsed.from);
      if (result instanceof Promise) result.catch(failed);
    } catch (err) {
      failed(err);
    }
  };

  /** Connects and listens; the client is returned only once LISTEN succeeded. */
  const listen = async (): Promise<pg.Client> => {
    const client = await connect();
    try {
      client.on('notification', received);
      client.on('error', (err) => lost(client, err));
      client.on('end', () => lost(client, null));
      await client.query(`LISTEN ${CHANGE_CHANNEL}`);
      return client;
    } catch (err) {
      client.removeAllListeners();
      client.on('error', () => {});
      await client.end().catch(() => {});
      throw err;
    }
  };

  /** Every check.everyMs, the listening connection must answer within check.timeoutMs, or it is given up as lost. */
  const scheduleCheck = (client: pg.Client) => {
    checkTimer = setTimeout(async () => {
      checkTimer = null;
      let timeout: NodeJS.Timeout | undefined;
      const silent = new Promise<Error>((resolve) => {
        timeout = setTimeout(() => resolve(new Error(`no answer within ${check.timeoutMs} ms`)), check.timeoutMs);
      });
      const failure = await Promise.race([
        client.query('SELECT 1').then(
          () => null,
          (err: unknown) => err as Error,
        ),
        silent,
      ]);
      clearTimeout(timeout);
      if (client !== listener) return;
      if (failure === null) scheduleCheck(client);
      else lost(client, failure);
    }, check.everyMs);
  };

  const lost = (client: pg.Client, err: Error | null) => {
    if (client !== listener) return;
    listener = null;
    if (checkTimer !== null) clearTimeout(checkTimer);
    checkTimer = null;
    client.removeAllListeners();
    // An ended client may still report a late socket error: keep one listener so it is not an uncaught 'error'.
    client.on('error', () => {});
    client.end().catch(() => {});
    if (closed) return;
    log.warn('database', 'change feed: lost the listening connection, reconnecting', { err: err ?? 'connection ended' });
    try {
      options.onLost?.();
    } catch (failure) {
      log.error('database', 'change feed: dropping caches after a lost connection failed', { err: failure });
    }
    scheduleReconnect();
  };

  const scheduleReconnect = () => {
    if (closed || retryTimer !== null) return;
    const wait = Math.min(backoff.maxMs, backoff.firstMs * 2 ** failures);
    retryTimer = setTimeout(() => {
      retryTimer = null;
      connecting = reconnect().finally(() => {
        connecting = null;
      });
    }, wait);
  };

  const reconnect = async () => {
    let client: pg.Client;
    try {
      client = await listen();
    } catch (err) {
      failures++;
      log.warn('database', 'change feed: reconnecting failed', { err, attempt: failures });
      scheduleReconnect();
      return;
    }
    if (closed) {
      client.removeAllListeners();
      client.on('error', () => {});
      await client.end().catch(() => {});
      return;
    }
    failures = 0;
    listener = client;
    scheduleCheck(client);
    log.info('database', 'change feed: listening again; notices may have been missed, dropping caches');
    try {
      onGap();
    } catch (err) {
      log.error('database', 'change feed: dropping caches after a gap failed', { err });
    }
  };

  listener = await listen();
  scheduleCheck(listener);

  return {
    nodeId,
    async publish(notice, via = pool) {
      const payloads = (Array.isArray(notice) ? notice : [notice]).flatMap((n: ChangeNotice) => noticePayloads(n, nodeId));
      if (payloads.length === 0) return;
      // One statement for every part: they leave together (at once, or at the commit of `via`'s transaction).
      await via.query('SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload', [CHANGE_CHANNEL, payloads]);
    },
    async close() {
      closed = true;
      if (retryTimer !== null) clearTimeout(retryTimer);
      retryTimer = null;
      if (checkTimer !== null) clearTimeout(checkTimer);
      checkTimer = null;
      await connecting;
      const client = listener;
      listener = null;
      if (client === null) return;
      client.removeAllListeners();
      client.on('error', () => {});
      await client.end().catch(() => {});
    },
  };
}

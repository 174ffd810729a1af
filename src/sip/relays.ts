import { connect, type Socket } from 'node:net';
import type { Logger } from '../log.ts';
import { describeNetworkError } from '../remoteError.ts';

/** What a PBX said to a relayed NOTIFY. */
export interface RelayResult {
  readonly ok: boolean;
  readonly message: string;
}

export interface RelayConnection {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly secret: string;
  readonly timeoutMs?: number;
}

/**
 * Reads header blocks (`Name: value` lines ended by a blank line) off a socket, as both Asterisk's manager
 * interface (CRLF) and FreeSWITCH's event socket (LF) frame their messages. The first line of AMI, its banner,
 * is a block of its own.
 */
function blockReader(socket: Socket, timeoutMs: number) {
  let buffer = '';
  const blocks: Map<string, string>[] = [];
  const waiters: ((b: Map<string, string> | Error) => void)[] = [];
  const deliver = (b: Map<string, string> | Error) => {
    const waiter = waiters.shift();
    if (waiter !== undefined) waiter(b);
    else if (!(b instanceof Error)) blocks.push(b);
  };
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk.replace(/\r\n/g, '\n');
    if (buffer.startsWith('Asterisk Call Manager/')) {
      const end = buffer.indexOf('\n');
      if (end < 0) return;
      deliver(new Map([['banner', buffer.slice(0, end)]]));
      buffer = buffer.slice(end + 1);
    }
    const { blocks, rest } = takeBlocks(buffer);
    buffer = rest;
    for (const block of blocks) deliver(block);
  });
  const fail = (err: Error) => {
    for (const waiter of waiters.splice(0)) waiter(err);
  };
  socket.on('error', fail);
  socket.on('close', () => fail(new Error('the PBX closed the connection')));
  socket.setTimeout(timeoutMs, () => {
    fail(new Error(`the PBX did not answer within ${timeoutMs} ms`));
    socket.destroy();
  });
  return {
    next(): Promise<Map<string, string>> {
      const ready = blocks.shift();
      if (ready !== undefined) return Promise.resolve(ready);
      return new Promise((resolve, reject) => waiters.push((b) => (b instanceof Error ? reject(b) : resolve(b))));
    },
  };
}

function relayFailure(err: unknown): string {
  const message = String((err as Error).message ?? '');
  if (/did not answer|no connection/.test(message)) return 'timed out';
  if (/closed the connection/.test(message)) return 'connection closed by the remote side';
  return describeNetworkError(err);
}

/**
 * The complete `Key: value` blocks at the start of what a PBX sent (AMI and the event socket end each with an
 * empty line; line ends already `\n`), keys lower-cased, and what is left for the next chunk.
 */
function takeBlocks(buffer: string): { blocks: Map<string, string>[]; rest: string } {
  const blocks: Map<string, string>[] = [];
  let rest = buffer;
  for (let end = rest.indexOf('\n\n'); end >= 0; end = rest.indexOf('\n\n')) {
    const block = new Map<string, string>();
    for (const line of rest.slice(0, end).split('\n')) {
      const i = line.indexOf(':');
      if (i > 0) block.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
    }
    blocks.push(block);
    rest = rest.slice(end + 2);
  }
  return { blocks, rest };
}

async function withConnection<T>(c: RelayConnection, run: (socket: Socket, read: () => Promise<Map<string, string>>) => Promise<T>): Promise<T> {
  const socket = connect({ host: c.host, port: c.port });
  const reader = blockReader(socket, c.timeoutMs ?? 5000);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
      // The reader's time-out destroys a socket still connecting, which ends in 'close' alone.
      socket.once('close', () => reject(new Error(`no connection to ${c.host}:${c.port}`)));
    });
    return await run(socket, () => reader.next());
  } catch (err) {
    // A short class of failure, never the remote side's words: a relay address is set through the API.
    throw new Error(`relay ${c.host}:${c.port}: ${relayFailure(err)}`);
  } finally {
    socket.destroy();
  }
}

/** How long the Asterisk relay waits between reconnects: doubling from `initialMs` up to `maxMs`. */
export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const AMI_BACKOFF: Backoff = { initialMs: 500, maxMs: 30_000 };

interface PendingAction {
  resolve(block: Map<string, string>): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** The outcome of one attempt to connect and log in. */
type Session = { ok: true } | { ok: false; error: Error; refused: boolean };

/**
 * One logged-in session with Asterisk's manager interface, kept open: logged in once, then every action goes over
 * it (told apart by ActionID), and when the PBX goes away it is connected and logged in again, after a wait that
 * doubles with each failure. A burst of 300 logouts is 300 actions over one login, not 300 logins.
 */
export class AmiConnection {
  private socket: Socket | null = null;
  /** The attempt under way, or the one that made the current session. */
  private session: Promise<Session> | null = null;
  private loggedIn = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  /** The reconnect the back-off waits for, and what went wrong last. */
  private nextAttempt: { readonly at: number; readonly session: Promise<Session>; start(session: Promise<Session>): void } | null = null;
  private lastError: Error | null = null;
  private lastRefused = false;
  private closed = false;
  private nextActionId = 1;
  private readonly pending = new Map<string, PendingAction>();
  /** When the last action asked for this connection; the relay closes connections nobody uses any more. */
  lastUsed = Date.now();

  readonly settings: RelayConnection;
  private readonly options: { readonly backoff?: Backoff; readonly log?: Logger };

  constructor(settings: RelayConnection, options: { readonly backoff?: Backoff; readonly log?: Logger } = {}) {
    this.settings = settings;
    this.options = options;
  }

  private get timeoutMs(): number {
    return this.settings.timeoutMs ?? 5000;
  }

  /** Sends one action and resolves with its answer (the block with the same ActionID). */
  async action(fields: Readonly<Record<string, string>>): Promise<RelayResult> {
    this.lastUsed = Date.now();
    const session = await this.ready();
    if (!session.ok) {
      if (session.refused) return { ok: false, message: session.error.message };
      throw session.error;
    }
    const answer = await this.send(fields);
    const ok = answer.get('response')?.toLowerCase() === 'success';
    return { ok, message: answer.get('message') ?? (ok ? 'Success' : 'Error') };
  }

  /** Logs off and stops reconnecting; actions still waiting fail. */
  close(): void {
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.nextAttempt?.start(Promise.resolve({ ok: false, error: new Error('the relay was closed'), refused: false }));
    this.nextAttempt = null;
    if (this.socket !== null && this.loggedIn) this.socket.end('Action: Logoff\r\n\r\n');
    this.drop(new Error('the relay was closed'));
  }

  /**
   * The current session, or the outcome of the next attempt to make one. While waiting to reconnect, an action
   * waits for the attempt when it is due within the time-out, and otherwise fails at once with what went wrong
   * (the re-sync watchdog sends it again later): demand never bypasses the back-off.
   */
  private ready(): Promise<Session> {
    if (this.closed) return Promise.resolve({ ok: false, error: new Error('the relay was closed'), refused: false });
    if (this.session !== null) return this.session;
    if (this.nextAttempt !== null) {
      const wait = this.nextAttempt.at - Date.now();
      if (wait <= this.timeoutMs) return this.nextAttempt.session;
      const error = new Error(`${this.lastError?.message ?? 'no connection'} (trying again in ${Math.ceil(wait / 1000)} s)`);
      return Promise.resolve({ ok: false, error, refused: this.lastRefused });
    }
    this.session = this.connect();
    return this.session;
  }

  private connect(): Promise<Session> {
    const { host, port, username, secret } = this.settings;
    return new Promise<Session>((resolve) => {
      const socket = connect({ host, port });
      this.socket = socket;
      let buffer = '';
      let greeted = false;
      let settled = false;
      const settle = (session: Session) => {
        if (settled) return;
        settled = true;
        if (!session.ok) {
          this.lastError = session.error;
          this.lastRefused = session.refused;
        }
        clearTimeout(greeting);
        resolve(session);
      };
      const greeting = setTimeout(() => {
        settle({ ok: false, error: new Error(`relay ${host}:${port}: timed out`), refused: false });
        socket.destroy();
      }, this.timeoutMs);
      socket.setEncoding('utf8');
      socket.setKeepAlive(true, 30_000);
      socket.on('data', (chunk: string) => {
        buffer += chunk.replace(/\r\n/g, '\n');
        if (!greeted) {
          const end = buffer.indexOf('\n');
          if (end < 0) return;
          const banner = buffer.slice(0, end);
          buffer = buffer.slice(end + 1);
          if (!banner.startsWith('Asterisk Call Manager/')) {
            settle({ ok: false, error: new Error('not an Asterisk manager interface'), refused: true });
            socket.destroy();
            return;
          }
          greeted = true;
          this.send({ Action: 'Login', Username: username, Secret: secret, Events: 'off' }).then(
            (answer) => {
              if (answer.get('response')?.toLowerCase() === 'success') {
                this.loggedIn = true;
                this.failures = 0;
                settle({ ok: true });
              } else {
                // Never the PBX's own words: a relay address is set through the API.
                settle({ ok: false, error: new Error('AMI login refused'), refused: true });
                socket.destroy();
              }
            },
            (err: Error) => settle({ ok: false, error: err, refused: false }),
          );
        }
        const { blocks, rest } = takeBlocks(buffer);
        buffer = rest;
        for (const block of blocks) {
          const id = block.get('actionid');
          const waiter = id === undefined ? undefined : this.pending.get(id);
          if (id !== undefined && waiter !== undefined) {
            this.pending.delete(id);
            clearTimeout(waiter.timer);
            waiter.resolve(block);
          }
        }
      });
      let socketError: unknown;
      socket.on('error', (err) => {
        socketError = err; // 'close' follows and says what happened
      });
      socket.on('close', () => {
        const wasLoggedIn = this.loggedIn;
        const why = socketError === undefined ? 'connection closed by the remote side' : describeNetworkError(socketError);
        settle({ ok: false, error: new Error(`relay ${host}:${port}: ${why}`), refused: false });
        if (this.socket === socket) this.lost(wasLoggedIn);
      });
    });
  }

  /** Writes an action with a fresh ActionID and waits for its answer, at most the time-out. */
  private send(fields: Readonly<Record<string, string>>): Promise<Map<string, string>> {
    const socket = this.socket;
    if (socket === null || socket.destroyed) return Promise.reject(new Error('the PBX closed the connection'));
    const id = `hotprov-${this.nextActionId++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`the PBX did not answer within ${this.timeoutMs} ms`));
        socket.destroy(); // a session that stops answering is replaced by a new one
      }, this.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      const lines = Object.entries({ ...fields, ActionID: id }).map(([k, v]) => `${k}: ${v.replace(/[\r\n]/g, '')}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
  }

  /** The session ended: fail what waits for an answer, then connect again after the back-off. */
  private lost(wasLoggedIn: boolean): void {
    this.drop(new Error('the PBX closed the connection'));
    if (this.closed) return;
    const backoff = this.options.backoff ?? AMI_BACKOFF;
    const wait = Math.min(backoff.initialMs * 2 ** this.failures, backoff.maxMs);
    this.failures++;
    if (wasLoggedIn) this.options.log?.warn('sip', 'the AMI connection was lost; reconnecting', { host: this.settings.host, port: this.settings.port });
    let start: (attempt: Promise<Session>) => void = () => {};
    const session = new Promise<Session>((resolve) => {
      start = resolve;
    });
    this.nextAttempt = { at: Date.now() + wait, session, start };
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.nextAttempt = null;
      this.session = session;
      start(this.connect());
    }, wait);
    this.retryTimer.unref();
  }

  private drop(err: Error): void {
    this.loggedIn = false;
    this.session = null;
    this.socket?.destroy();
    this.socket = null;
    for (const [id, waiter] of this.pending) {
      clearTimeout(waiter.timer);
      this.pending.delete(id);
      waiter.reject(err);
    }
  }
}

/**
 * Asks Asterisk to send the NOTIFY: `PJSIPNotify` to the endpoint with a `Variable: Event=…` (docs.asterisk.org,
 * AMI action PJSIPNotify), over one kept AMI session per PBX. The PBX reaches the phone over its registration,
 * NAT included.
 */
export class AsteriskRelay {
  private readonly connections = new Map<string, AmiConnection>();

  private readonly options: { readonly backoff?: Backoff; readonly log?: Logger; readonly idleCloseMs?: number };

  constructor(options: { readonly backoff?: Backoff; readonly log?: Logger; readonly idleCloseMs?: number } = {}) {
    this.options = options;
  }

  notify(c: RelayConnection, endpoint: string, event: string): Promise<RelayResult> {
    // The settings are the key: changed credentials or address make a new session, and the old one is let go
    // (at once for the same PBX, after a while unused for another).
    const key = JSON.stringify([c.host, c.port, c.username, c.secret]);
    const idleSince = Date.now() - (this.options.idleCloseMs ?? 15 * 60_000);
    for (const [k, connection] of this.connections) {
      const samePbx = connection.settings.host === c.host && connection.settings.port === c.port;
      if (k !== key && (samePbx || connection.lastUsed < idleSince)) {
        connection.close();
        this.connections.delete(k);
      }
    }
    let connection = this.connections.get(key);
    if (connection === undefined) {
      connection = new AmiConnection(c, this.options);
      this.connections.set(key, connection);
    }
    return connection.action({ Action: 'PJSIPNotify', Endpoint: endpoint, Variable: `Event=${event}` });
  }

  close(): void {
    for (const connection of this.connections.values()) connection.close();
    this.connections.clear();
  }
}

/**
 * Asks FreeSWITCH to send the NOTIFY over its event socket: `sendevent NOTIFY` with the profile, user, host and
 * `event-string` headers, which sofia turns into a NOTIFY to the registered phone. Not `check_sync`: sofia
 * sends Yealink and Snom `reboot=true` for that.
 */
export function notifyViaFreeswitch(
  c: RelayConnection & { readonly profile: string; readonly domain: string },
  user: string,
  event: string,
): Promise<RelayResult> {
  return withConnection(c, async (socket, read) => {
    const greeting = await read();
    if (greeting.get('content-type') !== 'auth/request') return { ok: false, message: 'not a FreeSWITCH event socket' };
    socket.write(`auth ${c.secret}\n\n`);
    const auth = await read();
    if (!(auth.get('reply-text') ?? '').startsWith('+OK')) return { ok: false, message: 'event socket login refused' };
    const headers = [
      `profile: ${c.profile}`,
      `event-string: ${event}`,
      `user: ${user}`,
      `host: ${c.domain}`,
      'content-type: application/simple-message-summary',
    ];
    socket.write(`sendevent NOTIFY\n${headers.join('\n')}\n\n`);
    const reply = await read();
    socket.write('exit\n\n');
    const text = reply.get('reply-text') ?? '';
    return { ok: text.startsWith('+OK'), message: text };
  });
}

/**
 * Connects to the PBX and logs in as a relay would, then leaves: whether these settings can relay a NOTIFY.
 * Asterisk's manager interface (`Action: Login`) or FreeSWITCH's event socket (`auth`).
 */
export async function checkRelayLogin(kind: 'asterisk' | 'freeswitch', c: RelayConnection): Promise<RelayResult> {
  try {
    return await withConnection(c, async (socket, read) => {
      if (kind === 'freeswitch') {
        const greeting = await read();
        if (greeting.get('content-type') !== 'auth/request') return { ok: false, message: 'not a FreeSWITCH event socket' };
        socket.write(`auth ${c.secret}\n\n`);
        const ok = ((await read()).get('reply-text') ?? '').startsWith('+OK');
        socket.write('exit\n\n');
        return { ok, message: ok ? 'logged in' : 'event socket login refused' };
      }
      const banner = await read();
      if (!(banner.get('banner') ?? '').startsWith('Asterisk Call Manager/')) return { ok: false, message: 'not an Asterisk manager interface' };
      socket.write(`Action: Login\r\nActionID: check\r\nUsername: ${c.username}\r\nSecret: ${c.secret}\r\nEvents: off\r\n\r\n`);
      const ok = (await read()).get('response')?.toLowerCase() === 'success';
      if (ok) socket.write('Action: Logoff\r\nActionID: bye\r\n\r\n');
      return { ok, message: ok ? 'logged in' : 'manager login refused: check the user and secret' };
    });
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
}

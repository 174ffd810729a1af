import { connect, type Socket } from 'node:net';
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
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = new Map<string, string>();
      for (const line of buffer.slice(0, end).split('\n')) {
        const i = line.indexOf(':');
        if (i > 0) block.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
      }
      buffer = buffer.slice(end + 2);
      deliver(block);
    }
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

function relayFailure(err: unknown): string {
  const message = String((err as Error).message ?? '');
  if (/did not answer|no connection/.test(message)) return 'timed out';
  if (/closed the connection/.test(message)) return 'connection closed by the remote side';
  return describeNetworkError(err);
}

/**
 * Asks Asterisk to send the NOTIFY: AMI Login, then `PJSIPNotify` to the endpoint with a `Variable: Event=…`
 * (docs.asterisk.org, AMI action PJSIPNotify). The PBX reaches the phone over its registration, NAT included.
 */
export function notifyViaAsterisk(c: RelayConnection, endpoint: string, event: string): Promise<RelayResult> {
  return withConnection(c, async (socket, read) => {
    const banner = await read();
    if (!banner.has('banner')) return { ok: false, message: 'not an Asterisk manager interface' };
    socket.write(`Action: Login\r\nActionID: hotprov-login\r\nUsername: ${c.username}\r\nSecret: ${c.secret}\r\nEvents: off\r\n\r\n`);
    const login = await untilAction(read, 'hotprov-login');
    if (login.get('response')?.toLowerCase() !== 'success') return { ok: false, message: 'AMI login refused' };
    socket.write(`Action: PJSIPNotify\r\nActionID: hotprov-notify\r\nEndpoint: ${endpoint}\r\nVariable: Event=${event}\r\n\r\n`);
    const answer = await untilAction(read, 'hotprov-notify');
    socket.write('Action: Logoff\r\n\r\n');
    const ok = answer.get('response')?.toLowerCase() === 'success';
    return { ok, message: answer.get('message') ?? (ok ? 'Success' : 'Error') };
  });
}

async function untilAction(read: () => Promise<Map<string, string>>, actionId: string): Promise<Map<string, string>> {
  for (;;) {
    const block = await read();
    if (block.get('actionid') === actionId) return block;
  }
}

/**
 * Asks FreeSWITCH to send the NOTIFY over its event socket: `sendevent NOTIFY` with the profile, user, host and
 * `event-string` headers, which sofia turns into a NOTIFY to the registered phone. Not `check_sync`: sofia
 * sends Yealink and Snom `reboot=true` for that.
 */
export function notifyViaFreeswitch(c: RelayConnection & { readonly profile: string; readonly domain: string }, user: string, event: string): Promise<RelayResult> {
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

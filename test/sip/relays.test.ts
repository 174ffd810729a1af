import { createServer, type Server, type Socket } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AsteriskRelay, notifyViaFreeswitch } from '../../src/sip/relays.ts';

/**
 * Stand-ins for the PBX interfaces, speaking their protocols as documented: AMI (banner, `Action: Login` with
 * Username/Secret, then actions answered with Response and the same ActionID) and the FreeSWITCH event socket
 * (`auth/request`, `auth <password>`, `command/reply` with Reply-Text).
 */
async function listen(handler: (socket: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address !== null ? address.port : 0 };
}

interface FakeAmi {
  readonly port: number;
  /** Logins accepted and refused, over the server's whole life (restarts included). */
  readonly logins: { ok: number; refused: number };
  /** Every PJSIPNotify received, as sent. */
  readonly notifies: Record<string, string>[];
  /** What was wrong with an action, if anything: the test fails on any. */
  readonly problems: string[];
  /** Drops every connection and stops listening, as an Asterisk going down. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
}

/**
 * An Asterisk manager interface on loopback as docs.asterisk.org describes it: a banner line, `Action: Login` with
 * Username and Secret, then actions each answered with `Response` and the same `ActionID`. It checks each
 * PJSIPNotify (logged in, exactly one of Endpoint/URI/Channel, an Event variable, a fresh ActionID) and answers
 * after a random short delay, so answers come back out of order.
 */
async function fakeAmi(secret: string): Promise<FakeAmi> {
  const logins = { ok: 0, refused: 0 };
  const notifies: Record<string, string>[] = [];
  const problems: string[] = [];
  const sockets = new Set<Socket>();
  const handler = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.write('Asterisk Call Manager/9.0.0\r\n');
    let buffer = '';
    let authed = false;
    const ids = new Set<string>();
    socket.on('data', (chunk) => {
      buffer += chunk.toString();
      for (let end = buffer.indexOf('\r\n\r\n'); end >= 0; end = buffer.indexOf('\r\n\r\n')) {
        const fields: Record<string, string> = {};
        for (const line of buffer.slice(0, end).split('\r\n')) {
          const i = line.indexOf(':');
          fields[line.slice(0, i)] = line.slice(i + 1).trim();
        }
        buffer = buffer.slice(end + 4);
        const id = fields.ActionID ?? '';
        if (id === '' || ids.has(id)) problems.push(`action ${fields.Action} with ActionID "${id}" seen before or missing`);
        ids.add(id);
        const answer = (text: string) => setTimeout(() => socket.writable && socket.write(text), Math.random() * 5);
        if (fields.Action === 'Login') {
          authed = fields.Username === 'hotprov' && fields.Secret === secret;
          authed ? logins.ok++ : logins.refused++;
          answer(
            authed
              ? `Response: Success\r\nActionID: ${id}\r\nMessage: Authentication accepted\r\n\r\n`
              : `Response: Error\r\nActionID: ${id}\r\nMessage: Authentication failed\r\n\r\n`,
          );
        } else if (fields.Action === 'PJSIPNotify') {
          notifies.push(fields);
          if (!authed) problems.push('PJSIPNotify before a successful login');
          if (['Endpoint', 'URI', 'Channel'].filter((k) => k in fields).length !== 1) problems.push('PJSIPNotify needs exactly one of Endpoint, URI, Channel');
          if (!/^Event=check-sync(;reboot=(false|true))?$/.test(fields.Variable ?? '')) problems.push(`PJSIPNotify Variable ${fields.Variable}`);
          const ok = authed && /^HD\d{4}$/.test(fields.Endpoint ?? '') && fields.Endpoint !== 'HD0999';
          answer(
            ok
              ? `Response: Success\r\nActionID: ${id}\r\nMessage: NOTIFY sent to ${fields.Endpoint}\r\n\r\n`
              : `Response: Error\r\nActionID: ${id}\r\nMessage: Unable to retrieve endpoint ${fields.Endpoint}\r\n\r\n`,
          );
        } else if (fields.Action === 'Logoff') {
          socket.end(`Response: Goodbye\r\nActionID: ${id}\r\n\r\n`);
        } else {
          problems.push(`unexpected action ${fields.Action}`);
        }
      }
    });
  };
  let server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    logins,
    notifies,
    problems,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
    start: async () => {
      server = createServer(handler);
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
  };
}

/** The relay under test and the stand-in Asterisk a test starts (both stopped after it). */
interface RelaysContext {
  relay: AsteriskRelay;
  ami?: FakeAmi | undefined;
}
const Relays = suite<RelaysContext>('sip/relays', {} as RelaysContext);
const FAST = { initialMs: 20, maxMs: 200 };
Relays.after.each(async (ctx) => {
  ctx.relay?.close();
  await ctx.ami?.stop();
  ctx.ami = undefined;
});
const settings = (port: number, secret = 's3cret') => ({ host: '127.0.0.1', port, username: 'hotprov', secret, timeoutMs: 2000 });

Relays('Asterisk: AMI login, then PJSIPNotify to the endpoint with the check-sync event', async (ctx) => {
  ctx.ami = await fakeAmi('s3cret');
  ctx.relay = new AsteriskRelay({ backoff: FAST });
  const result = await ctx.relay.notify(settings(ctx.ami.port), 'HD0001', 'check-sync;reboot=false');
  assert.equal(result, { ok: true, message: 'NOTIFY sent to HD0001' });
  assert.is(ctx.ami.notifies[0]?.Endpoint, 'HD0001');
  assert.is(ctx.ami.notifies[0]?.Variable, 'Event=check-sync;reboot=false');
  assert.equal(ctx.ami.problems, []);
});

Relays('Asterisk: 300 logouts at once are 300 PJSIPNotify actions over one AMI login', async (ctx) => {
  ctx.ami = await fakeAmi('s3cret');
  ctx.relay = new AsteriskRelay({ backoff: FAST });
  const endpoints = Array.from({ length: 300 }, (_, i) => `HD${String(i + 1).padStart(4, '0')}`);
  const { port } = ctx.ami;
  const results = await Promise.all(endpoints.map((e) => ctx.relay.notify(settings(port), e, 'check-sync;reboot=false')));
  // Each answer is matched to its own action even though the PBX answers out of order.
  assert.equal(
    results.map((r) => r.message),
    endpoints.map((e) => `NOTIFY sent to ${e}`),
  );
  assert.is(ctx.ami.logins.ok, 1, 'one login');
  assert.equal(ctx.ami.notifies.map((n) => n.Endpoint).sort(), endpoints);
  assert.equal(ctx.ami.problems, []);
  // Later NOTIFYs go over the same session.
  await ctx.relay.notify(settings(ctx.ami.port), 'HD0001', 'check-sync');
  assert.is(ctx.ami.logins.ok, 1);
});

Relays('Asterisk: the relay survives the PBX restarting, and logs in again once it is back', async (ctx) => {
  ctx.ami = await fakeAmi('s3cret');
  ctx.relay = new AsteriskRelay({ backoff: FAST });
  assert.is((await ctx.relay.notify(settings(ctx.ami.port), 'HD0001', 'check-sync')).ok, true);
  await ctx.ami.stop();
  // While it is down, a NOTIFY fails with a reason instead of hanging (the re-sync watchdog sends it again).
  await ctx.relay.notify(settings(ctx.ami.port), 'HD0002', 'check-sync').then(
    (r) => assert.unreachable(`no PBX must not succeed: ${r.message}`),
    (err: Error) => assert.match(err.message, /no connection to 127\.0\.0\.1|closed the connection/),
  );
  await ctx.ami.start();
  const again = await ctx.relay.notify(settings(ctx.ami.port), 'HD0002', 'check-sync');
  assert.equal(again, { ok: true, message: 'NOTIFY sent to HD0002' });
  assert.is(ctx.ami.logins.ok, 2, 'logged in again after the restart, once');
  assert.equal(ctx.ami.problems, []);
});

Relays('Asterisk: a wrong secret is refused and said so, once for a burst, not one login each', async (ctx) => {
  ctx.ami = await fakeAmi('s3cret');
  ctx.relay = new AsteriskRelay({ backoff: { initialMs: 60_000, maxMs: 60_000 } });
  const { port } = ctx.ami;
  const results = await Promise.all(Array.from({ length: 50 }, () => ctx.relay.notify(settings(port, 'wrong'), 'HD0001', 'check-sync')));
  // Said by class, never in the PBX's own words (a relay address is set through the API).
  assert.ok(
    results.every((r) => !r.ok && r.message === 'AMI login refused'),
    results[0]?.message,
  );
  assert.is(ctx.ami.logins.refused, 1);
  // Until the back-off runs out, a NOTIFY is refused at once with the same reason, without another login.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const later = await ctx.relay.notify(settings(ctx.ami.port, 'wrong'), 'HD0001', 'check-sync');
  assert.match(later.message, /^AMI login refused \(trying again in \d+ s\)$/);
  assert.is(ctx.ami.logins.refused, 1);
  assert.equal(ctx.ami.notifies, []);
});

Relays('Asterisk: new credentials make a new session, and the old one is let go', async (ctx) => {
  ctx.ami = await fakeAmi('s3cret');
  ctx.relay = new AsteriskRelay({ backoff: FAST });
  assert.is((await ctx.relay.notify(settings(ctx.ami.port, 'wrong'), 'HD0001', 'check-sync')).ok, false);
  assert.is((await ctx.relay.notify(settings(ctx.ami.port), 'HD0001', 'check-sync')).ok, true);
  assert.is(ctx.ami.logins.ok, 1);
  const refused = ctx.ami.logins.refused;
  // The PBX restarts: only the session with the right credentials comes back, nothing keeps trying the old ones.
  await ctx.ami.stop();
  await ctx.ami.start();
  await new Promise((resolve) => setTimeout(resolve, 400));
  assert.is((await ctx.relay.notify(settings(ctx.ami.port), 'HD0002', 'check-sync')).ok, true);
  assert.equal(ctx.ami.logins, { ok: 2, refused });
});

Relays('Asterisk: an unknown endpoint is an error from the PBX', async (ctx) => {
  ctx.ami = await fakeAmi('s3cret');
  ctx.relay = new AsteriskRelay({ backoff: FAST });
  const result = await ctx.relay.notify(settings(ctx.ami.port), 'HD0999', 'check-sync');
  assert.equal(result, { ok: false, message: 'Unable to retrieve endpoint HD0999' });
});

Relays('a PBX that does not answer times out instead of hanging', async (ctx) => {
  const { server, port } = await listen(() => {});
  ctx.relay = new AsteriskRelay({ backoff: FAST });
  try {
    await ctx.relay.notify({ host: '127.0.0.1', port, username: 'u', secret: 's', timeoutMs: 200 }, 'HD0001', 'check-sync').then(
      () => assert.unreachable('no answer must not succeed'),
      (err: Error) => assert.match(err.message, /^relay 127\.0\.0\.1:\d+: timed out$/),
    );
  } finally {
    ctx.relay.close();
    server.close();
  }
});

Relays('FreeSWITCH: event socket auth, then sendevent NOTIFY with profile, user, host and event-string', async () => {
  const commands: string[] = [];
  const { server, port } = await listen((socket) => {
    socket.write('Content-Type: auth/request\n\n');
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString();
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const command = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        commands.push(command);
        if (command.startsWith('auth ')) {
          socket.write(
            command === 'auth ClueCon'
              ? 'Content-Type: command/reply\nReply-Text: +OK accepted\n\n'
              : 'Content-Type: command/reply\nReply-Text: -ERR invalid\n\n',
          );
        } else if (command.startsWith('sendevent NOTIFY')) {
          socket.write('Content-Type: command/reply\nReply-Text: +OK 6d1b5a3c\n\n');
        }
      }
    });
  });
  try {
    const connection = { host: '127.0.0.1', port, username: '', secret: 'ClueCon', profile: 'internal', domain: 'pbx.example.test' };
    const result = await notifyViaFreeswitch(connection, 'HD0001', 'check-sync;reboot=false');
    assert.is(result.ok, true);
    const event = commands.find((c) => c.startsWith('sendevent'))?.split('\n') ?? [];
    assert.equal(event, [
      'sendevent NOTIFY',
      'profile: internal',
      'event-string: check-sync;reboot=false',
      'user: HD0001',
      'host: pbx.example.test',
      'content-type: application/simple-message-summary',
    ]);
    const refused = await notifyViaFreeswitch({ ...connection, secret: 'nope' }, 'HD0001', 'check-sync');
    assert.equal(refused, { ok: false, message: 'event socket login refused' });
  } finally {
    server.close();
  }
});

Relays.run();

import { createServer, type Server, type Socket } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { notifyViaAsterisk, notifyViaFreeswitch } from '../../src/sip/relays.ts';

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

function fakeAmi(secret: string, seen: Record<string, string>[]) {
  return listen((socket) => {
    socket.write('Asterisk Call Manager/9.0.0\r\n');
    let buffer = '';
    let authed = false;
    socket.on('data', (chunk) => {
      buffer += chunk.toString();
      for (let end = buffer.indexOf('\r\n\r\n'); end >= 0; end = buffer.indexOf('\r\n\r\n')) {
        const fields: Record<string, string> = {};
        for (const line of buffer.slice(0, end).split('\r\n')) {
          const i = line.indexOf(':');
          fields[line.slice(0, i)] = line.slice(i + 1).trim();
        }
        buffer = buffer.slice(end + 4);
        seen.push(fields);
        const id = fields.ActionID ?? '';
        if (fields.Action === 'Login') {
          authed = fields.Username === 'hotprov' && fields.Secret === secret;
          socket.write(authed ? `Response: Success\r\nActionID: ${id}\r\nMessage: Authentication accepted\r\n\r\n` : `Response: Error\r\nActionID: ${id}\r\nMessage: Authentication failed\r\n\r\n`);
        } else if (fields.Action === 'PJSIPNotify') {
          const ok = authed && fields.Endpoint === 'HD0001';
          socket.write(ok ? `Response: Success\r\nActionID: ${id}\r\nMessage: NOTIFY sent\r\n\r\n` : `Response: Error\r\nActionID: ${id}\r\nMessage: Unable to retrieve endpoint ${fields.Endpoint}\r\n\r\n`);
        }
      }
    });
  });
}

const Relays = suite('sip/relays');

Relays('Asterisk: AMI login, then PJSIPNotify to the endpoint with the check-sync event', async () => {
  const seen: Record<string, string>[] = [];
  const { server, port } = await fakeAmi('s3cret', seen);
  try {
    const result = await notifyViaAsterisk({ host: '127.0.0.1', port, username: 'hotprov', secret: 's3cret' }, 'HD0001', 'check-sync;reboot=false');
    assert.equal(result, { ok: true, message: 'NOTIFY sent' });
    const notify = seen.find((f) => f.Action === 'PJSIPNotify');
    assert.is(notify?.Endpoint, 'HD0001');
    assert.is(notify?.Variable, 'Event=check-sync;reboot=false');
  } finally {
    server.close();
  }
});

Relays('Asterisk: a wrong secret is refused and said so', async () => {
  const { server, port } = await fakeAmi('s3cret', []);
  try {
    const result = await notifyViaAsterisk({ host: '127.0.0.1', port, username: 'hotprov', secret: 'wrong' }, 'HD0001', 'check-sync');
    assert.is(result.ok, false);
    assert.is(result.message, 'AMI login refused', 'said so, without the PBX\'s own words');
  } finally {
    server.close();
  }
});

Relays('Asterisk: an unknown endpoint is an error from the PBX', async () => {
  const { server, port } = await fakeAmi('s3cret', []);
  try {
    const result = await notifyViaAsterisk({ host: '127.0.0.1', port, username: 'hotprov', secret: 's3cret' }, 'HD0999', 'check-sync');
    assert.equal(result, { ok: false, message: 'Unable to retrieve endpoint HD0999' });
  } finally {
    server.close();
  }
});

Relays('a PBX that does not answer times out instead of hanging', async () => {
  const { server, port } = await listen(() => {});
  try {
    await notifyViaAsterisk({ host: '127.0.0.1', port, username: 'u', secret: 's', timeoutMs: 200 }, 'HD0001', 'check-sync').then(
      () => assert.unreachable('no answer must not succeed'),
      (err: Error) => assert.match(err.message, /^relay 127\.0\.0\.1:\d+: timed out$/),
    );
  } finally {
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
          socket.write(command === 'auth ClueCon' ? 'Content-Type: command/reply\nReply-Text: +OK accepted\n\n' : 'Content-Type: command/reply\nReply-Text: -ERR invalid\n\n');
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

import { createHash } from 'node:crypto';
import { createSocket, type RemoteInfo } from 'node:dgram';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../../src/log.ts';
import { formatSipUri, parseSipUri, SipStreamReader } from '../../src/sip/message.ts';
import { createSipNotifier, type NotifyTarget, type SipNotifier } from '../../src/sip/notifier.ts';
import { makeTestCertificates, type TestCertificates } from '../helpers/sipTls.ts';

const TIMERS = { t1: 20, t2: 80, timeoutF: 640 };
const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const header = (request: string, name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(request)?.[1] ?? null;

/** The response to a request, echoing what RFC 3261 says it must (Via, From, To, Call-ID, CSeq). */
function respond(request: string, status: string, extra: string[] = [], body = ''): string {
  const keep = request.split('\r\n').filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l));
  return [`SIP/2.0 ${status}`, ...keep, ...extra, `Content-Length: ${Buffer.byteLength(body)}`, '', body].join('\r\n');
}

/** What a phone checking digest answers: 401 with a challenge first, then 200 only for the right response. */
function digestPhone(username: string, password: string) {
  return (request: string): string => {
    const auth = header(request, 'Authorization');
    if (auth === null) return respond(request, '401 Unauthorized', ['WWW-Authenticate: Digest realm="phone", nonce="n0nce", qop="auth", algorithm=MD5']);
    const field = (k: string) => new RegExp(`\\b${k}="?([^",]+)"?`).exec(auth)?.[1] ?? '';
    const requestUri = /^NOTIFY (\S+) /.exec(request)?.[1] ?? '';
    const ha1 = md5(`${username}:phone:${password}`);
    const expected = md5(`${ha1}:n0nce:${field('nc')}:${field('cnonce')}:auth:${md5(`NOTIFY:${requestUri}`)}`);
    return respond(request, field('username') === username && field('response') === expected ? '200 OK' : '403 Forbidden');
  };
}

interface StreamPhone {
  readonly port: number;
  readonly requests: string[];
  /** Connections the phone accepted. */
  connections: number;
  close(): Promise<void>;
}

/**
 * A phone taking SIP over TCP or TLS on loopback. It frames requests by Content-Length itself and writes each answer
 * in small pieces after a CRLF keep-alive, with a body, so the sender must frame by Content-Length to read it.
 */
async function streamPhone(
  kind: 'tcp' | 'tls',
  answer: (request: string, n: number) => { text: string; delayMs?: number; provisional?: boolean } | null,
  options: { host?: string; cert?: string; key?: string } = {},
): Promise<StreamPhone> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const phone = { port: 0, requests, connections: 0, close: async () => {} };
  const handle = (socket: Socket) => {
    phone.connections++;
    sockets.add(socket);
    socket.on('error', () => {});
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString();
      for (let end = buffer.indexOf('\r\n\r\n'); end >= 0; end = buffer.indexOf('\r\n\r\n')) {
        const length = Number(/^Content-Length:\s*(\d+)/im.exec(buffer.slice(0, end))?.[1] ?? 'NaN');
        assert.ok(Number.isFinite(length), 'a request over a stream carries Content-Length');
        const request = buffer.slice(0, end + 4 + length);
        buffer = buffer.slice(end + 4 + length);
        requests.push(request);
        const reply = answer(request, requests.length);
        if (reply === null) continue;
        const write = () => {
          const bytes = `\r\n${reply.text}`;
          for (let i = 0; i < bytes.length; i += 17) socket.write(bytes.slice(i, i + 17));
        };
        if (reply.provisional === true) socket.write(respond(request, '100 Trying'));
        setTimeout(write, reply.delayMs ?? 0);
      }
    });
  };
  const server: Server = kind === 'tls' ? createTlsServer({ cert: options.cert, key: options.key }, handle) : createTcpServer(handle);
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, options.host ?? '127.0.0.1', resolve));
  phone.port = (server.address() as { port: number }).port;
  phone.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return phone;
}

/** The notifier under test, the stand-in phone a test starts (closed after it), and the test PKI. */
interface TransportsContext {
  notifier: SipNotifier;
  phone?: StreamPhone | undefined;
  certs: TestCertificates;
}
const Transports = suite<TransportsContext>('sip/notifier over TCP, TLS and IPv6', {} as TransportsContext);
Transports.before((ctx) => {
  ctx.certs = makeTestCertificates();
});
Transports.before.each(async (ctx) => {
  ctx.notifier = await createSipNotifier({ port: 0, bindHost: '127.0.0.1', bindHost6: '::1', advertiseHost: '127.0.0.1', log: silentLogger, timers: TIMERS });
});
Transports.after.each(async (ctx) => {
  await ctx.notifier.close();
  await ctx.phone?.close();
  ctx.phone = undefined;
});

const target = (contact: string, credentials: { username: string; password: string } | null = null): NotifyTarget => {
  const uri = parseSipUri(contact);
  if (uri === null) throw new Error(`not a contact: ${contact}`);
  return { requestUri: formatSipUri(uri), host: uri.host, port: uri.port, transport: uri.transport ?? 'udp', event: 'check-sync;reboot=false', credentials };
};
const HD0001 = { username: 'HD0001', password: 'idle-secret-1' };

Transports('contacts name their transport; IPv6 in brackets; the default port follows the transport', () => {
  assert.equal(parseSipUri('sip:HD0001@10.1.2.3:5062;transport=TCP'), { user: 'HD0001', host: '10.1.2.3', port: 5062, scheme: 'sip', transport: 'tcp' });
  assert.equal(parseSipUri('<sip:HD0001@[2001:db8::5]:5062;transport=tls;ob>;expires=300'), {
    user: 'HD0001',
    host: '2001:db8::5',
    port: 5062,
    scheme: 'sip',
    transport: 'tls',
  });
  assert.equal(parseSipUri('sips:HD0001@phone.example.test'), {
    user: 'HD0001',
    host: 'phone.example.test',
    port: 5061,
    scheme: 'sips',
    transport: 'tls',
  });
  assert.equal(parseSipUri('<sip:HD0001@10.1.2.3>;transport=tcp')?.transport, 'udp', "a header parameter is not the URI's");
  assert.is(parseSipUri('sip:HD0001@10.1.2.3;transport=ws'), null);
  assert.is(formatSipUri({ user: '101', host: '::1', port: 5062, transport: 'tcp' }), 'sip:101@[::1]:5062;transport=tcp');
  assert.is(formatSipUri({ user: '101', host: '::1', port: 5061, scheme: 'sips', transport: 'tls' }), 'sips:101@[::1]:5061');
});

Transports('the stream reader frames by Content-Length, across pieces and keep-alives', () => {
  const reader = new SipStreamReader();
  const one = 'SIP/2.0 200 OK\r\nContent-Length: 5\r\n\r\nhello';
  const two = 'SIP/2.0 401 Unauthorized\r\nl: 0\r\n\r\n';
  const bytes = `\r\n\r\n${one}${two}`;
  const got: string[] = [];
  for (let i = 0; i < bytes.length; i += 7) got.push(...reader.push(Buffer.from(bytes.slice(i, i + 7))));
  assert.equal(got, [one, two]);
});

Transports('TCP: sent once (no retransmission) even when the answer is slow; a 401 answered with digest on the same connection', async (ctx) => {
  const check = digestPhone('HD0001', 'idle-secret-1');
  ctx.phone = await streamPhone('tcp', (req) => ({ text: check(req), delayMs: 5 * TIMERS.t1, provisional: true }));
  const result = await ctx.notifier.send(target(`sip:HD0001@127.0.0.1:${ctx.phone.port};transport=tcp`, HD0001));
  assert.equal([result.status, result.authenticated, result.transmissions], [200, true, 2]);
  assert.is(ctx.phone.requests.length, 2, 'one request per transaction: TCP is reliable');
  assert.is(ctx.phone.connections, 1);
  const [first = '', second = ''] = ctx.phone.requests;
  assert.match(first, /^NOTIFY sip:HD0001@127\.0\.0\.1:\d+;transport=tcp SIP\/2\.0\r\n/);
  assert.match(header(first, 'Via') ?? '', /^SIP\/2\.0\/TCP 127\.0\.0\.1:\d+;branch=z9hG4bK[0-9a-f]+$/);
  assert.match(header(first, 'Contact') ?? '', /^<sip:hotprov@127\.0\.0\.1:\d+;transport=tcp>$/);
  assert.is(header(second, 'CSeq'), '2 NOTIFY');
});

Transports('TCP: a phone that takes the connection but never answers ends at Timer F, after one request', async (ctx) => {
  ctx.phone = await streamPhone('tcp', () => null);
  const result = await ctx.notifier.send(target(`sip:HD0001@127.0.0.1:${ctx.phone.port};transport=tcp`));
  assert.equal([result.status, result.transmissions, result.reason], [null, 1, 'no answer before Timer F']);
  assert.is(ctx.phone.requests.length, 1);
});

Transports('TCP: nobody listening is said so at once', async (ctx) => {
  ctx.phone = await streamPhone('tcp', () => null);
  const port = ctx.phone.port;
  await ctx.phone.close();
  ctx.phone = undefined;
  const result = await ctx.notifier.send(target(`sip:HD0001@127.0.0.1:${port};transport=tcp`));
  assert.is(result.status, null);
  assert.match(result.reason, /^TCP connection failed: .*ECONNREFUSED/);
});

Transports('TLS: a sips contact gets TLS, a sips Contact, and digest', async (ctx) => {
  const check = digestPhone('HD0001', 'idle-secret-1');
  ctx.phone = await streamPhone('tls', (req) => ({ text: check(req) }), { cert: ctx.certs.phoneCert, key: ctx.certs.phoneKey });
  const result = await ctx.notifier.send(target(`sips:HD0001@127.0.0.1:${ctx.phone.port}`, HD0001));
  assert.equal([result.status, result.authenticated], [200, true]);
  const [first = ''] = ctx.phone.requests;
  assert.match(first, /^NOTIFY sips:HD0001@127\.0\.0\.1:\d+ SIP\/2\.0\r\n/);
  assert.match(header(first, 'Via') ?? '', /^SIP\/2\.0\/TLS 127\.0\.0\.1:\d+;branch=/);
  assert.match(header(first, 'Contact') ?? '', /^<sips:hotprov@127\.0\.0\.1:\d+>$/);
});

Transports("TLS with the vendors' CA configured: a phone certificate it signed passes, any other is refused", async (ctx) => {
  await ctx.notifier.close();
  ctx.notifier = await createSipNotifier({
    port: 0,
    bindHost: '127.0.0.1',
    advertiseHost: '127.0.0.1',
    log: silentLogger,
    timers: TIMERS,
    tls: { ca: ctx.certs.caCert },
  });
  ctx.phone = await streamPhone('tls', (req) => ({ text: respond(req, '200 OK') }), { cert: ctx.certs.phoneCert, key: ctx.certs.phoneKey });
  assert.is((await ctx.notifier.send(target(`sip:HD0001@127.0.0.1:${ctx.phone.port};transport=tls`))).status, 200);
  await ctx.phone.close();
  ctx.phone = await streamPhone('tls', (req) => ({ text: respond(req, '200 OK') }), { cert: ctx.certs.strangerCert, key: ctx.certs.strangerKey });
  const refused = await ctx.notifier.send(target(`sip:HD0001@127.0.0.1:${ctx.phone.port};transport=tls`));
  assert.is(refused.status, null);
  assert.match(refused.reason, /^TLS connection failed: .*certificate/i);
  assert.is(ctx.phone.requests.length, 0, 'nothing is sent to a phone that is not the one it claims');
});

Transports('IPv6 over UDP: sent from ::1 and named so in Via, though hotprov advertises an IPv4 address', async (ctx) => {
  const udp = createSocket('udp6');
  const received: string[] = [];
  udp.on('message', (data: Buffer, from: RemoteInfo) => {
    received.push(data.toString());
    udp.send(respond(data.toString(), '200 OK'), from.port, from.address);
  });
  await new Promise<void>((resolve) => udp.bind(0, '::1', resolve));
  try {
    const result = await ctx.notifier.send(target(`sip:HD0001@[::1]:${udp.address().port}`));
    assert.is(result.status, 200);
    assert.match(received[0] ?? '', /^NOTIFY sip:HD0001@\[::1\]:\d+ SIP\/2\.0\r\n/);
    assert.match(header(received[0] ?? '', 'Via') ?? '', /^SIP\/2\.0\/UDP \[::1\]:\d+;branch=z9hG4bK[0-9a-f]+;rport$/);
  } finally {
    udp.close();
  }
});

Transports('IPv6 over TCP', async (ctx) => {
  ctx.phone = await streamPhone('tcp', (req) => ({ text: respond(req, '200 OK') }), { host: '::1' });
  const result = await ctx.notifier.send(target(`sip:HD0001@[::1]:${ctx.phone.port};transport=tcp`));
  assert.is(result.status, 200);
  assert.match(header(ctx.phone.requests[0] ?? '', 'Via') ?? '', /^SIP\/2\.0\/TCP \[::1\]:\d+;branch=/);
});

Transports.run();

import { createHash } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../../src/log.ts';
import { createSipNotifier, type SipNotifier } from '../../src/sip/notifier.ts';

/** A stand-in phone on loopback that answers NOTIFYs as a test script tells it to. */
interface FakePhone {
  readonly port: number;
  readonly requests: { text: string; at: number }[];
  close(): Promise<void>;
}

async function fakePhone(answer: (request: string, n: number, reply: (response: string) => void) => void): Promise<FakePhone> {
  const socket: Socket = createSocket('udp4');
  const requests: { text: string; at: number }[] = [];
  socket.on('message', (data: Buffer, from: RemoteInfo) => {
    const text = data.toString();
    requests.push({ text, at: performance.now() });
    answer(text, requests.length, (response) => socket.send(response, from.port, from.address));
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, requests, close: () => new Promise((resolve) => socket.close(() => resolve())) };
}

/** The response to a request, echoing what RFC 3261 says it must (Via, From, To, Call-ID, CSeq). */
function respond(request: string, status: string, extra: string[] = []): string {
  const keep = request.split('\r\n').filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l));
  return [`SIP/2.0 ${status}`, ...keep, ...extra, 'Content-Length: 0', '', ''].join('\r\n');
}

const header = (request: string, name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(request)?.[1] ?? null;

const TIMERS = { t1: 20, t2: 80, timeoutF: 640 };
/** The notifier under test, and the stand-in phone a test starts (closed after it). */
interface UdpContext {
  notifier: SipNotifier;
  phone?: FakePhone | undefined;
}
const Udp = suite<UdpContext>('sip/udp notifier', {} as UdpContext);
Udp.before.each(async (ctx) => {
  ctx.notifier = await createSipNotifier({ port: 0, bindHost: '127.0.0.1', advertiseHost: '127.0.0.1', log: silentLogger, timers: TIMERS });
});
Udp.after.each(async (ctx) => {
  await ctx.notifier.close();
  await ctx.phone?.close();
  ctx.phone = undefined;
});

const target = (port: number, credentials: { username: string; password: string } | null = null) => ({
  requestUri: `sip:HD0001@127.0.0.1:${port}`,
  host: '127.0.0.1',
  port,
  transport: 'udp' as const,
  event: 'check-sync;reboot=false',
  credentials,
});

Udp('a well-formed RFC 3261 NOTIFY with the check-sync event', async (ctx) => {
  ctx.phone = await fakePhone((req, _n, reply) => reply(respond(req, '200 OK')));
  const result = await ctx.notifier.send(target(ctx.phone.port));
  assert.is(result.status, 200);
  const request = ctx.phone.requests[0]?.text ?? '';
  assert.match(request, /^NOTIFY sip:HD0001@127\.0\.0\.1:\d+ SIP\/2\.0\r\n/);
  assert.match(header(request, 'Via') ?? '', /^SIP\/2\.0\/UDP 127\.0\.0\.1:\d+;branch=z9hG4bK[0-9a-f]+;rport$/);
  assert.match(header(request, 'From') ?? '', /;tag=[0-9a-f]+$/);
  assert.match(header(request, 'To') ?? '', /^<sip:HD0001@127\.0\.0\.1:\d+>$/);
  assert.ok(header(request, 'Call-ID'));
  assert.is(header(request, 'CSeq'), '1 NOTIFY');
  assert.is(header(request, 'Max-Forwards'), '70');
  assert.match(header(request, 'Contact') ?? '', /^<sip:hotprov@127\.0\.0\.1:\d+>$/);
  assert.is(header(request, 'Event'), 'check-sync;reboot=false');
  assert.is(header(request, 'Subscription-State'), 'terminated');
  assert.is(header(request, 'Content-Length'), '0');
  assert.ok(request.endsWith('\r\n\r\n'));
});

Udp('retransmits on Timer E (T1, doubling) until the phone answers', async (ctx) => {
  ctx.phone = await fakePhone((req, n, reply) => {
    if (n === 3) reply(respond(req, '200 OK'));
  });
  const result = await ctx.notifier.send(target(ctx.phone.port));
  assert.is(result.status, 200);
  assert.is(result.transmissions, 3);
  const [a, b, c] = ctx.phone.requests.map((r) => r.at);
  const first = (b ?? 0) - (a ?? 0);
  const second = (c ?? 0) - (b ?? 0);
  // Measured where the phone receives them, on a shared machine: the first can arrive late, shortening the first gap.
  assert.ok(first >= TIMERS.t1 / 2 && second >= 2 * TIMERS.t1 - 2, `intervals ${first} then ${second}`);
  assert.ok(second > first, 'the interval doubles');
  // A retransmission is the same request: same branch.
  assert.is(new Set(ctx.phone.requests.map((r) => header(r.text, 'Via'))).size, 1);
});

Udp('gives up at Timer F when nothing answers, and says so', async (ctx) => {
  ctx.phone = await fakePhone(() => {});
  const result = await ctx.notifier.send(target(ctx.phone.port));
  assert.is(result.status, null);
  // t1 20 → 40 → 80 → 80 … within 640 ms: about 1 + 9 sends; never unbounded.
  assert.ok(result.transmissions >= 6 && result.transmissions <= 11, `${result.transmissions} transmissions`);
});

Udp('a provisional answer slows retransmission to T2 until the final one', async (ctx) => {
  ctx.phone = await fakePhone((req, n, reply) => {
    if (n === 1) reply(respond(req, '100 Trying'));
    if (n === 3) reply(respond(req, '200 OK'));
  });
  const result = await ctx.notifier.send(target(ctx.phone.port));
  assert.is(result.status, 200);
  const gap = (ctx.phone.requests[2]?.at ?? 0) - (ctx.phone.requests[1]?.at ?? 0);
  assert.ok(gap >= TIMERS.t2 - 5, `retransmission after a provisional came after ${gap} ms`);
});

Udp('a 401 is answered once with digest credentials of the registered account', async (ctx) => {
  const md5 = (s: string) => createHash('md5').update(s).digest('hex');
  ctx.phone = await fakePhone((req, n, reply) => {
    if (n === 1) {
      reply(respond(req, '401 Unauthorized', ['WWW-Authenticate: Digest realm="snom", nonce="abc123", qop="auth", algorithm=MD5']));
      return;
    }
    const auth = header(req, 'Authorization') ?? '';
    const field = (k: string) => new RegExp(`\\b${k}="?([^",]+)"?`).exec(auth)?.[1] ?? '';
    const requestUri = /^NOTIFY (\S+) /.exec(req)?.[1] ?? '';
    // The phone computes what it expects from its own account and the Request-URI, not from the header.
    const ha1 = md5('HD0001:snom:idle-secret');
    const ha2 = md5(`NOTIFY:${requestUri}`);
    const expected = md5(`${ha1}:abc123:${field('nc')}:${field('cnonce')}:auth:${ha2}`);
    const ok = field('username') === 'HD0001' && field('uri') === requestUri && field('qop') === 'auth' && field('nc') === '00000001';
    reply(respond(req, ok && field('response') === expected ? '200 OK' : '403 Forbidden'));
  });
  const result = await ctx.notifier.send(target(ctx.phone.port, { username: 'HD0001', password: 'idle-secret' }));
  assert.is(result.status, 200);
  assert.is(result.authenticated, true);
  assert.is(ctx.phone.requests.length, 2);
  assert.is(header(ctx.phone.requests[1]?.text ?? '', 'CSeq'), '2 NOTIFY');
  assert.is(header(ctx.phone.requests[0]?.text ?? '', 'Call-ID'), header(ctx.phone.requests[1]?.text ?? '', 'Call-ID'));
});

Udp('a 407 gets Proxy-Authorization, and an unusable challenge offered first is skipped', async (ctx) => {
  ctx.phone = await fakePhone((req, n, reply) => {
    if (n === 1) {
      reply(
        respond(req, '407 Proxy Authentication Required', [
          'Proxy-Authenticate: Digest realm="pbx", nonce="n1", algorithm=SHA-256',
          'Proxy-Authenticate: Digest realm="pbx", nonce="n2", algorithm=MD5',
        ]),
      );
      return;
    }
    const auth = header(req, 'Proxy-Authorization') ?? '';
    reply(respond(req, /nonce="n2"/.test(auth) && header(req, 'Authorization') === null ? '200 OK' : '403 Forbidden'));
  });
  const result = await ctx.notifier.send(target(ctx.phone.port, { username: 'HD0001', password: 'idle-secret' }));
  assert.is(result.status, 200);
});

Udp('wrong credentials are not retried in a loop: the second 401 is the answer', async (ctx) => {
  ctx.phone = await fakePhone((req, _n, reply) => reply(respond(req, '401 Unauthorized', ['WWW-Authenticate: Digest realm="x", nonce="n"'])));
  const result = await ctx.notifier.send(target(ctx.phone.port, { username: 'HD0001', password: 'wrong' }));
  assert.is(result.status, 401);
  assert.is(ctx.phone.requests.length, 2);
});

Udp.run();

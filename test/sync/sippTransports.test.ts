import { createServer, type TLSSocket } from 'node:tls';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startSipp } from '../helpers/sipp.ts';
import { makeTestCertificates } from '../helpers/sipTls.ts';

/**
 * The NOTIFY goes to the contact the PBX passed, over the transport that contact names, IPv6 included: sipp plays a
 * phone that challenges the NOTIFY and checks the digest of its idle account (HD0001 / idle-secret-1) over UDP and
 * TCP, on 127.0.0.1 and ::1. Debian's sipp has no TLS, so a node:tls phone checks TLS the same way.
 */
interface Context {
  t: TestServer;
}

const Transports = suite<Context>("sync/check-sync over the phone's transport");
Transports.before.each(async (ctx) => {
  ctx.t = await startTestServer();
  await ctx.t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice', sipPassword: 'user-secret', pin: '4826' });
  await ctx.t.api('POST', '/api/v1/devices', { mac: '00:15:65:12:34:56', vendor: 'yealink', model: 'T54W', idlePassword: 'idle-secret-1' });
});
Transports.after.each((ctx) => ctx.t.close());

const cases = [
  {
    name: 'UDP over IPv6',
    transport: 'udp',
    ipv6: true,
    contact: (port: number) => `sip:HD0001@[::1]:${port}`,
    requestLine: /NOTIFY sip:HD0001@\[::1\]:\d+ SIP\/2\.0/,
    via: /Via: *SIP\/2\.0\/UDP /,
  },
  {
    name: 'TCP',
    transport: 'tcp',
    ipv6: false,
    contact: (port: number) => `sip:HD0001@127.0.0.1:${port};transport=tcp`,
    requestLine: /NOTIFY sip:HD0001@127\.0\.0\.1:\d+;transport=tcp SIP\/2\.0/,
    via: /Via: *SIP\/2\.0\/TCP /,
  },
  {
    name: 'TCP over IPv6',
    transport: 'tcp',
    ipv6: true,
    contact: (port: number) => `<sip:HD0001@[::1]:${port};transport=tcp>`,
    requestLine: /NOTIFY sip:HD0001@\[::1\]:\d+;transport=tcp SIP\/2\.0/,
    via: /Via: *SIP\/2\.0\/TCP /,
  },
] as const;

for (const c of cases) {
  Transports(`${c.name}: *35*101*4826 sends the NOTIFY to the PBX's contact, challenged and answered with digest`, async (ctx) => {
    const sipp = await startSipp('check-sync-digest-uas.xml', 1, 15, { transport: c.transport, ipv6: c.ipv6 });
    const code = await ctx.t.api('POST', '/api/v1/hotdesk/code', { device: 'HD0001', digits: '*35*101*4826', contact: c.contact(sipp.port) });
    assert.is(code.body.result, 'logged_in');
    const run = await sipp.done;
    assert.is(run.code, 0, `sipp failed: ${run.errors}`);
    assert.match(run.log, c.requestLine);
    assert.match(run.log, c.via);
    await ctx.t.hotprov.resync.settled();
    const sync = (await ctx.t.api('GET', '/api/v1/devices/HD0001')).body.sync;
    assert.equal([sync.state, sync.statusCode, sync.target], ['answered', 200, 'HD0001']);
  });
}

Transports('TLS: a sips contact gets the NOTIFY over TLS, challenged and answered with digest', async (ctx) => {
  const certs = makeTestCertificates();
  const requests: string[] = [];
  const phone = createServer({ cert: certs.phoneCert, key: certs.phoneKey }, (socket: TLSSocket) => {
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString();
      for (let end = buffer.indexOf('\r\n\r\n'); end >= 0; end = buffer.indexOf('\r\n\r\n')) {
        const request = buffer.slice(0, end + 4);
        buffer = buffer.slice(end + 4);
        requests.push(request);
        const keep = request.split('\r\n').filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l));
        const status = /^Authorization: Digest .*username="HD0001"/m.test(request) ? '200 OK' : '401 Unauthorized';
        const challenge = status === '200 OK' ? [] : ['WWW-Authenticate: Digest realm="phone", nonce="abc", algorithm=MD5'];
        socket.write([`SIP/2.0 ${status}`, ...keep, ...challenge, 'Content-Length: 0', '', ''].join('\r\n'));
      }
    });
  });
  await new Promise<void>((resolve) => phone.listen(0, '127.0.0.1', resolve));
  try {
    const port = (phone.address() as { port: number }).port;
    await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826', contact: `sips:HD0001@127.0.0.1:${port}` });
    await ctx.t.hotprov.resync.settled();
    assert.is(requests.length, 2);
    assert.match(requests[0] ?? '', /^NOTIFY sips:HD0001@127\.0\.0\.1:\d+ SIP\/2\.0\r\nVia: SIP\/2\.0\/TLS /);
    const sync = (await ctx.t.api('GET', '/api/v1/devices/HD0001')).body.sync;
    assert.equal([sync.state, sync.statusCode], ['answered', 200]);
  } finally {
    phone.close();
  }
});

Transports('a TCP contact nobody listens on: the NOTIFY could not be sent, failed at once with the reason', async (ctx) => {
  await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826', contact: 'sip:HD0001@127.0.0.1:9;transport=tcp' });
  await ctx.t.hotprov.resync.settled();
  const sync = (await ctx.t.api('GET', '/api/v1/devices/HD0001')).body.sync;
  assert.equal([sync.state, sync.sentAt], ['failed', null], 'failed, and nothing left');
  assert.match(sync.error, /^TCP to 127\.0\.0\.1:9: TCP connection failed: .*ECONNREFUSED/);
  assert.ok(sync.retryAt !== null, 'tried again later');
});

Transports.run();

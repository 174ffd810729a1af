import { createSocket, type Socket } from 'node:dgram';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * 200 logins racing over HTTP for the same users and phones: afterwards no user sits at two phones, no phone has
 * two users, and every phone a user was moved away from received its own check-sync NOTIFY.
 */

interface Context {
  t: TestServer;
  phone: Socket;
  /** Distinct NOTIFYs (Call-IDs) each idle account received; retransmissions count once. */
  notified: Map<string, Set<string>>;
}

const Race = suite<Context>('sync/racing logins');
Race.before(async (ctx) => {
  ctx.notified = new Map();
  ctx.t = await startTestServer();
  ctx.phone = createSocket('udp4');
  ctx.phone.on('message', (data, from) => {
    const text = data.toString();
    const user = /^NOTIFY sip:([^@]+)@/.exec(text)?.[1] ?? '?';
    const callId = /^Call-ID: (.*)$/m.exec(text)?.[1] ?? '';
    ctx.notified.set(user, (ctx.notified.get(user) ?? new Set()).add(callId));
    const keep = text.split('\r\n').filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l));
    ctx.phone.send(['SIP/2.0 200 OK', ...keep, 'Content-Length: 0', '', ''].join('\r\n'), from.port, from.address);
  });
  await new Promise<void>((resolve) => ctx.phone.bind(0, '127.0.0.1', resolve));
});
Race.after(async (ctx) => {
  await ctx.t.close();
  await new Promise<void>((resolve) => ctx.phone.close(() => resolve()));
});

Race("the invariants hold and moved users' old phones are told", async (ctx) => {
  const port = ctx.phone.address().port;
  const devices: string[] = [];
  for (let i = 1; i <= 12; i++) {
    const res = await ctx.t.api('POST', '/api/v1/devices', {
      mac: `0015650100${String(i).padStart(2, '0')}`,
      vendor: 'yealink',
      model: 'T46U',
      sipContact: `sip:x@127.0.0.1:${port}`,
    });
    devices.push(res.body.idleAccount);
  }
  const users = Array.from({ length: 15 }, (_, i) => String(600 + i));
  for (const ext of users) await ctx.t.api('POST', '/api/v1/users', { extension: ext, displayName: `U${ext}`, sipPassword: `s-${ext}`, pin: '4826' });

  let seed = 11;
  const pick = <T>(list: readonly T[]): T => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return list[seed % list.length] as T;
  };
  const all = await Promise.all(
    Array.from({ length: 200 }, () => ctx.t.api('POST', '/api/v1/hotdesk/login', { device: pick(devices), extension: pick(users), pin: '4826' })),
  );
  // More PIN checks of one user or phone at once than its tries left are turned away before the PIN is read.
  assert.ok(
    all.every((a) => a.status === 200 || (a.status === 429 && a.body.error.code === 'too_many_attempts')),
    'a login failed otherwise',
  );
  const answers = all.filter((a) => a.status === 200);
  assert.ok(answers.length >= users.length, `only ${answers.length} logins went through`);
  await ctx.t.hotprov.resync.settled();

  const sessions = (await ctx.t.api('GET', '/api/v1/hotdesk/sessions')).body as { device: { idleAccount: string }; user: { extension: string } }[];
  assert.is(new Set(sessions.map((s) => s.user.extension)).size, sessions.length, 'a user sits at two phones');
  assert.is(new Set(sessions.map((s) => s.device.idleAccount)).size, sessions.length, 'a phone has two users');

  const movedFrom = answers.map((a) => a.body.movedFrom).filter((d): d is string => d !== null);
  assert.ok(movedFrom.length > 0, 'the race moved users');
  // Every change to a phone, moves away included, is one NOTIFY to it: count both per phone. Each phone is
  // addressed by its own idle account, as none of them fetched a profile in this test.
  const idleAccountOf = new Map<number, string>();
  for (const [i, account] of devices.entries()) idleAccountOf.set(i + 1, account);
  const expected = new Map<string, number>();
  for (const change of ctx.t.changes) {
    for (const id of change.deviceIds) {
      const account = idleAccountOf.get(id) ?? '?';
      expected.set(account, (expected.get(account) ?? 0) + 1);
    }
  }
  for (const device of new Set(movedFrom)) assert.ok((expected.get(device) ?? 0) > 0, `${device} was not re-provisioned after a move`);
  for (const [device, count] of expected) assert.is(ctx.notified.get(device)?.size ?? 0, count, `NOTIFYs to ${device}`);
});

Race.run();

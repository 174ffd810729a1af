import { createSocket, type Socket } from 'node:dgram';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { listAudit } from '../../src/domain/audit.ts';
import { syncWatchdog } from '../../src/jobs/schedules.ts';
import { silentLogger } from '../../src/log.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * A re-provisioning that finally fails is said where admins look (device and sessions API, audit log) and tried
 * again at the next retry time, one NOTIFY each time, until the phone fetches, by itself or told.
 */
const later = (ctx: Context, seconds: number) => {
  ctx.clock = new Date(ctx.clock.getTime() + seconds * 1000);
};
const watchdog = (ctx: Context) => syncWatchdog.run({ domain: ctx.t.hotprov.deps.domain, resync: ctx.t.hotprov.resync, log: silentLogger });
const UA = 'Yealink SIP-T54W 96.86.0.70 00:15:65:12:34:56';
const device = async (ctx: Context) => (await ctx.t.api('GET', '/api/v1/devices/HD0001')).body;
const audit = async (ctx: Context, action: string) => (await listAudit(ctx.t.hotprov.database.db, 1, { action })).reverse();

interface Context {
  t: TestServer;
  phone: Socket;
  /** NOTIFYs the phone received (retransmissions once). */
  notifies: Set<string>;
  clock: Date;
}

const Failure = suite<Context>('sync/a re-provisioning that fails');
Failure.before.each(async (ctx) => {
  ctx.clock = new Date('2026-03-02T09:00:00Z');
  ctx.t = await startTestServer({ now: () => ctx.clock, env: { HOTPROV_SYNC_FETCH_TIMEOUT: '30', HOTPROV_SYNC_RETRIES: '1' } });
  ctx.notifies = new Set();
  ctx.phone = createSocket('udp4');
  ctx.phone.on('message', (data, from) => {
    const text = data.toString();
    ctx.notifies.add(/^Call-ID: (.*)$/m.exec(text)?.[1] ?? '');
    const keep = text.split('\r\n').filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l));
    ctx.phone.send(['SIP/2.0 200 OK', ...keep, 'Content-Length: 0', '', ''].join('\r\n'), from.port, from.address);
  });
  await new Promise<void>((resolve) => ctx.phone.bind(0, '127.0.0.1', resolve));
  await ctx.t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice', sipPassword: 'user-secret', pin: '4826' });
  await ctx.t.api('POST', '/api/v1/devices', {
    mac: '00:15:65:12:34:56',
    vendor: 'yealink',
    model: 'T54W',
    sipContact: `sip:HD0001@127.0.0.1:${ctx.phone.address().port}`,
  });
  await ctx.t.phone('/001565123456.cfg', UA); // the phone holds its idle profile
});
Failure.after.each(async (ctx) => {
  await ctx.t.close();
  await new Promise<void>((resolve) => ctx.phone.close(() => resolve()));
});

/** Logs Alice in and lets the phone ignore both NOTIFYs: the job fails. */
async function failedLogin(ctx: Context) {
  await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  await ctx.t.hotprov.resync.settled();
  later(ctx, 31);
  await watchdog(ctx);
  later(ctx, 31);
  await watchdog(ctx);
}

Failure('failed: in the device and sessions API with the reason and the retry time, audited once', async (ctx) => {
  await failedLogin(ctx);
  assert.is(ctx.notifies.size, 2);
  const { sync, phone: held } = await device(ctx);
  assert.is(sync.state, 'failed');
  assert.match(sync.error, /the phone did not fetch its new profile \(after 2 NOTIFYs\)/);
  assert.is(sync.retryAt, new Date(new Date(sync.failedAt).getTime() + 15 * 60_000).toISOString());
  assert.equal(held, { account: 'HD0001', pending: 'login' }, 'the phone still holds its idle account');
  const [session] = (await ctx.t.api('GET', '/api/v1/hotdesk/sessions')).body;
  assert.equal([session.sync.state, session.sync.retryAt, session.phone.pending], ['failed', sync.retryAt, 'login']);

  const events = await audit(ctx, 'sync.failed');
  assert.is(events.length, 1);
  assert.equal([events[0]?.idleAccount, events[0]?.actor], ['HD0001', 'resync']);
  assert.equal(JSON.parse(events[0]?.detail ?? '{}'), { reason: 'login 101', mode: 'direct', target: 'HD0001', error: sync.error, retryAt: sync.retryAt });
  assert.not.match(events[0]?.detail ?? '', /user-secret/);
});

Failure("retried at the retry time with one NOTIFY, failed again without a second audit event, then the phone's own fetch ends it", async (ctx) => {
  await failedLogin(ctx);
  later(ctx, 10 * 60);
  await watchdog(ctx);
  assert.is(ctx.notifies.size, 2, 'not before the retry time');

  later(ctx, 5 * 60);
  await watchdog(ctx);
  await ctx.t.hotprov.resync.settled();
  assert.is(ctx.notifies.size, 3, 'one NOTIFY at the retry time');
  let { sync } = await device(ctx);
  assert.equal([sync.state, sync.attempts, sync.retryAt], ['answered', 3, null]);

  later(ctx, 31);
  await watchdog(ctx);
  sync = (await device(ctx)).sync;
  assert.is(sync.state, 'failed');
  assert.is(sync.retryAt, new Date(ctx.clock.getTime() + 15 * 60_000).toISOString(), 'the next retry time');
  assert.is(ctx.notifies.size, 3, 'failed again after one NOTIFY, not a new round of retries');
  assert.is((await audit(ctx, 'sync.failed')).length, 1, 'audited once, not at every retry');

  // The phone polls by itself and gets the user's profile: done, and the audit log says it recovered.
  await ctx.t.phone('/001565123456.cfg', UA);
  const done = await device(ctx);
  assert.equal([done.sync.state, done.sync.retryAt, done.phone], ['fetched', null, { account: '101', pending: null }]);
  assert.is((await audit(ctx, 'sync.recovered')).length, 1);
  later(ctx, 20 * 60);
  await watchdog(ctx);
  assert.is(ctx.notifies.size, 3, 'nothing more is sent once fetched');
});

Failure('a newer change replaces the failed job, which is not retried any more', async (ctx) => {
  await failedLogin(ctx);
  await ctx.t.api('POST', '/api/v1/hotdesk/logout', { device: 'HD0001' });
  await ctx.t.hotprov.resync.settled();
  // The phone never fetched the login: its idle profile is already what it should have, nothing to send.
  const { sync, phone: held } = await device(ctx);
  assert.equal([sync.reason, sync.state, sync.retryAt], ['login 101', 'superseded', null]);
  assert.equal(held, { account: 'HD0001', pending: null });
  later(ctx, 20 * 60);
  await watchdog(ctx);
  assert.is(ctx.notifies.size, 2, 'the old failure is not retried');
});

Failure('a logout the phone never fetched: the desk is "logging out", not idle, until it does', async (ctx) => {
  await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  await ctx.t.phone('/001565123456.cfg', UA);
  await ctx.t.api('POST', '/api/v1/hotdesk/logout', { device: 'HD0001' });
  await ctx.t.hotprov.resync.settled();
  let body = await device(ctx);
  assert.equal([body.state, body.phone], ['idle', { account: '101', pending: 'logout' }]);
  await ctx.t.phone('/001565123456.cfg', UA);
  body = await device(ctx);
  assert.equal([body.state, body.phone, body.sync.state], ['idle', { account: 'HD0001', pending: null }, 'fetched']);
});

Failure.run();

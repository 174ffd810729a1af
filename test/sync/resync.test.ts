import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { syncWatchdog } from '../../src/jobs/schedules.ts';
import { silentLogger } from '../../src/log.ts';
import { fakeAsterisk } from '../helpers/fakeAsterisk.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startSipp } from '../helpers/sipp.ts';

const later = (ctx: Context, seconds: number) => {
  ctx.clock = new Date(ctx.clock.getTime() + seconds * 1000);
};
const jobDeps = (ctx: Context) => ({ domain: ctx.t.hotprov.deps.domain, resync: ctx.t.hotprov.resync, log: silentLogger });
const UA = 'Yealink SIP-T54W 96.86.0.70 00:15:65:12:34:56';

interface Context {
  t: TestServer;
  clock: Date;
}

const Resync = suite<Context>('sync/confirmed re-provisioning');
Resync.before.each(async (ctx) => {
  ctx.clock = new Date('2026-03-02T09:00:00Z');
  ctx.t = await startTestServer({ now: () => ctx.clock, env: { HOTPROV_SYNC_FETCH_TIMEOUT: '30', HOTPROV_SYNC_RETRIES: '1' } });
  await ctx.t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice', sipPassword: 'user-secret', pin: '4826' });
  await ctx.t.api('POST', '/api/v1/users', { extension: '102', displayName: 'Bob', sipPassword: 'bob-secret', pin: '4826' });
  await ctx.t.api('POST', '/api/v1/devices', { mac: '00:15:65:12:34:56', vendor: 'yealink', model: 'T54W' });
  await ctx.t.api('POST', '/api/v1/devices', { mac: '00:15:65:12:34:57', vendor: 'yealink', model: 'T54W' });
});
Resync.after.each((ctx) => ctx.t.close());

const syncOf = async (ctx: Context, device: string) => (await ctx.t.api('GET', `/api/v1/devices/${device}`)).body.sync;

Resync('a phone that does not fetch is told again, then reported failed, never silently', async (ctx) => {
  const sipp = await startSipp('check-sync-uas.xml', 2, 20);
  await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826', contact: `sip:HD0001@127.0.0.1:${sipp.port}` });
  await ctx.t.hotprov.resync.settled();
  assert.is((await syncOf(ctx, 'HD0001')).state, 'answered');

  later(ctx, 31);
  await syncWatchdog.run(jobDeps(ctx));
  assert.is((await sipp.done).code, 0, 'the retry reached the phone as a second NOTIFY');
  let sync = await syncOf(ctx, 'HD0001');
  assert.equal([sync.state, sync.attempts], ['answered', 2]);

  later(ctx, 31);
  await syncWatchdog.run(jobDeps(ctx));
  sync = await syncOf(ctx, 'HD0001');
  assert.is(sync.state, 'failed');
  assert.match(sync.error, /the phone did not fetch its new profile \(after 2 NOTIFYs\)/);
  const sessions = await ctx.t.api('GET', '/api/v1/hotdesk/sessions');
  assert.is(sessions.body[0].sync.state, 'failed');
});

Resync('a phone nobody can reach fails at once with the reason, not `sent` until the time-out', async (ctx) => {
  await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  await ctx.t.hotprov.resync.settled();
  const sync = await syncOf(ctx, 'HD0001');
  assert.equal([sync.state, sync.error], ['failed', 'no contact, configured contact or address is known for this phone']);
  // The watchdog has nothing left to retry for it.
  later(ctx, 31);
  await syncWatchdog.run(jobDeps(ctx));
  assert.equal((await syncOf(ctx, 'HD0001')).attempts, 1);
  // Once the phone is known (it fetched), the next change reaches it again.
  await ctx.t.phone('/001565123456.cfg', UA);
  await ctx.t.api('POST', '/api/v1/hotdesk/logout', { device: 'HD0001' });
  await ctx.t.hotprov.resync.settled();
  assert.is.not((await syncOf(ctx, 'HD0001')).state, 'failed');
});

Resync('a phone that fetched by itself before the NOTIFY landed counts as fetched; a later change supersedes', async (ctx) => {
  await ctx.t.phone('/001565123456.cfg', UA);
  await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  await ctx.t.phone('/001565123456.cfg', UA);
  assert.is((await syncOf(ctx, 'HD0001')).state, 'fetched');
  await ctx.t.api('POST', '/api/v1/hotdesk/logout', { device: 'HD0001' });
  await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '102', pin: '4826' });
  const sync = await syncOf(ctx, 'HD0001');
  assert.is(sync.reason, 'login 102');
  assert.is(sync.target, '101', 'addressed to the account the phone was last given');
});

Resync('nothing is sent when the phone already has the profile (login and logout before it fetched)', async (ctx) => {
  await ctx.t.phone('/001565123456.cfg', UA);
  await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  await ctx.t.api('POST', '/api/v1/hotdesk/logout', { device: 'HD0001' });
  await ctx.t.hotprov.resync.settled();
  const sync = await syncOf(ctx, 'HD0001');
  assert.is(sync.state, 'superseded');
});

Resync('a user moved away from a phone: that phone gets its NOTIFY too', async (ctx) => {
  const patched = await ctx.t.api('PATCH', '/api/v1/devices/HD0001', { sipContact: 'sip:HD0001@127.0.0.1:5999' });
  assert.is(patched.body.sipContact, 'sip:HD0001@127.0.0.1:5999');
  await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0002', extension: '101', pin: '4826' });
  await ctx.t.hotprov.resync.settled();
  const moved = await syncOf(ctx, 'HD0001');
  assert.equal([moved.reason, moved.state, moved.target], ['login 101', 'sent', 'HD0001'], 'never fetched: still on its idle account');
  assert.match(moved.error, /no answer from 127\.0\.0\.1:5999/, 'sent to the configured contact');
  assert.ok((await syncOf(ctx, 'HD0002')) !== null);
});

Resync("a reboot is sent only when an admin asks, with the vendor's reboot event", async (ctx) => {
  const { createSocket } = await import('node:dgram');
  const events: string[] = [];
  const phone = createSocket('udp4');
  const transactions = new Set<string>();
  phone.on('message', (data, from) => {
    const text = data.toString();
    // A retransmission (the 200 OK was late on a busy machine) is the same request again, not another NOTIFY.
    const transaction = `${/^Call-ID: (.*)$/im.exec(text)?.[1]} ${/^CSeq: (.*)$/im.exec(text)?.[1]}`;
    if (!transactions.has(transaction)) events.push(/^Event: (.*)$/m.exec(text)?.[1] ?? '');
    transactions.add(transaction);
    const keep = text.split('\r\n').filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l));
    phone.send(['SIP/2.0 200 OK', ...keep, 'Content-Length: 0', '', ''].join('\r\n'), from.port, from.address);
  });
  await new Promise<void>((resolve) => phone.bind(0, '127.0.0.1', resolve));
  try {
    await ctx.t.api('PATCH', '/api/v1/devices/HD0001', { sipContact: `sip:HD0001@127.0.0.1:${phone.address().port}` });
    await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
    await ctx.t.hotprov.resync.settled();
    const reboot = await ctx.t.api('POST', '/api/v1/devices/HD0001/reboot');
    assert.is(reboot.status, 202);
    await ctx.t.hotprov.resync.settled();
    assert.is(events.at(-1), 'check-sync;reboot=true');
    assert.ok(
      events.slice(0, -1).every((e) => e === 'check-sync;reboot=false'),
      `only the admin's request reboots: ${events.join(', ')}`,
    );
    assert.equal([(await syncOf(ctx, 'HD0001')).reason, (await syncOf(ctx, 'HD0001')).state], ['reboot', 'answered']);
    await ctx.t.api('POST', '/api/v1/devices', { mac: '00:04:f2:00:00:01', vendor: 'polycom', model: 'VVX450' });
    const poly = await ctx.t.api('POST', '/api/v1/devices/HD0003/reboot');
    assert.equal([poly.status, poly.body.error.code], [409, 'conflict']);
  } finally {
    phone.close();
  }
});

Resync('relay mode: the PBX sends the NOTIFY to the registered endpoint', async (ctx) => {
  const pbx = await fakeAsterisk('amisecret');
  try {
    const settings = await ctx.t.api('PATCH', '/api/v1/tenant', {
      notifyMode: 'asterisk',
      relayHost: '127.0.0.1',
      relayPort: pbx.port,
      relayUsername: 'hotprov',
      relaySecret: 'amisecret',
    });
    assert.is(settings.status, 200);
    assert.is(settings.body.relaySecretSet, true);
    assert.not.ok(JSON.stringify(settings.body).includes('amisecret'));
    await ctx.t.hotprov.resync.settled();
    await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
    await ctx.t.hotprov.resync.settled();
    const sync = await syncOf(ctx, 'HD0001');
    assert.equal([sync.mode, sync.state, sync.target], ['asterisk', 'answered', 'HD0001']);
    assert.ok(pbx.endpoints.includes('HD0001'));
  } finally {
    pbx.server.close();
  }
});

Resync('relay mode: a PBX that cannot be reached or refuses fails the re-sync at once, with the reason and a retry', async (ctx) => {
  const pbx = await fakeAsterisk('amisecret');
  try {
    // The wrong secret: the PBX refuses to sign hotprov in.
    await ctx.t.api('PATCH', '/api/v1/tenant', {
      notifyMode: 'asterisk',
      relayHost: '127.0.0.1',
      relayPort: pbx.port,
      relayUsername: 'hotprov',
      relaySecret: 'wrong',
    });
    await ctx.t.hotprov.resync.settled();
    await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
    await ctx.t.hotprov.resync.settled();
    const sync = await syncOf(ctx, 'HD0001');
    assert.equal([sync.mode, sync.state, sync.sentAt], ['asterisk', 'failed', null], 'failed at once, nothing left');
    assert.ok(sync.error.length > 0 && sync.retryAt !== null, `the reason (${sync.error}) and a retry`);
    assert.not.ok(sync.error.includes('wrong'), 'never the secret');
    // The phone's own poll still completes it.
    await ctx.t.phone('/001565123456.cfg', UA);
    assert.is((await syncOf(ctx, 'HD0001')).state, 'fetched');
  } finally {
    pbx.server.close();
  }
});

Resync.run();

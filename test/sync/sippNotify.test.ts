import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startSipp } from '../helpers/sipp.ts';

/**
 * A real SIP peer (sipp) stands in for the phone: logging in through the feature-code API produces one
 * check-sync NOTIFY to the contact the PBX gave, sipp checks it and answers 200, and the session shows
 * "fetched" once the phone's next GET was served the user profile.
 */
interface Context {
  t: TestServer;
}

const Sipp = suite<Context>('sync/check-sync with sipp');
Sipp.before.each(async (ctx) => {
  ctx.t = await startTestServer();
  await ctx.t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice', sipPassword: 'user-secret', pin: '4826' });
  await ctx.t.api('POST', '/api/v1/devices', { mac: '00:15:65:12:34:56', vendor: 'yealink', model: 'T54W' });
});
Sipp.after.each((ctx) => ctx.t.close());

Sipp('*35*101*4826 on an idle phone: one NOTIFY, answered 200, then fetched', async (ctx) => {
  const sipp = await startSipp('check-sync-uas.xml');
  const contact = `sip:HD0001@127.0.0.1:${sipp.port}`;
  const code = await ctx.t.api('POST', '/api/v1/hotdesk/code', { device: 'HD0001', digits: '*35*101*4826', contact });
  assert.equal([code.status, code.body.result, code.body.prompt], [200, 'logged_in', 'activated']);

  const run = await sipp.done;
  assert.is(run.code, 0, `sipp failed: ${run.errors}`);
  assert.match(run.log, /request: NOTIFY sip:HD0001@127\.0\.0\.1:\d+ SIP\/2\.0 \/ Event: *check-sync;reboot=false \/ Subscription-State: *terminated/);
  await ctx.t.hotprov.resync.settled();

  let sessions = await ctx.t.api('GET', '/api/v1/hotdesk/sessions');
  assert.is(sessions.body[0].sync.state, 'answered');
  assert.is(sessions.body[0].sync.statusCode, 200);
  assert.is(sessions.body[0].sync.attempts, 1);

  const fetched = await ctx.t.phone('/001565123456.cfg', 'Yealink SIP-T54W 96.86.0.70 00:15:65:12:34:56');
  assert.match(await fetched.text(), /^account\.1\.user_name = 101$/m);
  sessions = await ctx.t.api('GET', '/api/v1/hotdesk/sessions');
  assert.is(sessions.body[0].sync.state, 'fetched');
  assert.ok(sessions.body[0].sync.fetchedAt !== null);
});

Sipp('logging out sends the NOTIFY to the account the phone is registered with now', async (ctx) => {
  const login = await startSipp('check-sync-uas.xml');
  await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826', contact: `sip:HD0001@127.0.0.1:${login.port}` });
  assert.is((await login.done).code, 0);
  await ctx.t.phone('/001565123456.cfg', 'Yealink SIP-T54W 96.86.0.70 00:15:65:12:34:56');

  const logout = await startSipp('check-sync-uas.xml');
  await ctx.t.api('POST', '/api/v1/hotdesk/logout', { device: 'HD0001', contact: `sip:101@127.0.0.1:${logout.port}` });
  const run = await logout.done;
  assert.is(run.code, 0, run.errors);
  assert.match(run.log, /NOTIFY sip:101@127\.0\.0\.1/);
  await ctx.t.hotprov.resync.settled();
  const device = await ctx.t.api('GET', '/api/v1/devices/HD0001');
  assert.equal([device.body.sync.state, device.body.sync.target, device.body.sync.reason], ['answered', '101', 'logout']);
});

Sipp.run();

const Wipe = suite<Context>('sync/deleting a phone in use');
Wipe.before.each(async (ctx) => {
  ctx.t = await startTestServer();
  await ctx.t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice', sipPassword: 'user-secret', pin: '4826' });
  await ctx.t.api('POST', '/api/v1/devices', { mac: '00:15:65:12:34:56', vendor: 'yealink', model: 'T54W' });
});
Wipe.after.each((ctx) => ctx.t.close());

Wipe("the phone is told, and its next fetch wipes the user's account and keys", async (ctx) => {
  const UA = 'Yealink SIP-T54W 96.86.0.70 00:15:65:12:34:56';
  await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  await ctx.t.phone('/001565123456.cfg', UA);
  await ctx.t.hotprov.resync.settled();

  const sipp = await startSipp('check-sync-uas.xml');
  await ctx.t.api('PATCH', '/api/v1/devices/HD0001', { sipContact: `sip:101@127.0.0.1:${sipp.port}` });
  await ctx.t.hotprov.resync.settled();
  assert.is((await ctx.t.api('DELETE', '/api/v1/devices/HD0001')).status, 204);
  const run = await sipp.done;
  assert.is(run.code, 0, run.errors);
  assert.match(run.log, /NOTIFY sip:101@127\.0\.0\.1/, 'addressed to the account the phone holds');

  assert.is((await ctx.t.api('GET', '/api/v1/devices/HD0001')).status, 404, 'gone from the API');
  const wiped = await ctx.t.phone('/001565123456.cfg', UA);
  assert.is(wiped.status, 200);
  const body = await wiped.text();
  assert.match(body, /^account\.1\.enable = 0$/m);
  assert.not.match(body, /user-secret|Alice|HD0001/);
  assert.match(body, /^linekey\.1\.type = 0$/m);

  // Enrolled again, the phone starts over with a new idle account.
  const again = await ctx.t.api('POST', '/api/v1/devices', { mac: '00:15:65:12:34:56', vendor: 'yealink', model: 'T54W' });
  assert.equal([again.status, again.body.idleAccount], [201, 'HD0002']);
  assert.match(await (await ctx.t.phone('/001565123456.cfg', UA)).text(), /^account\.1\.user_name = HD0002$/m);
});

Wipe.run();

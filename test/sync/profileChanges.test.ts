import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { findDeviceByMac } from '../../src/domain/lookup.ts';
import type { Mac } from '../../src/domain/mac.ts';
import { findLatestSyncJob } from '../../src/domain/syncJobs.ts';
import { createLogger } from '../../src/log.ts';
import { logEntries } from '../helpers/logs.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * A change's consequences are worked out once: each device it touched gets its new profile built and rendered
 * once, and that one render is what the phone's next fetch gets from the cache, the ETag its NOTIFY asks for, the
 * log line and the login's `warnings`. Renders are counted by wrapping the real template store hotprov was given.
 */
interface Context {
  t: TestServer;
  logged: string[];
  /** Files rendered since the last `count` (in full or from a skeleton). */
  renders: { n: number };
}

const UA = 'Yealink SIP-T54W 96.86.0.70 00:15:65:12:34:56';
/** A Yealink phone's own files: its boot file and its device file (the model's common file is shared). */
const YEALINK_DEVICE_FILES = 2;

const Changes = suite<Context>('sync/a change rendered once');
Changes.before.each(async (ctx) => {
  ctx.logged = [];
  ctx.renders = { n: 0 };
  ctx.t = await startTestServer({ log: createLogger('info', (line) => ctx.logged.push(line)) });
  const templates = ctx.t.hotprov.templates;
  const render = templates.render.bind(templates);
  templates.render = (...args) => {
    ctx.renders.n++;
    return render(...args);
  };
  const renderFile = templates.renderFile.bind(templates);
  templates.renderFile = (...args) => {
    ctx.renders.n++;
    return renderFile(...args);
  };
  // Fourteen keys on a 12-key T33G: the login has a warning to answer.
  const keys = Array.from({ length: 14 }, (_, i) => ({ type: 'blf', value: String(200 + i), label: '' }));
  await ctx.t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice', sipPassword: 'user-secret', pin: '4826', keys });
  await ctx.t.api('POST', '/api/v1/devices', { mac: '00:15:65:12:34:56', vendor: 'yealink', model: 'T33G' });
  await ctx.t.api('POST', '/api/v1/devices', { mac: '00:15:65:12:34:57', vendor: 'yealink', model: 'T33G' });
  await ctx.t.phone('/001565123456.cfg', UA); // the phone holds its idle profile
});
Changes.after.each((ctx) => ctx.t.close());

/** Renders since the last call. */
const count = (ctx: Context) => {
  const n = ctx.renders.n;
  ctx.renders.n = 0;
  return n;
};
const changedLines = (ctx: Context, account: string) => logEntries(ctx.logged).filter((e) => e.msg === 'profile changed' && e.device === account);

Changes("a login renders the phone's files once; the fetch that follows is served from that render", async (ctx) => {
  count(ctx);
  const login = await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  assert.is(login.status, 200);
  assert.is(count(ctx), YEALINK_DEVICE_FILES, 'each of its files rendered once, by the login');
  assert.equal(login.body.warnings, ['4 key(s) do not fit on the SIP-T33G (12 keys): blf 210, blf 211, blf 212, blf 213']);
  assert.equal(login.body.warnings, (await ctx.t.api('GET', '/api/v1/devices/HD0001')).body.warnings, 'the same warnings as the device shows');
  count(ctx);

  const fetched = await ctx.t.phone('/001565123456.cfg', UA);
  assert.is(fetched.status, 200);
  assert.match(await fetched.text(), /account\.1\.user_name = 101/);
  assert.is(count(ctx), 0, 'nothing rendered again for the fetch');
  const device = await findDeviceByMac(ctx.t.hotprov.database.db, '001565123456' as Mac);
  const job = await findLatestSyncJob(ctx.t.hotprov.database.db, device?.id ?? 0);
  assert.is(job?.targetEtag, fetched.headers.get('etag'), 'the NOTIFY asked for the revision the phone then got');
  assert.is(job?.state, 'fetched');

  const lines = changedLines(ctx, 'HD0001');
  assert.is(lines.length, 1, 'one log line for the change');
  assert.is(lines[0]?.profile, 'user');
});

Changes('a move renders each of the two phones once, and the answer and the log name both', async (ctx) => {
  await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  ctx.logged.length = 0;
  count(ctx);
  const moved = await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0002', extension: '101', pin: '4826' });
  assert.equal([moved.status, moved.body.movedFrom], [200, 'HD0001']);
  assert.is(count(ctx), 2 * YEALINK_DEVICE_FILES);
  assert.is(changedLines(ctx, 'HD0001')[0]?.profile, 'idle');
  assert.is(changedLines(ctx, 'HD0002')[0]?.profile, 'user');
  assert.is(moved.body.warnings.length, 1, 'the warnings are those of the phone logged in at, not the one left');
});

Changes('a login that changes nothing renders nothing and re-syncs nothing, yet answers its warnings', async (ctx) => {
  await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  const changes = ctx.t.changes.length;
  count(ctx);
  const again = await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  assert.equal([again.status, again.body.result], [200, 'already']);
  assert.is(again.body.warnings.length, 1);
  assert.is(count(ctx), 0);
  assert.is(ctx.t.changes.length, changes);
});

Changes('a logout renders the idle profile once, and the phone fetches exactly that', async (ctx) => {
  await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
  await ctx.t.phone('/001565123456.cfg', UA);
  count(ctx);
  const out = await ctx.t.api('POST', '/api/v1/hotdesk/logout', { device: 'HD0001' });
  assert.is(out.body.result, 'logged_out');
  assert.is(count(ctx), YEALINK_DEVICE_FILES);
  const fetched = await ctx.t.phone('/001565123456.cfg', UA);
  assert.match(await fetched.text(), /account\.1\.user_name = HD0001/);
  assert.is(count(ctx), 0);
  assert.is((await ctx.t.api('GET', '/api/v1/devices/HD0001')).body.sync.state, 'fetched');
});

Changes.run();

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createAccessLog } from '../../src/http/accessLog.ts';
import { createLogger } from '../../src/log.ts';
import { type LogEntry, logEntries } from '../helpers/logs.ts';
import { startTestServer, TEST_TOKEN, type TestServer } from '../helpers/server.ts';

/**
 * The access log (issue 18): every request answers an id, taken from a sane X-Request-Id or made; the API and the
 * console get a line each with it (never the query string), with the status the client was answered; phones are summed
 * up by status, not a line a fetch; the health checks get nothing.
 */
interface Context {
  t: TestServer;
  lines: string[];
}

const Access = suite<Context>('http/access log', {} as Context);

Access.before.each(async (ctx) => {
  ctx.lines = [];
  ctx.t = await startTestServer({ log: createLogger('info', (line) => ctx.lines.push(line)) });
});

Access.after.each(async (ctx) => {
  await ctx.t.close();
});

const linesAbout = (ctx: Context, test: (e: LogEntry) => boolean) => logEntries(ctx.lines).filter((e) => e.category === 'http' && test(e));

Access('an API request: one line with its id, status and time; the id is the one answered', async (ctx) => {
  const res = await fetch(`${ctx.t.url}/api/v1/users?extension=101`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
  assert.is(res.status, 200);
  const id = res.headers.get('x-request-id') ?? '';
  assert.match(id, /^[0-9a-f-]{36}$/);
  const [line, ...more] = linesAbout(ctx, (e) => e.requestId === id);
  assert.equal(more, []);
  assert.equal([line?.level, line?.method, line?.path, line?.status, typeof line?.ms], ['info', 'GET', '/api/v1/users', 200, 'number']);
  assert.not.ok(JSON.stringify(line).includes('extension=101'), 'no query string');
});

Access("a client's own request id is kept when it is a plain token, replaced when it is not", async (ctx) => {
  const ask = async (offered: string) =>
    (await fetch(`${ctx.t.url}/api/v1/users`, { headers: { authorization: `Bearer ${TEST_TOKEN}`, 'x-request-id': offered } })).headers.get('x-request-id');
  assert.is(await ask('lb-7f3a.42'), 'lb-7f3a.42');
  const forged = await ask('x"} {"level":"error');
  assert.is.not(forged, 'x"} {"level":"error');
  assert.match(forged ?? '', /^[0-9a-f-]{36}$/);
  assert.is((await ask('a'.repeat(65))) === 'a'.repeat(65), false, 'too long');
});

Access('a refused request: its line has the status the client was answered, and the id', async (ctx) => {
  const res = await fetch(`${ctx.t.url}/api/v1/no-such-route`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
  assert.is(res.status, 404);
  const id = res.headers.get('x-request-id');
  const lines = linesAbout(ctx, (e) => e.requestId === id);
  assert.equal(
    lines.map((e) => e.status),
    [404],
  );
});

Access('phones are summed up by status, not a line a fetch; health checks get no line', async (ctx) => {
  for (let i = 0; i < 5; i++) await (await fetch(`${ctx.t.url}/prov/001565000042.cfg`)).text();
  await (await fetch(`${ctx.t.url}/001565000042.cfg`, { headers: { 'user-agent': 'Yealink SIP-T46U 108.86.0.45 00:15:65:00:00:42' } })).text();
  for (let i = 0; i < 3; i++) await (await fetch(`${ctx.t.url}/healthz`)).text();
  assert.equal(
    linesAbout(ctx, (e) => /\.cfg|healthz/.test(e.msg) || /\.cfg|healthz/.test(String(e.path ?? ''))),
    [],
  );
  const lines: string[] = [];
  const log = createAccessLog(
    createLogger('info', (line) => lines.push(line)),
    3_600_000,
  );
  // The summary is written each minute, and at close; the server's own is tested through its middleware here.
  const ctxOf = (path: string, status: number) =>
    ({ path, method: 'GET', status, ip: '127.0.0.1', state: {}, get: () => '', set: () => {} }) as unknown as Parameters<typeof log.middleware>[0];
  for (const [path, status] of [
    ['/prov/a.cfg', 401],
    ['/prov/a.cfg', 200],
    ['/prov/a.cfg', 304],
    ['/prov/a.cfg', 304],
    ['/api/v1/users', 200],
  ] as const) {
    await log.middleware(ctxOf(path, status), async () => {});
  }
  log.close();
  const entries = logEntries(lines);
  assert.equal(
    entries.filter((e) => e.msg === 'phone requests').map((e) => [e.requests, e.byStatus]),
    [[4, { 200: 1, 304: 2, 401: 1 }]],
  );
  assert.is(entries.filter((e) => e.path === '/api/v1/users').length, 1);
});

Access.run();

import { count } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tablesOf } from '../../src/db/client.ts';
import { fetchSignInForm, postSignIn } from '../helpers/consoleHttp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * The console's forms go through the API's schemas: what the API refuses, the console refuses with the same
 * message, and changes nothing. Over plain HTTP, as a signed-in admin with a valid CSRF token.
 */
const PASSWORD = 'correct-horse-battery';

/** How many events the audit log holds: what a refused form must leave as it was. */
async function auditCount(t: TestServer): Promise<number> {
  const { db } = t.hotprov.database;
  const [row] = await db.select({ n: count() }).from(tablesOf(db).auditEvents);
  return row?.n ?? 0;
}

interface Ctx {
  t: TestServer;
  cookie: string;
  csrf: string;
}
const Forms = suite<Ctx>('console forms, on the API schemas');
Forms.before.each(async (ctx) => {
  ctx.t = await startTestServer({ env: { HOTPROV_ADMIN_PASSWORD: PASSWORD } });
  await ctx.t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice', sipPassword: 'sip-secret-101', pin: '4826' });
  await ctx.t.api('POST', '/api/v1/devices', { mac: '80:5E:C0:11:22:33', vendor: 'yealink', model: 'T54W', label: 'Window desk' });
  const signedIn = await postSignIn(ctx.t.url, await fetchSignInForm(ctx.t.url), 'admin', PASSWORD);
  ctx.cookie = (signedIn.headers.getSetCookie() ?? []).map((c) => c.split(';')[0]).join('; ');
  const page = await (await fetch(`${ctx.t.url}/console/settings`, { headers: { cookie: ctx.cookie } })).text();
  ctx.csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
});
Forms.after.each((ctx) => ctx.t.close());

const NAMED: Record<string, string> = { lt: '<', gt: '>', quot: '"', amp: '&' };

/** Posts a console form and follows its redirect: the page it lands on, with the error it shows once. */
async function post(ctx: Ctx, path: string, fields: [string, string][]): Promise<{ status: number; error: string | null }> {
  const res = await fetch(`${ctx.t.url}${path}`, {
    method: 'POST',
    headers: { cookie: ctx.cookie, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
    body: new URLSearchParams([['_csrf', ctx.csrf], ...fields]),
    redirect: 'manual',
  });
  const location = res.headers.get('location');
  const html = location === null ? await res.text() : await (await fetch(`${ctx.t.url}${location}`, { headers: { cookie: ctx.cookie } })).text();
  const error = /class="error"[^>]*>([^<]*)</.exec(html)?.[1] ?? null;
  const decoded = error?.replace(/&(#x[0-9a-f]+|#\d+|lt|gt|quot|amp);/gi, (_m, code: string) =>
    code.startsWith('#') ? String.fromCodePoint(Number(code.startsWith('#x') ? `0${code.slice(1)}` : code.slice(1))) : (NAMED[code] ?? ''),
  );
  return { status: res.status, error: decoded ?? null };
}

Forms('a user name with a control character: refused as the API refuses it, nothing changed', async (ctx) => {
  const api = await ctx.t.api('PATCH', '/api/v1/users/101', { displayName: 'Alice\u0007Martin' });
  assert.is(api.status, 400);
  assert.is(api.body.error.code, 'invalid_field');
  const shown = await post(ctx, '/console/users/101', [
    ['displayName', 'Alice\u0007Martin'],
    ['hotdesk', 'on'],
  ]);
  assert.is(shown.error, api.body.error.message);
  assert.is(shown.error, 'displayName: must not contain control characters such as a line break');
  assert.is((await ctx.t.api('GET', '/api/v1/users/101')).body.displayName, 'Alice');
});

Forms('a new user, a device label and a key: each refused with the message the API gives', async (ctx) => {
  const cases: { api: [string, string, unknown]; form: [string, [string, string][]] }[] = [
    {
      api: ['POST', '/api/v1/users', { extension: '102', displayName: 'Bob\nSmith', sipPassword: 'pw' }],
      form: [
        '/console/users',
        [
          ['extension', '102'],
          ['displayName', 'Bob\nSmith'],
          ['sipPassword', 'pw'],
        ],
      ],
    },
    {
      api: ['PATCH', '/api/v1/devices/HD0001', { label: 'Desk\u001b[31m' }],
      form: [
        '/console/devices/HD0001',
        [
          ['label', 'Desk\u001b[31m'],
          ['hotdesk', 'on'],
        ],
      ],
    },
    {
      api: ['POST', '/api/v1/devices', { mac: '001565aabbcc', vendor: 'yealink', model: 'T46U', location: 'Floor\r1' }],
      form: [
        '/console/devices',
        [
          ['mac', '001565aabbcc'],
          ['model', 'yealink/T46U'],
          ['location', 'Floor\r1'],
        ],
      ],
    },
    {
      api: ['PATCH', '/api/v1/users/101', { displayName: 'Alice', keys: [{ type: 'park', value: '700', label: '' }] }],
      form: [
        '/console/users/101',
        [
          ['displayName', 'Alice'],
          ['type', 'park'],
          ['value', '700'],
          ['label', ''],
        ],
      ],
    },
    {
      api: ['PATCH', '/api/v1/devices/HD0001', { expansionModules: 9 }],
      form: [
        '/console/devices/HD0001',
        [
          ['label', 'Window desk'],
          ['expansionModules', '9'],
        ],
      ],
    },
  ];
  for (const { api, form } of cases) {
    const before = await auditCount(ctx.t);
    const refused = await ctx.t.api(...api);
    assert.is(refused.status, 400, `${api[0]} ${api[1]}`);
    const shown = await post(ctx, ...form);
    assert.is(shown.error, refused.body.error.message, form[0]);
    assert.is(await auditCount(ctx.t), before, 'nothing changed');
  }
  const device = (await ctx.t.api('GET', '/api/v1/devices/HD0001')).body;
  assert.equal([device.label, device.expansionModules], ['Window desk', 0]);
  assert.equal((await ctx.t.api('GET', '/api/v1/devices')).body.length, 1);
});

Forms('a device sheet with a control character in a label shows that row’s problem, and imports nothing', async (ctx) => {
  const res = await fetch(`${ctx.t.url}/console/import/devices`, {
    method: 'POST',
    headers: { cookie: ctx.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      _csrf: ctx.csrf,
      action: 'import',
      csv: 'mac,vendor,model,label\n000413000001,snom,D785,"Desk\u0007A"\n000413000002,snom,D785,Desk B\n',
    }),
    redirect: 'manual',
  });
  assert.is(res.status, 200, 'the plan is shown again, not imported');
  assert.match(await res.text(), /label: must not contain control characters such as a line break/);
  assert.is((await ctx.t.api('GET', '/api/v1/devices')).body.length, 1);
});

Forms.run();

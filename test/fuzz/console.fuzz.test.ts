import fc from 'fast-check';
import { suite } from 'uvu';
import { adminSessions } from '../../src/db/schema.ts';
import { fetchSignInForm, postSignIn } from '../helpers/consoleHttp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { dumpDatabase, oddText, RUNS, STACK, segment } from './helpers.ts';

/**
 * The console's forms and pages, fed odd form fields, query strings and path segments by fast-check, as a
 * signed-in admin with a valid CSRF token (so the input reaches the handlers): never a 5xx, never a stack
 * trace, and a change the console refused (an error flash or page) leaves the database as it was.
 */
const PASSWORD = 'correct-horse-battery';
interface Ctx {
  t: TestServer;
  /** The signed-in admin's session cookie, and the CSRF token of their forms. */
  cookie: string;
  csrf: string;
}
const Fuzz = suite<Ctx>('fuzz/console');
Fuzz.before(async (ctx) => {
  const t = await startTestServer({ env: { HOTPROV_ADMIN_PASSWORD: PASSWORD } });
  ctx.t = t;
  await t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice', sipPassword: 'sip-secret-101', pin: '4826' });
  await t.api('POST', '/api/v1/devices', { mac: '80:5E:C0:11:22:33', vendor: 'yealink', model: 'T54W' });
  const signedIn = await postSignIn(t.url, await fetchSignInForm(t.url), 'admin', PASSWORD);
  ctx.cookie = (signedIn.headers.getSetCookie() ?? []).map((c) => c.split(';')[0]).join('; ');
  const settings = await (await fetch(`${t.url}/console/settings`, { headers: { cookie: ctx.cookie } })).text();
  ctx.csrf = /name="_csrf" value="([^"]+)"/.exec(settings)?.[1] ?? '';
});
Fuzz.after(({ t }) => t.close());

/** Form fields: mostly the form's own names, any text as values, some repeated. */
const formFor = (csrf: string, fields: readonly string[]) =>
  fc.array(fc.tuple(fc.oneof(fc.constantFrom(...fields), fc.string({ maxLength: 10 })), oddText), { maxLength: 12 }).map((pairs) => {
    const form = new URLSearchParams(pairs.map(([k, v]): [string, string] => [k.toWellFormed(), v.toWellFormed()]));
    form.set('_csrf', csrf);
    return form.toString();
  });

const SETTINGS = [
  'registrarHost',
  'registrarPort',
  'loginCode',
  'logoutCode',
  'emergencyNumbers',
  'loginKeyMode',
  'notifyMode',
  'autoLogoutCron',
  'timezone',
  'maxSessionMinutes',
];
const FORMS: readonly { label: string; path: fc.Arbitrary<string>; fields: readonly string[] }[] = [
  { label: '/console/devices', path: fc.constant('/console/devices'), fields: ['mac', 'model', 'label', 'location', 'hotdesk'] },
  {
    label: '/console/devices/:device',
    path: segment(['HD0001', 'HD9999']).map((d) => `/console/devices/${d}`),
    fields: ['label', 'location', 'hotdesk', 'expansionModules'],
  },
  { label: '/console/devices/:device/delete', path: segment(['HD9999']).map((d) => `/console/devices/${d}/delete`), fields: [] },
  { label: '/console/devices/:device/logout', path: segment(['HD0001', 'HD9999']).map((d) => `/console/devices/${d}/logout`), fields: [] },
  { label: '/console/users', path: fc.constant('/console/users'), fields: ['extension', 'displayName', 'sipPassword', 'hotdesk'] },
  {
    label: '/console/users/:extension',
    path: segment(['101', '999']).map((u) => `/console/users/${u}`),
    fields: ['displayName', 'hotdesk', 'sipUser', 'authName', 'sipPassword', 'pin', 'type', 'value', 'label', 'action'],
  },
  { label: '/console/users/:extension/pin', path: segment(['999']).map((u) => `/console/users/${u}/pin`), fields: [] },
  { label: '/console/users/:extension/delete', path: segment(['999']).map((u) => `/console/users/${u}/delete`), fields: [] },
  { label: '/console/pins', path: fc.constant('/console/pins'), fields: ['extension', 'scope'] },
  {
    label: '/console/templates/:vendor/:name',
    path: fc.tuple(segment(['yealink', 'snom']), segment(['mac.cfg', 'nope'])).map(([v, n]) => `/console/templates/${v}/${n}`),
    fields: ['source', 'device', 'user', 'action'],
  },
  {
    label: '/console/templates/:vendor/:name/restore/:id',
    path: fc.tuple(segment(['yealink']), segment(['99', 'x'])).map(([v, id]) => `/console/templates/${v}/mac.cfg/restore/${id}`),
    fields: [],
  },
  { label: '/console/import/devices', path: fc.constant('/console/import/devices'), fields: ['csv', 'action'] },
  { label: '/console/import/users', path: fc.constant('/console/import/users'), fields: ['csv', 'action'] },
  { label: '/console/settings', path: fc.constant('/console/settings'), fields: SETTINGS },
  { label: '/console/tokens', path: fc.constant('/console/tokens'), fields: ['name'] },
  { label: '/console/tokens/:id/revoke', path: segment(['999', '-1', 'x']).map((id) => `/console/tokens/${id}/revoke`), fields: [] },
];

const flashOf = async (t: TestServer) => (await t.hotprov.database.db.select().from(adminSessions)).map((s) => s.flash).find((f) => f !== null) ?? null;
// admin_sessions holds the flash; audit_events the record of a reveal. Neither is a change an admin asked for.
const SKIP = ['admin_sessions'];

for (const form of FORMS) {
  Fuzz(`POST ${form.label}: no 5xx, no stack trace, a refused change changes nothing`, async ({ t, cookie, csrf }) => {
    await fc.assert(
      fc.asyncProperty(form.path, formFor(csrf, form.fields.length === 0 ? ['x'] : form.fields), async (path, body) => {
        const before = dumpDatabase(t, SKIP);
        const res = await fetch(`${t.url}${path}`, {
          method: 'POST',
          headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
          body,
          redirect: 'manual',
        });
        const text = await res.text();
        if (res.status >= 500) throw new Error(`POST ${path} answered ${res.status}: ${text.slice(0, 300)}`);
        if (STACK.test(text)) throw new Error(`POST ${path} showed a stack trace: ${text.slice(0, 300)}`);
        const flash = await flashOf(t);
        const refused = res.status >= 400 || (flash !== null && JSON.parse(flash).error !== undefined);
        if (refused && dumpDatabase(t, SKIP) !== before) throw new Error(`POST ${path} was refused but changed the database`);
        // Take the flash, so the next run starts clean.
        if (flash !== null) await fetch(`${t.url}/console/`, { headers: { cookie } });
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
  });
}

const PAGES = [
  fc
    .tuple(oddText, oddText)
    .map(
      ([q, page]) => `/console/devices?q=${encodeURIComponent(q.slice(0, 500).toWellFormed())}&page=${encodeURIComponent(page.slice(0, 50).toWellFormed())}`,
    ),
  fc.tuple(segment(['HD0001', 'HD9999']), oddText).map(([d, as]) => `/console/devices/${d}?as=${encodeURIComponent(as.slice(0, 50).toWellFormed())}`),
  segment(['101', '999']).map((u) => `/console/users/${u}`),
  fc
    .tuple(oddText, oddText, oddText)
    .map(
      ([device, from, to]) =>
        `/console/audit?device=${encodeURIComponent(device.slice(0, 50).toWellFormed())}&from=${encodeURIComponent(from.slice(0, 20).toWellFormed())}&to=${encodeURIComponent(to.slice(0, 20).toWellFormed())}`,
    ),
  fc.tuple(segment(['yealink']), segment(['mac.cfg']), segment(['1', 'x'])).map(([v, n, id]) => `/console/templates/${v}/${n}/revisions/${id}`),
  fc
    .tuple(oddText, oddText, fc.constantFrom('2026-03-01', '1970-01-01', '2999-12-31'))
    .map(
      ([from, to, day]) =>
        `/console/occupancy?from=${encodeURIComponent(from.slice(0, 20).toWellFormed())}&to=${encodeURIComponent(to.slice(0, 20).toWellFormed())}&day=${day}`,
    ),
  fc
    .tuple(fc.constantFrom('1970-01-01', '2026-02-28', '2999-12-31', ''), fc.constantFrom('1970-01-01', '2026-03-01', '2999-12-31', ''), oddText)
    .map(([from, to, view]) => `/console/occupancy.csv?from=${from}&to=${to}&view=${encodeURIComponent(view.slice(0, 10).toWellFormed())}`),
  oddText.map((q) => `/console/users?q=${encodeURIComponent(q.slice(0, 500).toWellFormed())}`),
  fc
    .tuple(oddText, oddText)
    .map(
      ([model, modules]) =>
        `/console/users/101?model=${encodeURIComponent(model.slice(0, 100).toWellFormed())}&modules=${encodeURIComponent(modules.slice(0, 20).toWellFormed())}`,
    ),
];

Fuzz('GET pages with odd query strings and path segments: no 5xx, no stack trace', async ({ t, cookie }) => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(...PAGES), async (path) => {
      const res = await fetch(`${t.url}${path}`, { headers: { cookie, accept: 'text/html' }, redirect: 'manual' });
      const text = await res.text();
      if (res.status >= 500) throw new Error(`GET ${path} answered ${res.status}: ${text.slice(0, 300)}`);
      if (STACK.test(text)) throw new Error(`GET ${path} showed a stack trace: ${text.slice(0, 300)}`);
    }),
    { numRuns: RUNS * 3 },
  );
});

Fuzz('the sign-in form with any fields: no 5xx, no stack trace', async ({ t }) => {
  const signIn = await fetchSignInForm(t.url);
  await fc.assert(
    fc.asyncProperty(oddText, oddText, fc.boolean(), async (username, password, withToken) => {
      const body = new URLSearchParams({ username: username.toWellFormed(), password: password.toWellFormed(), ...(withToken ? { _csrf: signIn.csrf } : {}) });
      const res = await fetch(`${t.url}/console/login`, {
        method: 'POST',
        headers: { cookie: signIn.cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body,
        redirect: 'manual',
      });
      const text = await res.text();
      if (res.status >= 500 || STACK.test(text)) throw new Error(`sign-in answered ${res.status}: ${text.slice(0, 300)}`);
    }),
    { numRuns: RUNS },
  );
});

Fuzz.run();

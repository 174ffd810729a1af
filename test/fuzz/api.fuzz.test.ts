import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, TEST_TOKEN, type TestServer } from '../helpers/server.ts';
import { contentType, dumpDatabase, RUNS, rawBody, STACK, segment } from './helpers.ts';

/**
 * Every JSON route under /api/v1, fed malformed JSON, wrong types, huge, deep and odd input by fast-check:
 * never a 5xx, never a stack trace, and a refused request leaves the database exactly as it was.
 */
const Fuzz = suite<{ t: TestServer }>('fuzz/JSON API');
Fuzz.before(async (ctx) => {
  const t = await startTestServer();
  ctx.t = t;
  await t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice', sipPassword: 'sip-secret-101', pin: '4826' });
  await t.api('POST', '/api/v1/users', { extension: '102', displayName: 'Bob', sipPassword: 'sip-secret-102', pin: '4826' });
  await t.api('POST', '/api/v1/devices', { mac: '80:5E:C0:11:22:33', vendor: 'yealink', model: 'T54W' });
  await t.api('POST', '/api/v1/devices', { mac: '00:04:13:92:2D:24', vendor: 'snom', model: 'D785' });
});
Fuzz.after(({ t }) => t.close());

const USERS = ['101', '102', '999'];
const DEVICES = ['HD0001', 'HD0002', '805ec0112233', '00:04:13:92:2D:24', 'HD9999'];
const USER_FIELDS = ['extension', 'displayName', 'sipPassword', 'sipUser', 'authName', 'pin', 'hotdesk', 'keys'];
const DEVICE_FIELDS = ['mac', 'vendor', 'model', 'hotdesk', 'label', 'location', 'expansionModules', 'idlePassword', 'sipContact'];
const TENANT_FIELDS = [
  'name',
  'registrarHost',
  'registrarPort',
  'registrarTransport',
  'loginCode',
  'logoutCode',
  'emergencyNumbers',
  'extensionMinDigits',
  'extensionMaxDigits',
  'pinMinLength',
  'notifyMode',
  'loginKeyMode',
  'relayHost',
  'relayPort',
  'relayUsername',
  'relaySecret',
  'relayProfile',
  'autoLogoutCron',
  'maxSessionMinutes',
  'yealinkRpsUrl',
  'yealinkRpsKeyId',
  'yealinkRpsSecret',
  'polyZtpUrl',
  'timezone',
];

/** Refusals that are counted by design: a wrong PIN or unknown extension leaves its audit row and its count. */
const COUNTED = ['audit_events', 'login_throttles'];

interface Route {
  readonly method: string;
  readonly label: string;
  readonly path: fc.Arbitrary<string>;
  readonly fields?: readonly string[];
  /** Tables a refusal may still write to. */
  readonly refusalWrites?: readonly string[];
}

const user = segment(USERS);
const device = segment(DEVICES);
const ROUTES: readonly Route[] = [
  { method: 'GET', label: '/api/v1/users', path: fc.constant('/api/v1/users') },
  { method: 'POST', label: '/api/v1/users', path: fc.constant('/api/v1/users'), fields: USER_FIELDS },
  { method: 'GET', label: '/api/v1/users/:x', path: user.map((u) => `/api/v1/users/${u}`) },
  { method: 'PATCH', label: '/api/v1/users/:x', path: user.map((u) => `/api/v1/users/${u}`), fields: USER_FIELDS },
  { method: 'DELETE', label: '/api/v1/users/:x', path: segment(['999', 'nobody']).map((u) => `/api/v1/users/${u}`) },
  { method: 'POST', label: '/api/v1/users/:x/pin', path: segment(['999']).map((u) => `/api/v1/users/${u}/pin`) },
  { method: 'GET', label: '/api/v1/devices', path: fc.constant('/api/v1/devices') },
  { method: 'POST', label: '/api/v1/devices', path: fc.constant('/api/v1/devices'), fields: DEVICE_FIELDS },
  { method: 'GET', label: '/api/v1/devices/:x', path: device.map((d) => `/api/v1/devices/${d}`) },
  { method: 'PATCH', label: '/api/v1/devices/:x', path: device.map((d) => `/api/v1/devices/${d}`), fields: DEVICE_FIELDS },
  { method: 'DELETE', label: '/api/v1/devices/:x', path: segment(['HD9999', 'nothing']).map((d) => `/api/v1/devices/${d}`) },
  { method: 'POST', label: '/api/v1/devices/:x/redirect', path: device.map((d) => `/api/v1/devices/${d}/redirect`) },
  { method: 'POST', label: '/api/v1/devices/:x/reboot', path: segment(['HD9999', '0004f2000000']).map((d) => `/api/v1/devices/${d}/reboot`) },
  { method: 'GET', label: '/api/v1/devices/:x/idle-account', path: device.map((d) => `/api/v1/devices/${d}/idle-account`) },
  {
    method: 'GET',
    label: '/api/v1/devices/:x/config?file=…',
    path: fc.tuple(device, fc.string({ maxLength: 30 })).map(([d, f]) => `/api/v1/devices/${d}/config?file=${encodeURIComponent(f)}`),
  },
  {
    method: 'POST',
    label: '/api/v1/hotdesk/login',
    path: fc.constant('/api/v1/hotdesk/login'),
    fields: ['device', 'extension', 'pin', 'contact'],
    refusalWrites: COUNTED,
  },
  { method: 'POST', label: '/api/v1/hotdesk/logout', path: fc.constant('/api/v1/hotdesk/logout'), fields: ['device', 'contact'] },
  { method: 'POST', label: '/api/v1/hotdesk/code', path: fc.constant('/api/v1/hotdesk/code'), fields: ['device', 'digits', 'contact'], refusalWrites: COUNTED },
  { method: 'GET', label: '/api/v1/hotdesk/sessions', path: fc.constant('/api/v1/hotdesk/sessions') },
  {
    method: 'GET',
    label: '/api/v1/occupancy?from=…&to=…&view=…&format=…',
    path: fc
      .tuple(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), fc.constantFrom('day', 'desk', 'user', 'x'), fc.constantFrom('json', 'csv', ''))
      .map(([from, to, view, format]) => `/api/v1/occupancy?${new URLSearchParams({ from, to, view, format })}`),
  },
  { method: 'GET', label: '/api/v1/tenant', path: fc.constant('/api/v1/tenant') },
  { method: 'PATCH', label: '/api/v1/tenant', path: fc.constant('/api/v1/tenant'), fields: TENANT_FIELDS },
];

async function send(t: TestServer, method: string, path: string, body: string | undefined, type: string) {
  const headers: Record<string, string> = { authorization: `Bearer ${TEST_TOKEN}` };
  if (body !== undefined && type !== '') headers['content-type'] = type;
  const res = await fetch(`${t.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  return { status: res.status, text: await res.text() };
}

for (const route of ROUTES) {
  Fuzz(`${route.method} ${route.label}: no 5xx, no stack trace, a refusal changes nothing`, async ({ t }) => {
    const withBody = route.method !== 'GET' && route.method !== 'DELETE';
    await fc.assert(
      fc.asyncProperty(
        route.path,
        withBody ? fc.option(rawBody(route.fields ?? ['x']), { nil: undefined }) : fc.constant(undefined),
        contentType,
        async (path, body, type) => {
          const skip = route.refusalWrites ?? [];
          const before = dumpDatabase(t, skip);
          const res = await send(t, route.method, path, body, type);
          if (res.status >= 500) throw new Error(`${route.method} ${path} answered ${res.status}: ${res.text.slice(0, 300)}`);
          if (STACK.test(res.text)) throw new Error(`${route.method} ${path} showed a stack trace: ${res.text.slice(0, 300)}`);
          if (res.status >= 400) {
            if (res.status !== 404 || path.startsWith('/api/')) {
              const parsed = JSON.parse(res.text) as { error?: { code?: unknown } };
              if (typeof parsed.error?.code !== 'string') throw new Error(`an error without a code: ${res.text.slice(0, 200)}`);
            }
            if (dumpDatabase(t, skip) !== before) throw new Error(`${route.method} ${path} was refused (${res.status}) but changed the database`);
          }
        },
      ),
      { numRuns: RUNS, endOnFailure: true },
    );
  });
}

Fuzz('the bearer token itself: any header value is a 401, never a 5xx', async ({ t }) => {
  await fc.assert(
    fc.asyncProperty(fc.string({ maxLength: 300 }), async (value) => {
      const header = value.replace(/[^\t\x20-\x7e]/g, '');
      const res = await fetch(`${t.url}/api/v1/users`, { headers: { authorization: header } });
      assert.ok(res.status === 401 || (res.status === 200 && header === `Bearer ${TEST_TOKEN}`), `${res.status} for ${JSON.stringify(header)}`);
    }),
    { numRuns: RUNS },
  );
});

Fuzz.run();

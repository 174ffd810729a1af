import type Router from '@koa/router';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openApiPath } from '../../src/http/openapi.ts';
import { startTestServer, TEST_TOKEN, type TestServer } from '../helpers/server.ts';

/**
 * The OpenAPI document of /api/v1: valid OpenAPI 3.1, naming every route the app really serves, and describing
 * what the routes really answer: a journey through every route validates each answer (success and error) against
 * the schema the document declares for that route and status, with a JSON Schema 2020-12 validator.
 */

// biome-ignore lint/suspicious/noExplicitAny: the document is JSON, read as the test walks it
type Json = any;

interface Context {
  t: TestServer;
  doc: Json;
}

const OpenApi = suite<Context>('http/openapi');
OpenApi.before.each(async (ctx) => {
  ctx.t = await startTestServer();
  const res = await fetch(`${ctx.t.url}/api/v1/openapi.json`);
  assert.is(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  ctx.doc = await res.json();
});
OpenApi.after.each((ctx) => ctx.t.close());

const DOC_ID = 'urn:hotprov:openapi';
/** A JSON pointer into the document, as a URI fragment. */
const pointer = (...parts: string[]) => `${DOC_ID}#/${parts.map((p) => encodeURIComponent(p.replaceAll('~', '~0').replaceAll('/', '~1'))).join('/')}`;

/** Answers of the real server, each checked against the document; remembers which operations were exercised. */
function conformance(t: TestServer, doc: Json) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema({ ...doc, $id: DOC_ID });
  const templates = Object.keys(doc.paths).map((template) => ({
    template,
    pattern: new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+')}$`),
    literal: template.replace(/\{\w+\}/g, '').length,
  }));
  /** The document's path for a real path: the most literal template that matches it. */
  const templateOf = (path: string): string => {
    const matches = templates.filter((c) => c.pattern.test(path)).sort((a, b) => b.literal - a.literal);
    const found = matches[0];
    if (found === undefined) assert.unreachable(`no path of the document matches ${path}`);
    return (found as { template: string }).template;
  };
  const validates = (ref: string, value: unknown, what: string) => {
    const validate = ajv.getSchema(ref) ?? ajv.compile({ $ref: ref });
    assert.ok(validate(value), `${what}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(value).slice(0, 400)}`);
  };
  const exercised = new Map<string, Set<number>>();

  return {
    exercised,
    /** Calls the API (with the provider's token unless told otherwise) and checks the answer against the document. */
    async call(method: string, pathAndQuery: string, body?: unknown, token: string | null = TEST_TOKEN): Promise<{ status: number; body: Json }> {
      const res = await fetch(`${t.url}${pathAndQuery}`, {
        method,
        headers: {
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      const path = pathAndQuery.split('?')[0] ?? '';
      const template = templateOf(path);
      const verb = method.toLowerCase();
      const key = `${method} ${template}`;
      const operation = doc.paths[template][verb];
      assert.ok(operation, `${key} is not in the document`);
      const declared = operation.responses[String(res.status)];
      assert.ok(declared, `${key} answered ${res.status}, which the document does not declare: ${text.slice(0, 200)}`);
      const type = (res.headers.get('content-type') ?? '').split(';')[0] ?? '';
      if (text === '') {
        assert.is(declared.content, undefined, `${key} ${res.status} answered no body, the document declares one`);
      } else {
        assert.ok(declared.content?.[type], `${key} ${res.status} answered ${type}, which the document does not declare`);
        if (type === 'application/json')
          validates(pointer('paths', template, verb, 'responses', String(res.status), 'content', type, 'schema'), JSON.parse(text), `${key} ${res.status}`);
      }
      // What the API accepted, the document's request schema accepts too.
      if (body !== undefined && res.status < 300) {
        assert.ok(operation.requestBody, `${key} took a body the document does not declare`);
        validates(pointer('paths', template, verb, 'requestBody', 'content', 'application/json', 'schema'), body, `${key} request`);
      }
      const statuses = exercised.get(key) ?? new Set<number>();
      statuses.add(res.status);
      exercised.set(key, statuses);
      return { status: res.status, body: type === 'application/json' ? (JSON.parse(text) as Json) : text };
    },
  };
}

OpenApi('the document is valid OpenAPI 3.1, served without a token, and holds no secret', async ({ t, doc }) => {
  const result = await new Validator().validate(doc);
  assert.ok(result.valid, JSON.stringify(result.errors, null, 1)?.slice(0, 2000));
  assert.is(doc.openapi, '3.1.0');
  assert.is(doc.info.title, 'hotprov API');
  for (const [path, operations] of Object.entries<Json>(doc.paths)) {
    for (const [method, operation] of Object.entries<Json>(operations)) {
      assert.ok(Object.keys(operation.responses).length > 0, `${method} ${path} declares no answer`);
      assert.ok(['helpdesk', 'admin', 'provider', 'public'].includes(operation['x-hotprov-role']), `${method} ${path} names who may call it`);
    }
  }
  const ids = Object.values<Json>(doc.paths).flatMap((operations) => Object.values<Json>(operations).map((o) => o.operationId));
  assert.is(new Set(ids).size, ids.length, 'operationIds are unique');
  // The same document with a token; neither the token nor any stored secret is in it.
  const withToken = await t.api('GET', '/api/v1/openapi.json');
  assert.equal(withToken.body, doc);
  assert.not.ok(JSON.stringify(doc).includes(TEST_TOKEN));
});

OpenApi('every /api/v1 route of the running app is in the document with its method, and nothing else is', ({ t, doc }) => {
  const routers = t.hotprov.app.middleware.flatMap((m) => (m as { router?: Router }).router ?? []);
  assert.ok(routers.length > 3, 'the routers are found on the app');
  const served = routers
    .flatMap((router) =>
      router.stack.flatMap((layer) => layer.methods.filter((m) => m !== 'HEAD').map((m) => `${m} ${openApiPath(String(layer.path)).replace(/(.)\/$/, '$1')}`)),
    )
    .filter((key) => key.split(' ')[1]?.startsWith('/api/v1'));
  const documented = Object.entries<Json>(doc.paths).flatMap(([path, operations]) => Object.keys(operations).map((m) => `${m.toUpperCase()} ${path}`));
  assert.equal([...new Set(served)].sort(), documented.sort());
  // Both mounts of the tenant's routes, and tenant management.
  for (const key of ['GET /api/v1/users', 'GET /api/v1/tenants/{tenant}/users', 'DELETE /api/v1/tenants/{tenant}', 'GET /api/v1/openapi.json']) {
    assert.ok(documented.includes(key), key);
  }
});

OpenApi('the validator refuses answers that differ from the document: the check below is not vacuous', async ({ t, doc }) => {
  const api = conformance(t, doc);
  const created = await api.call('POST', '/api/v1/users', { extension: '150', displayName: 'Vera', sipPassword: 'sip-150' });
  const ajv = new Ajv2020({ strict: false });
  addFormats.default(ajv);
  ajv.addSchema({ ...doc, $id: DOC_ID });
  const user = ajv.compile({ $ref: pointer('paths', '/api/v1/users/{extension}', 'get', 'responses', '200', 'content', 'application/json', 'schema') });
  assert.ok(user({ ...created.body }), 'the answer as it is');
  assert.not.ok(user({ ...created.body, sipPassword: 'sip-150' }), 'a field the document does not name');
  assert.not.ok(user({ ...created.body, createdAt: 'yesterday' }), 'a date that is not one');
  const { hotdesk: _, ...incomplete } = created.body;
  assert.not.ok(user(incomplete), 'a field left out');
});

OpenApi('every route answers as the document declares, its errors included', async ({ t, doc }) => {
  const api = conformance(t, doc);
  const call = api.call;

  assert.is((await call('GET', '/api/v1/openapi.json', undefined, null)).status, 200);

  // Errors every route can answer: no token, a bad body, a body that is not JSON.
  assert.is((await call('GET', '/api/v1/users', undefined, null)).status, 401);
  assert.is((await call('POST', '/api/v1/users', { extension: '10a', displayName: 'X', sipPassword: 'x' })).status, 400);
  const notJson = await fetch(`${t.url}/api/v1/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'text/plain' },
    body: 'x',
  });
  assert.is(notJson.status, 415);
  assert.ok(doc.paths['/api/v1/users'].post.responses['415'], '415 declared');

  // Users.
  const alice = {
    extension: '101',
    displayName: 'Alice Martin',
    sipPassword: 'sip-secret-101',
    pin: '4826',
    keys: [{ type: 'blf', value: '102', label: 'Bob' }],
  };
  assert.is((await call('POST', '/api/v1/users', alice)).status, 201);
  assert.is((await call('POST', '/api/v1/users', alice)).status, 409);
  assert.is((await call('GET', '/api/v1/users')).status, 200);
  assert.is((await call('GET', '/api/v1/users/101')).status, 200);
  assert.is((await call('GET', '/api/v1/users/999')).status, 404);
  assert.is((await call('PATCH', '/api/v1/users/101', { displayName: 'Alice M.' })).status, 200);
  assert.is((await call('PATCH', '/api/v1/users/101', {})).status, 400);
  const pin = await call('POST', '/api/v1/users/101/pin');
  assert.is(pin.status, 200);

  // A phone nobody trusts yet: it claims its credentials with its first fetch, an admin approves it.
  assert.is((await call('PATCH', '/api/v1/tenant', { trustedNetworks: [] })).status, 200);
  const enrolled = await call('POST', '/api/v1/devices', { mac: '805ec0112233', vendor: 'yealink', model: 'T54W', label: 'Desk 1', location: 'Floor 2' });
  assert.is(enrolled.status, 201);
  const desk = `/api/v1/devices/${enrolled.body.idleAccount}`;
  assert.is((await call('POST', '/api/v1/devices', { mac: '805ec0112233', vendor: 'yealink', model: 'T54W' })).status, 409);
  assert.is((await call('POST', `${desk}/activate`)).status, 409, 'nobody claimed it yet');
  assert.is((await call('POST', `${desk}/activation-code`)).status, 200);
  assert.is((await t.anonymous('/805ec0112233.cfg', 'Yealink SIP-T54W 96.86.0.70 80:5e:c0:11:22:33')).status, 200);
  const approved = await call('POST', `${desk}/activate`);
  assert.is(approved.status, 200);
  assert.is(approved.body.access.state, 'active');
  assert.is((await call('GET', '/api/v1/devices')).status, 200);
  assert.is((await call('GET', desk)).status, 200);
  assert.is((await call('GET', '/api/v1/devices/HD9999')).status, 404);
  assert.is((await call('PATCH', desk, { label: 'Desk 1 (window)', phoneLanguage: 'fr' })).status, 200);
  assert.is((await call('GET', `${desk}/web-password`)).status, 200);
  assert.is((await call('GET', `${desk}/idle-account`)).status, 200);
  assert.is((await call('GET', `${desk}/config`)).status, 200);
  const file = await call('GET', `${desk}/config?file=805ec0112233.cfg`);
  assert.is(file.status, 200);
  assert.match(file.body, /account\.1\./);
  assert.is((await call('GET', `${desk}/config?file=nope.cfg`)).status, 404);
  // Each file of each vendor, as the phone gets it, in a content type the document names.
  for (const [vendor, mac, model] of [
    ['snom', '000413922d24', 'D785'],
    ['polycom', '0004f274632f', 'VVX450'],
  ]) {
    const device = (await call('POST', '/api/v1/devices', { mac, vendor, model })).body.idleAccount;
    const { files } = (await call('GET', `/api/v1/devices/${device}/config`)).body;
    for (const { name } of files) assert.is((await call('GET', `/api/v1/devices/${device}/config?file=${encodeURIComponent(name)}`)).status, 200, name);
  }
  assert.is((await call('POST', `${desk}/redirect`)).status, 409, 'no redirect service is set up');
  assert.is((await call('POST', `${desk}/resync`)).status, 202);
  assert.is((await call('POST', `${desk}/reboot`)).status, 202);
  assert.is((await call('POST', `${desk}/activation-code`)).status, 409, 'an active phone needs none');

  // Hot desking, on a second phone (trusted again: active at once).
  assert.is((await call('PATCH', '/api/v1/tenant', { trustedNetworks: ['127.0.0.0/8', '::1/128'], name: 'Head office' })).status, 200);
  const second = await call('POST', '/api/v1/devices', { mac: '805ec0445566', vendor: 'yealink', model: 'T46U' });
  const hotDesk = second.body.idleAccount;
  assert.is((await call('POST', '/api/v1/hotdesk/login', { device: hotDesk, extension: '101', pin: '0000' })).status, 403);
  const login = await call('POST', '/api/v1/hotdesk/login', { device: hotDesk, extension: '101', pin: pin.body.pin });
  assert.is(login.status, 200);
  assert.is(login.body.result, 'logged_in');
  assert.is((await call('POST', '/api/v1/hotdesk/login', { device: 'HD9999', extension: '101', pin: pin.body.pin })).status, 404);
  const sessions = await call('GET', '/api/v1/hotdesk/sessions');
  assert.is(sessions.body.length, 1);
  assert.is((await call('GET', `/api/v1/devices/${hotDesk}`)).body.state, 'in_use');
  assert.is((await call('POST', '/api/v1/hotdesk/code', { device: hotDesk, digits: '*99' })).status, 200);
  assert.is((await call('POST', '/api/v1/hotdesk/logout', { device: hotDesk })).status, 200);

  // Templates: the tenant's version, a model's and a device's; restore, reset, merge, re-sync; refusals.
  const template = '/api/v1/templates/yealink/device.cfg';
  const listed = await call('GET', '/api/v1/templates');
  assert.is(listed.status, 200);
  assert.ok(listed.body.some((t: Json) => t.vendor === 'yealink' && t.name === 'device.cfg'));
  const shipped = await call('GET', template);
  assert.is(shipped.status, 200);
  assert.is(shipped.body.own, false);
  const first = await call('POST', template, { source: `${shipped.body.source}## tenant 1\n` });
  assert.is(first.status, 200);
  assert.is((await call('POST', template, { source: `${shipped.body.source}## tenant 2\n` })).status, 200);
  const model = await call('POST', template, { source: `${shipped.body.source}## model\n`, model: 'T46U' });
  assert.equal([model.status, model.body.scope], [200, { level: 'model', model: 'T46U' }]);
  assert.is((await call('GET', `${template}?model=T46U`)).body.own, true);
  const device = await call('POST', template, { source: `${shipped.body.source}## desk\n`, device: hotDesk });
  assert.equal([device.status, device.body.scope.level], [200, 'device']);
  assert.is((await call('GET', `${template}?device=${hotDesk}`)).status, 200);
  const restored = await call('POST', `${template}/restore`, { revision: first.body.revisions[0].id });
  assert.is(restored.status, 200);
  assert.is(restored.body.revisions[0].restoredFrom, first.body.revisions[0].id);
  assert.equal((await call('POST', `${template}/merge`, { model: 'T46U' })).body, { text: null, conflicts: [] }, 'nothing shipped changed');
  assert.is((await call('POST', `${template}/resync`, { model: 'T46U' })).status, 202);
  const reset = await call('POST', `${template}/reset`, { device: hotDesk });
  assert.equal([reset.status, reset.body.own], [200, false]);
  assert.is((await call('POST', template, { source: '{{#each}}', model: 'T46U' })).status, 422);
  assert.is((await call('GET', '/api/v1/templates/yealink/nope.cfg')).status, 404);
  assert.is((await call('GET', `${template}?device=HD9999`)).status, 404);

  // Occupancy, as JSON and as CSV.
  const occupancy = await call('GET', '/api/v1/occupancy');
  assert.is(occupancy.status, 200);
  assert.ok(occupancy.body.desks.length >= 2);
  const csv = await call('GET', '/api/v1/occupancy?format=csv&view=desk');
  assert.is(csv.status, 200);
  assert.is((await call('GET', '/api/v1/occupancy?view=week')).status, 400);

  // The tenant's settings and tokens; a helpdesk token is refused what it may not do.
  assert.is((await call('GET', '/api/v1/tenant')).status, 200);
  assert.is((await call('PATCH', '/api/v1/tenant', { maxUsers: 3 })).status, 400, "the provider's quota is not the tenant's to set");
  const token = await call('POST', '/api/v1/tokens', { name: 'front desk', role: 'helpdesk' });
  assert.is(token.status, 201);
  assert.is((await call('GET', '/api/v1/tokens')).status, 200);
  assert.is((await call('GET', '/api/v1/devices', undefined, token.body.token)).status, 200);
  assert.is((await call('POST', '/api/v1/users', alice, token.body.token)).status, 403);
  assert.is((await call('GET', '/api/v1/tenants', undefined, token.body.token)).status, 403);
  assert.is((await call('DELETE', `/api/v1/tokens/${token.body.id}`)).status, 204);
  assert.is((await call('DELETE', '/api/v1/tokens/nope')).status, 404);

  // The tenant's console accounts and audit log.
  const account = await call('POST', '/api/v1/admins', { username: 'desk-help', password: 'desk-help-pass', role: 'helpdesk' });
  assert.is(account.status, 201);
  assert.is((await call('POST', '/api/v1/admins', { username: 'desk-help', password: 'desk-help-pass', role: 'helpdesk' })).status, 409);
  assert.is((await call('GET', '/api/v1/admins')).status, 200);
  assert.is((await call('POST', `/api/v1/admins/${account.body.id}/password`, { password: 'another-pass-1' })).status, 200);
  assert.is((await call('POST', '/api/v1/admins/999999/password', { password: 'another-pass-1' })).status, 404);
  assert.is((await call('DELETE', `/api/v1/admins/${account.body.id}`)).status, 204);
  assert.is((await call('DELETE', `/api/v1/admins/${account.body.id}`)).status, 404);
  assert.is((await call('GET', '/api/v1/audit?action=user&limit=5')).status, 200);
  assert.is((await call('GET', '/api/v1/audit?limit=0')).status, 400);

  // Webhooks: made (its secret once), read, changed, tested, a delivery sent again, a new secret, deleted.
  const hook = await call('POST', '/api/v1/webhooks', { url: 'https://hooks.example.test/hotprov', events: ['hotdesk.login', 'hotdesk.logout'] });
  assert.is(hook.status, 201);
  assert.is((await call('POST', '/api/v1/webhooks', { url: 'http://hooks.example.test/', events: ['hotdesk.login'] })).status, 400);
  assert.is((await call('GET', '/api/v1/webhooks')).status, 200);
  assert.is((await call('PATCH', `/api/v1/webhooks/${hook.body.id}`, { enabled: false })).status, 200);
  const test = await call('POST', `/api/v1/webhooks/${hook.body.id}/test`);
  assert.is(test.status, 202);
  assert.is((await call('POST', `/api/v1/webhooks/${hook.body.id}/deliveries/${test.body.id}/resend`)).status, 202);
  assert.is((await call('POST', `/api/v1/webhooks/${hook.body.id}/deliveries/999999/resend`)).status, 404);
  assert.is((await call('GET', `/api/v1/webhooks/${hook.body.id}`)).status, 200);
  assert.is((await call('POST', `/api/v1/webhooks/${hook.body.id}/secret`)).status, 200);
  assert.is((await call('DELETE', `/api/v1/webhooks/${hook.body.id}`)).status, 204);
  assert.is((await call('GET', `/api/v1/webhooks/${hook.body.id}`)).status, 404);

  // Tenant management, and the tenant's routes at its own mount.
  assert.is((await call('POST', '/api/v1/tenants', { name: 'Acme', slug: 'acme', maxUsers: 10 })).status, 201);
  assert.is((await call('POST', '/api/v1/tenants', { name: 'Acme', slug: 'acme' })).status, 409);
  assert.is((await call('GET', '/api/v1/tenants')).status, 200);
  assert.is((await call('GET', '/api/v1/tenants/acme')).status, 200);
  assert.is((await call('PATCH', '/api/v1/tenants/acme', { maxDevices: 5, baseUrl: 'https://prov.acme.example' })).status, 200);
  assert.is((await call('POST', '/api/v1/tenants/acme/users', { ...alice, extension: '201' })).status, 201);
  assert.is((await call('GET', '/api/v1/tenants/acme/users')).status, 200);
  assert.is((await call('GET', '/api/v1/tenants/acme/tenant')).status, 200);
  assert.is((await call('GET', '/api/v1/tenants/nobody/users')).status, 404);
  assert.is((await call('DELETE', '/api/v1/tenants/acme')).status, 204);
  assert.is((await call('GET', '/api/v1/tenants/acme')).status, 404);

  // Starting over and deleting.
  const unclaimed = await call('POST', `${desk}/unclaim`);
  assert.is(unclaimed.status, 200);
  assert.is(unclaimed.body.access.state, 'unclaimed');
  assert.is((await call('DELETE', desk)).status, 204);
  assert.is((await call('DELETE', '/api/v1/users/101')).status, 204);

  // Every operation outside the second mount was exercised (the second mount runs the same handlers).
  const missed = Object.entries<Json>(operationsOf(doc))
    .filter(([key]) => !key.includes('/api/v1/tenants/{tenant}/'))
    .map(([key]) => key)
    .filter((key) => !api.exercised.has(key));
  assert.equal(missed, [], 'routes no answer of this test checked');
});

/** Every operation of the document, keyed `METHOD /path`. */
function operationsOf(doc: Json): Record<string, Json> {
  return Object.fromEntries(
    Object.entries<Json>(doc.paths).flatMap(([path, operations]) =>
      Object.entries<Json>(operations).map(([method, op]) => [`${method.toUpperCase()} ${path}`, op]),
    ),
  );
}

OpenApi.run();

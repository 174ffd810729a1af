import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { listAudit } from '../../src/domain/audit.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** Console accounts and tokens through the API: what the console's Admins and tokens page does. */
const Admins = suite<{ t: TestServer }>('http/admins');
Admins.before.each(async (ctx) => {
  ctx.t = await startTestServer();
});
Admins.after.each((ctx) => ctx.t.close());

const as = (t: TestServer, token: string) => async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${t.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : JSON.parse(text) };
};

Admins('a tenant admin token lists, creates, resets and deletes accounts, audited under its name; a helpdesk may not', async ({ t }) => {
  const admin = as(t, (await t.api('POST', '/api/v1/tokens', { name: 'ops-script', role: 'admin' })).body.token);
  const helpdesk = as(t, (await t.api('POST', '/api/v1/tokens', { name: 'desk', role: 'helpdesk' })).body.token);

  const created = await admin('POST', '/api/v1/admins', { username: 'carol', password: 'carol-password-1', role: 'helpdesk' });
  assert.is(created.status, 201);
  assert.equal(Object.keys(created.body).sort(), ['createdAt', 'id', 'role', 'username'], 'never a password or its hash');
  assert.is((await admin('POST', '/api/v1/admins', { username: 'boss', password: 'boss-password-1', role: 'provider' })).status, 400);
  assert.is((await admin('POST', '/api/v1/admins', { username: 'carol', password: 'carol-password-2', role: 'admin' })).status, 409);
  assert.is((await helpdesk('POST', '/api/v1/admins', { username: 'dave', password: 'dave-password-1', role: 'admin' })).status, 403);
  assert.is((await helpdesk('GET', '/api/v1/admins')).status, 403);
  assert.equal(
    (await admin('GET', '/api/v1/admins')).body.map((a: { username: string }) => a.username),
    ['carol'],
  );
  assert.is((await admin('POST', `/api/v1/admins/${created.body.id}/password`, { password: 'short' })).status, 400);
  assert.is((await admin('POST', `/api/v1/admins/${created.body.id}/password`, { password: 'carol-password-9' })).status, 200);
  assert.is((await admin('DELETE', `/api/v1/admins/${created.body.id}`)).status, 204);
  assert.is((await admin('DELETE', `/api/v1/admins/${created.body.id}`)).status, 404);

  const tenantId = (await t.hotprov.deps.tenant()).id;
  const audit = await listAudit(t.hotprov.database.db, tenantId, { action: 'admin' });
  assert.equal(audit.map((e) => [e.actor, e.action]).reverse(), [
    ['api:ops-script', 'admin.created'],
    ['api:ops-script', 'admin.password_reset'],
    ['api:ops-script', 'admin.deleted'],
  ]);
  const tokens = (await t.api('GET', '/api/v1/tokens')).body as { name: string; lastUsedAt: string | null }[];
  assert.ok(
    tokens.every((x) => x.lastUsedAt !== null),
    'each token used above has its last use',
  );
});

Admins('the audit log a page at a time with the total, filtered as the console filters it, named tokens and all', async ({ t }) => {
  const script = as(t, (await t.api('POST', '/api/v1/tokens', { name: 'hr-sync', role: 'admin' })).body.token);
  for (const extension of ['201', '202', '203']) await script('POST', '/api/v1/users', { extension, displayName: `User ${extension}`, sipPassword: 'pw' });
  await t.api('PATCH', '/api/v1/users/201', { displayName: 'Renamed' });
  const page = await t.api('GET', '/api/v1/audit?action=user&limit=2&offset=1');
  assert.is(page.status, 200);
  assert.equal([page.body.total, page.body.limit, page.body.offset, page.body.events.length], [4, 2, 1, 2]);
  assert.equal(
    page.body.events.map((e: { actor: string; action: string; userExtension: string }) => [e.actor, e.action, e.userExtension]),
    [
      ['api:hr-sync', 'user.created', '203'],
      ['api:hr-sync', 'user.created', '202'],
    ],
  );
  const changed = (await t.api('GET', '/api/v1/audit?action=user.updated')).body.events[0];
  assert.equal(changed.detail, { fields: ['displayName'] }, 'the detail as an object, not a string of JSON');
  assert.is((await t.api('GET', '/api/v1/audit?actor=api:hr-sync')).body.total, 3, 'the three users it added');
  assert.is((await t.api('GET', '/api/v1/audit?limit=501')).status, 400);
  assert.is((await t.api('GET', '/api/v1/audit?from=yesterday')).status, 400);
});

Admins.run();

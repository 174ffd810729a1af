import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tablesOf } from '../../src/db/client.ts';
import { reportUnseenDevices } from '../../src/domain/devices.ts';
import { webhookEventOf } from '../../src/domain/webhookEvents.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { tenantWithToken } from '../helpers/tenants.ts';
import { createTestPki, type TestPki } from '../helpers/tls.ts';

/**
 * Webhooks as a receiver sees them: a real HTTPS server on 127.0.0.1 (certificate from the test PKI, trusted through
 * HOTPROV_WEBHOOK_CA) receives what hotprov sends after real API calls; each signature is checked here with
 * node:crypto as a receiver would, and failures are retried on hotprov's clock (moved by the test) until delivered
 * or given up. The sender is pumped by the test, as the every-second job does.
 */

/** What the receiver got: one entry per POST. */
interface Received {
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

interface Receiver {
  readonly url: string;
  readonly received: Received[];
  /** The statuses the next POSTs are answered with, in order; 200 once they run out. */
  answers: number[];
  /** POSTs to a path with `slow` in it are held unanswered until released; how many are held now, and at most. */
  held(): { now: number; most: number };
  release(): void;
  close(): Promise<void>;
}

async function startReceiver(pki: TestPki): Promise<Receiver> {
  const received: Received[] = [];
  const receiver = { received, answers: [] as number[] };
  const waiting: (() => void)[] = [];
  let most = 0;
  const server: Server = createServer({ cert: readFileSync(pki.serverCertFile), key: readFileSync(pki.serverKeyFile) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const answer = () => {
        res.statusCode = receiver.answers.shift() ?? 200;
        res.end('ok');
      };
      if (!(req.url ?? '').includes('slow')) return answer();
      waiting.push(answer);
      most = Math.max(most, waiting.length);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}/hotprov-hook`,
    received,
    get answers() {
      return receiver.answers;
    },
    set answers(list: number[]) {
      receiver.answers = list;
    },
    held: () => ({ now: waiting.length, most }),
    release: () => {
      for (const answer of waiting.splice(0)) answer();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What a receiver does with Hotprov-Signature: recompute the HMAC over "<t>.<body>" with its secret, compare in constant time. */
function signatureHolds(secret: string, header: string | string[] | undefined, body: string): boolean {
  const parts = Object.fromEntries(
    String(header ?? '')
      .split(',')
      .map((p) => p.split('=') as [string, string]),
  );
  const expected = createHmac('sha256', secret).update(`${parts.t}.${body}`).digest();
  const given = Buffer.from(parts.v1 ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

interface Ctx {
  pki: TestPki;
  receiver: Receiver;
  t: TestServer;
  clock: { now: Date };
}

const ALL_EVENTS = [
  'hotdesk.login',
  'hotdesk.switch',
  'hotdesk.logout',
  'hotdesk.forced_logout',
  'hotdesk.automatic_logout',
  'hotdesk.lockout',
  'sync.failed',
  'device.claimed',
  'device.activated',
  'device.unseen',
];
const PIN_ALICE = '4826';
const PIN_BOB = '7391';

const Hooks = suite<Ctx>('webhooks delivered to a local HTTPS receiver');
Hooks.before(async (ctx) => {
  ctx.pki = createTestPki();
});
Hooks.after(({ pki }) => pki.remove());
Hooks.before.each(async (ctx) => {
  ctx.receiver = await startReceiver(ctx.pki);
  ctx.clock = { now: new Date('2026-12-02T09:00:00Z') };
  ctx.t = await startTestServer({
    now: () => ctx.clock.now,
    env: {
      HOTPROV_WEBHOOK_ALLOW: '127.0.0.0/8',
      HOTPROV_WEBHOOK_CA: ctx.pki.file('webhook-ca.pem', ctx.pki.serverCaPem),
      HOTPROV_WEBHOOK_RETRY_SECONDS: '10,60,300',
    },
  });
  const { t } = ctx;
  assert.is((await t.api('POST', '/api/v1/devices', { mac: '00:15:65:AA:BB:01', vendor: 'yealink', model: 'T46U', hotdesk: true })).status, 201);
  assert.is(
    (await t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice', sipPassword: 'sip-secret-101', pin: PIN_ALICE, hotdesk: true })).status,
    201,
  );
  assert.is(
    (await t.api('POST', '/api/v1/users', { extension: '102', displayName: 'Bob', sipPassword: 'sip-secret-102', pin: PIN_BOB, hotdesk: true })).status,
    201,
  );
});
Hooks.after.each(async ({ t, receiver }) => {
  await t.close();
  await receiver.close();
});

/** Sends what is due, as the every-second job does, and waits until each attempt is recorded. */
async function pump(t: TestServer): Promise<number> {
  const started = await t.hotprov.webhooks.pump();
  await t.hotprov.webhooks.settled();
  return started;
}

const later = (clock: { now: Date }, seconds: number) => {
  clock.now = new Date(clock.now.getTime() + seconds * 1000);
};

async function subscribe(t: TestServer, url: string, events: readonly string[] = ALL_EVENTS): Promise<{ id: number; secret: string }> {
  const made = await t.api('POST', '/api/v1/webhooks', { url, events, description: 'desk booking' });
  assert.is(made.status, 201, JSON.stringify(made.body));
  assert.match(made.body.secret, /^whsec_[A-Za-z0-9_-]{40,}$/);
  return { id: made.body.id, secret: made.body.secret };
}

const login = (t: TestServer, extension: string, pin: string) => t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension, pin });

Hooks('a login reaches the receiver signed with the secret, its body naming desk and user and never the PIN', async ({ t, receiver }) => {
  const hook = await subscribe(t, receiver.url, ['hotdesk.login', 'hotdesk.logout']);
  assert.is((await login(t, '101', PIN_ALICE)).status, 200);
  assert.is(await pump(t), 1);

  assert.is(receiver.received.length, 1);
  const [got] = receiver.received;
  assert.is(got?.headers['hotprov-event'], 'hotdesk.login');
  assert.is(got?.headers['content-type'], 'application/json');
  assert.ok(signatureHolds(hook.secret, got?.headers['hotprov-signature'], got?.body ?? ''), 'the signature is the HMAC of timestamp and body');
  assert.not.ok(signatureHolds('whsec_someone-else', got?.headers['hotprov-signature'], got?.body ?? ''), 'another secret does not verify');
  const t0 = Number(/t=(\d+)/.exec(String(got?.headers['hotprov-signature']))?.[1]);
  assert.is(t0, Math.floor(new Date('2026-12-02T09:00:00Z').getTime() / 1000), 'the timestamp is when it was sent');
  const event = JSON.parse(got?.body ?? '{}');
  assert.is(event.type, 'hotdesk.login');
  assert.match(event.id, /^evt_[0-9a-f]{32}$/);
  assert.is(event.tenant, 'default');
  assert.equal(event.data.device, { mac: '001565aabb01', idleAccount: 'HD0001' });
  assert.equal(event.data.user, { extension: '101' });
  assert.is(event.data.method, 'api');
  assert.not.ok(got?.body.includes(PIN_ALICE), 'no PIN in the body');

  const listed = await t.api('GET', '/api/v1/webhooks');
  assert.is(listed.body[0].lastAttempt.state, 'delivered');
  assert.is(listed.body[0].lastAttempt.lastStatus, 200);
  assert.not.ok(JSON.stringify(listed.body).includes(hook.secret), 'the secret is not listed');
  assert.is(await pump(t), 0, 'delivered once, not again');
});

Hooks('with the scheduled jobs running (as in production), an event is sent without anyone pumping', async ({ t, receiver }) => {
  await subscribe(t, receiver.url, ['hotdesk.login']);
  await t.hotprov.startJobs();
  assert.is((await login(t, '101', PIN_ALICE)).status, 200);
  // The job runs every second; wait for its POST (a generous bound: this is not a timing test).
  for (let waited = 0; receiver.received.length === 0 && waited < 15_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
  assert.is(receiver.received.length, 1);
  assert.is(receiver.received[0]?.headers['hotprov-event'], 'hotdesk.login');
});

Hooks('a failing endpoint is retried with back-off, the same event and delivery each time, until it answers 2xx', async ({ t, receiver, clock }) => {
  const hook = await subscribe(t, receiver.url, ['hotdesk.login']);
  receiver.answers = [503, 500];
  assert.is((await login(t, '101', PIN_ALICE)).status, 200);
  await pump(t);
  let shown = (await t.api('GET', `/api/v1/webhooks/${hook.id}`)).body;
  assert.is(shown.lastAttempt.state, 'pending');
  assert.is(shown.lastAttempt.lastStatus, 503);
  assert.is(shown.lastAttempt.lastError, 'answered 503');
  assert.is(shown.lastAttempt.nextAttemptAt, '2026-12-02T09:00:10.000Z', 'the first wait: 10 s');

  later(clock, 9);
  assert.is(await pump(t), 0, 'not before its wait ran out');
  later(clock, 1);
  assert.is(await pump(t), 1);
  shown = (await t.api('GET', `/api/v1/webhooks/${hook.id}`)).body;
  assert.is(shown.deliveries[0].attempts, 2);
  assert.is(shown.deliveries[0].nextAttemptAt, '2026-12-02T09:01:10.000Z', 'the second wait: 60 s');

  later(clock, 60);
  await pump(t);
  shown = (await t.api('GET', `/api/v1/webhooks/${hook.id}`)).body;
  assert.is(shown.lastAttempt.state, 'delivered');
  assert.is(shown.lastAttempt.attempts, 3);
  assert.is(shown.pendingDeliveries, 0);

  assert.is(receiver.received.length, 3);
  const ids = new Set(receiver.received.map((r) => r.headers['hotprov-delivery']));
  const bodies = new Set(receiver.received.map((r) => r.body));
  assert.is(ids.size, 1, 'one delivery id across attempts');
  assert.is(bodies.size, 1, 'the same bytes each time');
  for (const r of receiver.received) assert.ok(signatureHolds(hook.secret, r.headers['hotprov-signature'], r.body), 'every attempt is signed');
  const stamps = receiver.received.map((r) => Number(/t=(\d+)/.exec(String(r.headers['hotprov-signature']))?.[1]));
  assert.equal(
    stamps,
    [0, 10, 70].map((s) => Math.floor(Date.parse('2026-12-02T09:00:00Z') / 1000) + s),
    'each attempt signed at its own time',
  );
});

Hooks('an endpoint that never answers 2xx is given up after its retries; sent again, it is delivered', async ({ t, receiver, clock }) => {
  const hook = await subscribe(t, receiver.url, ['hotdesk.logout']);
  assert.is((await login(t, '101', PIN_ALICE)).status, 200);
  receiver.answers = [500, 500, 500, 500];
  assert.is((await t.api('POST', '/api/v1/hotdesk/logout', { device: 'HD0001' })).status, 200);
  for (const wait of [0, 10, 60, 300]) {
    later(clock, wait);
    assert.is(await pump(t), 1);
  }
  later(clock, 3600);
  assert.is(await pump(t), 0, 'given up: no fifth attempt');
  let shown = (await t.api('GET', `/api/v1/webhooks/${hook.id}`)).body;
  assert.is(shown.failedDeliveries, 1);
  assert.is(shown.lastAttempt.state, 'failed');
  assert.is(shown.lastAttempt.attempts, 4);
  assert.is(shown.lastAttempt.nextAttemptAt, null);
  assert.is(receiver.received.length, 4);
  assert.is(receiver.received[0]?.headers['hotprov-event'], 'hotdesk.logout');

  const again = await t.api('POST', `/api/v1/webhooks/${hook.id}/deliveries/${shown.deliveries[0].id}/resend`);
  assert.is(again.status, 202);
  assert.is(again.body.state, 'pending');
  await pump(t);
  shown = (await t.api('GET', `/api/v1/webhooks/${hook.id}`)).body;
  assert.is(shown.lastAttempt.state, 'delivered');
  assert.is(shown.failedDeliveries, 0);
  assert.is(receiver.received.length, 5);
});

Hooks('each endpoint gets only the events it subscribed to: login, switch, forced logout', async ({ t, receiver }) => {
  const desk = await subscribe(t, `${receiver.url}?for=desk`, ['hotdesk.switch', 'hotdesk.forced_logout']);
  await subscribe(t, `${receiver.url}?for=locks`, ['hotdesk.lockout']);
  assert.is((await login(t, '101', PIN_ALICE)).status, 200);
  assert.is((await login(t, '102', PIN_BOB)).status, 200);
  const board = await t.api('GET', '/api/v1/hotdesk/sessions');
  assert.is(board.status, 200);
  // An admin ends Bob's session (the console's board does the same through the same domain call).
  const { logout } = await import('../../src/domain/hotdesk.ts');
  await logout(t.hotprov.deps.domain, 1, { name: 'admin:root' }, { device: 'HD0001', method: 'admin' });
  await pump(t);
  const types = receiver.received.map((r) => JSON.parse(r.body).type);
  assert.equal(types.sort(), ['hotdesk.forced_logout', 'hotdesk.switch']);
  const switched = receiver.received.map((r) => JSON.parse(r.body)).find((e) => e.type === 'hotdesk.switch');
  assert.is(switched.data.user.extension, '102');
  assert.is(switched.data.detail.replaced, '101', 'who was replaced at the desk');
  const shown = (await t.api('GET', `/api/v1/webhooks/${desk.id}`)).body;
  assert.is(shown.deliveries.length, 2);
});

Hooks('50 wrong PINs at once lock the user: the lockout is announced, and each event is delivered once', async ({ t, receiver }) => {
  const hook = await subscribe(t, receiver.url, ['hotdesk.lockout']);
  const answers = await Promise.all(Array.from({ length: 50 }, () => login(t, '101', '0000')));
  assert.ok(
    answers.every((a) => a.status >= 400),
    'every wrong PIN refused',
  );
  // Fifty senders at once (several nodes, an overlapping job): none takes a delivery another took.
  await Promise.all(Array.from({ length: 50 }, () => t.hotprov.webhooks.pump()));
  await t.hotprov.webhooks.settled();
  const shown = (await t.api('GET', `/api/v1/webhooks/${hook.id}`)).body;
  assert.ok(shown.deliveries.length >= 1, 'the lockout was announced');
  assert.is(receiver.received.length, shown.deliveries.length, 'one POST per delivery, none twice');
  const subjects = receiver.received.map((r) => JSON.parse(r.body).data.detail.subject);
  assert.is(new Set(subjects).size, subjects.length, 'each subject locked once');
  for (const r of receiver.received) assert.ok(signatureHolds(hook.secret, r.headers['hotprov-signature'], r.body));
});

Hooks("a tenant's slow endpoint holds at most four places: another endpoint's event still goes at once", async ({ t, receiver }) => {
  await subscribe(t, `${receiver.url}?slow`, ['hotdesk.login', 'hotdesk.logout']);
  for (let i = 0; i < 5; i++) {
    assert.is((await login(t, '101', PIN_ALICE)).status, 200);
    assert.is((await t.api('POST', '/api/v1/hotdesk/logout', { device: 'HD0001' })).status, 200);
  }
  assert.is(await t.hotprov.webhooks.pump(), 4, 'ten events waiting for the slow endpoint: four taken');
  await subscribe(t, `${receiver.url}?quick`, ['hotdesk.login']);
  assert.is((await login(t, '102', PIN_BOB)).status, 200);
  // The slow endpoint's own event of this login waits its turn; the quick one's is sent.
  assert.is(await t.hotprov.webhooks.pump(), 1);
  for (let waited = 0; receiver.received.length < 5 && waited < 15_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
  assert.equal(receiver.held(), { now: 4, most: 4 }, 'never more than four at the slow endpoint');
  assert.is(receiver.received.filter((r) => JSON.parse(r.body).data.user.extension === '102').length, 1, 'the quick endpoint got its event');
  receiver.release();
  await t.hotprov.webhooks.settled();
  // The rest follow as places free up.
  while ((await t.hotprov.webhooks.pump()) > 0) {
    for (let waited = 0; receiver.held().now < 1 && waited < 5000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    receiver.release();
    await t.hotprov.webhooks.settled();
  }
  assert.is(receiver.received.length, 12, 'eleven for the slow endpoint, one for the quick');
  assert.ok(receiver.held().most <= 4);
});

Hooks("a backlog of 150 at one endpoint does not stop another's event; a delivery being sent cannot be sent again at once", async ({ t, receiver }) => {
  const slow = await subscribe(t, `${receiver.url}?slow`, ['hotdesk.lockout']);
  const queued: number[] = [];
  for (let i = 0; i < 150; i++) queued.push((await t.api('POST', `/api/v1/webhooks/${slow.id}/test`)).body.id);
  assert.is(await t.hotprov.webhooks.pump(), 4, 'four of the backlog taken');
  await subscribe(t, `${receiver.url}?quick`, ['hotdesk.login']);
  assert.is((await login(t, '101', PIN_ALICE)).status, 200);
  assert.is(await t.hotprov.webhooks.pump(), 1, "the other endpoint's event is taken at the next pump");
  for (let waited = 0; receiver.received.length < 5 && waited < 15_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
  assert.ok(receiver.received.some((r) => r.headers['hotprov-event'] === 'hotdesk.login'));

  // One of the four is being sent (held by the receiver): sending it again now would send it twice at once.
  const running = queued[0];
  assert.is(receiver.held().now, 4, 'the oldest four are held, the first among them');
  const again = await t.api('POST', `/api/v1/webhooks/${slow.id}/deliveries/${running}/resend`);
  assert.is(again.status, 409);
  assert.match(again.body.error.message, /being sent right now/);
  receiver.release();
  await t.hotprov.webhooks.settled();
  assert.is((await t.api('POST', `/api/v1/webhooks/${slow.id}/deliveries/${running}/resend`)).status, 202, 'once it ended, it can be');
});

Hooks("another tenant's endpoint hears nothing of this tenant, and its admins cannot see or touch this tenant's webhooks", async ({ t, receiver }) => {
  const own = await subscribe(t, `${receiver.url}?tenant=default`);
  const acme = await tenantWithToken(t, 'acme', 'Acme');
  const theirs = await fetch(`${t.url}/api/v1/webhooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${acme}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: `${receiver.url}?tenant=acme`, events: ALL_EVENTS }),
  });
  assert.is(theirs.status, 201);
  assert.is((await login(t, '101', PIN_ALICE)).status, 200);
  await pump(t);
  // The login, and the re-sync that could not reach a phone nobody told hotprov the address of.
  const heard = receiver.received.map((r) => JSON.parse(r.body));
  assert.equal(heard.map((e) => e.type).sort(), ['hotdesk.login', 'sync.failed']);
  assert.ok(
    heard.every((e) => e.tenant === 'default'),
    'nothing from acme',
  );
  for (const [method, path] of [
    ['GET', `/api/v1/webhooks/${own.id}`],
    ['PATCH', `/api/v1/webhooks/${own.id}`],
    ['DELETE', `/api/v1/webhooks/${own.id}`],
    ['POST', `/api/v1/webhooks/${own.id}/secret`],
    ['POST', `/api/v1/webhooks/${own.id}/test`],
  ] as const) {
    const res = await fetch(`${t.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${acme}`, 'content-type': 'application/json' },
      ...(method === 'PATCH' ? { body: JSON.stringify({ enabled: false }) } : {}),
    });
    assert.is(res.status, 404, `${method} ${path}`);
  }
  assert.is((await t.api('GET', '/api/v1/webhooks')).body[0].enabled, true);
});

Hooks('a new secret signs the next attempt; a test event is sent whatever the subscriptions; a paused endpoint keeps its events', async ({ t, receiver }) => {
  const hook = await subscribe(t, receiver.url, ['hotdesk.login']);
  const rotated = await t.api('POST', `/api/v1/webhooks/${hook.id}/secret`);
  assert.is(rotated.status, 200);
  assert.is.not(rotated.body.secret, hook.secret);
  assert.is((await t.api('PATCH', `/api/v1/webhooks/${hook.id}`, { enabled: false })).status, 200);
  assert.is((await t.api('POST', `/api/v1/webhooks/${hook.id}/test`)).status, 202);
  assert.is((await login(t, '101', PIN_ALICE)).status, 200);
  assert.is(await pump(t), 0, 'paused: nothing is sent');
  assert.is((await t.api('GET', `/api/v1/webhooks/${hook.id}`)).body.pendingDeliveries, 2, 'the test and the login made while paused wait');
  assert.is((await t.api('PATCH', `/api/v1/webhooks/${hook.id}`, { enabled: true })).status, 200);
  assert.is(await pump(t), 2);
  const [got] = receiver.received;
  assert.equal(receiver.received.map((r) => r.headers['hotprov-event']).sort(), ['hotdesk.login', 'webhook.test']);
  assert.ok(signatureHolds(rotated.body.secret, got?.headers['hotprov-signature'], got?.body ?? ''), 'signed with the new secret');
  assert.not.ok(signatureHolds(hook.secret, got?.headers['hotprov-signature'], got?.body ?? ''), 'not with the old one');
});

Hooks('a phone silent for a day is announced once; after it fetched again, its next silence is announced again', async ({ t, receiver, clock }) => {
  await subscribe(t, receiver.url, ['device.unseen']);
  assert.is((await t.phone('/prov/001565aabb01.cfg')).status, 200);
  const domain = t.hotprov.deps.domain;
  await t.hotprov.provisioning.flush();
  later(clock, 23 * 3600);
  assert.is(await reportUnseenDevices(domain, 24 * 3600_000), 0, 'seen 23 hours ago: not yet');
  later(clock, 3600 + 1);
  assert.is(await reportUnseenDevices(domain, 24 * 3600_000), 1);
  assert.is(await reportUnseenDevices(domain, 24 * 3600_000), 0, 'once per silence');
  await pump(t);
  assert.is(receiver.received.length, 1);
  const event = JSON.parse(receiver.received[0]?.body ?? '{}');
  assert.is(event.type, 'device.unseen');
  assert.is(event.data.device.idleAccount, 'HD0001');
  assert.is(event.data.detail.lastSeenAt, '2026-12-02T09:00:00.000Z');
  const audit = await t.api('GET', '/api/v1/audit?action=device.unseen');
  assert.is(audit.body.total ?? audit.body.events?.length ?? audit.body.length, 1, 'audited too');

  later(clock, 60);
  assert.is((await t.phone('/prov/001565aabb01.cfg')).status, 200);
  await t.hotprov.provisioning.flush();
  later(clock, 25 * 3600);
  assert.is(await reportUnseenDevices(domain, 24 * 3600_000), 1, 'silent again after fetching: announced again');
});

Hooks.run();

const Guard = suite<{ t: TestServer; receiver: Receiver; pki: TestPki }>('webhooks never call into private networks unless the operator allows it');
Guard.before.each(async (ctx) => {
  ctx.pki = createTestPki();
  ctx.receiver = await startReceiver(ctx.pki);
  ctx.t = await startTestServer({ env: { HOTPROV_WEBHOOK_CA: ctx.pki.file('webhook-ca.pem', ctx.pki.serverCaPem) } });
});
Guard.after.each(async ({ t, receiver, pki }) => {
  await t.close();
  await receiver.close();
  pki.remove();
});

Guard('an address outside the public internet is refused when the URL is saved, with the reason', async ({ t }) => {
  for (const url of [
    'https://127.0.0.1:8443/hook',
    'https://169.254.169.254/latest/meta-data/',
    'https://10.1.2.3/hook',
    'https://[::1]/hook',
    'https://[::ffff:127.0.0.1]/hook',
    'https://[fd00::1]/hook',
    'http://hooks.example.test/hook',
    'https://user:pass@hooks.example.test/hook',
  ]) {
    const res = await t.api('POST', '/api/v1/webhooks', { url, events: ['hotdesk.login'] });
    assert.is(res.status, 400, url);
    assert.is(res.body.error.field, 'url', url);
  }
  const res = await t.api('POST', '/api/v1/webhooks', { url: 'https://10.1.2.3/hook', events: ['hotdesk.login'] });
  assert.match(res.body.error.message, /not a public address.*HOTPROV_WEBHOOK_ALLOW/);
  assert.is((await t.api('GET', '/api/v1/webhooks')).body.length, 0);
});

Guard('a host name that resolves to a private address is refused when delivering: the receiver hears nothing', async ({ t, receiver }) => {
  // localhost resolves to loopback: saved (a name is checked at each delivery, against what it resolves to then)…
  const url = receiver.url.replace('127.0.0.1', 'localhost');
  const made = await t.api('POST', '/api/v1/webhooks', { url, events: ['hotdesk.login'] });
  assert.is(made.status, 201);
  assert.is((await t.api('POST', `/api/v1/webhooks/${made.body.id}/test`)).status, 202);
  await t.hotprov.webhooks.pump();
  await t.hotprov.webhooks.settled();
  // …but never called.
  assert.is(receiver.received.length, 0);
  const shown = (await t.api('GET', `/api/v1/webhooks/${made.body.id}`)).body;
  assert.is(shown.lastAttempt.state, 'pending');
  assert.is(shown.lastAttempt.lastStatus, null);
  assert.is(shown.lastAttempt.lastError, 'localhost is not at a public address; hotprov calls only public ones');
  assert.not.match(JSON.stringify(shown), /127\.0\.0\.1|::1/, "what the server's resolver answered is not told to the tenant");
});

Guard('an address written in a URL saved under looser rules is refused when delivering too (it is never looked up)', async ({ t, receiver }) => {
  // As if saved while HOTPROV_WEBHOOK_ALLOW listed loopback, and the operator has since narrowed it.
  const { webhookEndpoints } = tablesOf(t.hotprov.database.db);
  const [row] = await t.hotprov.database.db
    .insert(webhookEndpoints)
    .values({ tenantId: 1, url: receiver.url, events: '["hotdesk.login"]', secret: 'whsec_test', createdBy: 'test', createdAt: new Date() })
    .returning();
  assert.is((await t.api('POST', `/api/v1/webhooks/${row?.id}/test`)).status, 202);
  await t.hotprov.webhooks.pump();
  await t.hotprov.webhooks.settled();
  assert.is(receiver.received.length, 0);
  assert.match((await t.api('GET', `/api/v1/webhooks/${row?.id}`)).body.lastAttempt.lastError, /^127\.0\.0\.1 is not at a public address/);
});

Guard.run();

const Mapping = suite('which audited actions are which webhook events');
Mapping('logouts: by the user, by an admin or a change, automatic; a move or replacement is told by its login', () => {
  const logout = (method: string, reason: string) => webhookEventOf({ action: 'hotdesk.logout', actor: 'x', method, detail: { reason } });
  assert.is(logout('feature_code', 'logout'), 'hotdesk.logout');
  assert.is(logout('api', 'logout'), 'hotdesk.logout');
  assert.is(logout('admin', 'logout'), 'hotdesk.forced_logout');
  assert.is(logout('admin', 'admin'), 'hotdesk.forced_logout');
  assert.is(logout('api', 'user_deleted'), 'hotdesk.forced_logout');
  assert.is(logout('auto', 'scheduled'), 'hotdesk.automatic_logout');
  assert.is(logout('auto', 'max_duration'), 'hotdesk.automatic_logout');
  assert.is(logout('api', 'moved'), null);
  assert.is(logout('api', 'replaced'), null);
  assert.is(webhookEventOf({ action: 'hotdesk.login', actor: 'x', detail: {} }), 'hotdesk.login');
  assert.is(webhookEventOf({ action: 'hotdesk.login', actor: 'x', detail: { replaced: '101' } }), 'hotdesk.switch');
  assert.is(webhookEventOf({ action: 'hotdesk.locked', actor: 'x' }), 'hotdesk.lockout');
  assert.is(webhookEventOf({ action: 'hotdesk.login_failed', actor: 'x' }), null);
  assert.is(webhookEventOf({ action: 'template.saved', actor: 'x' }), null);
});
Mapping.run();

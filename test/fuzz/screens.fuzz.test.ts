import fc from 'fast-check';
import { suite } from 'uvu';
import { devices } from '../../src/db/schema.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { dumpDatabase, oddText, RUNS, STACK, segment } from './helpers.ts';

/**
 * The phones' login and logout screens under /phone/<mac>/<secret>/…, fed odd MACs, secrets, extensions and
 * PINs by fast-check: never a 5xx, never a stack trace; a wrong secret changes nothing at all, and a screen
 * that refuses a login changes nothing but its count and audit.
 */
interface Context {
  t: TestServer;
  secret: string;
}

const Fuzz = suite<Context>('fuzz/phone screens');
Fuzz.before(async (ctx) => {
  // The fuzzer is a test rig on the allow-list: its wrong secrets are not budgeted (the budget's block is audited).
  ctx.t = await startTestServer({ env: { HOTPROV_PHONE_ALLOW: '127.0.0.0/8' } });
  await ctx.t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice', sipPassword: 'sip-secret-101', pin: '4826' });
  await ctx.t.api('POST', '/api/v1/devices', { mac: '80:5E:C0:11:22:33', vendor: 'yealink', model: 'T54W' });
  await ctx.t.api('POST', '/api/v1/devices', { mac: '00:04:F2:74:63:2F', vendor: 'polycom', model: 'VVX450' });
  // Both phones fetch with their credentials once: active, so their screens log people in.
  await (await ctx.t.phone('/805ec0112233.cfg')).text();
  await (await ctx.t.phone('/0004f274632f-hotprov.cfg')).text();
  ctx.secret = (await ctx.t.hotprov.database.db.select().from(devices))[0]?.screenSecret ?? '';
});
Fuzz.after((ctx) => ctx.t.close());

const q = (s: string) => encodeURIComponent(s.slice(0, 2000).toWellFormed());
const screen = fc.oneof(
  fc.constant('login'),
  fc.tuple(oddText).map(([ext]) => `login/pin?ext=${q(ext)}`),
  fc
    .tuple(fc.oneof(oddText, fc.constantFrom('101', '102', '9')), fc.oneof(oddText, fc.constantFrom('4826', '1234', '0000')))
    .map(([ext, pin]) => `login/submit?ext=${q(ext)}&pin=${q(pin)}`),
  fc.constant('logout'),
  fc.constant('logout/confirm'),
  oddText.map((s) => q(s)),
);
const COUNTED = ['audit_events', 'login_throttles'];

Fuzz('any screen, any MAC and secret, any extension and PIN: no 5xx, no stack trace', async (ctx) => {
  await fc.assert(
    fc.asyncProperty(
      segment(['805ec0112233', '80:5E:C0:11:22:33', '0004f274632f', '000000000000']),
      fc.oneof(fc.constant(ctx.secret), segment(['x'])),
      screen,
      async (mac, key, path) => {
        const rightSecret = key === ctx.secret;
        const before = dumpDatabase(ctx.t, rightSecret ? COUNTED : []);
        const res = await fetch(`${ctx.t.url}/phone/${mac}/${key}/${path}`, { headers: { 'user-agent': 'Yealink SIP-T54W 96.86.0.70' } });
        const text = await res.text();
        if (res.status >= 500) throw new Error(`/phone/${mac}/…/${path} answered ${res.status}: ${text.slice(0, 300)}`);
        if (STACK.test(text)) throw new Error(`/phone/${mac}/…/${path} showed a stack trace: ${text.slice(0, 300)}`);
        const changed = dumpDatabase(ctx.t, rightSecret ? COUNTED : []) !== before;
        // A wrong secret is refused before anything; with the right one, only a login or logout changes sessions.
        if (changed && (!rightSecret || !/Welcome|Goodbye/.test(text))) throw new Error(`/phone/${mac}/…/${path} (${res.status}) changed the database`);
      },
    ),
    { numRuns: RUNS * 5 },
  );
});

Fuzz.run();

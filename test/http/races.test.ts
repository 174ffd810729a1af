import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { auditEvents, devices, hotdeskSessions } from '../../src/db/schema.ts';
import { verifySecret } from '../../src/domain/credentials.ts';
import { LOCKOUT } from '../../src/domain/lockout.ts';
import { fetchSignInForm, postSignIn } from '../helpers/consoleHttp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Bursts of parallel guesses over real HTTP, as an attacker would send them: however many arrive at once, no
 * more PINs or passwords are checked than the lockout allows, and the right one never stands out. The checks
 * are counted by wrapping the real verifier hotprov is given, not by timing.
 */
const RIGHT_PIN = '4826';
const PASSWORD = 'correct-horse-battery';

interface Context {
  t: TestServer;
  checked: string[];
}

const Races = suite<Context>('http/parallel guesses');
Races.before.each(async (ctx) => {
  ctx.checked = [];
  ctx.t = await startTestServer({
    env: { HOTPROV_ADMIN_PASSWORD: PASSWORD },
    verifySecret: (secret, hash) => {
      ctx.checked.push(secret);
      return verifySecret(secret, hash);
    },
  });
  await ctx.t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice', sipPassword: 'sip-secret-101', pin: RIGHT_PIN });
  await ctx.t.api('POST', '/api/v1/devices', { mac: '80:5E:C0:11:22:33', vendor: 'yealink', model: 'T54W' });
  await (await ctx.t.phone('/805ec0112233.cfg')).text(); // the phone claims its credentials: active, its screens open
  ctx.checked = [];
});
Races.after.each((ctx) => ctx.t.close());

/** Distinct wrong PINs, with the right one at a random place when asked. */
function guesses(count: number, withRight: boolean): string[] {
  const pins = Array.from({ length: count }, (_, i) => String(5000 + i * 7).padStart(4, '0')).filter((p) => p !== RIGHT_PIN);
  if (withRight) pins.splice(Math.floor(Math.random() * pins.length), 1, RIGHT_PIN);
  return pins.slice(0, count);
}

type Answer = { pin: string; kind: string };

/** The three ways to try a PIN, each answering what the caller learns. */
const PATHS: Record<string, (ctx: Context, pin: string) => Promise<Answer>> = {
  'API login': async (ctx, pin) => {
    const res = await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin });
    return { pin, kind: res.status === 200 ? 'ok' : `${res.status} ${res.body.error.code}` };
  },
  'feature code': async (ctx, pin) => {
    const res = await ctx.t.api('POST', '/api/v1/hotdesk/code', { device: 'HD0001', digits: `*35*101*${pin}` });
    assert.is(res.status, 200);
    return { pin, kind: res.body.result === 'logged_in' || res.body.result === 'switched' ? 'ok' : res.body.result };
  },
  'phone login screen': async (ctx, pin) => {
    const device = (await ctx.t.hotprov.database.db.select().from(devices))[0];
    const res = await fetch(`${ctx.t.url}/phone/805ec0112233/${device?.screenSecret}/login/submit?ext=101&pin=${pin}`, {
      headers: { 'user-agent': 'Yealink SIP-T54W 96.86.0.70' },
    });
    assert.is(res.status, 200);
    const text = await res.text();
    const kind = /Welcome/.test(text) ? 'ok' : /Wrong PIN/.test(text) ? 'wrong' : /Locked until|Too many/.test(text) ? 'refused' : text;
    return { pin, kind };
  },
};

const loggedIn = async (ctx: Context) => (await ctx.t.hotprov.database.db.select().from(hotdeskSessions)).length;

for (const [path, attempt] of Object.entries(PATHS)) {
  for (const burst of [50, 300]) {
    for (const withRight of [false, true]) {
      Races(`${path}: ${burst} PINs at once${withRight ? ', the right one among them,' : ''} check at most ${LOCKOUT.userFailures}`, async (ctx) => {
        const answers = await Promise.all(guesses(burst, withRight).map((pin) => attempt(ctx, pin)));
        // A success forgets the failures before it (as a login always did): when the right PIN got in, the wrong
        // ones checked after it have a budget of their own, and no more.
        const rightGotIn = answers.some((a) => a.pin === RIGHT_PIN && a.kind === 'ok');
        const budget = rightGotIn ? 2 * LOCKOUT.userFailures : LOCKOUT.userFailures;
        assert.ok(ctx.checked.length <= budget, `${ctx.checked.length} PINs were checked`);
        assert.ok(ctx.checked.length >= 1, 'the first guesses are checked');
        const right = answers.find((a) => a.pin === RIGHT_PIN);
        if (right === undefined || right.kind !== 'ok') assert.is(await loggedIn(ctx), 0, 'nobody logged in');
        if (right !== undefined) {
          if (ctx.checked.includes(RIGHT_PIN)) {
            assert.is(right.kind, 'ok', 'a right PIN that was checked logs in');
          } else {
            // Not checked: its answer is one that wrong PINs got too, so it gives nothing away.
            const others = new Set(answers.filter((a) => a.pin !== RIGHT_PIN && !ctx.checked.includes(a.pin)).map((a) => a.kind));
            assert.ok(others.has(right.kind), `the right PIN alone answered ${right.kind}`);
          }
        }
        // The audit log agrees: every wrong PIN checked left one failure row.
        const wrong = (await ctx.t.hotprov.database.db.select().from(auditEvents)).filter(
          (e) => e.action === 'hotdesk.login_failed' && JSON.parse(e.detail).reason === 'wrong_pin',
        );
        assert.is(wrong.length, ctx.checked.filter((p) => p !== RIGHT_PIN).length);
        // Once the burst is over, the user is locked for everyone, whatever the PIN (unless the right one got in).
        if (right?.kind !== 'ok') {
          const after = await Promise.all([attempt(ctx, '9173'), attempt(ctx, RIGHT_PIN)]);
          assert.is(after[0]?.kind, after[1]?.kind, 'a locked user answers the same for any PIN');
        }
      });
    }
  }
}

Races('feature code: 50 unknown extensions at once from one phone count against it; at most 10 are looked up', async (ctx) => {
  const answers = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      ctx.t.api('POST', '/api/v1/hotdesk/code', { device: 'HD0001', digits: `*35*${900 + i}` }).then((r) => r.body.result as string),
    ),
  );
  const unknown = answers.filter((a) => a === 'unknown_extension').length;
  assert.is(unknown, LOCKOUT.deviceFailures);
  assert.is(answers.filter((a) => a === 'locked').length, 50 - LOCKOUT.deviceFailures);
  const res = await ctx.t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: RIGHT_PIN });
  assert.equal([res.status, res.body.error?.code], [423, 'locked'], 'the phone is locked for everyone');
});

for (const burst of [50, 300]) {
  for (const name of ['admin', 'ghost']) {
    for (const withRight of name === 'admin' ? [false, true] : [false]) {
      Races(
        `console: ${burst} sign-ins at once as ${name === 'admin' ? 'an admin' : 'an unknown name'}${withRight ? ', the right password among them,' : ''} check at most 5`,
        async (ctx) => {
          const form = await fetchSignInForm(ctx.t.url);
          const passwords = Array.from({ length: burst }, (_, i) => `wrong-password-${i}`);
          if (withRight) passwords[Math.floor(Math.random() * burst)] = PASSWORD;
          const answers = await Promise.all(passwords.map(async (p) => ({ p, status: (await postSignIn(ctx.t.url, form, name, p)).status })));
          // As for PINs: a sign-in that got in forgets the failures before it, and the ones after have a budget of their own.
          const budget = answers.some((a) => a.p === PASSWORD && a.status === 302) ? 10 : 5;
          assert.ok(ctx.checked.length <= budget, `${ctx.checked.length} passwords were checked`);
          const right = answers.find((a) => a.p === PASSWORD);
          if (right !== undefined && !ctx.checked.includes(PASSWORD)) {
            assert.ok(
              answers.some((a) => a.p !== PASSWORD && a.status === right.status),
              `the right password alone answered ${right.status}`,
            );
          }
          const failures = (await ctx.t.hotprov.database.db.select().from(auditEvents)).filter((e) => e.action === 'console.sign_in_failed');
          assert.is(failures.length, answers.filter((a) => a.status !== 302).length, 'every failed sign-in is audited');
          assert.not.ok(
            failures.some((e) => e.detail.includes('wrong-password')),
            'never the password',
          );
          if (right?.status !== 302) {
            // Locked now, known name or not: the same answer either way.
            const again = await postSignIn(ctx.t.url, form, name, 'another-wrong-one');
            assert.is(again.status, 423);
          }
        },
      );
    }
  }
}

Races.run();

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHotprov } from '../../src/composition.ts';
import { openDb, tablesOf } from '../../src/db/client.ts';
import { auditEvents, loginThrottles, signInThrottles } from '../../src/db/schema.ts';
import { createAdmin, SIGN_IN_THROTTLE_ROWS, signIn } from '../../src/domain/admins.ts';
import type { AppError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';
import { createDomain, type DomainFixture } from '../helpers/domain.ts';
import { TEST_TOKEN, testConfig } from '../helpers/server.ts';

interface Context {
  f: DomainFixture;
  clock: Date;
}

const Admins = suite<Context>('domain/console sign-in');
Admins.before.each(async (ctx) => {
  ctx.clock = new Date('2026-03-02T09:00:00Z');
  ctx.f = await createDomain(() => ctx.clock);
  await createAdmin(ctx.f.deps.db, ctx.clock, 'alice', 'correct-horse-battery');
});
Admins.after.each((ctx) => ctx.f.close());

const attempt = (ctx: Context, name: string, password: string) =>
  signIn(ctx.f.deps, ctx.f.tenantId, name, password).then(
    () => 'ok',
    (err: AppError) => `${err.status} ${err.code}`,
  );

Admins("a name nobody has locks exactly like an admin's: the answers give no name away", async (ctx) => {
  const known: string[] = [];
  const unknown: string[] = [];
  for (let i = 0; i < 6; i++) {
    known.push(await attempt(ctx, 'alice', `wrong-${i}`));
    unknown.push(await attempt(ctx, 'mallory', `wrong-${i}`));
  }
  assert.equal(known, unknown);
  assert.equal(known, ['401 bad_credentials', '401 bad_credentials', '401 bad_credentials', '401 bad_credentials', '401 bad_credentials', '423 locked']);
  assert.is(await attempt(ctx, 'alice', 'correct-horse-battery'), '423 locked', 'locked whatever the password');
  ctx.clock = new Date(ctx.clock.getTime() + 61_000);
  assert.is(await attempt(ctx, 'alice', 'correct-horse-battery'), 'ok');
});

Admins('every failed sign-in is audited with the name, never the password', async (ctx) => {
  await attempt(ctx, 'alice', 'not-the-password');
  await attempt(ctx, 'ghost', 'also-not-it');
  const failed = (await ctx.f.deps.db.select().from(auditEvents)).filter((e) => e.action === 'console.sign_in_failed');
  assert.equal(
    failed.map((e) => JSON.parse(e.detail).username),
    ['alice', 'ghost'],
  );
  assert.not.ok(JSON.stringify(failed).includes('not-the-password') || JSON.stringify(failed).includes('also-not-it'));
});

Admins("the names remembered are bounded: a flood of made-up names cannot fill the disk, nor evict an admin's count", async (ctx) => {
  for (let i = 0; i < 4; i++) await attempt(ctx, 'alice', 'wrong');
  const madeUp = Array.from({ length: SIGN_IN_THROTTLE_ROWS + 50 }, (_, i) => ({
    username: `made-up-${i}`,
    failures: 1,
    pending: 0,
    lastAttemptAt: new Date(ctx.clock.getTime() - 1000 + (i % 500)),
  }));
  for (let i = 0; i < madeUp.length; i += 500) await ctx.f.deps.db.insert(tablesOf(ctx.f.deps.db).signInThrottles).values(madeUp.slice(i, i + 500));
  await attempt(ctx, 'one-more-made-up', 'x');
  const rows = await ctx.f.deps.db.select().from(signInThrottles);
  assert.ok(rows.length <= SIGN_IN_THROTTLE_ROWS, `${rows.length} names remembered`);
  assert.is(rows.find((r) => r.username === 'alice')?.failures, 4, "the admin's count survived the flood");
  assert.is(await attempt(ctx, 'alice', 'wrong'), '401 bad_credentials');
  assert.is(await attempt(ctx, 'alice', 'correct-horse-battery'), '423 locked', 'the fifth failure locked it');
  // A day later, names nobody tried since are forgotten.
  ctx.clock = new Date(ctx.clock.getTime() + 25 * 3600_000);
  await attempt(ctx, 'tomorrow', 'x');
  assert.ok((await ctx.f.deps.db.select().from(signInThrottles)).length <= 3);
});

Admins('checks under way when hotprov stopped are released when it starts again', async (ctx) => {
  const dir = mkdtempSync(join(tmpdir(), 'hotprov-pending-'));
  const path = join(dir, 'hotprov.db');
  try {
    const first = openDb(path);
    await first.db.insert(signInThrottles).values({ username: 'alice', pending: 5, lastAttemptAt: ctx.clock });
    first.sqlite.exec("INSERT INTO tenants (slug, name) VALUES ('default', 'Default')");
    await first.db.insert(loginThrottles).values({ tenantId: 1, subject: 'user', subjectId: 1, pending: 5 });
    first.close();
    const hotprov = await createHotprov({ config: testConfig({ HOTPROV_DB: path }), adminToken: TEST_TOKEN, log: silentLogger });
    try {
      assert.is((await hotprov.database.db.select().from(signInThrottles))[0]?.pending, 0);
      assert.is((await hotprov.database.db.select().from(loginThrottles))[0]?.pending, 0);
    } finally {
      await hotprov.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Admins.run();

import { eq } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tablesOf } from '../../src/db/client.ts';
import { verifySecret } from '../../src/domain/credentials.ts';
import { createUser, issuePins } from '../../src/domain/users.ts';
import { assertAppError } from '../helpers/assertions.ts';
import { ACTOR, createDomain, type DomainFixture } from '../helpers/domain.ts';

/** New PINs for many users at once: all or none, each one working, none kept or audited in clear. */
const Pins = suite<{ f: DomainFixture }>('users/new PINs for many');
Pins.before.each(async (ctx) => {
  ctx.f = await createDomain();
  for (const extension of ['101', '102', '103']) {
    await createUser(ctx.f.deps, ctx.f.tenantId, 4, ACTOR, { extension, displayName: `User ${extension}`, sipPassword: 'pw-123456' });
  }
  await createUser(ctx.f.deps, ctx.f.tenantId, 4, ACTOR, { extension: '104', displayName: 'User 104', sipPassword: 'pw-123456', pin: '4826' });
});
Pins.after.each(({ f }) => f.close());

const pinHashes = async (f: DomainFixture) => {
  const { users } = tablesOf(f.deps.db);
  return new Map((await f.deps.db.select().from(users).where(eq(users.tenantId, f.tenantId))).map((u) => [u.extension, u.pinHash]));
};

Pins('everyone without a PIN gets one that verifies; who had one keeps theirs', async ({ f }) => {
  const issued = await issuePins(f.deps, f.tenantId, 6, ACTOR, 'without_pin');
  assert.equal(
    issued.map((p) => p.extension),
    ['101', '102', '103'],
  );
  const hashes = await pinHashes(f);
  for (const { extension, pin } of issued) {
    assert.match(pin, /^\d{6}$/, 'as long as the tenant asks');
    assert.ok(await verifySecret(pin, hashes.get(extension) ?? ''), `${extension}'s PIN verifies`);
  }
  assert.ok(await verifySecret('4826', hashes.get('104') ?? ''));
  const { auditEvents } = tablesOf(f.deps.db);
  const audit = JSON.stringify(await f.deps.db.select().from(auditEvents));
  for (const { pin } of issued) assert.not.ok(audit.includes(pin), 'the audit log never holds a PIN');
  assert.equal(f.changes, [], 'no phone file holds a PIN: nothing is re-provisioned');
});

Pins('an unknown extension among the chosen refuses them all', async ({ f }) => {
  const before = await pinHashes(f);
  await assertAppError(() => issuePins(f.deps, f.tenantId, 4, ACTOR, ['101', '999']), { status: 404, code: 'unknown_extension' });
  assert.equal(await pinHashes(f), before);
  await assertAppError(() => issuePins(f.deps, f.tenantId, 4, ACTOR, []), { status: 400, code: 'bad_request', message: /no user was chosen/ });
  await issuePins(f.deps, f.tenantId, 4, ACTOR, 'without_pin');
  await assertAppError(() => issuePins(f.deps, f.tenantId, 4, ACTOR, 'without_pin'), { status: 400, code: 'bad_request', message: /every user has a PIN/ });
});

Pins('a user chosen twice gets one PIN', async ({ f }) => {
  const issued = await issuePins(f.deps, f.tenantId, 4, ACTOR, ['104', '104']);
  assert.is(issued.length, 1);
  assert.ok(await verifySecret(issued[0]?.pin ?? '', (await pinHashes(f)).get('104') ?? ''));
});

Pins.run();

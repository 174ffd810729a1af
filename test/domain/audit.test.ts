import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AUDIT_ACTION_GROUPS, AUDIT_ACTIONS, countAudit, listAudit, recordAudit } from '../../src/domain/audit.ts';
import { ACTOR, createDomain, type DomainFixture } from '../helpers/domain.ts';

/** The audit log's queries: filters and pages in SQL, the total beside them; every recorded action has words. */
const Audit = suite<{ f: DomainFixture }>('domain/audit');
Audit.before.each(async (ctx) => {
  ctx.f = await createDomain();
});
Audit.after.each(({ f }) => f.close());

const at = (minute: number) => new Date(Date.UTC(2026, 2, 2, 9, minute));

Audit('pages come newest first from the database, with the total of the whole filter', async ({ f }) => {
  const { db } = f.deps;
  for (let i = 0; i < 7; i++) await recordAudit(db, f.tenantId, at(i), ACTOR, { action: 'user.created', userExtension: String(100 + i) });
  await recordAudit(db, f.tenantId, at(8), ACTOR, { action: 'hotdesk.login', deviceMac: '001565aabbcc', idleAccount: 'HD0001', userExtension: '101' });
  await recordAudit(db, f.tenantId, at(9), { name: 'api:asterisk' }, { action: 'hotdesk.logout', idleAccount: 'HD0001' });
  await recordAudit(db, f.tenantId, at(10), ACTOR, { action: 'hotdesktop.odd' });

  const page2 = await listAudit(db, f.tenantId, { action: 'user', limit: 3, offset: 3 });
  assert.equal(
    page2.map((e) => e.userExtension),
    ['103', '102', '101'],
  );
  assert.is(await countAudit(db, f.tenantId, { action: 'user', limit: 3, offset: 3 }), 7);
  assert.is(await countAudit(db, f.tenantId, { action: 'hotdesk' }), 2, 'a group is what comes before the dot, not any prefix');
  assert.is(await countAudit(db, f.tenantId, { action: 'hotdesk.login' }), 1);
  assert.is(await countAudit(db, f.tenantId, { device: '00-15-65-AA-BB-CC' }), 1, 'a MAC in any spelling');
  assert.is(await countAudit(db, f.tenantId, { device: 'hd0001' }), 2, 'or the idle account');
  assert.is(await countAudit(db, f.tenantId, { actor: 'api:asterisk' }), 1);
  assert.is(await countAudit(db, f.tenantId, { from: at(8), to: at(9) }), 2);
  assert.is(await countAudit(db, f.tenantId + 1000, {}), 0, 'another tenant sees none');
});

/**
 * Every action named under src/: a quoted `group.name` of an audit group, a file name (`device.cfg`) aside, and the
 * webhook events' catalogue (its names are events told to endpoints, `hotdesk.switch`, not audited actions).
 */
function recordedActions(dir: string): string[] {
  const groups = Object.keys(AUDIT_ACTION_GROUPS).join('|');
  const named = new RegExp(`'((?:${groups})\\.[a-z_]+)'`, 'g');
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return recordedActions(path);
    if (!path.endsWith('.ts') || path.endsWith(join('domain', 'webhookEvents.ts'))) return [];
    return [...readFileSync(path, 'utf8').matchAll(named)].map((m) => m[1] ?? '').filter((a) => !/\.(cfg|xml|htm|css|boot)$/.test(a));
  });
}

Audit('every action hotprov records has words in the catalogue, and a group', () => {
  const recorded = [...new Set(recordedActions('src'))];
  assert.ok(recorded.length > 20);
  for (const action of recorded) {
    assert.ok(AUDIT_ACTIONS[action] !== undefined, `${action} has no words in AUDIT_ACTIONS`);
    assert.ok(AUDIT_ACTION_GROUPS[action.split('.')[0] ?? ''] !== undefined, `${action} has no group`);
  }
});

Audit.run();

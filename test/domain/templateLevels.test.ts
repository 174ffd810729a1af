import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mergeShippedChange } from '../../src/domain/templateMerge.ts';
import {
  latestRevisions,
  mergeShipped,
  resetTemplate,
  restoreRevision,
  resyncTemplatePhones,
  revisionsOf,
  saveTemplate,
  shippedChangeOf,
  type TemplateEditing,
  type TemplateScope,
} from '../../src/domain/templates.ts';
import { createTemplateStore, TEMPLATES_DIR, type TemplateStore } from '../../src/provisioning/templates.ts';
import { assertAppError } from '../helpers/assertions.ts';
import { ACTOR, buildDevice, createDomain, type DomainFixture } from '../helpers/domain.ts';

/**
 * A model's and a device's own versions of a template, as domain commands; and an upgrade that changes a shipped
 * file an admin customised (simulated by a second store over a copy of templates/ with the shipped file changed).
 */
interface Ctx {
  f: DomainFixture;
  store: TemplateStore;
  editing: TemplateEditing;
  shipped: string;
  dir: string;
}
const Levels = suite<Ctx>('domain/template levels');
Levels.before.each(async (ctx) => {
  ctx.f = await createDomain();
  ctx.dir = mkdtempSync(join(tmpdir(), 'tpl-upgrade-'));
  cpSync(TEMPLATES_DIR, ctx.dir, { recursive: true });
  ctx.store = createTemplateStore(ctx.dir);
  ctx.editing = { templates: ctx.store, check: (_v, _n, source) => (source.includes('BROKEN') ? 'fails to render: BROKEN' : null) };
  ctx.shipped = ctx.store.shippedSource('yealink', 'device.cfg');
});
Levels.after.each(async (ctx) => {
  await ctx.f.close();
  rmSync(ctx.dir, { recursive: true, force: true });
});

const T = { vendor: 'yealink', name: 'device.cfg' } as const;
const MODEL: TemplateScope = { level: 'model', model: 'T46U' };

Levels('a model and a device keep revisions of their own; restore stays within its scope; reset goes back a level', async (ctx) => {
  const { f, store, editing, shipped } = ctx;
  const desk = await buildDevice(f);
  const other = await buildDevice(f, { model: 'T54W' });
  const DESK: TemplateScope = { level: 'device', deviceId: desk.id, model: desk.model };
  await saveTemplate(f.deps, editing, f.tenantId, ACTOR, { ...T, source: `${shipped}## tenant\n` });
  const modelRow = await saveTemplate(f.deps, editing, f.tenantId, ACTOR, { ...T, source: `${shipped}## T46U\n`, scope: MODEL });
  await saveTemplate(f.deps, editing, f.tenantId, ACTOR, { ...T, source: `${shipped}## desk\n`, scope: DESK });
  assert.equal(
    (await revisionsOf(f.deps.db, f.tenantId, T.vendor, T.name, MODEL)).map((r) => r.id),
    [modelRow.id],
  );
  assert.is((await revisionsOf(f.deps.db, f.tenantId, T.vendor, T.name)).length, 1, "the tenant's revisions are its own");
  assert.is((await latestRevisions(f.deps.db, f.tenantId)).length, 3, 'one latest revision per scope');
  assert.is(store.levelOf(f.tenantId, 'yealink', 'device.cfg', { model: desk.model, deviceId: desk.id }), 'device');
  assert.is(store.levelOf(f.tenantId, 'yealink', 'device.cfg', { model: other.model, deviceId: other.id }), 'tenant');
  await assertAppError(() => restoreRevision(f.deps, editing, f.tenantId, ACTOR, { ...T, revisionId: modelRow.id, scope: DESK }), {
    status: 404,
    code: 'not_found',
  });
  await resetTemplate(f.deps, editing, f.tenantId, ACTOR, { ...T, scope: DESK });
  assert.is(store.currentSource(f.tenantId, 'yealink', 'device.cfg', DESK), `${shipped}## T46U\n`, "the device gets its model's version again");
  assert.is(await resyncTemplatePhones(f.deps, f.tenantId, { ...T, scope: MODEL }), 1, "a model's change re-syncs that model's phones");
  assert.is(await resyncTemplatePhones(f.deps, f.tenantId, T), 2);
});

Levels('a refused source is not saved at any level', async ({ f, editing, store, shipped }) => {
  await assertAppError(() => saveTemplate(f.deps, editing, f.tenantId, ACTOR, { ...T, source: 'BROKEN', scope: MODEL }), {
    status: 422,
    code: 'template_refused',
  });
  assert.is(store.currentSource(f.tenantId, 'yealink', 'device.cfg', MODEL), shipped);
});

Levels("a tenant's change that would break a model's version filling its blocks is refused, reset too", async ({ f, store, shipped }) => {
  // A model's version that renders only over a base holding MARK (as a block it fills must be in the base).
  const editing: TemplateEditing = {
    templates: store,
    check: (_v, _n, source, scope, base) =>
      scope.level !== 'tenant' && source.includes('NEEDS') && !(base ?? store.currentSource(f.tenantId, 'yealink', 'device.cfg')).includes('MARK')
        ? 'fails to render: no MARK'
        : null,
  };
  await saveTemplate(f.deps, editing, f.tenantId, ACTOR, { ...T, source: `${shipped}## MARK\n` });
  const model = await saveTemplate(f.deps, editing, f.tenantId, ACTOR, { ...T, source: '## NEEDS\n', scope: MODEL });
  const refused = { status: 422, code: 'template_refused', message: new RegExp(`would break the T46U's version \\(revision ${model.id}\\).*no MARK`) };
  await assertAppError(() => saveTemplate(f.deps, editing, f.tenantId, ACTOR, { ...T, source: `${shipped}## plain\n` }), refused);
  await assertAppError(() => resetTemplate(f.deps, editing, f.tenantId, ACTOR, T), refused);
  assert.is(store.currentSource(f.tenantId, 'yealink', 'device.cfg'), `${shipped}## MARK\n`, 'the tenant keeps its text');
  await resetTemplate(f.deps, editing, f.tenantId, ACTOR, { ...T, scope: MODEL });
  await resetTemplate(f.deps, editing, f.tenantId, ACTOR, T);
  assert.is(store.currentSource(f.tenantId, 'yealink', 'device.cfg'), shipped, 'with the model back on the tenant version, the reset goes through');
});

Levels("after an upgrade, the shipped change is seen beside the admin's version and merged into it", async (ctx) => {
  const { f, editing, shipped } = ctx;
  const customised = shipped.replace('sip.notify_reboot_enable = 0\n', 'sip.notify_reboot_enable = 0\n## ours\n');
  assert.ok(customised !== shipped);
  const saved = await saveTemplate(f.deps, editing, f.tenantId, ACTOR, { ...T, source: customised, scope: MODEL });
  assert.is(saved.basedOn, shipped, 'the shipped text it was made from is recorded');
  assert.is(shippedChangeOf(ctx.store, saved), null, 'no upgrade yet');

  // The upgrade: a vendor fix at the top of the shipped file, far from the admin's change.
  const file = join(ctx.dir, 'yealink', 'device.cfg.hbs');
  const upgraded = `## vendor fix 2\n${readFileSync(file, 'utf8')}`;
  writeFileSync(file, upgraded);
  const after = createTemplateStore(ctx.dir);
  const latest = (await revisionsOf(f.deps.db, f.tenantId, T.vendor, T.name, MODEL))[0];
  assert.equal(shippedChangeOf(after, latest), { before: shipped, after: upgraded });
  const merge = await mergeShipped(f.deps.db, after, f.tenantId, { ...T, scope: MODEL });
  assert.equal(merge, { text: `## vendor fix 2\n${customised}`, conflicts: [] });

  // Saved as a merge, the version is based on the new shipped file: nothing more to merge.
  const merged = await saveTemplate(f.deps, { ...editing, templates: after }, f.tenantId, ACTOR, {
    ...T,
    source: merge?.text ?? '',
    scope: MODEL,
    shippedMerged: true,
  });
  assert.is(merged.basedOn, upgraded);
  assert.is(shippedChangeOf(after, merged), null);
});

Levels('an ordinary save after an upgrade keeps the old basis: the shipped change is still shown', async (ctx) => {
  const { f, editing, shipped } = ctx;
  await saveTemplate(f.deps, editing, f.tenantId, ACTOR, { ...T, source: `${shipped}## one\n` });
  const file = join(ctx.dir, 'yealink', 'device.cfg.hbs');
  writeFileSync(file, `## vendor fix\n${shipped}`);
  const after = createTemplateStore(ctx.dir);
  const again = await saveTemplate(f.deps, { ...editing, templates: after }, f.tenantId, ACTOR, { ...T, source: `${shipped}## two\n` });
  assert.is(again.basedOn, shipped);
  assert.ok(shippedChangeOf(after, again) !== null);
});

Levels('a shipped change to lines the admin changed too is a conflict, left out and named', () => {
  const base = 'a = 1\nb = 2\nc = 3\nd = 4\ne = 5\nf = 6\ng = 7\nh = 8\ni = 9\n';
  const admins = base.replace('b = 2', 'b = 20').replace('h = 8', 'h = 80');
  const shippedNow = base.replace('b = 2', 'b = 3').replace('i = 9', 'i = 9\nj = 10');
  const merge = mergeShippedChange(base, admins, shippedNow);
  assert.is(merge.conflicts.length, 1);
  assert.match(merge.conflicts[0] ?? '', /-b = 2\n\+b = 3/);
  assert.is(merge.text, `${admins}j = 10\n`, "the shipped change that does not clash is merged; the admin's b stays");
});

Levels.run();

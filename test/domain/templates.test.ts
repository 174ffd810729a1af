import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { auditEvents, templateRevisions } from '../../src/db/schema.ts';
import { latestRevisions, resetTemplate, restoreRevision, resyncTemplatePhones, saveTemplate, type TemplateEditing } from '../../src/domain/templates.ts';
import { createTemplateStore, type TemplateStore } from '../../src/provisioning/templates.ts';
import { assertAppError } from '../helpers/assertions.ts';
import { ACTOR, buildDevice, createDomain, type DomainFixture } from '../helpers/domain.ts';
import { executeSql, TEST_ENGINE } from '../helpers/testDatabase.ts';

/** Template save, restore and reset as domain commands: a revision and the text phones get change together. */
const Templates = suite<{ f: DomainFixture; store: TemplateStore; editing: TemplateEditing; shipped: string }>('domain/templates');
Templates.before.each(async (ctx) => {
  ctx.f = await createDomain();
  ctx.store = createTemplateStore();
  // The check of the real console (sample phones) lives in provisioning; here a source is refused by a marker.
  ctx.editing = { templates: ctx.store, check: (_v, _n, source) => (source.includes('BROKEN') ? 'fails to render: BROKEN' : null) };
  ctx.shipped = ctx.store.shippedSource('yealink', 'device.cfg');
});
Templates.after.each((ctx) => ctx.f.close());

const revisions = async (f: DomainFixture) => await f.deps.db.select().from(templateRevisions);
const edited = (shipped: string, marker: string) => `${shipped}\n## ${marker}\n`;

/** assert.throws for a promise: the work must be rejected with an error whose message (or its cause's) matches. */
async function assertRejects(work: Promise<unknown>, expected: RegExp): Promise<void> {
  try {
    await work;
  } catch (err) {
    const e = err as Error & { cause?: Error };
    assert.match(`${e.message}\n${e.cause?.message ?? ''}`, expected);
    return;
  }
  assert.unreachable(`expected a rejection matching ${expected}`);
}

Templates('a save writes the revision, its audit event and the text phones get', async ({ f, store, editing, shipped }) => {
  const row = await saveTemplate(f.deps, editing, f.tenantId, ACTOR, { vendor: 'yealink', name: 'device.cfg', source: edited(shipped, 'one') });
  assert.is(store.currentSource(f.tenantId, 'yealink', 'device.cfg'), edited(shipped, 'one'));
  assert.equal(
    (await revisions(f)).map((r) => [r.id, r.createdBy, r.restoredFrom]),
    [[row.id, 'test', null]],
  );
  const audit = await f.deps.db.select().from(auditEvents);
  assert.equal(
    audit.map((e) => [e.action, e.detail]),
    [['template.saved', JSON.stringify({ template: 'yealink/device.cfg', revision: row.id })]],
  );
});

Templates('a source that fails its check is refused: no revision, phones keep their text', async ({ f, store, editing, shipped }) => {
  await assertAppError(() => saveTemplate(f.deps, editing, f.tenantId, ACTOR, { vendor: 'yealink', name: 'device.cfg', source: edited(shipped, 'BROKEN') }), {
    status: 422,
    code: 'template_refused',
    message: /^the template fails to render: BROKEN$/,
  });
  assert.equal(await revisions(f), []);
  assert.is(store.currentSource(f.tenantId, 'yealink', 'device.cfg'), shipped);
});

Templates('a save whose write fails half-way leaves neither the revision nor the new text behind', async ({ f, store, editing, shipped }) => {
  await saveTemplate(f.deps, editing, f.tenantId, ACTOR, { vendor: 'yealink', name: 'device.cfg', source: edited(shipped, 'kept') });
  // The revision row goes in, then its audit event fails: the one transaction must take the row back out.
  await executeSql(
    f.deps.db,
    TEST_ENGINE === 'sqlite'
      ? `CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events WHEN NEW.action = 'template.saved' BEGIN SELECT RAISE(ABORT, 'disk trouble'); END`
      : `CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.action = 'template.saved' THEN RAISE EXCEPTION 'disk trouble'; END IF; RETURN NEW; END $$;
         CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_audit()`,
  );
  await assertRejects(
    saveTemplate(f.deps, editing, f.tenantId, ACTOR, { vendor: 'yealink', name: 'device.cfg', source: edited(shipped, 'lost') }),
    /disk trouble/,
  );
  assert.is((await revisions(f)).length, 1, 'only the first revision');
  assert.is(store.currentSource(f.tenantId, 'yealink', 'device.cfg'), edited(shipped, 'kept'), 'phones keep the text of the last revision');
});

Templates('a save whose text fails to take rolls the revision back and puts the text before it back', async ({ f, store, editing, shipped }) => {
  let failing = true;
  // A listener of the store (the render cache's in production) fails after the new text is in place.
  store.onChange(() => {
    if (failing) {
      failing = false;
      throw new Error('cache trouble');
    }
  });
  await assertRejects(
    saveTemplate(f.deps, editing, f.tenantId, ACTOR, { vendor: 'yealink', name: 'device.cfg', source: edited(shipped, 'lost') }),
    /cache trouble/,
  );
  assert.equal(await revisions(f), []);
  assert.equal(await f.deps.db.select().from(auditEvents), []);
  assert.is(store.currentSource(f.tenantId, 'yealink', 'device.cfg'), shipped);
});

Templates('restore brings an earlier revision back as a new one that names it; reset returns to the shipped file', async ({ f, store, editing, shipped }) => {
  const first = await saveTemplate(f.deps, editing, f.tenantId, ACTOR, { vendor: 'yealink', name: 'device.cfg', source: edited(shipped, 'first') });
  await saveTemplate(f.deps, editing, f.tenantId, ACTOR, { vendor: 'yealink', name: 'device.cfg', source: edited(shipped, 'second') });
  const restored = await restoreRevision(f.deps, editing, f.tenantId, ACTOR, { vendor: 'yealink', name: 'device.cfg', revisionId: first.id });
  assert.is(restored.restoredFrom, first.id);
  assert.is(store.currentSource(f.tenantId, 'yealink', 'device.cfg'), edited(shipped, 'first'));
  const reset = await resetTemplate(f.deps, editing, f.tenantId, ACTOR, { vendor: 'yealink', name: 'device.cfg' });
  assert.is(reset.source, null);
  assert.is(store.currentSource(f.tenantId, 'yealink', 'device.cfg'), shipped);
  assert.equal(
    (await latestRevisions(f.deps.db)).map((r) => r.id),
    [reset.id],
  );
});

Templates('restoring a revision of another template, or a reset, is not found; a template not shipped is not found', async ({ f, editing, shipped }) => {
  const saved = await saveTemplate(f.deps, editing, f.tenantId, ACTOR, { vendor: 'yealink', name: 'device.cfg', source: edited(shipped, 'one') });
  const reset = await resetTemplate(f.deps, editing, f.tenantId, ACTOR, { vendor: 'yealink', name: 'device.cfg' });
  await assertAppError(() => restoreRevision(f.deps, editing, f.tenantId, ACTOR, { vendor: 'snom', name: 'device.cfg', revisionId: saved.id }), {
    status: 404,
    code: 'not_found',
  });
  await assertAppError(() => restoreRevision(f.deps, editing, f.tenantId, ACTOR, { vendor: 'yealink', name: 'device.cfg', revisionId: reset.id }), {
    status: 404,
    code: 'not_found',
  });
  await assertAppError(() => saveTemplate(f.deps, editing, f.tenantId, ACTOR, { vendor: 'yealink', name: 'nope.cfg', source: 'x' }), {
    status: 404,
    code: 'not_found',
    message: /template yealink\/nope\.cfg/,
  });
});

Templates('a re-sync after a template change announces every phone of that vendor', async ({ f }) => {
  const yealink = await buildDevice(f);
  await buildDevice(f, { mac: '000413000001', vendor: 'snom', model: 'D785' });
  f.changes.length = 0;
  assert.is(await resyncTemplatePhones(f.deps, f.tenantId, { vendor: 'yealink', name: 'device.cfg' }), 1);
  assert.equal(f.changes, [{ deviceIds: [yealink.id], reason: 'template yealink/device.cfg changed' }]);
});

Templates.run();

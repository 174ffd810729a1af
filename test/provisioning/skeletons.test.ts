import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHotprov, type Hotprov } from '../../src/composition.ts';
import { findDeviceById } from '../../src/domain/lookup.ts';
import { silentLogger } from '../../src/log.ts';
import { createTemplateStore, type TemplateStore } from '../../src/provisioning/templates.ts';
import { escapeCfgValue, escapeContext, escapeXml } from '../../src/vendors/escape.ts';
import { type SeededDevice, seed, seededRequest } from '../bench/seed.ts';
import { TEST_TOKEN, testConfig } from '../helpers/server.ts';

/**
 * A phone file rendered from its template's skeleton (the parts the same for every phone rendered once) must be
 * byte for byte the file a full Handlebars render gives, for any template an admin may write, with every value
 * escaped for the file's format; and its ETag must depend on the text's makings only, never on which phones
 * were rendered before (re-sync compares ETags computed at different times).
 */

/** Templates of the kinds admins write: values, conditions on values, loops, `with`, comparisons, lookups. */
const TEMPLATES: Record<string, string> = {
  plain: 'account.1.user_name = {{account.user}}\naccount.1.label = {{account.label}}\n',
  loops:
    '{{#each keys}}\nlinekey.{{index}}.type = {{type}}\nlinekey.{{index}}.value = {{value}}\nlinekey.{{index}}.label = {{label}}\n{{else}}no keys\n{{/each}}',
  conditions:
    '{{#if account.label}}label = {{account.label}}{{else}}no label{{/if}}\n{{#unless count}}zero{{/unless}}{{#if count includeZero=true}}counted {{count}}{{/if}}\n{{#with account}}user {{user}}{{/with}}\n',
  data: '{{#each keys}}{{@index}}{{#if @first}}first{{/if}}{{#if @last}}last{{/if}}:{{../account.user}}/{{@root.count}} {{/each}}\n{{#each account}}{{@key}}={{this}};{{/each}}',
  comparison: '{{#each keys}}{{#if (eq type 16)}}blf {{value}}{{else}}other {{value}}{{/if}}\n{{/each}}{{#if (eq account.user "101")}}alice{{/if}}',
  lookup: '{{#each keys}}{{lookup ../names value}}|{{/each}}',
  whitespace: '  {{~#each keys~}}  \n  [{{value}}]  \n{{~/each~}}  \n{{#if flag}}\n  yes\n{{/if}}\n',
  sentinelText: 'private \uE000 use \uE001 {{account.user}}',
  lookInto: '{{#with account.user.length}}length {{this}}{{/with}} {{#each account.label}}[{{this}}]{{/each}} {{lookup account.user 0}}',
};

const value = fc.oneof(
  fc.constantFrom('', '101', 'Alice', '%NULL%', 'a&b<c>"d\'', 'line\nbreak', 'tab\there', '\u0000nul', 'x\uE000y', '\ud800lone', 'ünïcødé 😀'),
  fc.string({ maxLength: 6 }),
);
const context = fc.record({
  account: fc.record({ user: value, label: value }),
  count: fc.oneof(fc.constant(0), fc.constant(Number.NaN), fc.integer({ min: -3, max: 3 })),
  flag: fc.boolean(),
  names: fc.constant({ '101': 'Bob', '': 'empty' }),
  keys: fc.array(fc.record({ index: fc.nat(40), type: fc.constantFrom(0, 13, 16), value, label: value }), { maxLength: 4 }),
});

type Ctx = { dir: string; store: TemplateStore };
const Skeletons = suite<Ctx>('provisioning/skeletons', { dir: '', store: undefined as unknown as TemplateStore });
Skeletons.before((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hotprov-skeletons-'));
  mkdirSync(join(ctx.dir, 'acme'));
  for (const [name, source] of Object.entries(TEMPLATES)) writeFileSync(join(ctx.dir, 'acme', `${name}.hbs`), source);
  ctx.store = createTemplateStore(ctx.dir);
});
Skeletons.after((ctx) => rmSync(ctx.dir, { recursive: true, force: true }));

const full = (store: TemplateStore, name: string, values: unknown, escapeValue: (s: string) => string) =>
  store.render(null, 'acme', name, undefined, escapeContext(values, escapeValue));

Skeletons('every template, any values, both escapings: the same bytes as a full render', ({ store }) => {
  fc.assert(
    fc.property(fc.constantFrom(...Object.keys(TEMPLATES)), fc.array(context, { minLength: 1, maxLength: 6 }), fc.boolean(), (name, contexts, xml) => {
      const escapeValue = xml ? escapeXml : escapeCfgValue;
      // Several phones in a row, so values baked into a skeleton by one phone are tested against the next.
      for (const values of contexts) {
        const rendered = store.renderFile(null, 'acme', name, undefined, values, escapeValue);
        const expected = full(store, name, values, escapeValue);
        assert.is(rendered.text(), expected);
        assert.ok(rendered.bytes().equals(Buffer.from(expected, 'utf8')));
      }
    }),
    { numRuns: 300 },
  );
});

/** Frozen keys shared between phones, as the adapters share a model's empty slots: the skeleton may skip them. */
const SHARED_KEYS = [0, 1, 2, 3].map((n) => Object.freeze({ index: n, type: n === 0 ? 0 : 16, value: n === 3 ? '' : `${200 + n}`, label: n < 2 ? '' : 'Bob' }));
const keyOrShared = fc.oneof(
  fc.constantFrom(...SHARED_KEYS),
  // A fresh key of the same shape as a shared one, with other values: it takes the shared one's place in a skeleton.
  fc.tuple(fc.constantFrom(...SHARED_KEYS), fc.constantFrom('', '201', '999', 'a&b'), fc.constantFrom('', 'Bob', 'Carol')).map(([shared, value, label]) => ({
    ...shared,
    value: shared.value === '' ? '' : value || 'x',
    label: shared.label === '' ? '' : label || 'y',
  })),
);

Skeletons('shared frozen objects and fresh ones at the same places, in any order: the same bytes as a full render', ({ store }) => {
  fc.assert(
    fc.property(
      fc.constantFrom('loops', 'data', 'whitespace'),
      fc.array(fc.array(keyOrShared, { maxLength: 4 }), { minLength: 2, maxLength: 8 }),
      (name, phones) => {
        for (const keys of phones) {
          // The same (frozen) array of keys again, too: skipped whole.
          const values = { account: { user: '101', label: 'x' }, count: 1, flag: true, names: {}, keys: Object.freeze(keys) };
          for (const context of [values, values]) {
            const rendered = store.renderFile(null, 'acme', name, undefined, context, escapeCfgValue);
            assert.is(rendered.text(), full(store, name, context, escapeCfgValue));
          }
        }
      },
    ),
    { numRuns: 300 },
  );
});

Skeletons('a fresh key where a shared one was, then the shared one again: each render has its own values', ({ store }) => {
  const shared = SHARED_KEYS[1] as (typeof SHARED_KEYS)[number];
  const fresh = { ...shared, value: '999', label: 'Carol' };
  for (const keys of [
    [shared, shared],
    [fresh, fresh],
    [shared, shared],
    [shared, fresh],
    [fresh, shared],
  ]) {
    const context = { account: { user: '101', label: 'x' }, count: 1, flag: true, names: {}, keys };
    assert.is(store.renderFile(null, 'acme', 'loops', undefined, context, escapeCfgValue).text(), full(store, 'loops', context, escapeCfgValue));
  }
});

Skeletons('the ETag depends on the text, not on which phones came before nor on a restart', ({ dir, store }) => {
  fc.assert(
    fc.property(fc.constantFrom(...Object.keys(TEMPLATES)), context, fc.array(context, { maxLength: 4 }), (name, phone, others) => {
      const fresh = createTemplateStore(dir).renderFile(null, 'acme', name, undefined, phone, escapeCfgValue);
      for (const other of others) store.renderFile(null, 'acme', name, undefined, other, escapeCfgValue);
      const now = store.renderFile(null, 'acme', name, undefined, phone, escapeCfgValue);
      assert.is(now.etag, fresh.etag);
      for (const other of others) {
        const theirs = store.renderFile(null, 'acme', name, undefined, other, escapeCfgValue);
        if (theirs.text() !== now.text()) assert.is.not(theirs.etag, now.etag, 'another text, another ETag');
      }
    }),
    { numRuns: 200 },
  );
});

Skeletons('a per-phone value reaches the file escaped, whether it varies or not', ({ store }) => {
  const phone = (user: string) => ({ account: { user, label: 'x' }, count: 1, flag: true, names: {}, keys: [] });
  store.renderFile(null, 'acme', 'plain', undefined, phone('101'), escapeCfgValue);
  const injected = store.renderFile(null, 'acme', 'plain', undefined, phone('101\naccount.1.password = stolen'), escapeCfgValue);
  assert.is(injected.text(), 'account.1.user_name = 101 account.1.password = stolen\naccount.1.label = x\n');
  const xml = store.renderFile(null, 'acme', 'plain', undefined, phone('<a>&'), escapeXml);
  assert.is(xml.text(), 'account.1.user_name = &lt;a&gt;&amp;\naccount.1.label = x\n');
});

Skeletons('an edited template reaches the next render', ({ dir }) => {
  const store = createTemplateStore(dir);
  const values = { account: { user: '101', label: 'Alice' }, count: 0, flag: false, names: {}, keys: [] };
  const before = store.renderFile(1, 'acme', 'plain', undefined, values, escapeCfgValue);
  store.setOverride(1, 'acme', 'plain', 'edited {{account.user}}\n');
  const after = store.renderFile(1, 'acme', 'plain', undefined, values, escapeCfgValue);
  assert.is(after.text(), 'edited 101\n');
  assert.is.not(after.etag, before.etag);
  store.setOverride(1, 'acme', 'plain', null);
  assert.is(store.renderFile(1, 'acme', 'plain', undefined, values, escapeCfgValue).text(), before.text());
});

type FleetCtx = { dir: string; hotprov: Hotprov; phones: SeededDevice[] };
const Fleet = suite<FleetCtx>('provisioning/skeletons of the shipped templates', {
  dir: '',
  hotprov: undefined as unknown as Hotprov,
  phones: [],
});
Fleet.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hotprov-skeletons-fleet-'));
  const path = join(ctx.dir, 'hotprov.db');
  ctx.phones = await seed(path, 80);
  ctx.hotprov = await createHotprov({ config: testConfig({ HOTPROV_DB: path }), adminToken: TEST_TOKEN, log: silentLogger });
});
Fleet.after(async (ctx) => {
  await ctx.hotprov.close();
  rmSync(ctx.dir, { recursive: true, force: true });
});

/** The main file a seeded phone fetches, as served, and as a full render of the same device gives it. */
const servedAndFull = async (hotprov: Hotprov, phone: SeededDevice, id: number) => {
  const answer = await hotprov.provisioning.answer(seededRequest(phone));
  if (answer.kind !== 'file') throw new Error(`${phone.path}: ${answer.kind}`);
  const device = await findDeviceById(hotprov.database.db, id);
  if (device === undefined) throw new Error(`device ${id}`);
  const name = phone.path.slice(phone.path.lastIndexOf('/') + 1).toLowerCase();
  const file = (await hotprov.provisioning.renderDeviceFiles(device)).find((f) => f.name.toLowerCase() === name);
  if (file === undefined) throw new Error(`no ${name}`);
  return { served: answer.bytes(), full: file.body };
};

Fleet('every vendor, idle and logged in: what phones get is the full render, byte for byte', async ({ hotprov, phones }) => {
  for (const [n, phone] of phones.entries()) {
    const { served, full } = await servedAndFull(hotprov, phone, n + 1);
    assert.ok(served.equals(Buffer.from(full, 'utf8')), phone.path);
  }
});

Fleet('every file of every phone, as served, is the full render', async ({ hotprov, phones }) => {
  for (const [n, phone] of phones.entries()) {
    const device = await findDeviceById(hotprov.database.db, n + 1);
    if (device === undefined) throw new Error(`device ${n + 1}`);
    for (const file of await hotprov.provisioning.renderDeviceFiles(device)) {
      const answer = await hotprov.provisioning.answer({ ...seededRequest(phone), filename: file.name });
      if (answer.kind !== 'file') throw new Error(`${file.name}: ${answer.kind}`);
      assert.ok(answer.bytes().equals(Buffer.from(file.body, 'utf8')), file.name);
    }
  }
});

Fleet('an admin edits the Yealink template: the next fetch has the new text, from cache or not', async ({ hotprov, phones }) => {
  const yealink = phones[0] as SeededDevice;
  const before = await hotprov.provisioning.answer(seededRequest(yealink));
  assert.is(before.kind, 'file');
  const tenantId = (await hotprov.deps.tenant()).id;
  const source = hotprov.templates.currentSource(tenantId, 'yealink', 'device.cfg');
  try {
    hotprov.templates.setOverride(tenantId, 'yealink', 'device.cfg', `${source}## edited by an admin: {{account.userName}}\n`);
    const after = await hotprov.provisioning.answer(seededRequest(yealink));
    if (after.kind !== 'file' || before.kind !== 'file') throw new Error('not served');
    assert.match(after.bytes().toString('utf8'), /\n## edited by an admin: \d+\n$/);
    assert.is.not(after.etag, before.etag);
    const { served, full } = await servedAndFull(hotprov, yealink, 1);
    assert.ok(served.equals(Buffer.from(full, 'utf8')));
  } finally {
    hotprov.templates.setOverride(tenantId, 'yealink', 'device.cfg', null);
  }
});

Fleet('a template the skeletons cannot split (a comparison on a per-phone value) is served in full, the same bytes', async ({ hotprov, phones }) => {
  const tenantId = (await hotprov.deps.tenant()).id;
  const source = hotprov.templates.currentSource(tenantId, 'yealink', 'device.cfg');
  try {
    hotprov.templates.setOverride(tenantId, 'yealink', 'device.cfg', `${source}{{#if (eq mode "user")}}## a user sits here\n{{/if}}`);
    for (const [n, phone] of phones.entries()) {
      if (!phone.path.endsWith('.cfg') || phone.ua.startsWith('FileTransport')) continue;
      const { served, full } = await servedAndFull(hotprov, phone, n + 1);
      assert.ok(served.equals(Buffer.from(full, 'utf8')), phone.path);
      assert.is(full.includes('## a user sits here'), n % 2 === 0, 'seeded: every other phone has a user');
    }
  } finally {
    hotprov.templates.setOverride(tenantId, 'yealink', 'device.cfg', null);
  }
});

Skeletons.run();
Fleet.run();

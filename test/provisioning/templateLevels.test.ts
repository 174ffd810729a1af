import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTemplateStore, type TemplateChange } from '../../src/provisioning/templates.ts';

/** Versions of a template for a tenant, a model and a device: the most specific one a phone has wins. */
const Levels = suite<{ dir: string }>('provisioning/template levels', { dir: '' });
Levels.before.each((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'tpl-levels-'));
  mkdirSync(join(ctx.dir, 'acme'));
  writeFileSync(join(ctx.dir, 'acme', 'device.cfg.hbs'), 'name = {{name}}\n{{#> model_settings}}{{/model_settings}}end\n');
  writeFileSync(join(ctx.dir, 'acme', 'device.cfg.X1.hbs'), '{{#> base}}{{#*inline "model_settings"}}x1.only = {{name}}\n{{/inline}}{{/base}}');
});
Levels.after.each(({ dir }) => rmSync(dir, { recursive: true, force: true }));

const TENANT = 1;
const OTHER = 2;
const at = (model: string, deviceId: number) => ({ model, deviceId });

Levels('device > model > model file > tenant > shipped, each for its own phones only', ({ dir }) => {
  const store = createTemplateStore(dir);
  const render = (tenant: number, model: string, deviceId: number) => store.render(tenant, 'acme', 'device.cfg', at(model, deviceId), { name: 'a' });
  assert.is(store.levelOf(TENANT, 'acme', 'device.cfg', at('X2', 7)), 'shipped');
  assert.is(store.levelOf(TENANT, 'acme', 'device.cfg', at('X1', 7)), 'model-file');

  store.setOverride(TENANT, 'acme', 'device.cfg', 'tenant {{name}}\n');
  assert.is(render(TENANT, 'X2', 7), 'tenant a\n');
  assert.is(store.levelOf(TENANT, 'acme', 'device.cfg', at('X2', 7)), 'tenant');

  store.setOverride(TENANT, 'acme', 'device.cfg', 'model X2 {{name}}\n', { level: 'model', model: 'X2' });
  store.setOverride(TENANT, 'acme', 'device.cfg', 'device 7 {{name}}\n', { level: 'device', deviceId: 7, model: 'X2' });
  assert.is(render(TENANT, 'X2', 7), 'device 7 a\n');
  assert.is(store.levelOf(TENANT, 'acme', 'device.cfg', at('X2', 7)), 'device');
  assert.is(render(TENANT, 'X2', 8), 'model X2 a\n', 'another phone of the model gets the model version');
  assert.is(store.levelOf(TENANT, 'acme', 'device.cfg', at('X2', 8)), 'model');
  assert.is(render(TENANT, 'X3', 9), 'tenant a\n', 'another model gets the tenant version');
  assert.is(render(OTHER, 'X2', 7), 'name = a\nend\n', "another tenant's device 7 gets the shipped file");
  assert.is(store.render(TENANT, 'acme', 'device.cfg', 'X2', { name: 'a' }), 'model X2 a\n', 'a file the model shares gets the model version');

  store.setOverride(TENANT, 'acme', 'device.cfg', null, { level: 'device', deviceId: 7, model: 'X2' });
  assert.is(render(TENANT, 'X2', 7), 'model X2 a\n', "a device's reset goes back to its model's version");
  store.setOverride(TENANT, 'acme', 'device.cfg', null, { level: 'model', model: 'X2' });
  assert.is(render(TENANT, 'X2', 7), 'tenant a\n');
});

Levels("a model file on disk, and a model's or device's version, fill the blocks of the tenant's version", ({ dir }) => {
  const store = createTemplateStore(dir);
  store.setOverride(TENANT, 'acme', 'device.cfg', 'edited = {{name}}\n{{#> model_settings}}{{/model_settings}}end\n');
  assert.is(store.render(TENANT, 'acme', 'device.cfg', 'X1', { name: 'a' }), 'edited = a\nx1.only = a\nend\n', "the model file sees the admin's base");
  assert.is(store.render(OTHER, 'acme', 'device.cfg', 'X1', { name: 'a' }), 'name = a\nx1.only = a\nend\n');
  const fill = '{{#> base}}{{#*inline "model_settings"}}desk.only = {{name}}\n{{/inline}}{{/base}}';
  store.setOverride(TENANT, 'acme', 'device.cfg', fill, { level: 'device', deviceId: 3, model: 'X2' });
  assert.is(store.render(TENANT, 'acme', 'device.cfg', at('X2', 3), { name: 'a' }), 'edited = a\ndesk.only = a\nend\n');
  // The tenant's version changes: the versions filling it follow, without being saved again.
  store.setOverride(TENANT, 'acme', 'device.cfg', 'again = {{name}}\n{{#> model_settings}}{{/model_settings}}\n');
  assert.is(store.render(TENANT, 'acme', 'device.cfg', at('X2', 3), { name: 'a' }), 'again = a\ndesk.only = a\n\n');
  assert.is(store.render(TENANT, 'acme', 'device.cfg', 'X1', { name: 'a' }), 'again = a\nx1.only = a\n\n');
  assert.is(store.renderFile(TENANT, 'acme', 'device.cfg', 'X1', { name: 'b' }, (v) => v).text(), 'again = b\nx1.only = b\n\n');
  store.setOverride(TENANT, 'acme', 'device.cfg', null);
  assert.is(store.render(TENANT, 'acme', 'device.cfg', 'X1', { name: 'a' }), 'name = a\nx1.only = a\nend\n', 'after a reset, the shipped base again');
});

Levels('the editor of a narrower version starts from what its phones get now; listeners hear the scope', ({ dir }) => {
  const store = createTemplateStore(dir);
  const heard: TemplateChange[] = [];
  store.onChange((_tenant, change) => heard.push(change));
  assert.match(store.currentSource(TENANT, 'acme', 'device.cfg', { level: 'model', model: 'X1' }), /x1\.only/, 'the model file');
  store.setOverride(TENANT, 'acme', 'device.cfg', 'tenant\n');
  assert.is(store.currentSource(TENANT, 'acme', 'device.cfg', { level: 'device', deviceId: 4, model: 'X2' }), 'tenant\n');
  assert.not.ok(store.hasOwn(TENANT, 'acme', 'device.cfg', { level: 'model', model: 'X1' }), 'a model file is not an admin version');
  store.setOverride(TENANT, 'acme', 'device.cfg', 'model\n', { level: 'model', model: 'X2' });
  assert.is(store.currentSource(TENANT, 'acme', 'device.cfg', { level: 'device', deviceId: 4, model: 'X2' }), 'model\n');
  assert.equal(
    heard.map((c) => c.scope),
    [{ level: 'tenant' }, { level: 'model', model: 'X2' }],
  );
  assert.throws(() => store.setOverride(TENANT, 'acme', 'device.cfg', '{{#if}}', { level: 'model', model: 'X2' }), /if/);
  assert.is(store.currentSource(TENANT, 'acme', 'device.cfg', { level: 'model', model: 'X2' }), 'model\n', 'a version that does not compile is not taken');
});

Levels.run();

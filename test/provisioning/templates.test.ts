import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTemplateStore } from '../../src/provisioning/templates.ts';

/** Each test's own templates directory, with one vendor `acme` in it. */
interface TemplatesContext {
  dir: string;
}
const Templates = suite<TemplatesContext>('provisioning/templates', { dir: '' });
Templates.before.each((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hotprov-tpl-'));
  mkdirSync(join(ctx.dir, 'acme'));
});
Templates.after.each(({ dir }) => rmSync(dir, { recursive: true, force: true }));

const write = (dir: string, name: string, text: string) => writeFileSync(join(dir, 'acme', name), text);

Templates("a model file fills the base template's blocks; other models get the base", ({ dir }) => {
  write(dir, 'device.cfg.hbs', 'name = {{name}}\n{{#> model_settings}}{{/model_settings}}end\n');
  write(dir, 'device.cfg.X1.hbs', '{{#> base}}{{#*inline "model_settings"}}x1.only = {{name}}\n{{/inline}}{{/base}}');
  const store = createTemplateStore(dir);
  assert.is(store.render(null, 'acme', 'device.cfg', 'X1', { name: 'a' }), 'name = a\nx1.only = a\nend\n');
  assert.is(store.render(null, 'acme', 'device.cfg', 'X2', { name: 'a' }), 'name = a\nend\n');
});

Templates("values are not HTML-escaped: escaping is the vendor's, per file format", ({ dir }) => {
  write(dir, 't.hbs', '{{v}}');
  assert.is(createTemplateStore(dir).render(null, 'acme', 't', undefined, { v: 'a&b=<c>' }), 'a&b=<c>');
});

Templates('a missing value is an error, never an empty line in a phone config', ({ dir }) => {
  write(dir, 't.hbs', 'key = {{missing}}');
  assert.throws(() => createTemplateStore(dir).render(null, 'acme', 't', undefined, {}), /"missing" not defined/);
});

Templates('a helper hotprov does not define is an error when the template is loaded, not when a phone asks', ({ dir }) => {
  write(dir, 't.hbs', 'key = {{shout name}}');
  assert.throws(() => createTemplateStore(dir), /acme\/t\.hbs[\s\S]*shout/);
  rmSync(join(dir, 'acme', 't.hbs'));
  write(dir, 't.hbs', '{{#if (eq kind "blf")}}blf{{else}}other{{/if}} {{#each keys}}{{this}}{{/each}}');
  assert.is(createTemplateStore(dir).render(null, 'acme', 't', undefined, { kind: 'blf', keys: [1, 2] }), 'blf 12', 'the helpers hotprov has');
});

Templates('a template that does not compile stops start-up and names the file', ({ dir }) => {
  write(dir, 'broken.hbs', 'key = {{#each x}}');
  assert.throws(() => createTemplateStore(dir), /acme\/broken\.hbs/);
});

Templates('every shipped template compiles', () => {
  createTemplateStore();
});

Templates.run();

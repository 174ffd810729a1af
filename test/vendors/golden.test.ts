import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadVendorAdapters } from '../../src/vendors/index.ts';
import { GOLDEN_DIR, type GoldenFile, renderGoldenFiles } from '../helpers/golden.ts';
import { xmlError, xmlNames } from '../helpers/xml.ts';

/**
 * What every model receives, idle and with a user logged in, compared byte for byte with test/golden/.
 * After an intended change run `npm run golden` and review the diff.
 */
const files: GoldenFile[] = await renderGoldenFiles();
const profiles = new Map(loadVendorAdapters().map((a) => [a.id as string, a.profile]));

function listGolden(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listGolden(join(dir, e.name)) : [relative(GOLDEN_DIR, join(dir, e.name))],
  );
}

const Golden = suite('golden files');

Golden('there is a golden file for every rendered file and no stale one', () => {
  assert.equal(files.map((f) => f.path).sort(), listGolden(GOLDEN_DIR).sort());
});

for (const file of files) {
  Golden(file.path, () => {
    const expected = readFileSync(join(GOLDEN_DIR, file.path), 'utf8');
    assert.fixture(file.body, expected);
  });
}
Golden.run();

const Xml = suite('xml well-formed');
for (const file of files.filter((f) => /\.(xml|htm|cfg)$/.test(f.path) && (!f.path.startsWith('yealink/') || !f.path.endsWith('.cfg')))) {
  Xml(file.path, () => {
    assert.is(xmlError(file.body), null);
  });
}
Xml.run();

/** `account.12.sip_server.1.port` → `account.N.sip_server.N.port`. */
const pattern = (name: string) => name.replace(/\.\d+(?=\.|$)/g, '.N');

const Vocabulary = suite('documented settings only');
for (const file of files.filter((f) => !f.path.endsWith('warnings.txt'))) {
  const vendor = file.path.split('/')[0] ?? '';
  const documented = profiles.get(vendor)?.settings ?? {};
  Vocabulary(file.path, () => {
    const used = new Set<string>();
    if (file.path.includes('/screens/')) {
      const { elements, attributes } = xmlNames(file.body);
      for (const e of elements) used.add(`screen:${e}`);
      for (const a of attributes) used.add(`screen-attribute:${a}`);
    } else if (vendor === 'yealink' && file.path.endsWith('.xml')) {
      for (const e of xmlNames(file.body).elements) used.add(`element:${e}`);
    } else if (vendor === 'yealink') {
      for (const line of file.body.split('\n')) {
        if (line.startsWith('#') || line.trim() === '') continue;
        const key = /^include:config\b/.test(line) ? 'include:config' : (line.split('=')[0]?.trim() ?? '');
        used.add(pattern(key));
      }
    } else {
      const { elements, attributes } = xmlNames(file.body);
      // Poly reads settings from attribute names; the elements inside polycomConfig only group them.
      const inPolycomConfig = vendor === 'polycom' && elements.has('polycomConfig');
      for (const e of elements) if (!inPolycomConfig || e === 'polycomConfig') used.add(`element:${e}`);
      for (const a of attributes) used.add(inPolycomConfig ? pattern(a) : `attribute:${a}`);
    }
    const unknown = [...used].filter((name) => documented[name] === undefined);
    assert.equal(unknown, [], `not in vendor-profiles/${vendor}.json settings: ${unknown.join(', ')}`);
  });
}
Vocabulary.run();

const Reset = suite('idle and retired profiles reset the user profile');
const resetters = files.filter((f) => (f.path.includes('/idle/') || f.path.includes('/retired/')) && !f.path.endsWith('warnings.txt'));
for (const idle of resetters) {
  const user = files.find((f) => f.path === idle.path.replace(/\/(idle|retired)\//, '/user/'));
  Reset(idle.path, () => {
    assert.ok(user !== undefined, 'no user counterpart');
    const keysOf = (body: string) =>
      new Set(
        body
          .split('\n')
          .map((l) => /^\s*([\w.]+)\s*=/.exec(l)?.[1] ?? /^\s*([\w.]+)="/.exec(l)?.[1] ?? /<(\w+) idx="(\d+)"/.exec(l)?.slice(1).join('#'))
          .filter((k): k is string => k !== undefined),
      );
    const missing = [...keysOf(user.body)].filter((k) => !keysOf(idle.body).has(k));
    assert.equal(missing, [], 'this profile must set every setting the user profile sets');
    assert.not.ok(idle.body.includes('user-secret-201'), 'a user secret reached this profile');
    assert.not.ok(idle.body.includes('Ana L'), "the user's name reached this profile");
  });
}
Reset.run();

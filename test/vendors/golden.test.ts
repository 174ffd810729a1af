import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadVendorAdapters } from '../../src/vendors/adapters.ts';
import { GOLDEN_DIR, type GoldenFile, renderGoldenFiles, settingKeys, settingNames } from '../helpers/golden.ts';
import { xmlError } from '../helpers/xml.ts';

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

const Vocabulary = suite('documented settings only');
for (const file of files.filter((f) => !f.path.endsWith('warnings.txt'))) {
  const vendor = file.path.split('/')[0] ?? '';
  const documented = profiles.get(vendor)?.settings ?? {};
  Vocabulary(file.path, () => {
    const unknown = [...settingNames(file.path, file.body)].filter((name) => documented[name] === undefined);
    assert.equal(unknown, [], `not in vendor-profiles/${vendor}.json settings: ${unknown.join(', ')}`);
  });
}
Vocabulary.run();

const Reset = suite('idle and retired profiles reset the user profile');
// Poly's override file exists only in the idle and retired profiles, to drop what a user changed on the phone.
const resetters = files.filter(
  (f) => (f.path.includes('/idle/') || f.path.includes('/retired/')) && !f.path.endsWith('warnings.txt') && !f.path.endsWith('-phone.cfg'),
);
for (const idle of resetters) {
  const user = files.find((f) => f.path === idle.path.replace(/\/(idle|retired)\//, '/user/'));
  Reset(idle.path, () => {
    assert.ok(user !== undefined, 'no user counterpart');
    const missing = [...settingKeys(user.body)].filter((k) => !settingKeys(idle.body).has(k));
    assert.equal(missing, [], 'this profile must set every setting the user profile sets');
    assert.not.ok(idle.body.includes('user-secret-201'), 'a user secret reached this profile');
    assert.not.ok(idle.body.includes('Ana L'), "the user's name reached this profile");
  });
}
Reset.run();

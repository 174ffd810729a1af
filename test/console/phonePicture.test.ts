import { SaxesParser } from 'saxes';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { escapeSvg, modulesNeeded, type PictureModel, phonePictureSvg, seatedLayout } from '../../src/console/phonePicture.ts';
import type { UserKey } from '../../src/domain/keyLayout.ts';
import { loadVendorAdapters } from '../../src/vendors/adapters.ts';

/** The picture of a phone's keys: drawn from the model's facts, every text escaped, well-formed SVG. */
const Picture = suite('phone picture');

const adapters = loadVendorAdapters();
const modelOf = (vendor: string, id: string): PictureModel => {
  const model = adapters.find((a) => a.id === vendor)?.profile.models.get(id);
  if (model === undefined) throw new Error(`${vendor} ${id} is not in the catalogue`);
  return model;
};
const alice = { extension: '101', displayName: 'Alice Martin' };
const blfs = (n: number): UserKey[] => Array.from({ length: n }, (_, i) => ({ type: 'blf', value: String(200 + i), label: `Desk ${200 + i}` }));

/** Every element with its attributes and the text inside its title, from a strict XML parser (it throws on bad XML). */
function keysIn(svg: string): { attrs: Record<string, string>; title: string }[] {
  const parser = new SaxesParser();
  const keys: { attrs: Record<string, string>; title: string }[] = [];
  const open: { name: string; attrs: Record<string, string> }[] = [];
  let inTitle = false;
  parser.on('opentag', (tag) => {
    const attrs = Object.fromEntries(Object.entries(tag.attributes).map(([k, v]) => [k, String(v)]));
    open.push({ name: tag.name, attrs });
    if (tag.name === 'g' && (attrs.class ?? '').split(' ').includes('key')) keys.push({ attrs, title: '' });
    if (tag.name === 'title' && open.at(-2)?.name === 'g') inTitle = true;
  });
  parser.on('text', (text) => {
    const last = keys.at(-1);
    if (inTitle && last !== undefined) last.title += text;
  });
  parser.on('closetag', (tag) => {
    open.pop();
    if (tag.name === 'title') inTitle = false;
  });
  parser.write(svg).close();
  return keys;
}

const draw = (vendor: string, id: string, modules: number, keys: UserKey[]) => {
  const model = modelOf(vendor, id);
  return phonePictureSvg({
    vendorName: vendor,
    model,
    attachedModules: modules,
    layout: seatedLayout(model, modules, alice, keys, '*35'),
    whose: alice.displayName,
  });
};

Picture('a T33G: line and Logout first, BLFs on keys 3 to 12, the other four drawn apart as not fitting', () => {
  const keys = keysIn(draw('yealink', 'T33G', 0, blfs(14)));
  const onPhone = keys.filter((k) => k.attrs['data-module'] === '0');
  assert.is(onPhone.length, 12, 'every key of the phone is drawn, used or not');
  assert.is(onPhone[0]?.title, '1: line “101 Alice Martin”');
  assert.is(onPhone[1]?.title, '2: Logout *35');
  assert.is(onPhone[2]?.title, '3: BLF 200 “Desk 200”');
  assert.is(onPhone[11]?.title, '12: BLF 209 “Desk 209”');
  assert.equal(
    keys.filter((k) => k.attrs['data-unplaced'] !== undefined).map((k) => k.title),
    ['–: BLF 210 “Desk 210”', '–: BLF 211 “Desk 211”', '–: BLF 212 “Desk 212”', '–: BLF 213 “Desk 213”'],
  );
});

Picture('pages: a T46U shows its 27 keys ten to a page, as its model facts say', () => {
  const keys = keysIn(draw('yealink', 'T46U', 0, blfs(30))).filter((k) => k.attrs['data-module'] === '0');
  assert.equal(
    [1, 10, 11, 21, 27].map((i) => keys.find((k) => k.attrs['data-index'] === String(i))?.attrs['data-page']),
    ['1', '1', '2', '3', '3'],
  );
});

Picture('each attached module drawn with its keys; a model without a page size is one page', () => {
  const svg = draw('yealink', 'T46U', 2, blfs(100));
  const keys = keysIn(svg);
  // 27 on the phone (line, Logout and 25 BLFs), 60 on module 1, the last 15 on module 2.
  const first = keys.find((k) => k.attrs['data-module'] === '1' && k.attrs['data-index'] === '1');
  assert.is(first?.title, '1: BLF 225 “Desk 225”');
  const lastUsed = keys.filter((k) => k.attrs['data-module'] === '2' && !k.title.endsWith('empty')).at(-1);
  assert.is(lastUsed?.title, '15: BLF 299 “Desk 299”');
  assert.is(keys.filter((k) => k.attrs['data-module'] === '2').length, 60);
  assert.ok(!svg.includes('data-part="module-3"'), 'a module not attached is not drawn');
  assert.ok(!svg.includes('data-unplaced'), 'everything fits');
  assert.match(svg, /2 EXP43 modules/);
});

Picture('a Poly colour module pages its 84 keys by 28', () => {
  const keys = keysIn(draw('polycom', 'VVX450', 1, blfs(40))).filter((k) => k.attrs['data-module'] === '1');
  assert.equal([keys[0]?.attrs['data-page'], keys[28]?.attrs['data-page'], keys[83]?.attrs['data-page']], ['1', '2', '3']);
});

Picture('what does not fit names how many modules the phone could take', () => {
  const svg = draw('snom', 'D785', 0, blfs(30));
  assert.match(svg, /8 keys do not fit \(up to 3 D7C modules fit this phone\)/);
  assert.is(modulesNeeded(modelOf('snom', 'D785'), blfs(30)), 1);
  assert.is(modulesNeeded(modelOf('snom', 'D785'), blfs(3)), 0);
  assert.is(modulesNeeded(modelOf('yealink', 'T33G'), blfs(30)), 0, 'a model without modules needs none: it cannot take any');
});

Picture('every text is escaped: a label cannot open an element or close an attribute', () => {
  const hostile: UserKey[] = [{ type: 'blf', value: '201', label: `<script>alert("x")</script>&'` }];
  const model = modelOf('yealink', 'T54W');
  const svg = phonePictureSvg({
    vendorName: 'Yealink',
    model,
    attachedModules: 0,
    layout: seatedLayout(model, 0, { extension: '101', displayName: 'Bob "<b>" & Co' }, hostile, '*35'),
    whose: '</svg><img src=x onerror=alert(1)>',
  });
  assert.not.match(svg, /<script|<img|<b>/);
  assert.match(svg, /&lt;script&gt;alert\(&quot;x&quot;\)/);
  const key = keysIn(svg).find((k) => k.attrs['data-index'] === '3');
  assert.is(key?.title, `3: BLF 201 “<script>alert("x")</script>&'”`, 'the parser reads back exactly the label');
  assert.is(escapeSvg(`a\u0007b<'>`), 'ab&lt;&#39;&gt;');
});

Picture.run();

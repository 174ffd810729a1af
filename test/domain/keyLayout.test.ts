import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type KeyCapacity, type KeyFunction, layoutKeys, type UserKey } from '../../src/domain/keyLayout.ts';

const Layout = suite('keyLayout');

const phone12: KeyCapacity = { lineKeys: 12, expansion: null };
const withModules: KeyCapacity = { lineKeys: 4, expansion: { name: 'EXP', modules: 2, keysPerModule: 3 } };
const fixed: KeyFunction[] = [
  { kind: 'line', label: '101' },
  { kind: 'logout', value: '*35', label: 'Logout' },
];
const blf = (n: number): UserKey => ({ type: 'blf', value: String(n), label: `B${n}` });

Layout('the account line and Logout come first, then the user keys in order', () => {
  const layout = layoutKeys(phone12, 0, fixed, [blf(1), blf(2)], 'P');
  assert.equal(
    layout.phone.slice(0, 5).map((s) => s.fn.kind),
    ['line', 'logout', 'blf', 'blf', 'empty'],
  );
  assert.equal(
    layout.phone.map((s) => s.index),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
  );
  assert.equal(layout.warnings, []);
});

Layout('empty entries take no key', () => {
  const layout = layoutKeys(phone12, 0, fixed, [blf(1), { type: 'speed', value: ' ', label: 'gap' }, blf(2)], 'P');
  const third = layout.phone[2]?.fn;
  const fourth = layout.phone[3]?.fn;
  assert.equal(third, { kind: 'blf', value: '1', label: 'B1' });
  assert.equal(fourth, { kind: 'blf', value: '2', label: 'B2' });
});

Layout('a line key without a number is kept: it is the account appearance', () => {
  const layout = layoutKeys(phone12, 0, fixed, [{ type: 'line', value: '', label: 'Line 2' }], 'P');
  assert.equal(layout.phone[2]?.fn, { kind: 'line', label: 'Line 2' });
});

Layout('keys beyond the phone go to attached modules only, and every module slot is listed for reset', () => {
  const keys = [1, 2, 3, 4, 5].map(blf);
  const layout = layoutKeys(withModules, 1, fixed, keys, 'P');
  assert.equal(
    layout.phone.map((s) => s.fn.kind),
    ['line', 'logout', 'blf', 'blf'],
  );
  assert.is(layout.modules.length, 2);
  assert.equal(
    layout.modules[0]?.map((s) => (s.fn.kind === 'blf' ? s.fn.value : s.fn.kind)),
    ['3', '4', '5'],
  );
  assert.equal(
    layout.modules[1]?.map((s) => s.fn.kind),
    ['empty', 'empty', 'empty'],
  );
  assert.equal(
    layout.modules[1]?.map((s) => s.position),
    [8, 9, 10],
  );
  assert.equal(layout.unplaced, []);
});

Layout('what does not fit is reported, never silently dropped', () => {
  const keys = [1, 2, 3, 4, 5, 6].map(blf);
  const layout = layoutKeys(withModules, 0, fixed, keys, 'Model X');
  assert.equal(
    layout.unplaced.map((k) => k.value),
    ['3', '4', '5', '6'],
  );
  assert.is(layout.warnings.length, 1);
  assert.match(layout.warnings[0] ?? '', /4 key\(s\) do not fit on the Model X \(4 keys and no expansion module attached\): blf 3 "B3"/);
});

Layout('more modules than the model takes count as the maximum', () => {
  const keys = Array.from({ length: 8 }, (_, i) => blf(i + 1));
  const layout = layoutKeys(withModules, 9, fixed, keys, 'P');
  assert.is(layout.modules.flat().filter((s) => s.fn.kind === 'blf').length, 6);
  assert.is(layout.unplaced.length, 0);
});

Layout.run();

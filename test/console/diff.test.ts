import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { diffLines } from '../../src/console/diff.ts';

const Diff = suite('console/diff');

Diff('each line marked kept, removed or added, in order', () => {
  assert.equal(diffLines('a\nb\nc\n', 'a\nB\nc\nd\n'), [
    { kind: 'same', text: 'a' },
    { kind: 'removed', text: 'b' },
    { kind: 'added', text: 'B' },
    { kind: 'same', text: 'c' },
    { kind: 'added', text: 'd' },
  ]);
});

Diff('identical texts are all kept; a template of thousands of lines is no problem', () => {
  assert.ok(diffLines('x\ny', 'x\ny').every((l) => l.kind === 'same'));
  const big = Array.from({ length: 5000 }, (_, i) => `linekey.${i}.type = 15`).join('\n');
  const changed = diffLines(big, big.replace('linekey.2500.type = 15', 'linekey.2500.type = 16'));
  assert.equal(
    changed.filter((l) => l.kind !== 'same'),
    [
      { kind: 'removed', text: 'linekey.2500.type = 15' },
      { kind: 'added', text: 'linekey.2500.type = 16' },
    ],
  );
});

Diff.run();

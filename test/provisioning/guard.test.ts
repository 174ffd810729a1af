import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequestGuard, sourceKey } from '../../src/provisioning/guard.ts';

const Guard = suite('provisioning/guard');

Guard('IPv6 sources count per /64, IPv4 as IPv6 shows it counts as IPv4', () => {
  assert.is(sourceKey('2001:db8:1:2:aaaa::1'), sourceKey('2001:db8:1:2:bbbb::2'));
  assert.is.not(sourceKey('2001:db8:1:2::1'), sourceKey('2001:db8:1:3::1'));
  assert.is(sourceKey('::ffff:198.51.100.7'), '198.51.100.7');
});

Guard('an address over budget is blocked once, with one block event; the allow-list is never blocked', () => {
  const blocks: string[] = [];
  const guard = createRequestGuard(
    { budget: 3, windowSeconds: 60, blockSeconds: 30, allow: ['10.0.0.0/8'] },
    () => new Date(0),
    (e) => {
      blocks.push(e.source);
    },
  );
  for (let i = 0; i < 10; i++) guard.fail('203.0.113.5');
  for (let i = 0; i < 10; i++) guard.fail('10.1.2.3');
  assert.is(guard.blockedFor('203.0.113.5'), 30);
  assert.is(guard.blockedFor('10.1.2.3'), 0);
  assert.equal(blocks, ['203.0.113.5']);
});

Guard('a client inventing addresses keeps the map bounded', () => {
  const guard = createRequestGuard(
    { budget: 20, windowSeconds: 600, blockSeconds: 900, allow: [] },
    () => new Date(0),
    () => {},
  );
  for (let i = 0; i < 150_000; i++) guard.fail(`2001:db8:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::1`);
  assert.ok(guard.size <= 100_000, `${guard.size} addresses kept`);
});

Guard.run();

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

/**
 * HOTPROV_CACHE_MB is a promise about memory: the rendered files kept must fit it, counted in the bytes they
 * really hold (each phone's own values; the skeletons they fill are shared and held whatever the budget).
 * Measured in a Node of its own (cacheMemory.probe.ts), so no flag or garbage of this process is involved.
 */
const PROBE = fileURLToPath(new URL('./cacheMemory.probe.ts', import.meta.url));

const CacheMemory = suite('provisioning/cache memory');

CacheMemory('4,000 phones through a 1 MB cache: what forgetting every file frees is no more than twice that', () => {
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', PROBE, '4000', '1'], { encoding: 'utf8' });
  const { phones, refused, cachedMb } = JSON.parse(out) as { phones: number; refused: number; cachedMb: number };
  assert.is(phones, 4000);
  assert.is(refused, 0, 'every phone was served its file');
  assert.ok(cachedMb < 2, `the cache holds ${cachedMb.toFixed(1)} MB`);
  assert.ok(cachedMb > 0.25, `the cache keeps files at all (${cachedMb.toFixed(1)} MB)`);
});

CacheMemory.run();

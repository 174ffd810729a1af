import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHotprov } from '../../src/hotprov.ts';
import { silentLogger } from '../../src/log.ts';
import { type SeededDevice, seed, seededRequest } from '../bench/seed.ts';
import { TEST_TOKEN, testConfig } from '../helpers/server.ts';

/**
 * HOTPROV_CACHE_MB is a promise about memory: the rendered files kept must fit it, counted in the bytes they
 * really hold (each phone's own values; the skeletons they fill are shared and held whatever the budget).
 */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const CacheMemory = suite<{ dir: string; path: string; phones: SeededDevice[] }>('provisioning/cache memory', { dir: '', path: '', phones: [] });
CacheMemory.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hotprov-cache-'));
  ctx.path = join(ctx.dir, 'hotprov.db');
  ctx.phones = await seed(ctx.path, 4000);
});
CacheMemory.after((ctx) => rmSync(ctx.dir, { recursive: true, force: true }));

/**
 * The fetch records written, and a collection followed by a later task: measured, some 1.8 MB that no file holds
 * are freed only by a collection 50 ms after a first one (the mechanism is not pinned down). Measured one
 * event-loop turn after the fetches, they were counted as the cache's in some runs and not in others, and the
 * test failed at random.
 */
const settled = async () => {
  await new Promise((resolve) => setImmediate(resolve));
  collectGarbage();
  await new Promise((resolve) => setTimeout(resolve, 50));
};

const memoryMb = () => {
  collectGarbage();
  collectGarbage();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return (heapUsed + arrayBuffers) / 2 ** 20;
};

CacheMemory('4,000 phones through a 1 MB cache: what forgetting every file frees is no more than twice that', async ({ path, phones }) => {
  const hotprov = await createHotprov({ config: testConfig({ HOTPROV_DB: path, HOTPROV_CACHE_MB: '1' }), adminToken: TEST_TOKEN, log: silentLogger });
  try {
    for (const phone of phones) assert.is(hotprov.provisioning.answer(seededRequest(phone)).kind, 'file', phone.path);
    await settled();
    const filled = memoryMb();
    hotprov.provisioning.invalidateAll();
    await settled();
    // Forgotten with the files: every phone's current ETag (about 100 bytes each), kept apart from the budget.
    const cachedMb = filled - memoryMb() - (phones.length * 100) / 2 ** 20;
    assert.ok(cachedMb < 2, `the cache holds ${cachedMb.toFixed(1)} MB`);
    assert.ok(cachedMb > 0.25, `the cache keeps files at all (${cachedMb.toFixed(1)} MB)`);
  } finally {
    await hotprov.close();
  }
});

CacheMemory.run();

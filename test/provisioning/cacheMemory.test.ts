import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHotprov } from '../../src/hotprov.ts';
import { silentLogger } from '../../src/log.ts';
import { seed, seededRequest } from '../bench/seed.ts';
import { TEST_TOKEN, testConfig } from '../helpers/server.ts';

/**
 * HOTPROV_CACHE_MB is a promise about memory: the rendered files kept must fit it, counted in the bytes
 * they really hold, not in the bytes the budget thinks they hold.
 */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const CacheMemory = suite('provisioning/cache memory');

CacheMemory('2,000 phones through a 4 MB cache hold no more than twice that outside the heap', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hotprov-cache-'));
  const path = join(dir, 'hotprov.db');
  const phones = await seed(path, 2000);
  const hotprov = await createHotprov({ config: testConfig({ HOTPROV_DB: path, HOTPROV_CACHE_MB: '4' }), adminToken: TEST_TOKEN, log: silentLogger });
  try {
    collectGarbage();
    const before = process.memoryUsage().arrayBuffers;
    for (const phone of phones) {
      const answer = hotprov.provisioning.answer(seededRequest(phone));
      assert.is(answer.kind, 'file', phone.path);
    }
    collectGarbage();
    const heldMb = (process.memoryUsage().arrayBuffers - before) / 2 ** 20;
    assert.ok(heldMb < 8, `the cache holds ${heldMb.toFixed(1)} MB of file bytes`);
    assert.ok(heldMb > 1, `the cache keeps files at all (${heldMb.toFixed(1)} MB)`);
  } finally {
    await hotprov.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

CacheMemory.run();

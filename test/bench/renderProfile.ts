/**
 * `node --cpu-prof --import tsx test/bench/renderProfile.ts [--devices N] [--passes N]`: only the handler's render
 * pass (nothing cached), repeated, so a CPU profile shows where a render's time goes and nothing else.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHotprov } from '../../src/composition.ts';
import { silentLogger } from '../../src/log.ts';
import { TEST_TOKEN, testConfig } from '../helpers/server.ts';
import { seed, seededRequest } from './seed.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
};
const DEVICES = arg('--devices', 20_000);
const PASSES = arg('--passes', 5);

const dir = mkdtempSync(join(tmpdir(), 'hotprov-render-profile-'));
try {
  const path = join(dir, 'bench.db');
  const phones = await seed(path, DEVICES);
  const hotprov = await createHotprov({
    config: testConfig({ HOTPROV_DB: path, HOTPROV_CACHE_MB: '0' }),
    adminToken: TEST_TOKEN,
    log: silentLogger,
  });
  const figures: number[] = [];
  for (let p = 0; p < PASSES; p++) {
    const started = performance.now();
    for (const [n, phone] of phones.entries()) {
      if (n % 100 === 99) await new Promise((r) => setImmediate(r));
      const answer = await hotprov.provisioning.answer(seededRequest(phone, '127.0.0.1', undefined));
      if (answer.kind !== 'file') throw new Error(`${phone.path}: ${answer.kind}`);
      answer.bytes();
    }
    figures.push(Math.round(((performance.now() - started) * 10_000) / phones.length) / 10);
  }
  await hotprov.close();
  process.stdout.write(`render µs per request, ${DEVICES} devices, pass by pass: ${figures.join(' ')}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * `node [V8 flags] --import tsx test/bench/memory.ts [--devices 100000]`: what holds
 * memory while a storm of phones each fetches its main file once (nothing cached at the start, the default 64 MB
 * cache), in one process and without HTTP: process.memoryUsage() sampled every 2,000 phones, then the live heap
 * after a full collection (with --expose-gc).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHotprov } from '../../src/composition.ts';
import { silentLogger } from '../../src/log.ts';
import { TEST_TOKEN, testConfig } from '../helpers/server.ts';
import { seed, seededRequest } from './seed.ts';

const option = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
};
const DEVICES = Number(option('devices') ?? 100_000);
const mb = (n: number) => Math.round(n / 1048576);

const dir = mkdtempSync(join(tmpdir(), 'hotprov-memory-'));
try {
  const path = join(dir, 'bench.db');
  const phones = await seed(path, DEVICES);
  const hotprov = await createHotprov({ config: testConfig({ HOTPROV_DB: path }), adminToken: TEST_TOKEN, log: silentLogger });
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const at = (label: string) => {
    const m = process.memoryUsage();
    return `${label.padEnd(16)} rss ${mb(m.rss)} heap ${mb(m.heapUsed)}/${mb(m.heapTotal)} external ${mb(m.external)} arrayBuffers ${mb(m.arrayBuffers)}`;
  };
  const lines = [at('before')];
  let peakRss = 0;
  const started = performance.now();
  for (const [n, phone] of phones.entries()) {
    if (n % 100 === 99) await new Promise((r) => setImmediate(r));
    const answer = await hotprov.provisioning.answer(seededRequest(phone, '127.0.0.1', undefined));
    if (answer.kind !== 'file') throw new Error(`${phone.path}: ${answer.kind}`);
    answer.bytes();
    if (n % 2000 === 1999) {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      if (n % 20000 === 19999) lines.push(at(`${n + 1} phones`));
    }
  }
  const seconds = (performance.now() - started) / 1000;
  lines.push(at('after the storm'));
  gc?.();
  lines.push(at(gc === undefined ? 'no gc exposed' : 'after a full gc'));
  lines.push(`peak rss sampled ${mb(peakRss)} MB, VmHWM ${/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]} kB; ${seconds.toFixed(1)} s`);
  process.stdout.write(`${lines.join('\n')}\n`);
  await hotprov.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * `npm run bench:handler [-- --devices 20000]`: what hotprov's own code costs per phone request, without HTTP.
 * Calls `provisioning.answer` in a loop (yielding to the event loop every 100 requests, as a server does between
 * batches of sockets) over a seeded database, and prints microseconds per request for:
 *   - a render (nothing cached), the boot storm's cost;
 *   - a cached config file, sent inflated;
 *   - a 304 for a phone that holds its file;
 *   - a 304 whose fetch is worth recording (last seen more than 30 s ago), the cost of a storm of distinct phones.
 * The figures the "second step" table of docs/performance.md quotes come from this.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHotprov } from '../../src/composition.ts';
import { silentLogger } from '../../src/log.ts';
import { TEST_TOKEN, testConfig } from '../helpers/server.ts';
import { seed, seededRequest } from './seed.ts';

const i = process.argv.indexOf('--devices');
const DEVICES = i < 0 ? 20_000 : Number(process.argv[i + 1]);

const dir = mkdtempSync(join(tmpdir(), 'hotprov-handler-'));
try {
  const path = join(dir, 'bench.db');
  const phones = await seed(path, DEVICES);
  let clock = Date.now();
  const start = (cacheMb: number) =>
    createHotprov({
      config: testConfig({ HOTPROV_DB: path, HOTPROV_CACHE_MB: String(cacheMb) }),
      adminToken: TEST_TOKEN,
      log: silentLogger,
      now: () => new Date(clock),
    });
  const etags = new Map<string, string>();

  /** Microseconds per request over every phone once. */
  const pass = async (hotprov: Awaited<ReturnType<typeof start>>, conditional: boolean): Promise<number> => {
    const started = performance.now();
    for (const [n, phone] of phones.entries()) {
      if (n % 100 === 99) await new Promise((r) => setImmediate(r));
      const answer = await hotprov.provisioning.answer(seededRequest(phone, '127.0.0.1', conditional ? etags.get(phone.path) : undefined));
      if (answer.kind === 'file') {
        etags.set(phone.path, answer.etag);
        answer.bytes();
      } else if (answer.kind !== 'unchanged') throw new Error(`${phone.path}: ${answer.kind}`);
    }
    return Math.round(((performance.now() - started) * 10_000) / phones.length) / 10;
  };

  const uncached = await start(0);
  await pass(uncached, false); // warm-up: compiles the code paths
  const render = await pass(uncached, false);
  await uncached.close();

  const cached = await start(1024);
  await pass(cached, false); // fills the cache
  const config = await pass(cached, false);
  const notModified = await pass(cached, true);
  clock += 31_000;
  const notModifiedRecorded = await pass(cached, true);
  await cached.close();

  process.stdout.write(
    [
      `hotprov's own cost per phone request, ${DEVICES} devices, no HTTP (µs):`,
      `  render (nothing cached)          ${render}`,
      `  cached config file               ${config}`,
      `  304                              ${notModified}`,
      `  304 recording the fetch          ${notModifiedRecorded}`,
      '',
    ].join('\n'),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startJobs } from '../../src/jobs/schedules.ts';
import { createLogger } from '../../src/log.ts';
import type { Resync } from '../../src/sync/resync.ts';
import { createDomain } from '../helpers/domain.ts';
import { logEntries } from '../helpers/logs.ts';

/**
 * While a phone does not answer, the re-sync watchdog's run outlasts its 5 s schedule. node-cron then speaks
 * for itself; what it says must go through hotprov's logger, never its own coloured lines on the console.
 */
const CronLog = suite('jobs/node-cron output');

CronLog('an overlapping watchdog run is logged by hotprov at debug, and node-cron writes nothing of its own', async () => {
  const f = await createDomain();
  const lines: string[] = [];
  const log = createLogger('debug', (l) => lines.push(l));
  const written: string[] = [];
  const spied = ['log', 'info', 'warn', 'error', 'debug'] as const;
  // biome-ignore lint/suspicious/noConsole: the test replaces console to prove nothing reaches it
  const originals = spied.map((k) => console[k]);
  for (const k of spied) console[k] = (...args: unknown[]) => void written.push(args.map(String).join(' '));
  let release!: () => void;
  const hung = new Promise<void>((resolve) => (release = resolve));
  const resync = { checkOverdue: () => hung } as unknown as Resync;
  const jobs = startJobs({ domain: f.deps, resync, log });
  try {
    const deadline = Date.now() + 20_000;
    while (!lines.some((l) => /cron: .*overlap/.test(l)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  } finally {
    jobs.stop();
    release();
    spied.forEach((k, i) => {
      console[k] = originals[i] as (typeof console)[typeof k];
    });
    f.close();
  }
  const overlap = logEntries(lines).find((e) => /cron: .*overlap/.test(e.msg));
  assert.ok(overlap !== undefined, `no overlap line logged:\n${lines.join('\n')}`);
  assert.equal([overlap.level, overlap.category, overlap.job], ['debug', 'lifecycle', 'sync-watchdog']);
  assert.equal(
    written.filter((w) => /NODE-CRON/.test(w)),
    [],
    'node-cron wrote to the console itself',
  );
});

CronLog.run();

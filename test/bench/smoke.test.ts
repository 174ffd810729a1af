import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

/** Only proves the benchmark still runs end to end (tiny, 2 s runs): speed is measured by `npm run bench`, never asserted. */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const Smoke = suite('bench smoke');

Smoke('npm run bench prints its table and writes its figures', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hotprov-bench-smoke-'));
  const out = join(dir, 'bench.json');
  try {
    const run = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'test/bench/run.ts', '--devices', '200', '--duration', '2', '--rounds', '1', '--connections', '10', '--logins', '20', '--out', out],
        {
          cwd: ROOT,
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      );
      let stdout = '';
      child.stdout.on('data', (d) => {
        stdout += String(d);
      });
      child.on('exit', (code) => resolve({ code, stdout }));
    });
    assert.is(run.code, 0);
    for (const row of [
      'boot storm',
      'hotprov config',
      'baseline config',
      'hotprov 304',
      'baseline 304',
      'Koa baseline config',
      'Koa baseline 304',
      'login → NOTIFY',
    ])
      assert.ok(run.stdout.includes(row), row);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    assert.is(report.devices, 200);
    assert.ok(report.hotprov.config.requestsPerSecond > 0 && report.baseline.config.requestsPerSecond > 0 && report.koaBaseline.config.requestsPerSecond > 0);
    assert.is(report.loginToNotifyMs.received, 20, 'every login produced its NOTIFY');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Smoke.run();

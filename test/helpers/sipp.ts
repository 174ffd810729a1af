import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCENARIOS = fileURLToPath(new URL('../sip/scenarios', import.meta.url));

/** A free UDP port on loopback (bound, read and released). */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

export interface SippRun {
  readonly port: number;
  /** Resolves with sipp's exit code (0: every call of the scenario passed) and what it logged. */
  readonly done: Promise<{ code: number | null; log: string; errors: string }>;
}

/**
 * Starts sipp (Debian package sip-tester) as a phone on 127.0.0.1 running one of test/sip/scenarios/,
 * for `calls` calls, giving up after `timeoutSeconds`.
 */
export async function startSipp(scenario: string, calls = 1, timeoutSeconds = 15): Promise<SippRun> {
  const port = await freeUdpPort();
  const dir = mkdtempSync(join(tmpdir(), 'hotprov-sipp-'));
  const logFile = join(dir, 'messages.log');
  const errorFile = join(dir, 'errors.log');
  const child = spawn(
    'sipp',
    ['-sf', join(SCENARIOS, scenario), '-i', '127.0.0.1', '-p', String(port), '-m', String(calls), '-nostdin', '-timeout', `${timeoutSeconds}s`,
      '-trace_logs', '-log_file', logFile, '-trace_err', '-error_file', errorFile],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const done = new Promise<{ code: number | null; log: string; errors: string }>((resolve) => {
    child.on('exit', (code) => {
      const read = (f: string) => {
        try {
          return readFileSync(f, 'utf8');
        } catch {
          return '';
        }
      };
      const result = { code, log: read(logFile), errors: read(errorFile) };
      rmSync(dir, { recursive: true, force: true });
      resolve(result);
    });
  });
  // sipp needs a moment to bind its port before anything is sent to it.
  await new Promise((resolve) => setTimeout(resolve, 300));
  return { port, done };
}

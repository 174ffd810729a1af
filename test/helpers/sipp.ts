import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCENARIOS = fileURLToPath(new URL('../sip/scenarios', import.meta.url));

/** A free UDP port on loopback (bound, read and released). */
export async function freeUdpPort(host = '127.0.0.1'): Promise<number> {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** A free TCP port on loopback (listened on, read and released). */
export async function freeTcpPort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

export interface SippOptions {
  /** udp (default) or tcp: sipp has no TLS in Debian's build, so TLS is played by a node:tls phone. */
  readonly transport?: 'udp' | 'tcp';
  /** Listen on ::1 instead of 127.0.0.1. */
  readonly ipv6?: boolean;
}

export interface SippRun {
  readonly port: number;
  /** Resolves with sipp's exit code (0: every call of the scenario passed) and what it logged. */
  readonly done: Promise<{ code: number | null; log: string; errors: string }>;
}

/**
 * Starts sipp (Debian package sip-tester) as a phone on 127.0.0.1 (or ::1) over UDP or TCP, running one of
 * test/sip/scenarios/, for `calls` calls, giving up after `timeoutSeconds`.
 */
export async function startSipp(scenario: string, calls = 1, timeoutSeconds = 15, options: SippOptions = {}): Promise<SippRun> {
  const host = options.ipv6 === true ? '::1' : '127.0.0.1';
  const tcp = options.transport === 'tcp';
  const port = tcp ? await freeTcpPort(host) : await freeUdpPort(host);
  const dir = mkdtempSync(join(tmpdir(), 'hotprov-sipp-'));
  const logFile = join(dir, 'messages.log');
  const errorFile = join(dir, 'errors.log');
  const child = spawn(
    'sipp',
    [
      '-sf',
      join(SCENARIOS, scenario),
      '-i',
      host,
      '-p',
      String(port),
      '-t',
      tcp ? 't1' : 'u1',
      '-m',
      String(calls),
      '-nostdin',
      '-timeout',
      `${timeoutSeconds}s`,
      '-trace_logs',
      '-log_file',
      logFile,
      '-trace_err',
      '-error_file',
      errorFile,
    ],
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

import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

/**
 * hotprov as an operator starts it, with something wrong around it: it must stop with exit code 1 and one line
 * that names the variable or file to fix, never a stack trace.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NOBODY = 65534;

/** Each test's own folder for the database and the service user's home. */
const Faults = suite<{ dir: string }>('start-up faults', { dir: '' });
Faults.before.each((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hotprov-faults-'));
  chmodSync(ctx.dir, 0o777);
});
Faults.after.each(({ dir }) => rmSync(dir, { recursive: true, force: true }));

/** Runs src/main.ts to its end; `asNobody` drops root, so file permissions apply as they would to a service user. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

async function start(dir: string, env: Record<string, string>, asNobody = false): Promise<{ code: number | null; stderr: string }> {
  const httpPort = String(await freePort());
  const node = [process.execPath, '--import', 'tsx', join(ROOT, 'src/main.ts')];
  const [command, ...args] = asNobody ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...node] : node;
  const child = spawn(command as string, args, {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      HOTPROV_DB: join(dir, 'hotprov.db'),
      HOTPROV_HTTP_PORT: httpPort,
      HOTPROV_HTTP_HOST: '127.0.0.1',
      HOTPROV_SIP_PORT: '0',
      HOTPROV_ADMIN_TOKEN: 'faults-test-token-0123456789abcdef',
      HOTPROV_BASE_URL: 'http://127.0.0.1:8080',
      TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json'),
      ...(asNobody ? { HOME: dir, TMPDIR: dir } : {}),
      ...env,
    },
  });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  // A hotprov that starts although it should not is stopped, and the test fails on its exit code.
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    }),
  );
}

function assertOneLine(result: { code: number | null; stderr: string }, names: RegExp) {
  assert.is(result.code, 1, `exit code; stderr:\n${result.stderr}`);
  const lines = result.stderr.trim().split('\n');
  assert.is(lines.length, 1, `one line, not:\n${result.stderr}`);
  assert.match(lines[0] ?? '', /^hotprov: /);
  assert.match(lines[0] ?? '', names);
  assert.not.match(result.stderr, /\n\s+at /, 'no stack trace');
}

Faults('the HTTP port taken by another program', async ({ dir }) => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', () => resolve()));
  const port = (taken.address() as { port: number }).port;
  try {
    const result = await start(dir, { HOTPROV_HTTP_PORT: String(port) });
    assertOneLine(result, new RegExp(`HOTPROV_HTTP_PORT ${port}.*in use`));
  } finally {
    taken.close();
  }
});

Faults('the SIP port taken by another program', async ({ dir }) => {
  const taken = createSocket('udp4');
  await new Promise<void>((resolve) => taken.bind(0, '0.0.0.0', () => resolve()));
  const port = taken.address().port;
  try {
    const result = await start(dir, { HOTPROV_SIP_PORT: String(port) });
    assertOneLine(result, new RegExp(`HOTPROV_SIP_PORT ${port}.*in use`));
  } finally {
    taken.close();
  }
});

Faults('a database path that cannot be opened', async ({ dir }) => {
  writeFileSync(join(dir, 'not-a-folder'), 'x');
  const path = join(dir, 'not-a-folder', 'hotprov.db');
  assertOneLine(await start(dir, { HOTPROV_DB: path }), new RegExp(`HOTPROV_DB ${path} cannot be opened`));
});

Faults('a database file the service user may not write', async ({ dir }) => {
  const path = join(dir, 'data', 'hotprov.db');
  mkdirSync(join(dir, 'data'));
  new Database(path).close();
  chmodSync(join(dir, 'data'), 0o755);
  chmodSync(path, 0o444);
  chownSync(path, 0, 0);
  const result = await start(dir, { HOTPROV_DB: path }, true);
  assertOneLine(result, new RegExp(`HOTPROV_DB ${path}`));
  assert.match(result.stderr, /cannot be (opened for writing|written)/);
});

Faults('a migration that fails on the database it finds', async ({ dir }) => {
  const path = join(dir, 'hotprov.db');
  const db = new Database(path);
  db.exec('CREATE TABLE tenants (something_else TEXT)');
  db.close();
  assertOneLine(await start(dir, { HOTPROV_DB: path }), new RegExp(`HOTPROV_DB ${path}: the migrations in .*migrations failed: .*tenants`));
});

Faults.run();

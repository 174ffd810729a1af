import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { typedLine } from '../src/terminal.ts';

/** The command line as a person at a terminal uses it: keys as typed, --help, Ctrl-C. */
const Terminal = suite('terminal and command line');
const ROOT = fileURLToPath(new URL('..', import.meta.url));

Terminal('Backspace and Delete take a character back; Enter or Ctrl-D ends; Ctrl-C aborts', () => {
  assert.equal(typedLine('secret\u007f\u007fet\r'), { state: 'done', text: 'secret' });
  assert.equal(typedLine('ab\bc\n'), { state: 'done', text: 'ac' });
  assert.equal(typedLine('half'), { state: 'typing', text: 'half' });
  assert.equal(typedLine('abc\u0004'), { state: 'done', text: 'abc' });
  assert.equal(typedLine('abc\u0003\r'), { state: 'aborted', text: '' });
});

Terminal('--help prints the usage and succeeds; an unknown option is a usage error', () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, HOTPROV_DB: ':memory:' } });
  const help = run('--help');
  assert.is(help.status, 0);
  assert.match(help.stdout, /usage: hotprov admin create/);
  const wrong = run('--frobnicate');
  assert.is(wrong.status, 2);
  assert.match(wrong.stderr, /usage:/);
});

Terminal('admin create reads the password piped in, Backspace included; Ctrl-C creates nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hotprov-cli-'));
  try {
    const env = { ...process.env, HOTPROV_DB: join(dir, 'h.db'), HOTPROV_NEW_ADMIN_PASSWORD: '' };
    delete (env as Record<string, string | undefined>).HOTPROV_NEW_ADMIN_PASSWORD;
    const create = (name: string, input: string) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'admin', 'create', name], { cwd: ROOT, encoding: 'utf8', env, input });
    const made = create('alice', 'correct-horse-batteryX\u007f\n');
    assert.is(made.status, 0, made.stderr);
    assert.match(made.stdout, /created console user alice/);
    const aborted = create('bob', 'half-typ\u0003');
    assert.is(aborted.status, 130);
    const list = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'admin', 'list'], { cwd: ROOT, encoding: 'utf8', env });
    assert.match(list.stdout, /alice/);
    assert.not.match(list.stdout, /bob/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Terminal.run();

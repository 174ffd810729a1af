import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../src/config.ts';
import { checkHotprovDatabase } from '../../src/db/backup.ts';
import { openDb } from '../../src/db/client.ts';

/**
 * contrib/systemd/hotprov.service as shipped: systemd's own verifier finds nothing to say about it (where
 * systemd-analyze is installed), and its settings, read by a parser of the unit file syntax, run hotprov as its own
 * user, on its state directory, hardened, with no capability.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const UNITS = ['hotprov.service', 'hotprov-backup.service', 'hotprov-backup.timer'] as const;
const unitTextOf = (name: string) => readFileSync(join(ROOT, 'contrib', 'systemd', name), 'utf8');
const unitText = unitTextOf('hotprov.service');
/** A unit's text with this checkout for /opt/hotprov and this node for /usr/bin/node (and, given, a folder for /var/lib/hotprov). */
const localised = (text: string, stateDir?: string) => {
  const here = text.replaceAll('/usr/bin/node', process.execPath).replaceAll('/opt/hotprov', ROOT.replace(/\/$/, ''));
  return stateDir === undefined ? here : here.replaceAll('/var/lib/hotprov', stateDir);
};

/** A unit file's settings per section, each key's values in order (systemd.syntax(7): comments, continuations). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | null = null;
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header !== null) {
      current = new Map();
      sections.set(header[1] ?? '', current);
      continue;
    }
    const setting = /^([A-Za-z0-9]+)\s*=\s*(.*)$/.exec(line);
    if (setting === null || current === null) throw new Error(`line ${index + 1} is not a setting in a section: ${raw}`);
    const [, key = '', value = ''] = setting;
    current.set(key, [...(current.get(key) ?? []), value]);
  }
  return sections;
}

const unit = parseUnit(unitText);
const service = unit.get('Service') ?? new Map<string, string[]>();
/** The setting's last value (what systemd uses for single-valued settings); undefined when not set. */
const last = (key: string, of: Map<string, string[]> = service): string | undefined => of.get(key)?.at(-1);

const Unit = suite('contrib/systemd/hotprov.service');

Unit('runs hotprov as its own user from the built release, its database in the state directory', () => {
  assert.equal([...unit.keys()], ['Unit', 'Service', 'Install']);
  assert.is(last('User'), 'hotprov');
  assert.is(last('Group'), 'hotprov');
  assert.is(last('StateDirectory'), 'hotprov');
  assert.is(last('WorkingDirectory'), '/opt/hotprov');
  assert.is(last('EnvironmentFile'), '/etc/hotprov/hotprov.env');
  assert.is(last('ExecStart'), '/usr/bin/node /opt/hotprov/dist/main.js');
  // The database lives where StateDirectory= makes a writable folder; the generated token goes beside it.
  const env = Object.fromEntries((service.get('Environment') ?? []).map((e) => e.split('=', 2) as [string, string]));
  assert.is(env.HOTPROV_DB, '/var/lib/hotprov/hotprov.db');
  assert.is(loadConfig({ HOTPROV_DB: env.HOTPROV_DB ?? '' }).dbEngine, 'sqlite');
  assert.is(unit.get('Install')?.get('WantedBy')?.at(-1), 'multi-user.target');
  assert.ok(Number.parseInt(last('TimeoutStopSec') ?? '0', 10) >= 30, 'time to drain and finish NOTIFYs');
});

Unit('is hardened: read-only system, no home, private /tmp, no new privileges, IP sockets only, no capability', () => {
  const expected: Record<string, string> = {
    NoNewPrivileges: 'yes',
    ProtectSystem: 'strict',
    ProtectHome: 'yes',
    PrivateTmp: 'yes',
    PrivateDevices: 'yes',
    RestrictSUIDSGID: 'yes',
    SystemCallFilter: '@system-service',
    SystemCallArchitectures: 'native',
    CapabilityBoundingSet: '',
  };
  for (const [key, value] of Object.entries(expected)) assert.is(last(key), value, key);
  assert.equal((last('RestrictAddressFamilies') ?? '').split(/\s+/).sort(), ['AF_INET', 'AF_INET6', 'AF_NETLINK', 'AF_UNIX']);
  assert.is(last('AmbientCapabilities'), undefined, 'CAP_NET_BIND_SERVICE only as a commented option for a low port');
  assert.match(unitText, /^#AmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
  assert.is(last('MemoryDenyWriteExecute'), undefined, "Node's JIT needs writable executable memory");
});

Unit('systemd-analyze verify finds nothing to say about the service, the backup service or its timer', () => {
  const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));
  if (analyze === undefined) {
    process.stderr.write('  (systemd-analyze is not installed: the units were checked by the parser only; apt-get install systemd to verify them)\n');
    return;
  }
  // The verifier checks that each program run exists: this checkout and this node stand in for /opt/hotprov.
  const dir = mkdtempSync(join(tmpdir(), 'ops-systemd-'));
  try {
    for (const name of UNITS) writeFileSync(join(dir, name), localised(unitTextOf(name)));
    const result = spawnSync(analyze, ['verify', '--man=no', ...UNITS.map((name) => join(dir, name))], { encoding: 'utf8', timeout: 60_000, cwd: dir });
    assert.is(result.status, 0, result.stderr);
    // Unknown keys and values it cannot parse are warnings ("…, ignoring."), not failures: none is allowed.
    assert.is(result.stderr.trim(), '', result.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Unit('the backup service, run as written, leaves a dated consistent copy in the state directory; its timer is daily', async () => {
  const backup = parseUnit(unitTextOf('hotprov-backup.service')).get('Service') ?? new Map<string, string[]>();
  const timer = parseUnit(unitTextOf('hotprov-backup.timer'));
  assert.is(last('OnCalendar', timer.get('Timer')), 'daily');
  assert.is(last('Persistent', timer.get('Timer')), 'true');
  assert.is(last('User', backup), 'hotprov');
  assert.is(last('CapabilityBoundingSet', backup), '');
  assert.is(last('ProtectSystem', backup), 'strict');
  assert.equal(backup.get('StateDirectory'), ['hotprov hotprov/backups']);

  const state = mkdtempSync(join(tmpdir(), 'ops-systemd-state-'));
  try {
    mkdirSync(join(state, 'backups'));
    const db = join(state, 'hotprov.db');
    openDb(db).close();
    const local = parseUnit(localised(unitTextOf('hotprov-backup.service'), state)).get('Service') ?? new Map<string, string[]>();
    const env = Object.fromEntries((local.get('Environment') ?? []).map((e) => e.split('=', 2) as [string, string]));
    assert.is(env.HOTPROV_DB, db);
    // systemd turns %% into %; sh runs the rest as written.
    const run = (line: string) =>
      spawnSync('/bin/sh', ['-c', line.replaceAll('%%', '%').replace(/^\/bin\/sh -c '(.*)'$/, '$1')], {
        encoding: 'utf8',
        cwd: ROOT,
        env: { ...process.env, ...env, HOTPROV_BASE_URL: 'http://127.0.0.1:8080' },
        timeout: 120_000,
      });
    const made = run(last('ExecStart', local) ?? '');
    assert.is(made.status, 0, made.stderr);
    const copies = readdirSync(join(state, 'backups'));
    assert.is(copies.length, 1);
    assert.match(copies[0] ?? '', /^hotprov-\d{8}-\d{6}\.db$/);
    assert.is(checkHotprovDatabase(join(state, 'backups', copies[0] ?? '')).migrations > 0, true);
    // A copy from a month ago goes; today's stays.
    const old = join(state, 'backups', 'hotprov-20261101-020000.db');
    copyFileSync(join(state, 'backups', copies[0] ?? ''), old);
    const monthAgo = new Date(Date.now() - 30 * 86_400_000);
    utimesSync(old, monthAgo, monthAgo);
    const pruned = run(last('ExecStartPost', local) ?? '');
    assert.is(pruned.status, 0, pruned.stderr);
    assert.equal(readdirSync(join(state, 'backups')), copies, 'only the old copy went');
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});

Unit.run();

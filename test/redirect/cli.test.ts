import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openDb } from '../../src/db/client.ts';
import { tenants } from '../../src/db/schema.ts';
import { enrolDevice } from '../../src/domain/devices.ts';
import { ensureDefaultTenant } from '../../src/domain/tenants.ts';
import { loadVendorAdapters } from '../../src/vendors/adapters.ts';
import { createModelCatalog } from '../../src/vendors/catalog.ts';
import { runHotprov } from '../helpers/cli.ts';
import { type FakeService, fakeYealinkRps } from '../helpers/redirectFakes.ts';

const KEY = 'AK-hotprov-test';
const SECRET = 's3cr3t-key-material';

/** Runs `hotprov …` as a script would, and returns its exit code and output. */
const hotprov = (args: string[], env: Record<string, string>) => runHotprov(args, env);

interface CliContext {
  dir: string;
  rps: FakeService;
  /** The environment `hotprov` runs with: a database of 1,000 enrolled phones. */
  env: Record<string, string>;
}

const Cli = suite<CliContext>('redirect command line', {} as CliContext);
Cli.before.each(async (ctx) => {
  const dir = mkdtempSync(join(tmpdir(), 'hotprov-cli-'));
  const rps = await fakeYealinkRps(KEY, SECRET);
  const env = { HOTPROV_DB: join(dir, 'h.db'), HOTPROV_BASE_URL: 'http://prov.example.test:8080' };
  Object.assign(ctx, { dir, rps, env });
  const { db, close } = openDb(env.HOTPROV_DB ?? '');
  const tenant = await ensureDefaultTenant(db);
  const catalog = createModelCatalog(loadVendorAdapters().map((a) => a.profile));
  const deps = { db, now: () => new Date(), catalog, profilesChanged: async () => [] };
  for (let i = 0; i < 1000; i++) {
    await enrolDevice(deps, tenant.id, { name: 'test' }, { mac: `001565${i.toString(16).padStart(6, '0')}`, vendor: 'yealink', model: 'T54W' });
  }
  await db.update(tenants).set({ yealinkRpsUrl: rps.url, yealinkRpsKeyId: KEY, yealinkRpsSecret: SECRET });
  close();
});
Cli.after.each(async ({ rps, dir }) => {
  await rps.close();
  rmSync(dir, { recursive: true, force: true });
});

Cli('redirect sync registers a batch of 1,000 with a progress bar and a summary; exit 0', async ({ rps, env }) => {
  const run = await hotprov(['redirect', 'sync'], env);
  assert.is(run.code, 0, run.stderr);
  assert.is(run.stdout, 'registered 1000, failed 0, owned by another account 0, no service set up 0\n');
  assert.match(run.stderr, /registering 100\/1000 \(10%\)/);
  assert.match(run.stderr, /registering 1000\/1000 \(100%\)/);
  assert.is(rps.registered.size, 1000);
  // `rps`, the command's earlier name, is the same command: scripts written for it keep working
  const again = await hotprov(['rps', 'sync'], env);
  assert.is(again.stdout, 'registered 0, failed 0, owned by another account 0, no service set up 0\n', 'nothing left to do');
  const status = await hotprov(['redirect', 'status', '00:15:65:00:00:2a'], env);
  assert.equal([status.code, status.stdout], [0, '00156500002a\tregistered\tin this account\n']);
});

Cli('failures and foreign MACs give exit code 1 and say which', async ({ rps, env }) => {
  rps.foreign.add('001565000001');
  const one = await hotprov(['redirect', 'register', '001565000001'], env);
  assert.is(one.code, 1);
  assert.match(one.stdout, /^001565000001\tregistered_elsewhere\t/);
  rps.mode = 'error';
  const failing = await hotprov(['rps', 'register', '001565000002'], env);
  assert.is(failing.code, 1);
  assert.match(failing.stdout, /error\tHTTP 500/);
  const unknown = await hotprov(['redirect', 'register', '001565ffffff'], env);
  assert.equal([unknown.code, unknown.stderr], [1, 'hotprov: 001565ffffff is not enrolled\n']);
  const usage = await hotprov(['redirect', 'register'], env);
  assert.is(usage.code, 2);
  assert.match(usage.stderr, /hotprov redirect register <mac>/, 'the usage names the command by its name');
  assert.is((await hotprov(['rps', 'register'], env)).code, 2, 'the earlier name checks its arguments the same way');
});

Cli.run();

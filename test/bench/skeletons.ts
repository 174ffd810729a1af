/**
 * `node --import tsx test/bench/skeletons.ts`: a render from the template's skeleton against a full Handlebars
 * render, for the same plans (every vendor's main file, idle and with a user with 10 BLF keys), without the
 * database: µs per file for each step.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { createHotprov } from '../../src/composition.ts';
import { findDeviceById } from '../../src/domain/lookup.ts';
import { userAtDevice } from '../../src/domain/sessions.ts';
import { findTenant, tenantSettings } from '../../src/domain/tenants.ts';
import { keysOf } from '../../src/domain/users.ts';
import { silentLogger } from '../../src/log.ts';
import { buildDeviceProfile } from '../../src/provisioning/profile.ts';
import { escapeContext } from '../../src/vendors/escape.ts';
import { TEST_TOKEN, testConfig } from '../helpers/server.ts';
import { seed } from './seed.ts';

const DEVICES = 2000;
const dir = mkdtempSync(join(tmpdir(), 'hotprov-skeletons-'));
try {
  const path = join(dir, 'bench.db');
  await seed(path, DEVICES);
  const hotprov = await createHotprov({ config: testConfig({ HOTPROV_DB: path }), adminToken: TEST_TOKEN, log: silentLogger });
  const { adapters, templates } = hotprov;
  const plans: { adapter: (typeof adapters)[number]; model: string; plan: { template: string; context: unknown } }[] = [];
  for (let id = 1; id <= DEVICES; id++) {
    const row = await findDeviceById(hotprov.database.db, id);
    const adapter = adapters.find((a) => a.id === row?.vendor);
    if (row === undefined || adapter === undefined) throw new Error(`device ${id}`);
    const tenant = await findTenant(hotprov.database.db, row.tenantId);
    const model = adapter.profile.models.get(row.model);
    if (tenant === undefined || model === undefined) throw new Error(`device ${id}`);
    const user = await userAtDevice(hotprov.database.db, id);
    const profile = buildDeviceProfile({
      tenant: tenantSettings(tenant, hotprov.deps.config),
      device: row,
      model,
      user: user === undefined ? null : { row: user, keys: await keysOf(hotprov.database.db, user.id) },
      baseUrl: hotprov.deps.config.baseUrl,
    });
    const file = adapter.matchPath(adapter.deviceFiles(profile.device.mac, model).find((n) => adapter.matchPath(n)?.kind === 'device') ?? '');
    const plan = file === null ? null : adapter.planDeviceFile(file, profile);
    if (plan === null) throw new Error(`device ${id}: no main file`);
    plans.push({ adapter, model: row.model, plan });
  }
  const time = (name: string, f: (p: (typeof plans)[number]) => unknown) => {
    for (const p of plans) f(p);
    const started = performance.now();
    for (let r = 0; r < 3; r++) for (const p of plans) f(p);
    process.stdout.write(`  ${name.padEnd(52)} ${(((performance.now() - started) * 1000) / (3 * plans.length)).toFixed(1)}\n`);
  };
  process.stdout.write(`main files of ${DEVICES} seeded phones, µs per file:\n`);
  time('full: escape, Handlebars, sha1, deflate', ({ adapter, model, plan }) => {
    const body = templates.render(null, adapter.id, plan.template, model, escapeContext(plan.context, adapter.escape));
    createHash('sha1').update(body).digest('base64url');
    return deflateRawSync(body, { level: 1 });
  });
  time('skeleton: walk, escape what varies, ETag', ({ adapter, model, plan }) =>
    templates.renderFile(null, adapter.id, plan.template, model, plan.context, adapter.escape),
  );
  time('skeleton: and the bytes sent', ({ adapter, model, plan }) =>
    templates.renderFile(null, adapter.id, plan.template, model, plan.context, adapter.escape).bytes(),
  );
  await hotprov.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

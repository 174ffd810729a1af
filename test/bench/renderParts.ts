/**
 * `node --import tsx test/bench/renderParts.ts [--devices N]`: where a render's time goes, part by part, over a
 * seeded database: the database reads, the profile, the adapter's plan, escaping, Handlebars, the ETag hash,
 * deflate and the UTF-8 encoding. Each part is timed alone in a loop over every device (µs per device).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { openDb } from '../../src/db/client.ts';
import type { DeviceRow } from '../../src/db/schema.ts';
import { findDeviceById } from '../../src/domain/lookup.ts';
import { userAtDevice } from '../../src/domain/sessions.ts';
import { findTenant, tenantSettings } from '../../src/domain/tenants.ts';
import { keysOf } from '../../src/domain/users.ts';
import { buildDeviceProfile } from '../../src/provisioning/profile.ts';
import { createTemplateStore } from '../../src/provisioning/templates.ts';
import { loadVendorAdapters } from '../../src/vendors/adapters.ts';
import { escapeContext } from '../../src/vendors/escape.ts';
import { testConfig } from '../helpers/server.ts';
import { seed } from './seed.ts';

const i = process.argv.indexOf('--devices');
const DEVICES = i < 0 ? 4_000 : Number(process.argv[i + 1]);

const dir = mkdtempSync(join(tmpdir(), 'hotprov-parts-'));
try {
  const path = join(dir, 'bench.db');
  await seed(path, DEVICES);
  const config = testConfig({ HOTPROV_DB: path });
  const { db, close } = openDb(path);
  const adapters = new Map(loadVendorAdapters().map((a) => [a.id as string, a]));
  const templates = createTemplateStore();
  const ids = Array.from({ length: DEVICES }, (_, n) => n + 1);

  const tenant = async () => {
    const t = await findTenant(db, 1);
    if (t === undefined) throw new Error('no tenant');
    return tenantSettings(t, config);
  };
  const profileOf = async (row: DeviceRow) => {
    const adapter = adapters.get(row.vendor);
    const model = adapter?.profile.models.get(row.model);
    if (adapter === undefined || model === undefined) throw new Error('no model');
    const user = await userAtDevice(db, row.id);
    return {
      adapter,
      profile: buildDeviceProfile({
        tenant: await tenant(),
        device: row,
        model,
        user: user === undefined ? null : { row: user, keys: await keysOf(db, user.id) },
        baseUrl: config.baseUrl,
      }),
    };
  };
  const mainFile = async (row: DeviceRow) => {
    const { adapter, profile } = await profileOf(row);
    const file = adapter
      .deviceFiles(profile.device.mac, profile.device.model)
      .map((n) => adapter.matchPath(n))
      .find((f) => f?.kind === 'device');
    if (file == null) throw new Error('no main file');
    return { adapter, profile, file };
  };
  const parts = new Map<string, number>();
  const timed = <T>(name: string, f: () => T): T => {
    const started = performance.now();
    const out = f();
    parts.set(name, (parts.get(name) ?? 0) + performance.now() - started);
    return out;
  };
  /** `timed` for a part that awaits the database: the time until its answer arrives. */
  const timedAsync = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const out = await f();
    parts.set(name, (parts.get(name) ?? 0) + performance.now() - started);
    return out;
  };
  let chars = 0;
  const renderOne = async (id: number) => {
    const row = await timedAsync('device row read (findDeviceById)', async () => (await findDeviceById(db, id)) as DeviceRow);
    await timedAsync('tenant read + settings', () => tenant());
    await timedAsync('user at device + keys', async () => {
      const u = await userAtDevice(db, id);
      if (u !== undefined) await keysOf(db, u.id);
    });
    const { adapter, profile, file } = await timedAsync('profile (the reads again + key layout)', () => mainFile(row));
    const plan = timed('adapter plan', () => adapter.planDeviceFile(file, profile));
    if (plan === null) throw new Error('no plan');
    const escaped = timed('escaping (escapeContext)', () => escapeContext(plan.context, adapter.escape));
    const body = timed('Handlebars', () => templates.render(null, adapter.id, plan.template, profile.device.model.id, escaped));
    timed('ETag (sha1 of the text)', () => createHash('sha1').update(body).digest('base64url'));
    timed('deflate (level 1) + copy', () => Buffer.from(deflateRawSync(body, { level: 1 })));
    timed('UTF-8 encoding (Buffer.from)', () => Buffer.from(body, 'utf8'));
    const skeletal = timed('skeleton render: values escaped, ETag (replaces the 5 above)', () =>
      templates.renderFile(null, adapter.id, plan.template, profile.device.model.id, plan.context, adapter.escape),
    );
    timed('skeleton render: the bytes sent (runs and values joined)', () => skeletal.bytes());
    chars += body.length;
  };
  for (const id of ids) await renderOne(id); // warm-up
  parts.clear();
  chars = 0;
  const rounds = 2;
  for (let r = 0; r < rounds; r++) for (const id of ids) await renderOne(id);
  process.stdout.write(`render parts, ${DEVICES} devices (µs per device):\n`);
  let total = 0;
  for (const [name, ms] of parts) {
    const us = (ms * 1000) / (rounds * ids.length);
    total += us;
    process.stdout.write(`  ${name.padEnd(42)} ${us.toFixed(1)}\n`);
  }
  process.stdout.write(`  ${'sum'.padEnd(42)} ${total.toFixed(1)}\n  mean file ${Math.round(chars / (rounds * ids.length))} characters\n`);
  close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

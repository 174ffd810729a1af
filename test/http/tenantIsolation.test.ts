import { eq, inArray } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { returnedRow, tablesOf } from '../../src/db/client.ts';
import type { DomainDeps } from '../../src/domain/deps.ts';
import { deleteDevice, enrolDevice } from '../../src/domain/devices.ts';
import { dialCode } from '../../src/domain/featureCodes.ts';
import { isRefused, login, logout } from '../../src/domain/hotdesk.ts';
import { DeviceCreateBody } from '../../src/domain/inputs.ts';
import { findDeviceByMac, findUser } from '../../src/domain/lookup.ts';
import type { Mac } from '../../src/domain/mac.ts';
import { userAtDevice } from '../../src/domain/sessions.ts';
import { resyncTemplatePhones, saveTemplate, type TemplateEditing } from '../../src/domain/templates.ts';
import { updateTenant } from '../../src/domain/tenants.ts';
import { createUser } from '../../src/domain/users.ts';
import { readBody } from '../../src/edge/body.ts';
import { fakeAsterisk } from '../helpers/fakeAsterisk.ts';
import { basicAuthorization, LOOPBACK_NETWORKS, startTestServer, TEST_TOKEN, type TestServer } from '../helpers/server.ts';

/**
 * No bleed between tenants, over real HTTP: two tenants with the same setup (three phones, users 101 and 102, 101
 * seated) but their own registrar and idle-account pattern. Whatever one tenant does, every file of every phone of
 * the other answers the same bytes and ETag, and none of them is sent a NOTIFY; a login code or phone screen sees
 * only its phone's tenant's users; a MAC is enrolled in one tenant at most, and the others are told so in the same
 * words.
 */
const ACTOR = { name: 'test' };

interface Side {
  readonly id: number;
  readonly slug: 'default' | 'acme';
  /** Yealink T46U (user 101 seated), Snom D785, Poly VVX450. */
  readonly macs: readonly [Mac, Mac, Mac];
  /** The PIN of both its users. */
  readonly pin: string;
}

interface Setup {
  readonly t: TestServer;
  readonly sides: { readonly default: Side; readonly acme: Side };
}

const PHONES = [
  { vendor: 'yealink', model: 'T46U', oui: '001565' },
  { vendor: 'snom', model: 'D785', oui: '000413' },
  { vendor: 'polycom', model: 'VVX450', oui: '0004f2' },
] as const;

/** A route, for test (c) only, that enrols in any tenant the way the API enrols in its token's tenant. */
const ENROL_IN = /^\/test\/tenants\/(\d+)\/devices$/;

async function twoTenants(env: Record<string, string> = {}): Promise<Setup> {
  const t = await startTestServer({
    env,
    beforeListen(hotprov) {
      hotprov.app.use(async (ctx, next) => {
        const tenant = ENROL_IN.exec(ctx.path)?.[1];
        if (tenant === undefined || ctx.method !== 'POST') return next();
        const body = await readBody(ctx, DeviceCreateBody);
        const device = await enrolDevice(hotprov.deps.domain, Number(tenant), ACTOR, body);
        ctx.status = 201;
        ctx.body = { idleAccount: device.idleAccount };
      });
    },
  });
  const domain = t.hotprov.deps.domain;
  const acme = (
    await returnedRow(
      domain.db
        .insert(tablesOf(domain.db).tenants)
        .values({ slug: 'acme', name: 'Acme', trustedNetworks: JSON.stringify(LOOPBACK_NETWORKS) })
        .returning(),
    )
  ).id;
  await updateTenant(domain, acme, ACTOR, { registrarHost: 'pbx.acme.test', idleAccountPattern: 'acme-hd{n:3}' });
  const side = async (id: number, slug: Side['slug'], digit: string, pin: string): Promise<Side> => {
    const macs = PHONES.map((p, i) => `${p.oui}0${digit}000${i + 1}`) as unknown as Side['macs'];
    for (const [i, p] of PHONES.entries()) {
      await enrolDevice(domain, id, ACTOR, { mac: macs[i] as string, vendor: p.vendor, model: p.model });
    }
    for (const extension of ['101', '102']) {
      await createUser(domain, id, 4, ACTOR, {
        extension,
        displayName: `User ${extension} of ${slug}`,
        sipPassword: `sip-${slug}-${extension}`,
        pin,
        keys: [{ type: 'blf', value: extension === '101' ? '102' : '101', label: 'Colleague' }],
      });
    }
    return { id, slug, macs, pin };
  };
  const sides = { default: await side((await t.hotprov.deps.tenant()).id, 'default', 'a', '4826'), acme: await side(acme, 'acme', 'b', '7395') };
  for (const s of [sides.default, sides.acme]) {
    // Each phone fetches with its credentials from a trusted network: active.
    await filesOf(t, s);
    const seated = await login(domain, s.id, ACTOR, { device: s.macs[0], extension: '101', pin: s.pin, method: 'api' });
    assert.not.ok(isRefused(seated));
  }
  return { t, sides };
}

interface Served {
  readonly status: number;
  readonly etag: string | null;
  readonly body: string;
}

/** Every file every phone of the tenant fetches (its shared files too), with its own credentials under /prov/. */
async function filesOf(t: TestServer, side: Side): Promise<Map<string, Served>> {
  const out = new Map<string, Served>();
  for (const mac of side.macs) {
    const device = await findDeviceByMac(t.hotprov.database.db, mac);
    const adapter = t.hotprov.adapters.find((a) => a.id === device?.vendor);
    const model = adapter?.profile.models.get(device?.model ?? '');
    if (device === undefined || adapter === undefined || model === undefined) throw new Error(`${mac} is not enrolled`);
    for (const name of [...adapter.deviceFiles(mac, model), ...(adapter.linkedFiles ?? [])]) {
      const res = await fetch(`${t.url}/prov/${name}`, {
        headers: { authorization: basicAuthorization(device.provUsername ?? '', device.provPassword ?? ''), 'user-agent': '' },
      });
      out.set(`${mac} ${name}`, { status: res.status, etag: res.headers.get('etag'), body: await res.text() });
    }
  }
  return out;
}

const mainFile = async (t: TestServer, side: Side, phone: 0 | 1 | 2): Promise<string> => {
  const files = await filesOf(t, side);
  const mac = side.macs[phone];
  const name = [`${mac}.cfg`, `${mac.toUpperCase()}.xml`, `${mac}-hotprov.cfg`][phone] as string;
  const file = files.get(`${mac} ${name}`);
  if (file === undefined || file.status !== 200) throw new Error(`${name} was not served`);
  return file.body;
};

/** NOTIFYs opened for the tenant's phones: its sync jobs. */
const syncJobsOf = async (t: TestServer, side: Side): Promise<number> => {
  const { db } = t.hotprov.database;
  const { syncJobs } = tablesOf(db);
  const ids = await Promise.all(side.macs.map(async (mac) => (await findDeviceByMac(db, mac))?.id ?? -1));
  return (await db.select().from(syncJobs).where(inArray(syncJobs.deviceId, ids))).length;
};

/** A change one tenant makes, and a check that it did change its own phones (so the other's staying put means something). */
type Change = (t: TestServer, domain: DomainDeps, side: Side) => Promise<{ readonly changedOwn: boolean }>;

const CHANGES: Record<string, Change> = {
  async 'saving every template of every vendor, then re-syncing its phones'(t, domain, side) {
    const editing: TemplateEditing = { templates: t.hotprov.templates, check: () => null };
    const before = await mainFile(t, side, 0);
    for (const [vendor, names] of t.hotprov.templates.names()) {
      for (const name of names) {
        const xml = vendor !== 'yealink' || name.startsWith('screen-') || name.endsWith('.xml');
        const mark = xml ? `\n<!-- edited in ${side.slug} -->\n` : `\n# edited in ${side.slug}\n`;
        await saveTemplate(domain, editing, side.id, ACTOR, { vendor, name, source: `${t.hotprov.templates.currentSource(side.id, vendor, name)}${mark}` });
      }
      await resyncTemplatePhones(domain, side.id, { vendor, name: names[0] ?? '' });
    }
    const after = await mainFile(t, side, 0);
    return { changedOwn: before !== after && after.includes(`# edited in ${side.slug}`) };
  },
  async 'changing every setting phones see'(t, domain, side) {
    await updateTenant(domain, side.id, ACTOR, {
      registrarHost: `pbx.changed-${side.slug}.test`,
      loginCode: '*36',
      emergencyNumbers: ['110'],
      idleAccountPattern: 'changed{n:2}',
      pickupCode: '*9',
      phoneLanguage: 'de',
    });
    await t.hotprov.deps.onTenantChanged(side.id);
    return { changedOwn: (await mainFile(t, side, 0)).includes(`pbx.changed-${side.slug}.test`) };
  },
  async 'logging in and out, by API, feature code and phone screen'(t, domain, side) {
    const before = await mainFile(t, side, 1);
    assert.not.ok(isRefused(await login(domain, side.id, ACTOR, { device: side.macs[1], extension: '102', pin: side.pin, method: 'api' })));
    await logout(domain, side.id, ACTOR, { device: side.macs[0], method: 'api' });
    const code = await dialCode(domain, side.id, ACTOR, { loginCode: '*35', logoutCode: null }, { device: side.macs[2], digits: `*35*101*${side.pin}` });
    assert.is(code.result, 'logged_in');
    const device = await findDeviceByMac(domain.db, side.macs[2]);
    const screen = await fetch(`${t.url}/phone/${side.macs[2]}/${device?.screenSecret}/logout/confirm`);
    assert.match(await screen.text(), /Goodbye, User 101 of/);
    return { changedOwn: (await mainFile(t, side, 1)) !== before };
  },
  async 'enrolling a phone and deleting one'(t, domain, side) {
    const before = await mainFile(t, side, 2);
    await enrolDevice(domain, side.id, ACTOR, { mac: `001565${side.slug === 'acme' ? 'bb' : 'aa'}ff09`, vendor: 'yealink', model: 'T54W' });
    await deleteDevice(domain, side.id, ACTOR, side.macs[2]);
    return { changedOwn: (await mainFile(t, side, 2)) !== before };
  },
};

const NoBleed = suite('http/no bleed between tenants');

NoBleed('two tenants set up alike get their own registrar and idle accounts in every file', async () => {
  const { t, sides } = await twoTenants();
  try {
    const seated = { default: await mainFile(t, sides.default, 0), acme: await mainFile(t, sides.acme, 0) };
    assert.match(seated.default, /^account\.1\.sip_server\.1\.address = pbx\.example\.test$/m);
    assert.match(seated.acme, /^account\.1\.sip_server\.1\.address = pbx\.acme\.test$/m);
    assert.match(seated.default, /^account\.1\.password = sip-default-101$/m);
    assert.match(seated.acme, /^account\.1\.password = sip-acme-101$/m);
    const idle = { default: await mainFile(t, sides.default, 1), acme: await mainFile(t, sides.acme, 1) };
    assert.match(idle.default, /<user_name idx="1" perm="R">HD0002<\/user_name>/);
    assert.match(idle.acme, /<user_name idx="1" perm="R">acme-hd002<\/user_name>/);
    assert.match(idle.acme, /<user_host idx="1" perm="R">pbx\.acme\.test<\/user_host>/);
    for (const text of [...Object.values(seated), ...Object.values(idle)]) {
      const own = text.includes('acme') ? 'acme' : 'default';
      const other = own === 'acme' ? /pbx\.example\.test|HD000\d|sip-default-/ : /pbx\.acme\.test|acme-hd|sip-acme-/;
      assert.not.match(text, other, `a file of ${own} holds a value of the other tenant`);
    }
  } finally {
    await t.close();
  }
});

for (const [what, change] of Object.entries(CHANGES)) {
  for (const [actor, observer] of [
    ['acme', 'default'],
    ['default', 'acme'],
  ] as const) {
    NoBleed(`${what} in ${actor} leaves every byte and ETag of ${observer}'s phones alone, and sends them no NOTIFY`, async () => {
      const { t, sides } = await twoTenants();
      try {
        const watched = sides[observer];
        const before = await filesOf(t, watched);
        const jobs = await syncJobsOf(t, watched);
        const announced = t.changes.length;
        const { changedOwn } = await change(t, t.hotprov.deps.domain, sides[actor]);
        assert.ok(changedOwn, `the change did not change ${actor}'s own phones`);
        const after = await filesOf(t, watched);
        assert.equal([...after.keys()], [...before.keys()]);
        for (const [file, was] of before) assert.equal(after.get(file), was, `${observer}: ${file} changed`);
        // Rendered afresh too (after a restart, or once the cache let them go): still the same bytes and ETags.
        t.hotprov.provisioning.invalidateAll();
        const rendered = await filesOf(t, watched);
        for (const [file, was] of before) assert.equal(rendered.get(file), was, `${observer}: ${file} changed once rendered again`);
        assert.ok([...before.values()].filter((f) => f.status === 200).length >= 9, 'the phones were served their files (not a refusal before and after)');
        assert.is(await syncJobsOf(t, watched), jobs, `a NOTIFY was opened for a phone of ${observer}`);
        const watchedIds = new Set(await Promise.all(watched.macs.map(async (mac) => (await findDeviceByMac(t.hotprov.database.db, mac))?.id)));
        const touched = t.changes.slice(announced).flatMap((c) => c.deviceIds.filter((id) => watchedIds.has(id)));
        assert.equal(touched, [], `${observer}'s phones were announced as changed`);
      } finally {
        await t.close();
      }
    });
  }
}

NoBleed("the same extension in two tenants: a code or a screen at a tenant's phone logs in that tenant's user only", async () => {
  const { t, sides } = await twoTenants();
  const { db } = t.hotprov.database;
  const domain = t.hotprov.deps.domain;
  const seatedAt = async (mac: Mac) => {
    const device = await findDeviceByMac(db, mac);
    return device === undefined ? undefined : await userAtDevice(db, device.id);
  };
  const userOf = async (side: Side) => await findUser(db, side.id, '101');
  try {
    for (const [here, there] of [
      [sides.acme, sides.default],
      [sides.default, sides.acme],
    ] as const) {
      const theirUser = (await userOf(there))?.id;
      const theirSeats = await Promise.all(there.macs.map(async (mac) => (await seatedAt(mac))?.id));
      const theirDesk = there.macs.find((_, i) => theirSeats[i] === theirUser);
      assert.ok(theirDesk !== undefined, "the other tenant's 101 sits somewhere");
      const settings = await t.hotprov.deps.tenantSettingsOf(here.id);
      if (settings === undefined) throw new Error('no settings');
      // A feature code at this tenant's Snom, with the other tenant's 101's PIN: a wrong PIN, nobody seated.
      const call = { device: here.macs[1], digits: `*35*101*${there.pin}` };
      assert.is((await dialCode(domain, here.id, ACTOR, settings, call)).result, 'wrong_pin');
      assert.is(await seatedAt(here.macs[1]), undefined);
      const done = await dialCode(domain, here.id, ACTOR, settings, { ...call, digits: `*35*101*${here.pin}` });
      assert.is(done.result, 'logged_in');
      assert.is(await seatedAt(here.macs[0]), undefined, "101 moved from this tenant's Yealink");
      assert.is(done.user?.displayName, `User 101 of ${here.slug}`);
      assert.is((await seatedAt(here.macs[1]))?.id, (await userOf(here))?.id);
      assert.is((await seatedAt(theirDesk))?.id, (await userOf(there))?.id, "the other tenant's 101 still sits at its own desk");

      // The phone screen of this tenant's Poly: the other's PIN is wrong here, its own logs in its own 101.
      const poly = await findDeviceByMac(db, here.macs[2]);
      const submit = (pin: string) => fetch(`${t.url}/phone/${here.macs[2]}/${poly?.screenSecret}/login/submit?ext=101&pin=${pin}`).then((r) => r.text());
      assert.match(await submit(there.pin), /Wrong PIN/);
      assert.match(await submit(here.pin), new RegExp(`Welcome, User 101 of ${here.slug}\\.`));
      assert.is((await seatedAt(here.macs[2]))?.id, (await userOf(here))?.id);
      assert.is((await seatedAt(theirDesk))?.id, (await userOf(there))?.id);
    }
    // The default tenant's dialplan (its API) cannot reach another tenant's phone at all.
    const res = await t.api('POST', '/api/v1/hotdesk/code', { device: sides.acme.macs[0], digits: `*35*101*${sides.acme.pin}` });
    assert.is(res.body.result, 'unknown_device');
    // Wrong PINs were counted against the user of the phone's tenant, in that tenant.
    const { loginThrottles, users } = tablesOf(db);
    const counted = await db
      .select({ tenant: loginThrottles.tenantId, userTenant: users.tenantId, failures: loginThrottles.failures })
      .from(loginThrottles)
      .innerJoin(users, eq(users.id, loginThrottles.subjectId))
      .where(eq(loginThrottles.subject, 'user'));
    assert.ok(counted.length >= 2);
    for (const row of counted) assert.is(row.tenant, row.userTenant);
  } finally {
    await t.close();
  }
});

NoBleed('50 enrolments of one MAC at once, 25 in each tenant: one 201, 49 alike 409s', async () => {
  const { t, sides } = await twoTenants();
  try {
    const body = JSON.stringify({ mac: '80:5e:c0:12:34:56', vendor: 'yealink', model: 'T54W' });
    const headers = { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' };
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        fetch(i % 2 === 0 ? `${t.url}/api/v1/devices` : `${t.url}/test/tenants/${sides.acme.id}/devices`, { method: 'POST', headers, body }).then(
          async (r) => ({
            status: r.status,
            body: await r.text(),
          }),
        ),
      ),
    );
    assert.is(answers.filter((a) => a.status === 201).length, 1);
    const refused = answers.filter((a) => a.status === 409);
    assert.is(refused.length, 49);
    assert.equal(new Set(refused.map((a) => a.body)).size, 1, 'every refusal reads the same, whichever tenant holds the MAC');
    assert.equal(JSON.parse(refused[0]?.body ?? '{}'), { error: { code: 'conflict', message: 'MAC 805ec0123456 is already enrolled', field: 'mac' } });
    const holder = await findDeviceByMac(t.hotprov.database.db, '805ec0123456' as Mac);
    assert.ok(holder !== undefined && [sides.default.id, sides.acme.id].includes(holder.tenantId));
  } finally {
    await t.close();
  }
});

NoBleed("a re-sync goes the way its phone's tenant says: its relay, at its own PBX, with its own secret", async () => {
  const pbx = await fakeAsterisk('acme-ami-secret');
  // The configured registrar is another loopback address where nothing listens: a NOTIFY relayed there fails.
  const { t, sides } = await twoTenants({ HOTPROV_SIP_REGISTRAR: '127.0.0.2' });
  try {
    const domain = t.hotprov.deps.domain;
    // Acme relays through the Asterisk at its own registrar (no relay host of its own); the default tenant sends directly.
    await updateTenant(domain, sides.acme.id, ACTOR, {
      registrarHost: '127.0.0.1',
      notifyMode: 'asterisk',
      relayPort: pbx.port,
      relayUsername: 'hotprov',
      relaySecret: 'acme-ami-secret',
    });
    await t.hotprov.resync.settled();
    for (const side of [sides.default, sides.acme]) await logout(domain, side.id, ACTOR, { device: side.macs[0], method: 'api' });
    await t.hotprov.resync.settled();
    const jobOf = async (side: Side) => await t.hotprov.resync.latest((await findDeviceByMac(domain.db, side.macs[0]))?.id ?? -1);
    const acme = await jobOf(sides.acme);
    assert.equal([acme?.tenantId, acme?.mode, acme?.state, acme?.target], [sides.acme.id, 'asterisk', 'answered', 'acme-hd001']);
    assert.ok(pbx.endpoints.includes('acme-hd001'));
    const main = await jobOf(sides.default);
    assert.equal([main?.tenantId, main?.mode], [sides.default.id, 'direct']);
    assert.not.ok(
      pbx.endpoints.some((e) => e.startsWith('HD')),
      "no NOTIFY for the default tenant's phones went through acme's PBX",
    );
  } finally {
    await t.close();
    pbx.server.close();
  }
});

NoBleed.run();

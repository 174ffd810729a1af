import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { listDevices } from '../../src/domain/devices.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** The template editor in the API: a model's and a device's own versions, as the console has them. */
const Api = suite<{ t: TestServer }>('http: templates per vendor, model and device');
Api.before.each(async (ctx) => {
  ctx.t = await startTestServer();
  for (const [mac, model] of [
    ['001565000001', 'T46U'],
    ['001565000002', 'T46U'],
    ['001565000003', 'T54W'],
  ]) {
    assert.is((await ctx.t.api('POST', '/api/v1/devices', { mac, vendor: 'yealink', model })).status, 201);
  }
});
Api.after.each(async ({ t }) => {
  await t.close();
});

const UA = 'Yealink SIP-T46U 108.86.0.40';
const file = async (t: TestServer, mac: string) => (await t.phone(`/${mac}.cfg`, UA)).text();
const PATH = '/api/v1/templates/yealink/device.cfg';

Api('a device and a model get their own versions; the most specific wins; reset goes back a level', async ({ t }) => {
  const start = await t.api('GET', `${PATH}?device=HD0001`);
  assert.is(start.status, 200);
  assert.is(start.body.own, false);
  const source: string = start.body.source;
  for (const mac of ['001565000001', '001565000002', '001565000003']) await file(t, mac);

  const desk = await t.api('POST', PATH, { source: `${source}## desk\n`, device: '00:15:65:00:00:01' });
  assert.is(desk.status, 200);
  assert.equal([desk.body.own, desk.body.scope.level, desk.body.revisions.length], [true, 'device', 1]);
  const model = await t.api('POST', PATH, { source: `${source}## model\n`, model: 'T46U' });
  assert.is(model.status, 200);
  assert.match(await file(t, '001565000001'), /## desk/);
  assert.not.match(await file(t, '001565000001'), /## model/);
  assert.match(await file(t, '001565000002'), /## model/);
  assert.not.match(await file(t, '001565000003'), /## (desk|model)/);

  const listed = await t.api('GET', '/api/v1/templates');
  const versions = listed.body
    .find((v: { vendor: string; name: string }) => v.vendor === 'yealink' && v.name === 'device.cfg')
    .versions.map((v: { scope: { level: string } }) => v.scope.level);
  assert.equal(versions.sort(), ['device', 'model']);

  const reset = await t.api('POST', `${PATH}/reset`, { device: 'HD0001' });
  assert.is(reset.status, 200);
  assert.is(reset.body.own, false);
  assert.match(await file(t, '001565000001'), /## model/);
  assert.equal((await t.api('POST', `${PATH}/resync`, { model: 'T46U' })).body, { phones: 2 });
  assert.equal((await t.api('POST', `${PATH}/merge`, { model: 'T46U' })).body, { text: null, conflicts: [] }, 'nothing shipped changed');
});

Api("a save forgets the rendered files of its scope's phones only: one device, or the model's, never the tenant's", async ({ t }) => {
  const { provisioning } = t.hotprov;
  const forgotten: string[] = [];
  const ids = new Map<number, string>();
  for (const device of await listDevices(t.hotprov.database.db, (await t.hotprov.deps.tenant()).id)) ids.set(device.id, device.idleAccount);
  const spy = <K extends 'invalidate' | 'invalidateTenant' | 'invalidateShared'>(
    name: K,
    describe: (...args: Parameters<(typeof provisioning)[K]>) => string,
  ) => {
    const real = provisioning[name].bind(provisioning) as (...args: Parameters<(typeof provisioning)[K]>) => void;
    (provisioning as Record<K, unknown>)[name] = (...args: Parameters<(typeof provisioning)[K]>) => {
      forgotten.push(describe(...args));
      real(...args);
    };
  };
  spy(
    'invalidate',
    (deviceIds) =>
      `devices ${deviceIds
        .map((id) => ids.get(id))
        .sort()
        .join(' ')}`,
  );
  spy('invalidateTenant', () => 'the whole tenant');
  spy('invalidateShared', () => "the tenant's shared files");
  const source = (await t.api('GET', PATH)).body.source as string;

  assert.is((await t.api('POST', PATH, { source: `${source}## desk\n`, device: 'HD0001' })).status, 200);
  assert.equal(forgotten.splice(0), ['devices HD0001']);
  assert.is((await t.api('POST', PATH, { source: `${source}## model\n`, model: 'T46U' })).status, 200);
  // The model's phones are read after the save: waited for, not timed.
  for (let turn = 0; forgotten.length < 2 && turn < 100_000; turn++) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(forgotten.splice(0), ["the tenant's shared files", 'devices HD0001 HD0002']);
});

Api('a broken version is refused at any level; a model or device the vendor has not is not found', async ({ t }) => {
  const broken = await t.api('POST', PATH, { source: '{{#each}}', model: 'T46U' });
  assert.is(broken.status, 422);
  assert.is(broken.body.error.code, 'template_refused');
  assert.is((await t.api('POST', PATH, { source: 'x', model: 'NOPE' })).status, 404);
  assert.is((await t.api('GET', `${PATH}?device=HD9999`)).status, 404);
  assert.is((await t.api('POST', '/api/v1/templates/snom/device.xml', { source: 'x', device: 'HD0001' })).status, 404, "a Yealink is not a Snom's device");
});

Api.run();

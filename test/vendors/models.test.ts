import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseMac } from '../../src/domain/mac.ts';
import { loadVendorAdapters, VENDOR_PROFILES_DIR } from '../../src/vendors/adapters.ts';
import { createModelCatalog } from '../../src/vendors/catalog.ts';
import { CONSOLE_PASSWORD, launchBrowser, signInToConsole } from '../helpers/browser.ts';
import { startTestServer } from '../helpers/server.ts';

/**
 * The model catalogue in vendor-profiles/: the models an office buys are there, every fact about each is
 * sourced (or says UNVERIFIED), and `poly` names the Poly adapter wherever a vendor is given.
 */
const adapters = loadVendorAdapters();
const byVendor = new Map(adapters.map((a) => [a.id as string, a]));

/** The models issue 13 asks for, as a buyer names them. */
const REQUIRED: Readonly<Record<string, readonly string[]>> = {
  yealink: ['T31G', 'T33G', 'T34W', 'T43U', 'T44U', 'T46U', 'T48U', 'T53W', 'T54W', 'T57W', 'T58W'],
  snom: ['D713', 'D717', 'D735', 'D765', 'D785', 'D862', 'D865'],
  polycom: ['VVX 150', 'VVX 250', 'VVX 350', 'VVX 450', 'Edge E350', 'Edge E450', 'Edge E550', 'CCX 400', 'CCX 600'],
};

const Catalog = suite('model catalogue');

Catalog('at least 24 models, and every model an office asked for is found by the name a buyer uses', () => {
  const total = adapters.reduce((n, a) => n + a.profile.models.size, 0);
  assert.ok(total >= 24, `only ${total} models`);
  for (const [vendor, names] of Object.entries(REQUIRED)) {
    for (const name of names) assert.ok(byVendor.get(vendor)?.profile.findModel(name) !== undefined, `${vendor} ${name} is missing`);
  }
});

Catalog('every fact about every model names its source, or says UNVERIFIED', () => {
  for (const adapter of adapters) {
    for (const model of adapter.profile.models.values()) {
      const where = `${adapter.id} ${model.id}`;
      for (const fact of ['lineKeys', 'accounts', 'expansion', 'userAgent']) {
        assert.ok((model.sources[fact] ?? '').length > 10, `${where}: no source for ${fact}`);
      }
      if (model.keysPerPage !== undefined) assert.ok((model.sources.keysPerPage ?? '').length > 10, `${where}: no source for keysPerPage`);
      if (adapter.id === 'yealink') {
        assert.ok(model.hardwareId !== undefined, `${where}: no hardware id, so no common file`);
        assert.ok((model.sources.hardwareId ?? '').length > 10, `${where}: no source for the hardware id`);
      }
    }
  }
});

Catalog('every model has a real User-Agent sample read as that model, or says UNVERIFIED', () => {
  for (const adapter of adapters) {
    for (const model of adapter.profile.models.values()) {
      const sample = adapter.profile.userAgentSamples.find((s) => s.catalogModel === model.id);
      if (sample === undefined) {
        assert.match(model.sources.userAgent ?? '', /UNVERIFIED/, `${adapter.id} ${model.id}: no sample and not marked UNVERIFIED`);
        continue;
      }
      assert.ok(sample.firmware !== null, `${sample.ua}: a sample should carry the firmware`);
      const info = adapter.profile.parseUserAgent(sample.ua);
      assert.is(info === null ? undefined : adapter.profile.findModel(info.model)?.id, model.id);
    }
  }
});

Catalog('each Yealink model asks for its own common file, and that file is served for that model', () => {
  const yealink = byVendor.get('yealink');
  assert.ok(yealink !== undefined);
  const expected: Record<string, string> = {
    // The T3x share 124.x firmware but not the hardware id: a T31G asks for ...123.cfg, a T34W for ...171.cfg.
    T31G: 'y000000000123.cfg',
    T33G: 'y000000000124.cfg',
    T34W: 'y000000000171.cfg',
    T43U: 'y000000000107.cfg',
    T44U: 'y000000000173.cfg',
    T46U: 'y000000000108.cfg',
    T48U: 'y000000000109.cfg',
    T53W: 'y000000000095.cfg',
    T54W: 'y000000000096.cfg',
    T57W: 'y000000000097.cfg',
    T58W: 'y000000000150.cfg',
  };
  const mac = parseMac('805ec0112233');
  assert.ok(mac !== null);
  for (const model of yealink.profile.models.values()) {
    const files = yealink.deviceFiles(mac, model);
    assert.is(files[1], expected[model.id], model.id);
    assert.is(yealink.matchPath(files[1] ?? '')?.model?.id, model.id);
  }
});

Catalog('a vendor profile where two Yealink models share a hardware id is refused at start-up', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hotprov-profiles-'));
  try {
    for (const vendor of ['yealink', 'snom', 'polycom']) {
      const data = JSON.parse(readFileSync(join(VENDOR_PROFILES_DIR, `${vendor}.json`), 'utf8'));
      if (vendor === 'yealink') data.models.T34W.hardwareId = '124';
      writeFileSync(join(dir, `${vendor}.json`), JSON.stringify(data));
    }
    assert.throws(() => loadVendorAdapters(dir), /T33G and T34W share hardware id 124/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Catalog('`poly` and `Polycom` name the Poly adapter; unknown vendors are still refused', () => {
  const catalog = createModelCatalog(adapters.map((a) => a.profile));
  assert.equal(catalog.findModel('poly', 'CCX 600'), { vendor: 'polycom', model: 'CCX600' });
  assert.equal(catalog.findModel(' Polycom ', 'edge_e550'), { vendor: 'polycom', model: 'E550' });
  assert.equal(catalog.findModel('POLY', 'vvx150'), { vendor: 'polycom', model: 'VVX150' });
  assert.is(catalog.findModel('polyx', 'VVX150'), null);
  assert.is(catalog.findModel('poly', 'T46U'), null);
});

Catalog.run();

/** One browser and page for the suite's console tests. */
interface PolyContext {
  browser: Browser;
  page: Page;
}
const Poly = suite<PolyContext>('vendor id poly over the API and the console', {} as PolyContext);
Poly.before(async (ctx) => {
  ctx.browser = await launchBrowser();
  ctx.page = await ctx.browser.newPage();
});
Poly.after(async ({ browser }) => {
  await browser.close();
});

Poly('the API enrols a phone given as vendor poly, and it gets the Poly files', async () => {
  const t = await startTestServer();
  try {
    const res = await t.api('POST', '/api/v1/devices', { mac: '48:25:67:b5:31:3f', vendor: 'poly', model: 'CCX 600' });
    assert.is(res.status, 201);
    assert.is(res.body.vendor, 'polycom');
    assert.is(res.body.model, 'CCX600');
    assert.equal(res.body.files, ['482567b5313f.cfg', '482567b5313f-hotprov.cfg', '482567b5313f-directory.xml', '482567b5313f-phone.cfg']);
    const ua = 'FileTransport PolyCCX-CCX_600-UA/8.0.2.3267 (SN:482567b5313f) Type/Application';
    const device = await t.phone('/482567b5313f-hotprov.cfg', ua);
    assert.is(device.status, 200);
    assert.match(await device.text(), /reg\.1\.address="HD0001"/);
  } finally {
    await t.close();
  }
});

Poly('the console CSV import accepts poly as the vendor and enrols the row as a Poly phone', async ({ page }) => {
  const t = await startTestServer({ env: { HOTPROV_ADMIN_PASSWORD: CONSOLE_PASSWORD } });
  try {
    await signInToConsole(page, t.url);
    await page.goto(`${t.url}/console/devices`);
    await page.fill('#import-form textarea[name=csv]', 'mac,vendor,model,label\n64:16:7f:00:00:01,poly,Edge E350,Front desk\n');
    await page.click('#import-form button:has-text("Check the rows")');
    // What the row does, in its own cell: a new device.
    assert.is((await page.textContent('#import-preview tbody tr td:last-child'))?.trim(), 'new');
    await page.click('button[name=action][value=import]');
    const listed = await t.api('GET', '/api/v1/devices');
    assert.equal(
      listed.body.map((d: { vendor: string; model: string; label: string }) => [d.vendor, d.model, d.label]),
      [['polycom', 'E350', 'Front desk']],
    );
  } finally {
    await t.close();
  }
});

Poly.run();

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadVendorAdapters } from '../../src/vendors/adapters.ts';

/** Table test: every real User-Agent sample in vendor-profiles/ reads as its vendor, model, firmware and MAC. */
const adapters = loadVendorAdapters();

for (const adapter of adapters) {
  const UA = suite(`user agents/${adapter.id}`);
  for (const sample of adapter.profile.userAgentSamples) {
    UA(sample.ua, () => {
      const info = adapter.profile.parseUserAgent(sample.ua);
      if (sample.model === null) {
        assert.is(info, null);
        return;
      }
      assert.ok(info !== null, 'not recognised');
      assert.equal({ model: info.model, firmware: info.firmware, mac: info.mac }, { model: sample.model, firmware: sample.firmware, mac: sample.mac });
      assert.is(adapter.profile.findModel(info.model)?.id ?? null, sample.catalogModel, 'catalogue model');
      for (const other of adapters) {
        if (other !== adapter) assert.is(other.profile.parseUserAgent(sample.ua), null, `${other.id} also claims it`);
      }
    });
  }
  UA("a browser or curl is nobody's phone", () => {
    assert.is(adapter.profile.parseUserAgent('curl/8.5.0'), null);
    assert.is(adapter.profile.parseUserAgent('Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0'), null);
  });
  UA('every model in the profile is found by the names people and phones use', () => {
    for (const model of adapter.profile.models.values()) {
      assert.is(adapter.profile.findModel(model.id.toLowerCase())?.id, model.id);
      assert.is(adapter.profile.findModel(model.name)?.id, model.id);
    }
  });
  UA.run();
}

const Poly = suite('user agents/polycom boot stage');
Poly('the updater stage reports no firmware: that version is the boot ROM', () => {
  const polycom = adapters.find((a) => a.id === 'polycom');
  const info = polycom?.profile.parseUserAgent('FileTransport PolycomVVX-VVX_450-UA/5.9.1.0615 Type/Updater');
  assert.is(info?.model, 'VVX450');
  assert.is(info?.firmware, null);
});
Poly.run();

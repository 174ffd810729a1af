import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHotprov, type Hotprov } from '../../src/composition.ts';
import { enrolDevice } from '../../src/domain/devices.ts';
import { login } from '../../src/domain/hotdesk.ts';
import { createUser } from '../../src/domain/users.ts';
import { silentLogger } from '../../src/log.ts';
import { escapeCfgValue, escapeXml } from '../../src/vendors/escape.ts';
import { TEST_TOKEN, testConfig } from '../helpers/server.ts';
import { xmlError, xmlNames } from '../helpers/xml.ts';

const HOSTILE = [
  'Eve\r\naccount.1.password = stolen',
  'Eve\nlinekey.1.type = 0',
  '"/><fkey idx="0" perm="R">speed 900</fkey><x a="',
  '" reg.1.auth.password="stolen',
  'A & B <C> \'q\' "d" = e',
  ']]><!-- -->\u0000\u0007\u001b[31m\u2028',
];

const ACTOR = { name: 'test' };

/** Renders every file of one phone per vendor for a user whose name and key labels are `text`. */
async function renderWith(text: string): Promise<Map<string, string>> {
  const hotprov: Hotprov = await createHotprov({ config: testConfig(), adminToken: TEST_TOKEN, log: silentLogger });
  const deps = hotprov.deps.domain;
  const tenant = await hotprov.deps.tenant();
  try {
    await createUser(deps, tenant.id, 4, ACTOR, {
      extension: '201',
      displayName: text,
      sipPassword: text,
      pin: '4826',
      keys: [
        { type: 'blf', value: '202', label: text },
        { type: 'speed', value: text, label: text },
      ],
    });
    const out = new Map<string, string>();
    const phones = [
      ['yealink', 'T46U', '001565000001'],
      ['snom', 'D785', '000413000002'],
      ['polycom', 'VVX450', '0004f2000003'],
    ] as const;
    for (const [vendor, model, mac] of phones) {
      const device = await enrolDevice(deps, tenant.id, ACTOR, { mac, vendor, model, label: text, location: text });
      await login(deps, tenant.id, ACTOR, { device: mac, extension: '201', pin: '4826', method: 'api' });
      for (const f of await hotprov.provisioning.renderDeviceFiles(device)) out.set(`${vendor}/${f.name}`, f.body);
    }
    return out;
  } finally {
    await hotprov.close();
  }
}

const Escaping = suite('escaping per file format');

const benign = await renderWith('Plain Name');

for (const text of HOSTILE) {
  Escaping(`${JSON.stringify(text)} cannot add a line, element or attribute`, async () => {
    const hostile = await renderWith(text);
    for (const [name, body] of hostile) {
      const reference = benign.get(name) ?? '';
      if (name.startsWith('yealink/')) {
        assert.is(body.split('\n').length, reference.split('\n').length, `${name}: line count changed`);
        const keys = (b: string) => b.split('\n').map((l) => l.split('=')[0]?.trim());
        assert.equal(keys(body), keys(reference), `${name}: a setting name changed`);
        assert.not.match(body, /\r/);
      } else {
        assert.is(xmlError(body), null, `${name} is not well-formed`);
        const a = xmlNames(body);
        const b = xmlNames(reference);
        assert.equal([...a.elements].sort(), [...b.elements].sort(), `${name}: elements changed`);
        assert.equal([...a.attributes].sort(), [...b.attributes].sort(), `${name}: attributes changed`);
        assert.is((body.match(/<fkey /g) ?? []).length, (reference.match(/<fkey /g) ?? []).length);
      }
    }
  });
}

Escaping('names outside ASCII reach the phone intact, emoji included', async () => {
  const name = 'Zoë Ørsted 😀 李';
  const files = await renderWith(name);
  for (const file of ['yealink/001565000001.cfg', 'snom/000413000002.xml', 'polycom/0004f2000003-hotprov.cfg']) {
    assert.ok(files.get(file)?.includes(name), `${file} lost part of the name`);
  }
  assert.is(escapeXml('a\ud800b'), 'a\ufffdb', 'a lone surrogate cannot be encoded and is replaced');
});

Escaping('XML escaping keeps the text readable once parsed', () => {
  assert.is(escapeXml(`a&b <c> "d" 'e'`), 'a&amp;b &lt;c&gt; &quot;d&quot; &apos;e&apos;');
  assert.is(escapeXml('line\nbreak'), 'line break');
});

Escaping('cfg escaping only removes what would end the line', () => {
  assert.is(escapeCfgValue('a = b <c> & "d"'), 'a = b <c> & "d"');
  assert.is(escapeCfgValue('x\r\ny'), 'x  y');
});

Escaping.run();

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, loadConfig } from '../src/config.ts';

const Config = suite('config');

Config('defaults give a working start on the embedded SQLite database', () => {
  const config = loadConfig({ HOTPROV_BASE_URL: 'http://10.0.0.5:8080' });
  assert.is(config.httpPort, 8080);
  assert.is(config.dbPath, 'data/hotprov.db');
  assert.is(config.sipPort, 5060);
  assert.is(config.adminToken, null);
  assert.equal(config.registrar, { host: '10.0.0.5', port: 5060, transport: 'udp' });
});

Config('the base URL loses its trailing slash and the registrar follows it unless set', () => {
  const config = loadConfig({ HOTPROV_BASE_URL: 'https://prov.example.com/phones/', HOTPROV_SIP_REGISTRAR: 'pbx.example.com' });
  assert.is(config.baseUrl, 'https://prov.example.com/phones');
  assert.is(config.registrar.host, 'pbx.example.com');
});

Config('HOTPROV_SIP_PORT 0 means any free port', () => {
  assert.is(loadConfig({ HOTPROV_SIP_PORT: '0' }).sipPort, 0);
});

Config('every bad variable is reported at once, each by name', () => {
  try {
    loadConfig({
      HOTPROV_HTTP_PORT: 'eighty',
      HOTPROV_SIP_PORT: '70000',
      HOTPROV_SIP_TRANSPORT: 'sctp',
      HOTPROV_BASE_URL: 'ftp://x',
      HOTPROV_ADMIN_TOKEN: 'short',
      HOTPROV_SIP_REGISTRAR: 'pbx example',
    });
    assert.unreachable('loadConfig accepted bad values');
  } catch (err) {
    assert.instance(err, ConfigError);
    const text = (err as ConfigError).problems.join('\n');
    for (const name of [
      'HOTPROV_HTTP_PORT',
      'HOTPROV_SIP_PORT',
      'HOTPROV_SIP_TRANSPORT',
      'HOTPROV_BASE_URL',
      'HOTPROV_ADMIN_TOKEN',
      'HOTPROV_SIP_REGISTRAR',
    ]) {
      assert.ok(text.includes(name), `${name} missing from: ${text}`);
    }
    assert.is((err as ConfigError).problems.length, 6);
  }
});

Config('HOTPROV_SIP_TLS_CA is read once; a missing file or one without a certificate is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hotprov-config-'));
  try {
    writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    writeFileSync(join(dir, 'empty.pem'), 'nothing here\n');
    assert.match(loadConfig({ HOTPROV_SIP_TLS_CA: join(dir, 'ca.pem') }).sipTlsCa ?? '', /BEGIN CERTIFICATE/);
    assert.is(loadConfig({}).sipTlsCa, null);
    for (const [file, why] of [['missing.pem', /cannot be read/], ['empty.pem', /holds no PEM certificate/]] as const) {
      try {
        loadConfig({ HOTPROV_SIP_TLS_CA: join(dir, file) });
        assert.unreachable(`${file} accepted`);
      } catch (err) {
        assert.instance(err, ConfigError);
        assert.match((err as ConfigError).problems.join('\n'), why);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Config.run();

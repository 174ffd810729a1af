import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, loadConfig } from '../src/config.ts';
import { createTestPki, type TestPki } from './helpers/tls.ts';

const Config = suite('config');

Config("every variable hotprov reads has a row in the README's configuration table", () => {
  const source = readFileSync(new URL('../src/config.ts', import.meta.url), 'utf8');
  const table = /\n## Configuration\n([\s\S]*?)\n## /.exec(readFileSync(new URL('../README.md', import.meta.url), 'utf8'))?.[1] ?? '';
  const read = [...new Set([...source.matchAll(/^ {2}(HOTPROV_[A-Z_]+): /gm)].map((m) => m[1]))];
  assert.ok(read.length > 25, 'the variables are found in config.ts');
  const missing = read.filter((name) => !table.includes(`| \`${name}\` |`));
  assert.equal(missing, []);
});

Config('webhook delivery settings: defaults, and a bad list of waits refused with the variable named', () => {
  const config = loadConfig({});
  assert.equal(config.webhooks.retrySeconds, [30, 120, 600, 1800, 7200, 21600, 43200]);
  assert.is(config.webhooks.timeoutSeconds, 10);
  assert.equal(config.webhooks.allow, []);
  assert.equal(loadConfig({ HOTPROV_WEBHOOK_RETRY_SECONDS: '0.5, 2,60' }).webhooks.retrySeconds, [0.5, 2, 60]);
  for (const bad of ['soon', '10,,20', '-5', '0', '700000']) {
    try {
      loadConfig({ HOTPROV_WEBHOOK_RETRY_SECONDS: bad });
      assert.unreachable(bad);
    } catch (err) {
      assert.instance(err, ConfigError, bad);
      assert.match((err as ConfigError).message, /HOTPROV_WEBHOOK_RETRY_SECONDS/, bad);
    }
  }
});

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

Config("HOTPROV_SIP_HOST: what a node's NOTIFYs name in Via and Contact, the base URL's host unless set", () => {
  assert.is(loadConfig({ HOTPROV_BASE_URL: 'https://prov.example.com' }).sipHost, 'prov.example.com');
  assert.is(loadConfig({ HOTPROV_BASE_URL: 'http://[fd00::5]:8080' }).sipHost, 'fd00::5');
  // Behind a load balancer: the base URL is the balancer's, each node names its own address.
  assert.is(loadConfig({ HOTPROV_BASE_URL: 'https://prov.example.com', HOTPROV_SIP_HOST: '10.0.0.12' }).sipHost, '10.0.0.12');
  assert.throws(
    () => loadConfig({ HOTPROV_SIP_HOST: 'node one' }),
    (err: Error) => /HOTPROV_SIP_HOST/.test(err.message),
  );
});

Config('HOTPROV_SIP_PORT 0 means any free port', () => {
  assert.is(loadConfig({ HOTPROV_SIP_PORT: '0' }).sipPort, 0);
});

Config('HOTPROV_DRAIN_SECONDS: 0 by default (SIGTERM closes at once), a whole number of seconds otherwise', () => {
  assert.is(loadConfig({}).drainSeconds, 0);
  assert.is(loadConfig({ HOTPROV_DRAIN_SECONDS: '10' }).drainSeconds, 10);
  assert.throws(
    () => loadConfig({ HOTPROV_DRAIN_SECONDS: 'soon' }),
    (err: Error) => /HOTPROV_DRAIN_SECONDS/.test(err.message),
  );
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
    for (const name of ['HOTPROV_HTTP_PORT', 'HOTPROV_SIP_PORT', 'HOTPROV_SIP_TRANSPORT', 'HOTPROV_BASE_URL', 'HOTPROV_ADMIN_TOKEN', 'HOTPROV_SIP_REGISTRAR']) {
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
    for (const [file, why] of [
      ['missing.pem', /cannot be read/],
      ['empty.pem', /holds no PEM certificate/],
    ] as const) {
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

Config('values are trimmed and read in any case; yes/no, CIDR lists and the log format each say what they expect', () => {
  const config = loadConfig({
    HOTPROV_TRUST_PROXY: ' TRUE ',
    HOTPROV_LOG_LEVEL: 'Debug',
    HOTPROV_LOG_FORMAT: 'PRETTY',
    HOTPROV_PHONE_ALLOW: '10.0.0.0/8, 2001:db8::/32,',
  });
  assert.is(config.trustProxy, true);
  assert.is(config.logLevel, 'debug');
  assert.is(config.logFormat, 'pretty');
  assert.equal(config.phoneGuard.allow, ['10.0.0.0/8', '2001:db8::/32']);
  assert.is(loadConfig({}).logFormat, 'json', 'JSON lines unless a person asks');
  assert.equal(problemsOf({ HOTPROV_TRUST_PROXY: 'Yes', HOTPROV_LOG_FORMAT: 'xml', HOTPROV_PHONE_ALLOW: '10.0.0.0/33,nowhere', HOTPROV_CACHE_MB: '-1' }), [
    'HOTPROV_CACHE_MB="-1" must be a whole number from 0 to 65536',
    'HOTPROV_TRUST_PROXY="yes" must be one of: true, false, 1, 0',
    'HOTPROV_PHONE_ALLOW: "10.0.0.0/33": the prefix length must be 0 to 32',
    'HOTPROV_PHONE_ALLOW: "nowhere" is not an IPv4 or IPv6 address or network',
    'HOTPROV_LOG_FORMAT="xml" must be one of: json, pretty',
  ]);
});

Config('a secret that is too short is named, never repeated', () => {
  const problems = problemsOf({ HOTPROV_ADMIN_TOKEN: 'tooshort', HOTPROV_ADMIN_PASSWORD: 'hunter2' });
  assert.equal(problems, ['HOTPROV_ADMIN_TOKEN must be at least 16 characters long', 'HOTPROV_ADMIN_PASSWORD must be at least 10 characters long']);
});

Config('a PostgreSQL URL in HOTPROV_DB selects PostgreSQL; one naming no host or database is refused without its password', () => {
  for (const url of ['postgres://hotprov:s3cret-pw@db.example.com/hotprov', 'postgresql://hotprov:s3cret-pw@127.0.0.1:5432/hotprov', 'POSTGRES://x@y/z']) {
    assert.is(loadConfig({ HOTPROV_DB: url, HOTPROV_ADMIN_TOKEN: 'a-token-of-16-chars-or-more' }).dbEngine, 'postgres');
  }
  // Every node must accept the same API token: none may generate its own.
  assert.equal(problemsOf({ HOTPROV_DB: 'postgres://hotprov:s3cret-pw@db.example.com/hotprov' }), [
    'HOTPROV_ADMIN_TOKEN must be set with PostgreSQL: every node must accept the same token',
  ]);
  for (const url of ['postgres://hotprov:s3cret-pw@db.example.com/', 'postgres://hotprov:s3cret-pw@db.example.com']) {
    const problems = problemsOf({ HOTPROV_DB: url, HOTPROV_ADMIN_TOKEN: 'a-token-of-16-chars-or-more' });
    assert.equal(problems, ['HOTPROV_DB: names no database: use postgres://user:password@host:5432/database']);
    assert.not.match(problems.join('\n'), /s3cret-pw/);
  }
  assert.equal(problemsOf({ HOTPROV_DB: 'postgres://hotprov:s3cret-pw@[/x', HOTPROV_ADMIN_TOKEN: 'a-token-of-16-chars-or-more' }), [
    'HOTPROV_DB: is not a URL: use postgres://user:password@host:5432/database',
  ]);
  // Only the URL schemes: a SQLite file whose path says postgres is still a file.
  assert.is(loadConfig({ HOTPROV_DB: 'data/postgres.db' }).dbEngine, 'sqlite');
  assert.is(loadConfig({ HOTPROV_DB: 'data/postgres.db' }).dbPath, 'data/postgres.db');
  assert.is(loadConfig({ HOTPROV_DB: '/srv/postgres/hotprov.db' }).dbPath, '/srv/postgres/hotprov.db');
});

Config.run();

/** The problems loadConfig reports for env, one per line (fails when it reports none). */
function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    assert.instance(err, ConfigError);
    return [...(err as ConfigError).problems];
  }
  assert.unreachable(`loadConfig accepted ${JSON.stringify(env)}`);
  return [];
}

const Https = suite<{ pki: TestPki }>('config: HTTPS', { pki: undefined as unknown as TestPki });
Https.before((ctx) => {
  ctx.pki = createTestPki();
});
Https.after(({ pki }) => pki.remove());

Https('a certificate and its key turn HTTPS on: port 8443, and the default base URL is https://', ({ pki }) => {
  const config = loadConfig(pki.env({ clientCa: false }));
  assert.ok(config.https !== null);
  assert.is(config.https?.port, 8443);
  assert.is(config.https?.certFile, pki.serverCertFile);
  assert.match(config.https?.certPem ?? '', /^-----BEGIN CERTIFICATE-----/);
  assert.match(config.https?.keyPem ?? '', /^-----BEGIN PRIVATE KEY-----/);
  assert.is(config.https?.clientCaPem, null);
  assert.match(config.baseUrl, /^https:\/\/[^/]+:8443$/);
  assert.is(config.phoneBaseUrl, config.baseUrl);
  assert.is(loadConfig({ ...pki.env(), HOTPROV_HTTPS_PORT: '443' }).https?.port, 443);
});

Https('without HTTPS nothing changes: plain http:// base URL, phoneBaseUrl the same', () => {
  const config = loadConfig({});
  assert.is(config.https, null);
  assert.match(config.baseUrl, /^http:\/\/[^/]+:8080$/);
  assert.is(config.phoneBaseUrl, config.baseUrl);
  const proxied = loadConfig({ HOTPROV_BASE_URL: 'https://prov.example.com' });
  assert.is(proxied.phoneBaseUrl, 'https://prov.example.com', 'TLS ended by a proxy in front: its https:// base URL is used as it is');
});

Https('phones are handed https:// on the HTTPS port when the base URL set is http://', ({ pki }) => {
  const config = loadConfig({ ...pki.env(), HOTPROV_BASE_URL: 'http://prov.example.com:8080/hotprov', HOTPROV_HTTPS_PORT: '9443' });
  assert.is(config.baseUrl, 'http://prov.example.com:8080/hotprov');
  assert.is(config.phoneBaseUrl, 'https://prov.example.com:9443/hotprov');
  assert.is(loadConfig({ ...pki.env(), HOTPROV_BASE_URL: 'http://prov.example.com' }).phoneBaseUrl, 'https://prov.example.com:8443');
  const https = loadConfig({ ...pki.env(), HOTPROV_BASE_URL: 'https://prov.example.com/' });
  assert.is(https.phoneBaseUrl, 'https://prov.example.com', 'an https:// base URL (e.g. port 443 forwarded) is kept');
});

Https("the client-CA bundle is read, and may hold several vendors' CAs", ({ pki }) => {
  const vendorCa = readFileSync(pki.deviceCaFile, 'utf8');
  const bundle = pki.file('bundle.pem', `${vendorCa}\n${readFileSync(pki.untrustedCaFile, 'utf8')}`);
  const config = loadConfig({ ...pki.env(), HOTPROV_TLS_CLIENT_CA: bundle });
  assert.is(config.https?.clientCaFile, bundle);
  assert.is(config.https?.clientCaPem?.match(/BEGIN CERTIFICATE/g)?.length, 2);
});

Https('a certificate without its key, or a key without its certificate, is refused', ({ pki }) => {
  assert.equal(problemsOf({ HOTPROV_TLS_CERT: pki.serverCertFile }), ['HOTPROV_TLS_CERT is set without HOTPROV_TLS_KEY: HTTPS needs both']);
  assert.equal(problemsOf({ HOTPROV_TLS_KEY: pki.serverKeyFile }), ['HOTPROV_TLS_KEY is set without HOTPROV_TLS_CERT: HTTPS needs both']);
  assert.equal(problemsOf({ HOTPROV_TLS_CLIENT_CA: pki.deviceCaFile }), ['HOTPROV_TLS_CLIENT_CA needs HTTPS: set HOTPROV_TLS_CERT and HOTPROV_TLS_KEY too']);
  assert.equal(problemsOf({ HOTPROV_HTTPS_PORT: '8443' }), ['HOTPROV_HTTPS_PORT is set but HTTPS is off: set HOTPROV_TLS_CERT and HOTPROV_TLS_KEY too']);
});

Https('missing and unreadable files are named with the reason', ({ pki }) => {
  const missing = join(pki.dir, 'nowhere.pem');
  assert.equal(problemsOf({ HOTPROV_TLS_CERT: missing, HOTPROV_TLS_KEY: pki.serverKeyFile }), [`HOTPROV_TLS_CERT=${missing} cannot be read (no such file)`]);
  assert.equal(problemsOf({ HOTPROV_TLS_CERT: pki.serverCertFile, HOTPROV_TLS_KEY: pki.dir }), [`HOTPROV_TLS_KEY=${pki.dir} cannot be read (it is a folder)`]);
  assert.equal(problemsOf({ ...pki.env(), HOTPROV_TLS_CLIENT_CA: missing }), [`HOTPROV_TLS_CLIENT_CA=${missing} cannot be read (no such file)`]);
});

Https('files that do not hold what their variable says are refused', ({ pki }) => {
  const text = pki.file('notes.txt', 'not a certificate\n');
  const [cert] = problemsOf({ HOTPROV_TLS_CERT: text, HOTPROV_TLS_KEY: pki.serverKeyFile });
  assert.match(cert ?? '', new RegExp(`^HOTPROV_TLS_CERT=${text} does not hold a PEM certificate`));
  const [key] = problemsOf({ HOTPROV_TLS_CERT: pki.serverCertFile, HOTPROV_TLS_KEY: pki.serverCertFile });
  assert.match(key ?? '', new RegExp(`^HOTPROV_TLS_KEY=${pki.serverCertFile} does not hold an unencrypted PEM private key`));
  assert.equal(problemsOf({ ...pki.env(), HOTPROV_TLS_CLIENT_CA: text }), [`HOTPROV_TLS_CLIENT_CA=${text} holds no PEM certificate`]);
  const leaf = pki.file('leaf.pem', pki.deviceCertificate('0004f2aabbcc').cert);
  const [notCa] = problemsOf({ ...pki.env(), HOTPROV_TLS_CLIENT_CA: leaf });
  assert.match(notCa ?? '', /certificate 1 \(.*CN=0004f2aabbcc\) is not a CA certificate$/);
});

Https("a key that is not the certificate's is refused at start-up, not at the first phone", ({ pki }) => {
  const otherKey = pki.file('other.key', pki.deviceCertificate('0004f2aabbcc').key);
  assert.equal(problemsOf({ HOTPROV_TLS_CERT: pki.serverCertFile, HOTPROV_TLS_KEY: otherKey }), [
    `HOTPROV_TLS_KEY=${otherKey} is not the key of the certificate in HOTPROV_TLS_CERT=${pki.serverCertFile}`,
  ]);
});

Https('every HTTPS problem is listed at once, beside the others', ({ pki }) => {
  const problems = problemsOf({
    HOTPROV_TLS_CERT: join(pki.dir, 'nowhere.pem'),
    HOTPROV_TLS_KEY: pki.serverCertFile,
    HOTPROV_TLS_CLIENT_CA: pki.file('empty.pem', ''),
    HOTPROV_HTTPS_PORT: '8080',
    HOTPROV_LOG_LEVEL: 'loud',
  });
  assert.is(problems.length, 5, problems.join('\n'));
  for (const name of ['HOTPROV_TLS_CERT', 'HOTPROV_TLS_KEY', 'HOTPROV_TLS_CLIENT_CA', 'HOTPROV_HTTPS_PORT', 'HOTPROV_LOG_LEVEL']) {
    assert.ok(
      problems.some((p) => p.startsWith(name)),
      `${name} missing from:\n${problems.join('\n')}`,
    );
  }
  assert.ok(problemsOf({ ...pki.env(), HOTPROV_HTTPS_PORT: 'https' }).some((p) => p.startsWith('HOTPROV_HTTPS_PORT="https" is not a port number')));
});

Https.run();

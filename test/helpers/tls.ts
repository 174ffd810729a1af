import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Certificates for TLS tests, made by the real `openssl` binary (Debian package openssl) in a temporary folder:
 * - a server CA and a server certificate for 127.0.0.1, ::1 and localhost (what hotprov serves HTTPS with);
 * - a "vendor device CA", standing in for the Poly, Yealink and Snom CAs that sign the phones' factory certificates,
 *   and per-MAC device certificates it signs (CN = the MAC, as Snom and Poly write it, unless told otherwise);
 * - an untrusted CA with the very same name as the vendor CA, so a test proves verification is by signature, not name.
 */

/** A client certificate and its private key, PEM. */
export interface ClientPem {
  readonly cert: string;
  readonly key: string;
}

export interface DeviceCertificateOptions {
  /** Subject as openssl's -subj takes it; default `/O=Test Phone Vendor/CN=<mac>`. */
  readonly subject?: string;
  /** subjectAltName extension, e.g. `DNS:0004f2aabbcc.example`; none by default. */
  readonly subjectAltName?: string;
  /** Signed by the vendor CA hotprov trusts (default) or by the look-alike untrusted CA. */
  readonly signer?: 'vendor' | 'untrusted';
}

export interface TestPki {
  readonly dir: string;
  /** The server CA's certificate: what a client trusts to reach hotprov's HTTPS listener. */
  readonly serverCaPem: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  /** The vendor device CA's certificate file: HOTPROV_TLS_CLIENT_CA. */
  readonly deviceCaFile: string;
  /** The look-alike CA's certificate file (same name as the vendor CA, another key). */
  readonly untrustedCaFile: string;
  /** HOTPROV_TLS_CERT and HOTPROV_TLS_KEY, and HOTPROV_TLS_CLIENT_CA unless clientCa is false. */
  env(options?: { clientCa?: boolean }): Record<string, string>;
  /**
   * A device certificate for a MAC (written as given into the CN), signed by the vendor CA unless told otherwise.
   * All device certificates of a PKI share one key: what the tests vary is who signed them and what they name.
   */
  deviceCertificate(mac: string, options?: DeviceCertificateOptions): ClientPem;
  /** Writes a file into the PKI's folder (for configuration tests) and answers its path. */
  file(name: string, text: string): string;
  /** Removes the folder. */
  remove(): void;
}

function openssl(dir: string, args: readonly string[]): void {
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '');
    throw new Error(`openssl ${args.join(' ')} failed: ${stderr || (err as Error).message}`);
  }
}

/** Makes the whole PKI; a few dozen milliseconds (EC P-256 keys, one openssl run per certificate). */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'hotprov-pki-'));
  const path = (name: string) => join(dir, name);
  // No system openssl.cnf: its default extensions (CA:TRUE on every -x509) would leak into the device certificates.
  writeFileSync(path('openssl.cnf'), '[req]\ndistinguished_name = dn\n[dn]\n');
  let serial = 0;

  const newKey = (name: string) => openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', name]);
  /** A certificate for `key`, self-signed (a CA) or signed by the CA named `signer`, with the extensions given. */
  const newCertificate = (name: string, key: string, subject: string, extensions: readonly string[], signer?: string) => {
    serial += 1;
    openssl(dir, [
      'req',
      '-config',
      'openssl.cnf',
      '-x509',
      '-new',
      '-key',
      key,
      '-subj',
      subject,
      '-sha256',
      '-days',
      signer === undefined ? '3650' : '825',
      '-set_serial',
      `0x${randomBytes(8).toString('hex')}${serial.toString(16).padStart(4, '0')}`,
      ...(signer === undefined ? [] : ['-CA', `${signer}.pem`, '-CAkey', `${signer}.key`]),
      ...extensions.flatMap((e) => ['-addext', e]),
      '-out',
      `${name}.pem`,
    ]);
  };
  const newCa = (name: string, subject: string) => {
    newKey(`${name}.key`);
    newCertificate(name, `${name}.key`, subject, ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign']);
  };

  newCa('server-ca', '/O=hotprov tests/CN=hotprov test server CA');
  newKey('server.key');
  newCertificate(
    'server',
    'server.key',
    '/O=hotprov tests/CN=localhost',
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost',
    ],
    'server-ca',
  );
  const vendorCaName = '/O=Test Phone Vendor/CN=Test Phone Vendor Device CA';
  newCa('vendor-ca', vendorCaName);
  newCa('untrusted-ca', vendorCaName);
  newKey('device.key');
  const deviceKey = readFileSync(path('device.key'), 'utf8');

  let devices = 0;
  return {
    dir,
    serverCaPem: readFileSync(path('server-ca.pem'), 'utf8'),
    serverCertFile: path('server.pem'),
    serverKeyFile: path('server.key'),
    deviceCaFile: path('vendor-ca.pem'),
    untrustedCaFile: path('untrusted-ca.pem'),
    env(options = {}) {
      return {
        HOTPROV_TLS_CERT: path('server.pem'),
        HOTPROV_TLS_KEY: path('server.key'),
        ...(options.clientCa === false ? {} : { HOTPROV_TLS_CLIENT_CA: path('vendor-ca.pem') }),
      };
    },
    deviceCertificate(mac, options = {}) {
      devices += 1;
      const name = `device-${devices}`;
      newCertificate(
        name,
        'device.key',
        options.subject ?? `/O=Test Phone Vendor/CN=${mac}`,
        [
          'basicConstraints=critical,CA:FALSE',
          'keyUsage=critical,digitalSignature',
          'extendedKeyUsage=clientAuth',
          ...(options.subjectAltName === undefined ? [] : [`subjectAltName=${options.subjectAltName}`]),
        ],
        options.signer === 'untrusted' ? 'untrusted-ca' : 'vendor-ca',
      );
      return { cert: readFileSync(path(`${name}.pem`), 'utf8'), key: deviceKey };
    },
    file(name, text) {
      writeFileSync(path(name), text);
      return path(name);
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface HttpsAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * One request over a fresh TLS connection (no agent, so no connection or session is shared between requests made
 * with different client certificates), trusting only `ca`.
 */
export function httpsRequest(
  url: string,
  options: { ca: string; client?: ClientPem; method?: string; headers?: Record<string, string>; body?: string },
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
        ca: options.ca,
        agent: false,
        ...(options.client === undefined ? {} : { cert: options.client.cert, key: options.client.key }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

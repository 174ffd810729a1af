import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificates {
  /** A certificate authority standing in for a vendor's device CA. */
  readonly caCert: string;
  /** A phone certificate signed by that CA, and its key. */
  readonly phoneCert: string;
  readonly phoneKey: string;
  /** A self-signed phone certificate no CA vouches for, and its key. */
  readonly strangerCert: string;
  readonly strangerKey: string;
}

/** Throwaway certificates made with openssl (Debian package openssl), valid for a day. */
export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'hotprov-tls-'));
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    openssl('req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '1', '-subj', '/CN=Test Phone Vendor CA');
    openssl('req', ...ec, '-keyout', f('phone.key'), '-out', f('phone.csr'), '-subj', '/CN=001565123456');
    writeFileSync(f('ext.cnf'), 'basicConstraints=CA:FALSE\n');
    openssl(
      'x509',
      '-req',
      '-in',
      f('phone.csr'),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-out',
      f('phone.pem'),
      '-days',
      '1',
      '-extfile',
      f('ext.cnf'),
    );
    openssl('req', '-x509', ...ec, '-keyout', f('stranger.key'), '-out', f('stranger.pem'), '-days', '1', '-subj', '/CN=stranger');
    const read = (name: string) => readFileSync(f(name), 'utf8');
    return {
      caCert: read('ca.pem'),
      phoneCert: read('phone.pem'),
      phoneKey: read('phone.key'),
      strangerCert: read('stranger.pem'),
      strangerKey: read('stranger.key'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

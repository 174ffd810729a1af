import { Socket } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { clientCertificateFrom, clientCertificateOfSocket, distinguishedName, macsNamedBy } from '../../src/http/clientCertificate.ts';

const Cert = suite('http/clientCertificate');

const VENDOR_CA = { C: 'DE', O: 'Test Phone Vendor', CN: 'Test Phone Vendor Device CA' };
const peer = (subject: Record<string, string | string[]>) => ({ subject, issuer: VENDOR_CA, fingerprint256: 'AA:BB' });

Cert('the MAC forms the vendors write into their factory certificates are read', () => {
  // Snom: the common name is the MAC, upper case, as Snom's own nginx example matches it.
  assert.equal(macsNamedBy({ C: 'DE', O: 'Snom Technology AG', CN: '000413922D24' }), ['000413922d24']);
  // Poly: "CN=0004F28B54F4, O=Polycom Inc."
  assert.equal(macsNamedBy({ CN: '0004F28B54F4', O: 'Polycom Inc.' }), ['0004f28b54f4']);
  // Yealink: the MAC ends a UUID-shaped serialNumber; the CN is the vendor's domain.
  assert.equal(
    macsNamedBy({
      C: 'CN',
      O: 'Yealink Network Technology Co., Ltd.',
      OU: 'Yealink Equipment',
      CN: 'yealink.com',
      serialNumber: 'ffffffff-ffff-ffff-fff0-805EC0112233',
    }),
    ['805ec0112233'],
  );
  // Any spelling parseMac reads, in the common name.
  assert.equal(macsNamedBy({ CN: '80:5e:c0:11:22:33' }), ['805ec0112233']);
  assert.equal(macsNamedBy({ CN: '80-5E-C0-11-22-33' }), ['805ec0112233']);
});

Cert('names that merely contain a MAC prove nothing', () => {
  assert.equal(macsNamedBy({ CN: 'phone-0004f2aabbcc.example.com' }), [], 'a MAC inside a longer common name');
  assert.equal(macsNamedBy({ CN: 'SEP0004F2AABBCC' }), [], 'a prefix no vendor here documents');
  assert.equal(macsNamedBy({ CN: 'yealink.com', serialNumber: '0004f2aabbcc' }), [], 'a serialNumber that is not the UUID form');
  assert.equal(macsNamedBy({ CN: 'yealink.com' }), [], "Yealink's generic certificate names no phone");
  assert.equal(macsNamedBy({ CN: '000000000000' }), [], 'the all-zero MAC is not a phone');
  assert.equal(macsNamedBy({ O: 'Test', OU: '0004f2aabbcc' }), [], 'only the CN and serialNumber attributes count');
  assert.equal(macsNamedBy(undefined), []);
});

Cert('a subject with several common names names each MAC once', () => {
  assert.equal(macsNamedBy({ CN: ['0004f2aabbcc', '00:04:F2:AA:BB:CC', '0004f2ddeeff'] }), ['0004f2aabbcc', '0004f2ddeeff']);
});

Cert('verified: the MACs, subject and issuer of a certificate that chains to the bundle', () => {
  const proved = clientCertificateFrom(peer({ O: 'Polycom Inc.', CN: '0004F28B54F4' }), true, null);
  assert.equal(proved, {
    kind: 'verified',
    macs: ['0004f28b54f4'],
    subject: 'O=Polycom Inc., CN=0004F28B54F4',
    issuer: 'C=DE, O=Test Phone Vendor, CN=Test Phone Vendor Device CA',
    fingerprint256: 'AA:BB',
  });
  const generic = clientCertificateFrom(peer({ CN: 'yealink.com' }), true, null);
  assert.is(generic.kind, 'verified');
  assert.equal(generic.kind === 'verified' && generic.macs, [], 'verified, yet it proves no particular phone');
});

Cert('unverified: a certificate that does not chain proves nothing, whatever MAC it names', () => {
  const forged = clientCertificateFrom(peer({ CN: '0004f28b54f4' }), false, new Error('unable to verify the first certificate'));
  assert.is(forged.kind, 'unverified');
  assert.not.ok('macs' in forged, 'no MAC is offered for an unverified certificate');
  const coded = Object.assign(new Error('certificate has expired'), { code: 'CERT_HAS_EXPIRED' });
  assert.equal(clientCertificateFrom(peer({ CN: '0004f28b54f4' }), false, coded), {
    kind: 'unverified',
    reason: 'CERT_HAS_EXPIRED',
    subject: 'CN=0004f28b54f4',
    issuer: 'C=DE, O=Test Phone Vendor, CN=Test Phone Vendor Device CA',
    fingerprint256: 'AA:BB',
  });
  // Node hands the reason over as a string on the socket.
  const fromSocket = clientCertificateFrom(peer({ CN: '0004f28b54f4' }), false, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  assert.is(fromSocket.kind === 'unverified' && fromSocket.reason, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
});

Cert('none: no certificate ({} is what Node answers), and plain HTTP', () => {
  assert.equal(clientCertificateFrom({}, false, 'UNABLE_TO_GET_ISSUER_CERT'), { kind: 'none' });
  assert.equal(clientCertificateFrom(null, false), { kind: 'none' });
  assert.equal(clientCertificateOfSocket(new Socket()), { kind: 'none' });
});

Cert('subjects are made safe to log: no control characters, bounded length', () => {
  const text = distinguishedName({ CN: 'evil\r\nlevel=error forged line', O: 'x'.repeat(2000) });
  assert.not.match(text, /[\r\n]/);
  assert.ok(text.startsWith('CN=evillevel=error forged line, O=xxx'));
  assert.is(text.length, 512);
});

Cert.run();

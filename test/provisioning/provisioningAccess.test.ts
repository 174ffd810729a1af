import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { provisioningAccess } from '../../src/provisioning/profile.ts';

/**
 * The credentialed URL is put together from a base URL parsed once (every render asks for it): it must be what the
 * URL standard's own setters give, for any credentials, or a phone would be handed a URL it cannot use.
 */
const bySetters = (baseUrl: string, username: string, password: string) => {
  const url = new URL(`${baseUrl}/prov/`);
  url.username = encodeURIComponent(username);
  url.password = encodeURIComponent(password);
  return url.href;
};

test('the URL with credentials is what URL.username and URL.password give, for any credentials and base', () => {
  const base = fc.constantFrom(
    'http://prov.example.test:8080',
    'https://h.example',
    'https://h.example:443',
    'http://Example.TEST',
    'https://[::1]:8443',
    'http://h.example/base',
  );
  const credential = fc.oneof(fc.constantFrom('', 'a', 'ü:@/?#%', "x!~*'()", '%41', '[]{}|^`\\'), fc.string(), fc.string({ unit: 'grapheme' }));
  fc.assert(
    fc.property(base, credential, credential, (baseUrl, username, password) => {
      const access = provisioningAccess(baseUrl, username, password);
      assert.is(access.urlWithCredentials, bySetters(baseUrl, username, password));
      assert.is(access.url, new URL(`${baseUrl}/prov/`).href);
    }),
    { numRuns: 500 },
  );
});

test.run();

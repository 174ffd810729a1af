import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertPinAllowed, generatePin, generateSipPassword, hashSecret, verifySecret } from '../../src/domain/credentials.ts';
import { assertAppError } from '../helpers/assertions.ts';

const Policy = suite('credentials/pin policy');

const refused: [string, RegExp][] = [
  ['12a4', /digits only/],
  ['123', /at least 4/],
  ['0000', /repeated digit/],
  ['7777777', /repeated digit/],
  ['1234', /consecutive/],
  ['4321', /consecutive/],
  ['7890', /consecutive/],
  ['101', /at least 4/],
  ['2010', /extension/],
  ['1234567890123', /at most 12/],
];
for (const [pin, why] of refused) {
  Policy(`refuses ${pin}`, async () => {
    await assertAppError(() => assertPinAllowed(pin, '2010', 4), { status: 400, code: 'weak_pin', message: why });
  });
}

Policy('accepts ordinary PINs', () => {
  for (const pin of ['4826', '1357', '0951', '55512']) assertPinAllowed(pin, '2010', 4);
});

Policy('generated PINs always pass the policy', () => {
  for (let i = 0; i < 200; i++) assertPinAllowed(generatePin('1234', 4), '1234', 4);
});

Policy.run();

const Hash = suite('credentials/hashing');

Hash('a hashed PIN verifies only with the same PIN and never stores it in clear', async () => {
  const hash = await hashSecret('4826');
  assert.not.ok(hash.includes('4826'));
  assert.ok(await verifySecret('4826', hash));
  assert.not.ok(await verifySecret('4827', hash));
});

Hash('two hashes of one PIN differ (salted)', async () => {
  assert.is.not(await hashSecret('4826'), await hashSecret('4826'));
});

Hash('a malformed stored hash never matches', async () => {
  assert.not.ok(await verifySecret('4826', 'plain:4826'));
});

Hash('generated SIP passwords are long and unquoted-safe', () => {
  const a = generateSipPassword();
  assert.match(a, /^[A-Za-z0-9]{20}$/);
  assert.is.not(a, generateSipPassword());
});

Hash.run();

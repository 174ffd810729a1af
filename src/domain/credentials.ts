import { hash, randomBytes, randomInt, scrypt, timingSafeEqual } from 'node:crypto';
import { WeakPin } from '../errors.ts';

// crypto.hash: one call, no Hash object (a phone's every fetch compares its credentials).
const sha256 = (text: string): Buffer => hash('sha256', text, 'buffer');

/**
 * Whether a presented secret (token, password, CSRF token) is the expected one, in a time that gives away neither
 * it nor its length: both are hashed to the same length first, then compared in constant time.
 */
export function sameSecret(presented: string, expected: string): boolean {
  return timingSafeEqual(sha256(presented), sha256(expected));
}

/** Longest PIN hotprov accepts; feature codes and phone keypads make longer ones impractical. */
export const PIN_MAX_LENGTH = 12;

// scrypt cost: a PIN's space is small, so the real defence is the lockout; this keeps a stolen
// database from giving PINs away instantly. It is most of a login's time (about 45 ms on two
// cores, see docs/performance.md), run off the event loop so phone fetches go on meanwhile.
const N = 2 ** 14;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;

function derive(pin: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(pin, salt, KEY_LENGTH, { N: n, r, p, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/**
 * Checks a PIN against the policy: digits only (it is typed on a phone keypad), at least minLength long,
 * not one repeated digit, not a run such as 1234 or 9876, and not the extension itself.
 * @throws AppError weak_pin (400) naming the rule broken.
 */
export function assertPinAllowed(pin: string, extension: string, minLength: number): void {
  if (!/^\d+$/.test(pin)) throw WeakPin('use digits only');
  if (pin.length < minLength) throw WeakPin(`use at least ${minLength} digits`);
  if (pin.length > PIN_MAX_LENGTH) throw WeakPin(`use at most ${PIN_MAX_LENGTH} digits`);
  if (/^(\d)\1*$/.test(pin)) throw WeakPin('a single repeated digit is too easy to guess');
  if (isRun(pin, 1) || isRun(pin, -1)) throw WeakPin('a run of consecutive digits is too easy to guess');
  if (pin === extension) throw WeakPin('the PIN must not be the extension');
}

/** True when each digit is the previous one plus step (mod 10), as in 1234, 7890 or 3210. */
function isRun(pin: string, step: 1 | -1): boolean {
  for (let i = 1; i < pin.length; i++) {
    if ((Number(pin[i - 1]) + step + 10) % 10 !== Number(pin[i])) return false;
  }
  return true;
}

/** Hashes a PIN or password for storage: `scrypt$N$r$p$salt$hash`, base64 parts. */
export async function hashSecret(pin: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(pin, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Compares a PIN or password with a stored hash in constant time. A malformed hash never matches. */
export async function verifySecret(pin: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || n === undefined || r === undefined || p === undefined || salt === undefined || hash === undefined) {
    return false;
  }
  const expected = Buffer.from(hash, 'base64');
  const key = await derive(pin, Buffer.from(salt, 'base64'), Number(n), Number(r), Number(p));
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A random PIN of the given length that passes the policy. */
export function generatePin(extension: string, length: number): string {
  for (;;) {
    let pin = '';
    for (let i = 0; i < length; i++) pin += String(randomInt(10));
    try {
      assertPinAllowed(pin, extension, length);
      return pin;
    } catch {
      // rejected by the policy (e.g. 1111): draw again
    }
  }
}

const PASSWORD_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/** A random SIP password: letters and digits only, so every phone and PBX accepts it unquoted. */
export function generateSipPassword(length = 20): string {
  let out = '';
  for (let i = 0; i < length; i++) out += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)];
  return out;
}

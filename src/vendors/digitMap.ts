import type { DialingRules } from './types.ts';

/**
 * The idle phone's digit map in the RFC 3435 (MGCP) syntax Yealink and Poly use: `|` between
 * alternatives, `x` any digit, `[…]` one of the digits, `.` zero or more of the element before, `T` the
 * inter-digit timer. Emergency numbers come first and dial the moment the last digit is pressed: no other
 * alternative may still match after them, so internal extensions of the tenant's lengths are written without
 * the numbers that start with an emergency number (`112`, `1120`, …). Then the login code alone, with an
 * extension, and with an extension and PIN (`*35`, `*35*101`, `*35*101*1234`).
 */
export function idleDigitMap(rules: DialingRules): string {
  // The same few tenant rules for every idle phone: worked out once each, not at every render.
  const key = `${rules.emergencyNumbers.join(',')}|${rules.extensionDigits.min}|${rules.extensionDigits.max}|${rules.loginCode}`;
  const known = digitMaps.get(key);
  if (known !== undefined) return known;
  const map = buildIdleDigitMap(rules);
  if (digitMaps.size >= DIGIT_MAPS_KEPT) digitMaps.clear();
  digitMaps.set(key, map);
  return map;
}

const digitMaps = new Map<string, string>();
/** A tenant has one set of rules; a few are kept while they change. */
const DIGIT_MAPS_KEPT = 64;

function buildIdleDigitMap(rules: DialingRules): string {
  const emergency = rules.emergencyNumbers.filter((n) => /^\d+$/.test(n));
  const parts: string[] = [...emergency];
  for (let n = rules.extensionDigits.min; n <= rules.extensionDigits.max; n++) {
    for (const pattern of digitsExcept(n, emergency)) parts.push(`${pattern}T`);
  }
  const code = rules.loginCode;
  parts.push(`${code}T`, `${code}*x.T`, `${code}*x.*x.T`);
  return parts.join('|');
}

/**
 * Digit-map elements for every string of `length` digits except those that begin with one of `prefixes`
 * (a prefix as long as the string excludes that string itself), as few elements as the prefixes allow.
 */
export function digitsExcept(length: number, prefixes: readonly string[]): string[] {
  const relevant = prefixes.filter((p) => p.length > 0 && p.length <= length);
  if (relevant.some((p) => p.length === 0)) return [];
  if (relevant.length === 0) return ['x'.repeat(length)];
  const free: string[] = [];
  const out: string[] = [];
  for (let d = 0; d <= 9; d++) {
    const digit = String(d);
    const starting = relevant.filter((p) => p.startsWith(digit));
    if (starting.length === 0) {
      free.push(digit);
      continue;
    }
    // A prefix that is this one digit excludes every string starting with it.
    if (starting.some((p) => p.length === 1)) continue;
    if (length === 1) continue;
    for (const rest of digitsExcept(
      length - 1,
      starting.map((p) => p.slice(1)),
    ))
      out.push(digit + rest);
  }
  const tail = 'x'.repeat(length - 1);
  const head = free.length === 10 ? 'x' : free.length === 1 ? free[0] : free.length > 1 ? `[${digitClass(free)}]` : null;
  return head === null ? out : [head + tail, ...out];
}

/** `0,2,3,4,5,6,7,8` → `02-8`: consecutive digits as ranges. */
function digitClass(digits: readonly string[]): string {
  const n = digits.map(Number).sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < n.length; ) {
    let j = i;
    while (j + 1 < n.length && n[j + 1] === (n[j] ?? 0) + 1) j++;
    const a = n[i];
    const b = n[j];
    parts.push(j - i >= 2 ? `${a}-${b}` : n.slice(i, j + 1).join(''));
    i = j + 1;
  }
  return parts.join('');
}

/**
 * A logged-in Poly phone's digit map: anything of digits, `*`, `#` and a leading `+`, sent when the inter-digit
 * timer runs out or at once when `#` ends it (the `#` itself is not sent).
 */
export const OPEN_POLY_DIGIT_MAP = '+x.T|+x.#|[0-9*].T|[0-9*].#';

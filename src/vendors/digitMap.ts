import type { DialingRules } from './types.ts';

/**
 * The idle phone's digit map in the RFC 3435 (MGCP) syntax Yealink and Poly use: `|` between
 * alternatives, `x` any digit, `.` zero or more of the element before, `T` the inter-digit timer.
 * Emergency numbers come first and dial as typed, then internal extensions of the tenant's lengths,
 * then the login code alone, with an extension, and with an extension and PIN (`*35`, `*35*101`, `*35*101*1234`).
 */
export function idleDigitMap(rules: DialingRules): string {
  const parts: string[] = [...rules.emergencyNumbers];
  for (let n = rules.extensionDigits.min; n <= rules.extensionDigits.max; n++) parts.push(`${'x'.repeat(n)}T`);
  const code = rules.loginCode;
  parts.push(`${code}T`, `${code}*x.T`, `${code}*x.*x.T`);
  return parts.join('|');
}

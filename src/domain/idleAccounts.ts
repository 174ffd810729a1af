/**
 * How a tenant names its idle accounts: a pattern with one `{n:W}`, the tenant's next idle number written W digits
 * wide (`HD{n:4}` → `HD0001`, `acme-hd{n:3}` → `acme-hd001`). The rest are characters every PBX takes in a SIP user
 * name, so a provider gives each customer a prefix of its own and their idle accounts never meet on a shared PBX.
 */

export const DEFAULT_IDLE_ACCOUNT_PATTERN = 'HD{n:4}';

/** The longest idle account name a pattern may give at its width. */
export const IDLE_ACCOUNT_MAX_LENGTH = 32;

const NUMBER = /\{n:(\d+)\}/g;
const SIP_USER_SAFE = /^[A-Za-z0-9._-]*$/;

/** Why a pattern cannot name idle accounts, or null when it can. */
export function idleAccountPatternProblem(pattern: string): string | null {
  const numbers = [...pattern.matchAll(NUMBER)];
  if (numbers.length !== 1) return 'must hold exactly one {n:W}, the number W digits wide (e.g. HD{n:4})';
  const width = Number(numbers[0]?.[1]);
  if (!Number.isInteger(width) || width < 1 || width > 8) return 'the width W of {n:W} must be 1 to 8';
  const literal = pattern.replace(NUMBER, '');
  if (!SIP_USER_SAFE.test(literal)) return 'besides {n:W}, only letters, digits and . _ - may be used';
  if (literal.length + width > IDLE_ACCOUNT_MAX_LENGTH) return `the names it gives must be at most ${IDLE_ACCOUNT_MAX_LENGTH} characters`;
  return null;
}

/**
 * The idle account a pattern gives the n-th device (`acme-hd{n:3}`, 1 → `acme-hd001`); a number wider than W is
 * written in full, as `HD{n:4}` always did (HD10000).
 */
export function idleAccountName(pattern: string, n: number): string {
  return pattern.replace(NUMBER, (_, width: string) => String(n).padStart(Number(width), '0'));
}

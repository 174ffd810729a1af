/** A MAC address as hotprov stores it: 12 lower-case hex digits, no separators. */
export type Mac = string & { readonly __brand: 'Mac' };

const SEPARATORS = /[\s:.-]/g;

/**
 * Reads a MAC in any common spelling (`00:15:65:AA:BB:CC`, `001565aabbcc`, `00-15-65-aa-bb-cc`, `0015.65aa.bbcc`).
 * @returns the normalised MAC, or null when the text is not one (the all-zero MAC is Polycom's generic file name, not a phone).
 */
export function parseMac(text: string): Mac | null {
  const hex = text.replace(SEPARATORS, '').toLowerCase();
  if (!/^[0-9a-f]{12}$/.test(hex) || hex === '000000000000') return null;
  return hex as Mac;
}

/** `00:15:65:aa:bb:cc`, the spelling people read. */
export function formatMac(mac: Mac): string {
  return mac.replace(/(..)(?!$)/g, '$1:');
}

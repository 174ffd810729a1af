// Characters no phone config value may hold: C0 controls (CR and LF among them), DEL and the two
// non-characters XML 1.0 forbids. They become a space, so a value stays on its line / in its attribute.
// Matching control characters is the point of this pattern.
const UNSAFE = /[\u0000-\u001f\u007f\ufffe\uffff]/gu;

/** Lone UTF-16 surrogates cannot be encoded; toWellFormed replaces them, emoji and other pairs stay. */
const clean = (value: string) => value.toWellFormed().replace(UNSAFE, ' ');

// Most values (numbers, key types, plain names) need nothing: one test spares them the copies. Surrogates are
// in the set so a string that may hold a lone one goes the slow way.
const NEEDS_CLEANING = /[\u0000-\u001f\u007f\ufffe\uffff\ud800-\udfff]/u;
const NEEDS_XML_ESCAPING = /[\u0000-\u001f\u007f\ufffe\uffff\ud800-\udfff&<>"']/u;

/** For `key = value` files (Yealink .cfg/.boot): a value runs to the end of its line, so it only must not end it. */
export function escapeCfgValue(value: string): string {
  return NEEDS_CLEANING.test(value) ? clean(value) : value;
}

const XML_ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** For XML text and attribute values (Snom, Polycom): well-formed whatever the data. */
export function escapeXml(value: string): string {
  if (!NEEDS_XML_ESCAPING.test(value)) return value;
  return clean(value).replace(/[&<>"']/g, (c) => XML_ENTITIES[c] ?? c);
}

/** A deep copy of a template context with every string passed through `escapeValue`. */
export function escapeContext<T>(value: T, escapeValue: (s: string) => string): T {
  if (typeof value === 'string') return escapeValue(value) as T;
  if (Array.isArray(value)) return value.map((v) => escapeContext(v, escapeValue)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value)) out[k] = escapeContext((value as Record<string, unknown>)[k], escapeValue);
    return out as T;
  }
  return value;
}

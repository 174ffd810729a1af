/**
 * The values a tenant may choose for what every phone gets (issue 13), vendor-neutral: the domain validates and
 * stores them, the vendor adapters translate them into each vendor's settings.
 */
export const PHONE_LANGUAGES = ['en', 'de', 'fr', 'it', 'es', 'nl'] as const;
export type PhoneLanguage = (typeof PHONE_LANGUAGES)[number];

export const CODECS = ['opus', 'g722', 'pcma', 'pcmu', 'g729'] as const;
export type Codec = (typeof CODECS)[number];

/** Whether a string names a time zone Node knows. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

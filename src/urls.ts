/**
 * The address phones are handed, worked out the same way for the instance (HOTPROV_BASE_URL, config.ts) and for a
 * tenant with a base URL of its own (domain/tenants.ts).
 */

/** The URL phones get: https:// whenever hotprov has HTTPS (httpsPort not null), else the base URL as it is. */
export function phoneBaseUrlOf(baseUrl: string, httpsPort: number | null): string {
  return httpsPort === null ? baseUrl : httpsVariant(baseUrl, httpsPort);
}

/** An http:// base URL moved to hotprov's own HTTPS listener: same host and path, https:// and the HTTPS port. */
export function httpsVariant(baseUrl: string, httpsPort: number): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    return baseUrl;
  }
  if (url.protocol === 'https:') return baseUrl;
  url.protocol = 'https:';
  url.port = String(httpsPort);
  return url.href.replace(/\/+$/, '');
}

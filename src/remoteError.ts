/**
 * What went wrong talking to a remote service (a redirect service, a PBX's manager interface), as a short
 * classified reason: never the remote side's own words, which an API user who pointed hotprov somewhere could
 * otherwise read back, and never more than an admin needs to fix it.
 */
export function describeNetworkError(err: unknown): string {
  const chain: { name?: unknown; code?: unknown; message?: unknown }[] = [];
  for (let e = err as { cause?: unknown } | undefined, depth = 0; e != null && typeof e === 'object' && depth < 4; e = e.cause as typeof e, depth++) {
    chain.push(e as (typeof chain)[number]);
  }
  const codes = chain.map((e) => (typeof e.code === 'string' ? e.code : '')).filter((c) => c !== '');
  const names = chain.map((e) => (typeof e.name === 'string' ? e.name : ''));
  const has = (...wanted: string[]) => codes.some((c) => wanted.includes(c));
  if (
    names.includes('TimeoutError') ||
    names.includes('AbortError') ||
    has('ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT')
  ) {
    return 'timed out';
  }
  if (has('ECONNREFUSED')) return 'connection refused';
  if (has('ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME')) return 'host not found';
  if (has('EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL')) return 'host unreachable';
  if (codes.some((c) => /CERT|SSL|TLS|EPROTO|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(c)))
    return 'TLS handshake failed (certificate not trusted or protocol mismatch)';
  if (has('ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED')) return 'connection closed by the remote side';
  return 'network error';
}

/** An HTTP answer that was not a success, by its status alone. */
export const describeHttpStatus = (status: number): string => `HTTP ${status}`;

import { createHash } from 'node:crypto';
import { randomToken } from './message.ts';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

/** The parameters of a `WWW-Authenticate: Digest …` or `Proxy-Authenticate` challenge. */
export function parseChallenge(header: string): Record<string, string> | null {
  if (!/^Digest\s/i.test(header)) return null;
  const params: Record<string, string> = {};
  for (const m of header.slice(6).matchAll(/([A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]+))/g)) {
    const key = m[1]?.toLowerCase();
    if (key !== undefined) params[key] = m[2] ?? m[3] ?? '';
  }
  return params.nonce === undefined || params.realm === undefined ? null : params;
}

export interface DigestCredentials {
  readonly username: string;
  readonly password: string;
}

/**
 * The Authorization header value answering a digest challenge (RFC 2617 / RFC 3261 §22.4), MD5, with qop=auth
 * when the challenge offers it.
 * @returns null when the challenge asks for something hotprov cannot do (another algorithm, auth-int only).
 */
export function digestAuthorization(
  challenge: Record<string, string>,
  credentials: DigestCredentials,
  method: string,
  uri: string,
  cnonce: string = randomToken(8),
): string | null {
  const algorithm = challenge.algorithm ?? 'MD5';
  if (algorithm.toUpperCase() !== 'MD5') return null;
  const qops = (challenge.qop ?? '').split(',').map((q) => q.trim().toLowerCase());
  const qop = qops.includes('auth') ? 'auth' : challenge.qop === undefined ? null : undefined;
  if (qop === undefined) return null;
  const ha1 = md5(`${credentials.username}:${challenge.realm}:${credentials.password}`);
  const ha2 = md5(`${method}:${uri}`);
  const nc = '00000001';
  const response = qop === null ? md5(`${ha1}:${challenge.nonce}:${ha2}`) : md5(`${ha1}:${challenge.nonce}:${nc}:${cnonce}:${qop}:${ha2}`);
  const parts = [
    `username="${credentials.username}"`,
    `realm="${challenge.realm}"`,
    `nonce="${challenge.nonce}"`,
    `uri="${uri}"`,
    `response="${response}"`,
    'algorithm=MD5',
    ...(qop === null ? [] : [`qop=${qop}`, `nc=${nc}`, `cnonce="${cnonce}"`]),
    ...(challenge.opaque === undefined ? [] : [`opaque="${challenge.opaque}"`]),
  ];
  return `Digest ${parts.join(', ')}`;
}

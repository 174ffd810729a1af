import type { Mac } from '../domain/mac.ts';
import { escapeXml } from '../vendors/escape.ts';
import { describe, elsewhere, failed, ok, type RedirectClient } from './types.ts';

export interface YealinkXmlRpcCredentials {
  /** https://api-dm.yealink.com:8443/xmlrpc unless a proxy or a test stands in. */
  readonly url: string;
  readonly username: string;
  readonly password: string;
  readonly timeoutMs?: number;
}

/** The server entry hotprov's phones are registered under (names allow only A-z 0-9 - _ . and space). */
const SERVER_NAME = 'hotprov';

/**
 * Yealink's older RPS XML-RPC API (vendors.md §1.1), for accounts that only have it: HTTP Basic auth,
 * `redirect.registerDeviceWithUniqueUrl(mac, serverName, url, override)`, `redirect.deRegisterDevice(mac)`,
 * `redirect.checkDevice(mac)`; each answers `[success, message]`. The phone's credentials travel in its URL.
 */
export function createYealinkXmlRpc(c: YealinkXmlRpcCredentials): RedirectClient {
  const call = async (method: string, params: readonly string[]): Promise<{ success: boolean; message: string } | { error: string }> => {
    const body = `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${params
      .map((p) => `<param><value><string>${escapeXml(p)}</string></value></param>`)
      .join('')}</params></methodCall>`;
    const res = await fetch(c.url, {
      method: 'POST',
      headers: { 'Content-Type': 'text/xml', Authorization: `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` },
      body,
      signal: AbortSignal.timeout(c.timeoutMs ?? 10_000),
    });
    const text = await res.text();
    if (res.status !== 200) return { error: describe(res.status) };
    const fault = /<name>faultString<\/name>\s*<value>(?:<string>)?([^<]*)/.exec(text)?.[1];
    if (fault !== undefined) return { error: 'the service answered with a fault' };
    const m = /<boolean>([01])<\/boolean>\s*<\/value>\s*<value>(?:<string>)?([^<]*)/.exec(text);
    if (m === null) return { error: 'the service gave an answer hotprov does not understand' };
    return { success: m[1] === '1', message: m[2] ?? '' };
  };
  const upper = (mac: Mac) => mac.toUpperCase();

  return {
    vendor: 'yealink',
    async register(mac, target) {
      const url = new URL(target.url);
      url.username = encodeURIComponent(target.username);
      url.password = encodeURIComponent(target.password);
      const server = await call('redirect.addServer', [SERVER_NAME, `${url.protocol}//${url.host}/`]);
      if ('error' in server) return failed(server.error);
      // "1": take over a MAC this account registered under another server; a MAC of another account stays refused.
      const res = await call('redirect.registerDeviceWithUniqueUrl', [upper(mac), SERVER_NAME, url.href, '1']);
      if ('error' in res) return failed(res.error);
      if (res.success) return ok('registered');
      // The service's message decides which, and is not passed on.
      return /^Error:[a-z0-9]{10}|elsewhere|owned/i.test(res.message)
        ? elsewhere('Yealink RPS: the MAC is registered to another account')
        : failed('the service refused the registration');
    },
    async deregister(mac) {
      const res = await call('redirect.deRegisterDevice', [upper(mac)]);
      if ('error' in res) return failed(res.error);
      return res.success ? { status: 'unknown', message: 'deregistered' } : failed('the service refused the deregistration');
    },
    async check(mac) {
      const res = await call('redirect.checkDevice', [upper(mac)]);
      if ('error' in res) return failed(res.error);
      if (/registered elsewhere/i.test(res.message)) return elsewhere('registered to another account');
      if (/^registered/i.test(res.message)) return ok('in this account');
      return { status: 'unknown', message: 'not in this account' };
    },
  };
}

import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { Mac } from '../domain/mac.ts';
import { describe, elsewhere, failed, ok, type RedirectClient, request } from './types.ts';

export interface SnomSrapsCredentials {
  /** https://secure-provisioning.snom.com/api/v1 unless a proxy or a test stands in. */
  readonly baseUrl: string;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly timeoutMs?: number;
}

/** The Hawk `hash` of a payload: base64(SHA-256("hawk.1.payload\n<content-type>\n<body>\n")). */
export function hawkPayloadHash(contentType: string, body: string): string {
  return createHash('sha256')
    .update(`hawk.1.payload\n${contentType.split(';')[0]?.trim().toLowerCase() ?? ''}\n${body}\n`)
    .digest('base64');
}

/** The Hawk `mac` over the normalized request string (vendors.md §1.4). */
export function hawkMac(key: string, p: { ts: number; nonce: string; method: string; resource: string; host: string; port: number; hash: string }): string {
  const normalized = `hawk.1.header\n${p.ts}\n${p.nonce}\n${p.method}\n${p.resource}\n${p.host}\n${p.port}\n${p.hash}\n\n`;
  return createHmac('sha256', key).update(normalized).digest('base64');
}

/** Snom's SRAPS REST API, signed with Hawk: tokens → company → endpoints, `setting_server` set per endpoint. */
export function createSnomSraps(c: SnomSrapsCredentials): RedirectClient {
  const call = (method: string, url: string, body?: unknown) => {
    const target = new URL(url);
    const payload = body === undefined ? '' : JSON.stringify(body);
    const contentType = 'application/json';
    const ts = Math.floor(Date.now() / 1000);
    const nonce = randomBytes(6).toString('base64url');
    const hash = payload === '' ? '' : hawkPayloadHash(contentType, payload);
    const port = target.port !== '' ? Number(target.port) : target.protocol === 'https:' ? 443 : 80;
    const mac = hawkMac(c.accessKeySecret, { ts, nonce, method, resource: `${target.pathname}${target.search}`, host: target.hostname, port, hash });
    const authorization = `Hawk id="${c.accessKeyId}", ts="${ts}", nonce="${nonce}"${hash === '' ? '' : `, hash="${hash}"`}, mac="${mac}"`;
    const headers: Record<string, string> = {
      Authorization: authorization,
      Accept: 'application/json',
      ...(payload === '' ? {} : { 'Content-Type': contentType }),
    };
    return request(url, { method, headers, ...(payload === '' ? {} : { body: payload }) }, c.timeoutMs ?? 10_000);
  };
  const link = (body: unknown, name: string): string | null => {
    const links = (body as { links?: Record<string, string> } | null)?.links;
    return typeof links?.[name] === 'string' ? links[name] : null;
  };
  let endpoints: string | null = null;
  let settingServer: string | null = null;
  /** Finds the company's endpoints collection and the id of setting `setting_server`, once. */
  const discover = async (): Promise<string | null> => {
    if (endpoints !== null && settingServer !== null) return null;
    const token = await call('GET', `${c.baseUrl}/tokens/${c.accessKeyId}`);
    const company = token.status === 200 ? link(token.body, 'company') : null;
    if (company === null) return describe(token.status);
    const companyDoc = await call('GET', company);
    endpoints = companyDoc.status === 200 ? link(companyDoc.body, 'endpoints') : null;
    if (endpoints === null) return describe(companyDoc.status);
    const settings = await call('GET', `${c.baseUrl}/settings/?page_size=1000`);
    const list = Array.isArray(settings.body) ? (settings.body as { uuid: string; param_name: string }[]) : [];
    settingServer = list.find((s) => s.param_name === 'setting_server')?.uuid ?? null;
    return settingServer === null ? `SRAPS has no setting_server setting (${describe(settings.status)})` : null;
  };
  const endpoint = (mac: Mac) => `${(endpoints ?? '').replace(/\/?$/, '/')}${mac}`;
  const owned = (status: number, body: unknown) => status === 403 || /taken_mac_or_forbidden|lacks permission/i.test(JSON.stringify(body ?? ''));

  return {
    vendor: 'snom',
    async register(mac, target) {
      const problem = await discover();
      if (problem !== null) return failed(problem);
      // The credentials travel in the URL, which the phone uses for every fetch.
      const url = new URL(target.url);
      url.username = encodeURIComponent(target.username);
      url.password = encodeURIComponent(target.password);
      const res = await call('PUT', endpoint(mac), {
        mac,
        autoprovisioning_enabled: true,
        settings_manager: { [settingServer ?? '']: { value: url.href, attrs: { perm: 'RW' } } },
      });
      if (res.status >= 200 && res.status < 300) return ok();
      return owned(res.status, res.body) ? elsewhere(`Snom SRAPS: ${describe(res.status)}`) : failed(describe(res.status));
    },
    async deregister(mac) {
      const problem = await discover();
      if (problem !== null) return failed(problem);
      const res = await call('DELETE', endpoint(mac));
      if (res.status === 404 || (res.status >= 200 && res.status < 300)) return { status: 'unknown', message: 'deleted' };
      return owned(res.status, res.body) ? elsewhere(describe(res.status)) : failed(describe(res.status));
    },
    async check(mac) {
      const problem = await discover();
      if (problem !== null) return failed(problem);
      const res = await call('GET', endpoint(mac));
      if (res.status === 200) return ok('in this account');
      if (res.status === 404) return { status: 'unknown', message: 'not in this account' };
      return owned(res.status, res.body) ? elsewhere(describe(res.status)) : failed(describe(res.status));
    },
  };
}

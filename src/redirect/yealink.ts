import { createHash, createHmac, randomUUID } from 'node:crypto';
import type { Mac } from '../domain/mac.ts';
import { describe, elsewhere, failed, ok, type RedirectClient, type RedirectResult, request } from './types.ts';

export interface YealinkRpsCredentials {
  /** https://api-dm.yealink.com:8443 unless a proxy or a test stands in. */
  readonly baseUrl: string;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly timeoutMs?: number;
}

/**
 * The string Yealink's RPS open API signs (vendors.md §1.2): the method, each present system header
 * `Name:value` sorted by name, then the path without its leading slash and the sorted query.
 */
export function yealinkStringToSign(method: string, headers: Readonly<Record<string, string>>, path: string, query: URLSearchParams): string {
  const system = ['Content-MD5', 'X-Ca-Key', 'X-Ca-Nonce', 'X-Ca-Timestamp']
    .filter((name) => headers[name] !== undefined)
    .map((name) => `${name}:${headers[name]}\n`)
    .join('');
  const sorted = [...query.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => (v === '' ? k : `${k}=${v}`));
  return `${method}\n${system}${path.replace(/^\//, '')}${sorted.length === 0 ? '' : `\n${sorted.join('&')}`}`;
}

/** Yealink MACs are written lower case, no separators, in the open API. */
export function createYealinkRps(c: YealinkRpsCredentials): RedirectClient {
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown, query = new URLSearchParams()) => {
    const payload = body === undefined ? '' : JSON.stringify(body);
    const headers: Record<string, string> = {
      'X-Ca-Key': c.accessKeyId,
      'X-Ca-Nonce': randomUUID(),
      'X-Ca-Timestamp': String(Date.now()),
      'Content-Type': 'application/json;charset=UTF-8',
    };
    if (payload !== '') headers['Content-MD5'] = createHash('md5').update(payload).digest('base64');
    headers['X-Ca-Signature'] = createHmac('sha256', c.accessKeySecret)
      .update(yealinkStringToSign(method, headers, path, query))
      .digest('base64');
    const qs = query.toString();
    return request(`${c.baseUrl}${path}${qs === '' ? '' : `?${qs}`}`, { method, headers, ...(payload === '' ? {} : { body: payload }) }, c.timeoutMs ?? 10_000);
  };
  type Envelope = { ret?: number; data?: unknown; error?: { msg?: string } | null };
  const envelope = (body: unknown): Envelope => (body !== null && typeof body === 'object' ? (body as Envelope) : {});
  const failure = (status: number, body: unknown): string | null => {
    const e = envelope(body);
    if (status >= 400) return describe(status);
    if ((e.ret ?? 0) < 0 || (e.error !== null && e.error !== undefined)) return `the service refused the request (${describe(status)} with an error)`;
    return null;
  };
  /** The open API's "the MAC exists already" answer, read to decide, never passed on. */
  const existed = (body: unknown) => /existed/.test(String(envelope(body).error?.msg ?? ''));
  /** Our account's record of a MAC, if it has one. */
  const find = async (mac: Mac): Promise<{ id: string } | null | RedirectResult> => {
    const res = await call('POST', '/api/open/v1/device/list', { key: mac, skip: 0, limit: 10, autoCount: false });
    const problem = failure(res.status, res.body);
    if (problem !== null) return failed(problem);
    const data = envelope(res.body).data as { data?: { id: string; mac: string }[] } | undefined;
    return data?.data?.find((d) => d.mac.toLowerCase().replace(/[:-]/g, '') === mac) ?? null;
  };
  const isResult = (v: unknown): v is RedirectResult => typeof v === 'object' && v !== null && 'status' in v;

  return {
    vendor: 'yealink',
    async register(mac, target) {
      const device = { uniqueServerUrl: target.url, authName: target.username, password: target.password };
      const added = await call('POST', '/api/open/v1/device/add', { macs: [mac], ...device, remark: 'hotprov' });
      const problem = failure(added.status, added.body);
      if (problem === null) return ok('added');
      if (!existed(added.body)) return failed(problem);
      // Known already: ours to update, or another account's.
      const mine = await find(mac);
      if (isResult(mine)) return mine;
      if (mine === null) return elsewhere('Yealink RPS: the MAC exists and belongs to another account');
      const edited = await call('POST', '/api/open/v1/device/edit', { id: mine.id, ...device });
      const editProblem = failure(edited.status, edited.body);
      return editProblem === null ? ok('updated') : failed(editProblem);
    },
    async deregister(mac) {
      const mine = await find(mac);
      if (isResult(mine)) return mine;
      if (mine === null) return { status: 'unknown', message: 'not in this account' };
      const res = await call('POST', '/api/open/v1/device/delete', { ids: [mine.id] });
      const problem = failure(res.status, res.body);
      return problem === null ? { status: 'unknown', message: 'deleted' } : failed(problem);
    },
    async check(mac) {
      const mine = await find(mac);
      if (isResult(mine)) return mine;
      return mine === null ? { status: 'unknown', message: 'not in this account' } : ok('in this account');
    },
  };
}

import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { yealinkStringToSign } from '../../src/redirect/yealink.ts';

/**
 * Local stand-ins for the vendors' redirect services, speaking their documented protocols and checking
 * authentication the way the real ones do: Yealink's X-Ca HMAC-SHA256 signature, Snom's Hawk header, Poly's
 * API-KEY. A wrong secret is refused. Each keeps its registrations in memory, knows MACs "owned by another
 * account", and can be told to fail with 500 or to hang.
 */
export interface FakeService {
  readonly url: string;
  /** MAC → the URL (with user and password) it redirects to. */
  readonly registered: Map<string, { url: string; username?: string; password?: string }>;
  /** MACs another account owns. */
  readonly foreign: Set<string>;
  /** Answer every request with 500, or never, while set. */
  mode: 'normal' | 'error' | 'hang';
  /** Requests refused for their authentication. */
  rejected: number;
  /** Requests served. */
  calls: number;
  close(): Promise<void>;
}

async function read(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function start(handle: (svc: FakeService, req: IncomingMessage, body: string, res: ServerResponse) => void): Promise<FakeService> {
  const svc: FakeService = {
    url: '',
    registered: new Map(),
    foreign: new Set(),
    mode: 'normal',
    rejected: 0,
    calls: 0,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer(async (req, res) => {
    const body = await read(req);
    svc.calls++;
    if (svc.mode === 'hang') return;
    if (svc.mode === 'error') return json(res, 500, { message: 'Internal Server Error' });
    handle(svc, req, body, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (svc as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return svc;
}

export function fakeYealinkRps(keyId: string, secret: string): Promise<FakeService> {
  let nextId = 1;
  const ids = new Map<string, string>();
  return start((svc, req, body, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const headers: Record<string, string> = {};
    for (const name of ['Content-MD5', 'X-Ca-Key', 'X-Ca-Nonce', 'X-Ca-Timestamp']) {
      const v = req.headers[name.toLowerCase()];
      if (typeof v === 'string') headers[name] = v;
    }
    const expected = createHmac('sha256', secret)
      .update(yealinkStringToSign(req.method ?? '', headers, url.pathname, url.searchParams))
      .digest('base64');
    const md5ok = body === '' || headers['Content-MD5'] === createHash('md5').update(body).digest('base64');
    const fresh = Math.abs(Date.now() - Number(headers['X-Ca-Timestamp'])) < 15 * 60_000 && (headers['X-Ca-Timestamp'] ?? '').length === 13;
    if (headers['X-Ca-Key'] !== keyId || req.headers['x-ca-signature'] !== expected || !md5ok || !fresh) {
      svc.rejected++;
      return json(res, 401, { ret: -1, data: null, error: { msg: 'signature.invalid' } });
    }
    const data = body === '' ? {} : (JSON.parse(body) as Record<string, unknown>);
    const path = url.pathname;
    if (path === '/api/open/v1/device/add') {
      const [mac] = data.macs as string[];
      if (mac === undefined || !/^[0-9a-f]{12}$/.test(mac)) return json(res, 200, { ret: -1, error: { msg: 'device.mac.invalid' } });
      if (svc.registered.has(mac) || svc.foreign.has(mac)) return json(res, 200, { ret: -1, error: { msg: 'device.mac.existed' } });
      ids.set(String(nextId), mac);
      nextId++;
      svc.registered.set(mac, { url: String(data.uniqueServerUrl), username: String(data.authName), password: String(data.password) });
      return json(res, 200, { ret: 1, data: null, error: null });
    }
    if (path === '/api/open/v1/device/list') {
      const found = [...ids.entries()].filter(([, mac]) => mac === data.key && svc.registered.has(mac)).map(([id, mac]) => ({ id, mac }));
      return json(res, 200, { ret: 1, data: { data: found }, error: null });
    }
    if (path === '/api/open/v1/device/edit') {
      const mac = ids.get(String(data.id));
      if (mac === undefined) return json(res, 200, { ret: -1, error: { msg: 'device.not.found' } });
      svc.registered.set(mac, { url: String(data.uniqueServerUrl), username: String(data.authName), password: String(data.password) });
      return json(res, 200, { ret: 1, data: null, error: null });
    }
    if (path === '/api/open/v1/device/delete') {
      for (const id of data.ids as string[]) svc.registered.delete(ids.get(id) ?? '');
      return json(res, 200, { ret: 0, data: null, error: null });
    }
    return json(res, 404, { ret: -1, error: { msg: 'not found' } });
  });
}

export function fakeSnomSraps(keyId: string, secret: string): Promise<FakeService> {
  const SETTING = '5f1b0c2a-setting-server';
  return start((svc, req, body, res) => {
    const auth = req.headers.authorization ?? '';
    const field = (k: string) => new RegExp(`${k}="([^"]*)"`).exec(auth)?.[1] ?? '';
    const host = (req.headers.host ?? '').split(':');
    const contentType = (req.headers['content-type'] ?? '').split(';')[0] ?? '';
    const hash = body === '' ? '' : createHash('sha256').update(`hawk.1.payload\n${contentType}\n${body}\n`).digest('base64');
    const normalized = `hawk.1.header\n${field('ts')}\n${field('nonce')}\n${req.method}\n${req.url}\n${host[0]}\n${host[1] ?? '80'}\n${hash}\n\n`;
    const mac = createHmac('sha256', secret).update(normalized).digest('base64');
    const fresh = Math.abs(Date.now() / 1000 - Number(field('ts'))) < 60;
    if (!auth.startsWith('Hawk ') || field('id') !== keyId || field('mac') !== mac || (body !== '' && field('hash') !== hash) || !fresh) {
      svc.rejected++;
      return json(res, 401, { detail: 'Authentication credentials were not provided or are invalid.' });
    }
    const path = req.url ?? '';
    if (path === `/api/v1/tokens/${keyId}`) return json(res, 200, { links: { company: `${svc.url}/api/v1/companies/c0ffee/` } });
    if (path === '/api/v1/companies/c0ffee/') return json(res, 200, { links: { endpoints: `${svc.url}/api/v1/companies/c0ffee/endpoints/` } });
    if (path.startsWith('/api/v1/settings/')) return json(res, 200, [{ uuid: SETTING, param_name: 'setting_server', section: 'phone-settings' }]);
    const segment = /^\/api\/v1\/companies\/c0ffee\/endpoints\/([^/]+)$/.exec(path)?.[1];
    if (segment === undefined) return json(res, 404, { detail: 'Not found.' });
    if (!/^[0-9a-f]{12}$/.test(segment)) return json(res, 400, { mac: ['Invalid MAC address.'] });
    const endpoint = segment;
    if (svc.foreign.has(endpoint)) return json(res, 403, { detail: 'User lacks permission to endpoint' });
    if (req.method === 'PUT') {
      const doc = JSON.parse(body) as { settings_manager: Record<string, { value: string }> };
      const value = doc.settings_manager[SETTING]?.value ?? '';
      const u = new URL(value);
      svc.registered.set(endpoint, {
        url: `${u.protocol}//${u.host}${u.pathname}`,
        username: decodeURIComponent(u.username),
        password: decodeURIComponent(u.password),
      });
      return json(res, 200, { mac: endpoint });
    }
    if (req.method === 'DELETE') {
      const had = svc.registered.delete(endpoint);
      res.writeHead(had ? 204 : 404);
      return res.end();
    }
    return svc.registered.has(endpoint) ? json(res, 200, { mac: endpoint }) : json(res, 404, { detail: 'Not found.' });
  });
}

export function fakePolyZtp(apiKey: string): Promise<FakeService> {
  const profiles = new Map<string, { name: string; server: { address: string; username: string; password: string } }>();
  const devices = new Map<string, string>();
  let next = 1;
  return start((svc, req, body, res) => {
    if (req.headers['api-key'] !== apiKey) {
      svc.rejected++;
      return json(res, 401, { message: 'Unauthorized' });
    }
    const path = req.url ?? '';
    const data = body === '' ? {} : (JSON.parse(body) as Record<string, unknown>);
    const sync = () => {
      svc.registered.clear();
      for (const [mac, pid] of devices) {
        const p = profiles.get(pid);
        if (p !== undefined) svc.registered.set(mac, { url: p.server.address, username: p.server.username, password: p.server.password });
      }
    };
    if (path === '/profiles' && req.method === 'GET') return json(res, 200, { results: [...profiles].map(([id, p]) => ({ id, name: p.name })) });
    if (path === '/profiles' && req.method === 'POST') {
      const id = `p${next++}`;
      const t = data.template as { provisioning: { server: { address: string; username: string; password: string } } };
      profiles.set(id, { name: String(data.name), server: t.provisioning.server });
      sync();
      return json(res, 201, { id });
    }
    const profile = /^\/profiles\/(\w+)$/.exec(path)?.[1];
    if (profile !== undefined) {
      if (req.method === 'DELETE') profiles.delete(profile);
      else {
        const t = data.template as { provisioning: { server: { address: string; username: string; password: string } } };
        profiles.set(profile, { name: String(data.name), server: t.provisioning.server });
      }
      sync();
      return json(res, 200, { id: profile });
    }
    if (path === '/devices' && req.method === 'POST') {
      const mac = String(data.id);
      if (!/^[0-9a-f]{12}$/.test(mac)) return json(res, 400, { message: 'invalid MAC' });
      if (svc.foreign.has(mac) || devices.has(mac)) return json(res, 409, { message: 'Conflict' });
      devices.set(mac, String(data.profile));
      sync();
      return json(res, 201, { id: mac });
    }
    const device = /^\/devices\/([0-9a-f]{12})$/.exec(path)?.[1];
    if (device !== undefined) {
      if (req.method === 'DELETE') {
        const had = devices.delete(device);
        sync();
        return json(res, had ? 200 : 404, { message: had ? 'deleted' : 'Not Found' });
      }
      if (svc.foreign.has(device)) return json(res, 200, { id: device, profileid: 'someone-else' });
      const pid = devices.get(device);
      return pid === undefined ? json(res, 404, { message: 'Not Found' }) : json(res, 200, { id: device, profileid: pid });
    }
    return json(res, 404, { message: 'Not Found' });
  });
}

/** Yealink's XML-RPC RPS API: HTTP Basic auth, methods answering `[boolean, string]`. */
export function fakeYealinkXmlRpc(username: string, password: string): Promise<FakeService> {
  const answer = (res: ServerResponse, success: boolean, message: string) => {
    res.writeHead(200, { 'Content-Type': 'text/xml' });
    res.end(
      `<?xml version="1.0"?><methodResponse><params><param><value><array><data><value><boolean>${success ? 1 : 0}</boolean></value><value><string>${message}</string></value></data></array></value></param></params></methodResponse>`,
    );
  };
  return start((svc, req, body, res) => {
    if (req.headers.authorization !== `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`) {
      svc.rejected++;
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="RPS"' });
      return res.end('Unauthorized');
    }
    const method = /<methodName>([^<]+)<\/methodName>/.exec(body)?.[1];
    const params = [...body.matchAll(/<string>([^<]*)<\/string>/g)].map((m) => (m[1] ?? '').replaceAll('&amp;', '&'));
    if (method === 'redirect.addServer') return answer(res, true, 'OK');
    const mac = (params[0] ?? '').toLowerCase().replace(/[:-]/g, '');
    if (!/^[0-9a-f]{12}$/.test(mac)) return answer(res, false, `Error:Invalid MAC(s):${params[0]}`);
    if (method === 'redirect.registerDeviceWithUniqueUrl') {
      if (svc.foreign.has(mac)) return answer(res, false, 'Error:4f2a9c1d7e');
      const u = new URL(params[2] ?? '');
      svc.registered.set(mac, {
        url: `${u.protocol}//${u.host}${u.pathname}`,
        username: decodeURIComponent(u.username),
        password: decodeURIComponent(u.password),
      });
      return answer(res, true, 'OK');
    }
    if (method === 'redirect.deRegisterDevice') {
      svc.registered.delete(mac);
      return answer(res, true, 'OK');
    }
    if (method === 'redirect.checkDevice') {
      return answer(res, true, svc.foreign.has(mac) ? 'registered elsewhere' : svc.registered.has(mac) ? 'registered' : 'unregistered');
    }
    return answer(res, false, 'Error:unknown method');
  });
}

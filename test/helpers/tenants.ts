import type { AppDeps } from '../../src/http/deps.ts';
import { apiRouters } from '../../src/http/routes/api.ts';
import { TEST_TOKEN, type TestServer } from './server.ts';

/** What a call answered: status, headers and the JSON body (null when empty), and the raw text. */
export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: a test reads whatever JSON the route answered, and asserts on it
  readonly body: any;
  readonly text: string;
}

/** Calls the JSON API with a bearer token; the body is sent as JSON. */
export async function callAs(t: TestServer, token: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`${t.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? null : JSON.parse(text), text };
}

/** Creates a tenant as the provider, and a token of it with this role; answers the token. */
export async function tenantWithToken(t: TestServer, slug: string, name: string, role: 'admin' | 'helpdesk' = 'admin'): Promise<string> {
  const created = await callAs(t, TEST_TOKEN, 'POST', '/api/v1/tenants', { name, slug });
  if (created.status !== 201) throw new Error(`creating tenant ${slug}: ${created.status} ${created.text}`);
  return tokenOf(t, slug, role);
}

/** A new token of an existing tenant, made by the provider. */
export async function tokenOf(t: TestServer, slug: string, role: 'admin' | 'helpdesk', name = `${slug} ${role}`): Promise<string> {
  const made = await callAs(t, TEST_TOKEN, 'POST', `/api/v1/tenants/${slug}/tokens`, { name, role });
  if (made.status !== 201) throw new Error(`creating a token of ${slug}: ${made.status} ${made.text}`);
  return made.body.token as string;
}

/** Where a route is mounted: tenant management, or a tenant's routes at /api/v1 or at /api/v1/tenants/:tenant. */
export type Mount = 'tenants' | 'own' | 'slug';

export interface ApiRoute {
  readonly method: string;
  readonly mount: Mount;
  /** The path below the mount: `/users/:extension`; for tenant management the whole path. */
  readonly path: string;
  /** `GET /users/:extension`, `GET /api/v1/tenants/:tenant`: what a test's table of cases is keyed by. */
  readonly key: string;
}

const SLUG_PREFIX = '/api/v1/tenants/:tenant';

/**
 * Every route of the API, read from the routers' own stacks (HEAD, which Koa's router adds to each GET, left
 * out): a table test that looks its cases up here fails on a route added without one.
 */
export function apiRoutes(deps: AppDeps): ApiRoute[] {
  return apiRouters(deps).flatMap((router) => {
    const prefix = router.opts.prefix ?? '';
    const mount: Mount = prefix === '/api/v1/tenants' ? 'tenants' : prefix === SLUG_PREFIX ? 'slug' : 'own';
    return router.stack.flatMap((layer) => {
      const full = String(layer.path);
      return layer.methods
        .filter((m) => m !== 'HEAD')
        .map((method) => {
          const path = mount === 'tenants' ? full.replace(/\/$/, '') : full.slice(prefix.length);
          return { method, mount, path, key: `${method} ${path}` };
        });
    });
  });
}

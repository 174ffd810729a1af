import type Router from '@koa/router';
import type { Role } from '../domain/access.ts';

/** Who may use a console route: anyone (the sign-in page and the style sheet), or at least this role. */
export type RouteAccess = 'open' | Role;

/** helpdesk < admin < provider: each may use what the one before it may. */
const RANK: Record<Role, number> = { helpdesk: 1, admin: 2, provider: 3 };

/**
 * Every console route, as `METHOD path` the router registered it, with who may use it. A route missing here is
 * refused to everyone (and its test fails), so a new page is never open by accident. A helpdesk reads the board,
 * devices and users and logs a desk out; an admin does everything in its tenant; a provider also manages tenants.
 */
export const ROUTE_ACCESS: Readonly<Record<string, RouteAccess>> = {
  'GET /console/assets/console.css': 'open',
  'GET /console/assets/icon.svg': 'open',
  'GET /console/login': 'open',
  'POST /console/login': 'open',
  'POST /console/logout': 'helpdesk',
  'POST /console/tenant': 'provider',

  'GET /console': 'helpdesk',
  'GET /console/board-rows': 'helpdesk',
  'POST /console/devices/:device/logout': 'helpdesk',
  'POST /console/logout-all': 'admin',

  'GET /console/devices': 'helpdesk',
  'GET /console/devices/:device': 'helpdesk',
  'GET /console/devices.csv': 'helpdesk',
  'POST /console/devices': 'admin',
  'POST /console/devices/:device': 'admin',
  'POST /console/devices/:device/approve': 'admin',
  'POST /console/devices/:device/activation-code': 'admin',
  'POST /console/devices/:device/unclaim': 'admin',
  'POST /console/devices/:device/web-password': 'admin',
  'POST /console/devices/:device/delete': 'admin',
  'GET /console/devices/:device/file': 'helpdesk',
  'POST /console/devices/:device/reboot': 'admin',
  'POST /console/devices/:device/resync': 'admin',
  'POST /console/bulk/devices': 'admin',
  'POST /console/import/devices': 'admin',

  'GET /console/users': 'helpdesk',
  'GET /console/users/:extension': 'helpdesk',
  'GET /console/users.csv': 'helpdesk',
  'POST /console/users': 'admin',
  'POST /console/users/:extension': 'admin',
  'POST /console/users/:extension/pin': 'admin',
  'POST /console/users/:extension/delete': 'admin',
  'POST /console/pins': 'admin',
  'POST /console/import/users': 'admin',

  // Templates are per tenant: an admin's save changes only its own tenant's phones (the no-bleed tests check it).
  'GET /console/templates': 'admin',
  'GET /console/templates/:vendor/:name': 'admin',
  'GET /console/templates/:vendor/:name/revisions/:id': 'admin',
  'POST /console/templates/:vendor/:name': 'admin',
  'POST /console/templates/:vendor/:name/restore/:id': 'admin',
  'POST /console/templates/:vendor/:name/reset': 'admin',
  'POST /console/templates/:vendor/:name/reprovision': 'admin',
  // A model's or one device's own version, and merging a shipped file's change into an admin's version.
  'POST /console/templates/:vendor/:name/merge': 'admin',
  'GET /console/templates/:vendor/:name/models/:model': 'admin',
  'GET /console/templates/:vendor/:name/models/:model/revisions/:id': 'admin',
  'POST /console/templates/:vendor/:name/models/:model': 'admin',
  'POST /console/templates/:vendor/:name/models/:model/restore/:id': 'admin',
  'POST /console/templates/:vendor/:name/models/:model/reset': 'admin',
  'POST /console/templates/:vendor/:name/models/:model/reprovision': 'admin',
  'POST /console/templates/:vendor/:name/models/:model/merge': 'admin',
  'GET /console/templates/:vendor/:name/devices/:device': 'admin',
  'GET /console/templates/:vendor/:name/devices/:device/revisions/:id': 'admin',
  'POST /console/templates/:vendor/:name/devices/:device': 'admin',
  'POST /console/templates/:vendor/:name/devices/:device/restore/:id': 'admin',
  'POST /console/templates/:vendor/:name/devices/:device/reset': 'admin',
  'POST /console/templates/:vendor/:name/devices/:device/reprovision': 'admin',
  'POST /console/templates/:vendor/:name/devices/:device/merge': 'admin',

  // Who sat where and for how long: a facilities report with people in it, so an admin's.
  'GET /console/occupancy': 'admin',
  'GET /console/occupancy.csv': 'admin',

  'GET /console/audit': 'admin',
  'GET /console/audit.csv': 'admin',
  'GET /console/settings': 'admin',
  'POST /console/settings': 'admin',
  'POST /console/tokens': 'admin',
  'POST /console/tokens/:id/revoke': 'admin',

  // A tenant's webhooks: where its events go, and the secrets that sign them.
  'GET /console/webhooks': 'admin',
  'POST /console/webhooks': 'admin',
  'GET /console/webhooks/:id': 'admin',
  'POST /console/webhooks/:id': 'admin',
  'POST /console/webhooks/:id/test': 'admin',
  'POST /console/webhooks/:id/secret': 'admin',
  'POST /console/webhooks/:id/delete': 'admin',
  'POST /console/webhooks/:id/deliveries/:delivery/resend': 'admin',

  'GET /console/admins': 'admin',
  'POST /console/admins': 'admin',
  'POST /console/admins/:id/delete': 'admin',
  'POST /console/admins/:id/password': 'admin',

  'GET /console/tenants': 'provider',
  'POST /console/tenants': 'provider',
  'POST /console/tenants/:tenant': 'provider',
  'POST /console/tenants/:tenant/delete': 'provider',
  'POST /console/tenants/:tenant/quotas': 'provider',
  'GET /console/overview': 'provider',
};

/** Whether a role may use a route of this access. */
export const mayUse = (role: Role, access: RouteAccess): boolean => access === 'open' || RANK[role] >= RANK[access];

/** Whether a role is at least another (a provider is at least an admin). */
export const atLeast = (role: Role, least: Role): boolean => RANK[role] >= RANK[least];

/** The route a request reaches, as ROUTE_ACCESS names it (`GET /console/devices/:device`), or null for none. */
export function routeOf(router: Router, method: string, path: string): string | null {
  const asked = method === 'HEAD' ? 'GET' : method;
  const layers = router.match(path, asked).pathAndMethod.filter((layer) => layer.methods.includes(asked));
  const route = layers[layers.length - 1];
  return route === undefined ? null : `${asked} ${route.path}`;
}

/** Who may use a request's route; a route nobody listed is open to no one. */
export function accessOf(router: Router, method: string, path: string): RouteAccess | null {
  const route = routeOf(router, method, path);
  return route === null ? null : (ROUTE_ACCESS[route] ?? null);
}

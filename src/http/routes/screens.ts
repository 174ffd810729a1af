import Router, { type RouterContext } from '@koa/router';
import type { DeviceRow } from '../../db/schema.ts';
import { confirmLogout, loginScreen, logoutScreen, pinScreen, type Screen, submitLogin } from '../../provisioning/screens.ts';
import type { AppDeps } from '../deps.ts';
import { screenDevice, showScreen } from './phoneScreen.ts';

const PHONE = { name: 'phone' };

/**
 * The login and logout screens phones open from their Login and Logout keys, at
 * /phone/<mac>/<secret>/…. Only the phone's own profile holds the secret; a wrong one (or an unknown MAC)
 * is a plain 403, the same for both so MACs cannot be probed. PINs travel in the query string, which no
 * log line records.
 */
export function screenRouter(deps: AppDeps): Router {
  const router = new Router({ prefix: '/phone/:mac/:secret' });

  // Only an active phone logs anyone in: a claimed one may be whoever asked first for its MAC.
  const device = (ctx: RouterContext) => screenDevice(deps, ctx, 'active');
  const show = (ctx: RouterContext, row: DeviceRow, screen: Screen) => showScreen(deps, ctx, row, screen);
  const query = (ctx: RouterContext, name: string) => (typeof ctx.query[name] === 'string' ? (ctx.query[name] as string) : '');
  // The phone's tenant's address (its provider's white label), else the instance's.
  const base = async (row: DeviceRow) => (await deps.tenantSettingsOf(row.tenantId))?.phoneBaseUrl ?? deps.config.phoneBaseUrl;

  router.get('/login', async (ctx) => {
    const row = await device(ctx);
    if (row !== null) show(ctx, row, loginScreen(await base(row), row));
  });
  router.get('/login/pin', async (ctx) => {
    const row = await device(ctx);
    if (row !== null) show(ctx, row, pinScreen(await base(row), row, query(ctx, 'ext')));
  });
  router.get('/login/submit', async (ctx) => {
    const row = await device(ctx);
    if (row === null) return;
    // The phone's tenant: its users, lockouts and time zone, never another tenant's.
    const tenant = await deps.tenantSettingsOf(row.tenantId);
    if (tenant === undefined) throw new Error(`device ${row.mac}: tenant ${row.tenantId} is missing`);
    show(ctx, row, await submitLogin(deps.domain, tenant, PHONE, row, query(ctx, 'ext'), query(ctx, 'pin')));
  });
  router.get('/logout', async (ctx) => {
    const row = await device(ctx);
    if (row !== null) show(ctx, row, await logoutScreen(deps.domain, await base(row), row));
  });
  router.get('/logout/confirm', async (ctx) => {
    const row = await device(ctx);
    if (row !== null) show(ctx, row, await confirmLogout(deps.domain, row.tenantId, PHONE, row));
  });
  return router;
}

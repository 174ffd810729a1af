import Router, { type RouterContext } from '@koa/router';
import type { DeviceRow } from '../../db/schema.ts';
import { activateWithCode } from '../../domain/deviceAccess.ts';
import { activationResult, activationScreen, type Screen } from '../../provisioning/screens.ts';
import type { AppDeps } from '../deps.ts';
import { screenDevice, showScreen } from './phoneScreen.ts';

/**
 * The screen a claimed phone's Activate key opens, at /phone/<mac>/<secret>/activate: someone at the desk types
 * the device's activation code. Only a claimed device has it; anything else (unknown MAC, wrong secret, a device
 * already active) is the same plain 403. The code is counted before it is checked, and never logged.
 */
export function activationRouter(deps: AppDeps): Router {
  const router = new Router({ prefix: '/phone/:mac/:secret/activate' });

  const claimedDevice = (ctx: RouterContext) => screenDevice(deps, ctx, 'claimed');
  const show = (ctx: RouterContext, row: DeviceRow, screen: Screen) => showScreen(deps, ctx, row, screen);

  router.get('/', async (ctx) => {
    const row = await claimedDevice(ctx);
    if (row !== null) show(ctx, row, activationScreen((await deps.tenantSettingsOf(row.tenantId))?.phoneBaseUrl ?? deps.config.phoneBaseUrl, row));
  });
  router.get('/submit', async (ctx) => {
    const row = await claimedDevice(ctx);
    if (row === null) return;
    const code = typeof ctx.query.code === 'string' ? ctx.query.code.trim() : '';
    show(ctx, row, activationResult(await activateWithCode(deps.domain, row.id, code, ctx.ip)));
  });
  return router;
}

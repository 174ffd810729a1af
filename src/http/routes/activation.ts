import { createHash, timingSafeEqual } from 'node:crypto';
import Router, { type RouterContext } from '@koa/router';
import type { DeviceRow } from '../../db/schema.ts';
import { activateWithCode } from '../../domain/deviceAccess.ts';
import { findDeviceByMac } from '../../domain/lookup.ts';
import { parseMac } from '../../domain/mac.ts';
import { activationScreen, activationResult } from '../../provisioning/screens.ts';
import type { AppDeps } from '../deps.ts';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * The screen a claimed phone's Activate key opens, at /phone/<mac>/<secret>/activate: someone at the desk types
 * the device's activation code. Only a claimed device has it; anything else (unknown MAC, wrong secret, a device
 * already active) is the same plain 403. The code is counted before it is checked, and never logged.
 */
export function activationRouter(deps: AppDeps): Router {
  const router = new Router({ prefix: '/phone/:mac/:secret/activate' });

  const claimedDevice = (ctx: RouterContext): DeviceRow | null => {
    const mac = parseMac(ctx.params.mac ?? '');
    const row = mac === null ? undefined : findDeviceByMac(deps.domain.db, mac);
    const secret = row?.screenSecret ?? null;
    const claimed = row !== undefined && row.retiredAt === null && row.access === 'claimed';
    if (!claimed || secret === null || !timingSafeEqual(digest(secret), digest(ctx.params.secret ?? ''))) {
      deps.log.warn('security', 'activation screen asked with a wrong secret, or for a device that is not waiting', { mac: ctx.params.mac, ip: ctx.ip });
      ctx.status = 403;
      ctx.type = 'text/plain';
      ctx.body = 'forbidden\n';
      return null;
    }
    return row;
  };
  const show = (ctx: RouterContext, row: DeviceRow, screen: ReturnType<typeof activationResult>) => {
    const rendered = deps.provisioning.renderScreen(row, screen);
    ctx.set('Cache-Control', 'no-store');
    ctx.type = rendered.contentType;
    ctx.body = rendered.body;
  };

  router.get('/', (ctx) => {
    const row = claimedDevice(ctx);
    if (row !== null) show(ctx, row, activationScreen(deps.config.phoneBaseUrl, row));
  });
  router.get('/submit', (ctx) => {
    const row = claimedDevice(ctx);
    if (row === null) return;
    const code = typeof ctx.query.code === 'string' ? ctx.query.code.trim() : '';
    show(ctx, row, activationResult(activateWithCode(deps.domain, row.id, code, ctx.ip)));
  });
  return router;
}

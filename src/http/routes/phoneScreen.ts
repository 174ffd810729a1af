import { createHash, timingSafeEqual } from 'node:crypto';
import type { RouterContext } from '@koa/router';
import type { DeviceRow } from '../../db/schema.ts';
import { findDeviceByMac } from '../../domain/lookup.ts';
import { parseMac } from '../../domain/mac.ts';
import type { Screen } from '../../provisioning/screens.ts';
import type { AppDeps } from '../deps.ts';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * The device a phone screen's path names, /phone/<mac>/<secret>/…, when the secret is its own and the device is
 * in the state the screen is for; otherwise a plain 403, the same whatever was wrong, so MACs cannot be probed.
 */
export function screenDevice(deps: AppDeps, ctx: RouterContext, access: DeviceRow['access']): DeviceRow | null {
  const mac = parseMac(ctx.params.mac ?? '');
  const row = mac === null ? undefined : findDeviceByMac(deps.domain.db, mac);
  const secret = row?.screenSecret ?? null;
  const usable = row !== undefined && row.retiredAt === null && row.access === access;
  if (!usable || secret === null || !timingSafeEqual(digest(secret), digest(ctx.params.secret ?? ''))) {
    deps.log.warn('security', 'phone screen asked with a wrong secret, or for a device not in its state', { mac: ctx.params.mac, ip: ctx.ip, screen: access });
    ctx.status = 403;
    ctx.type = 'text/plain';
    ctx.body = 'forbidden\n';
    return null;
  }
  return row;
}

/** Answers a screen in the device's vendor's format; never cached on the way. */
export function showScreen(deps: AppDeps, ctx: RouterContext, row: DeviceRow, screen: Screen): void {
  const rendered = deps.provisioning.renderScreen(row, screen);
  ctx.set('Cache-Control', 'no-store');
  ctx.type = rendered.contentType;
  ctx.body = rendered.body;
}

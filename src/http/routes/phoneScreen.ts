import type { RouterContext } from '@koa/router';
import type { DeviceRow } from '../../db/schema.ts';
import { sameSecret } from '../../domain/credentials.ts';
import { findDeviceByMac } from '../../domain/lookup.ts';
import { parseMac } from '../../domain/mac.ts';
import type { Screen } from '../../provisioning/screens.ts';
import type { AppDeps } from '../deps.ts';

/**
 * The device a phone screen's path names, /phone/<mac>/<secret>/…, when the secret is its own and the device is
 * in the state the screen is for; otherwise a plain 403, the same whatever was wrong, so MACs cannot be probed.
 */
export async function screenDevice(deps: AppDeps, ctx: RouterContext, access: DeviceRow['access']): Promise<DeviceRow | null> {
  // The same budget as phone files: a wrong secret is a failed request, and a blocked address gets nothing.
  const blocked = deps.provisioning.blockedFor(ctx.ip);
  if (blocked > 0) {
    ctx.status = 429;
    ctx.set('Retry-After', String(blocked));
    ctx.type = 'text/plain';
    ctx.body = 'too many failed requests\n';
    return null;
  }
  const mac = parseMac(ctx.params.mac ?? '');
  const row = mac === null ? undefined : await findDeviceByMac(deps.domain.db, mac);
  const secret = row?.screenSecret ?? null;
  const usable = row !== undefined && row.retiredAt === null && row.access === access;
  if (!usable || secret === null || !sameSecret(ctx.params.secret ?? '', secret)) {
    // Not logged each time: the budget logs the block once.
    deps.provisioning.failed(ctx.ip);
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

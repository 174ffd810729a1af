import Router from '@koa/router';
import type { ConsoleDeps } from './deps.ts';
import { createPageKit } from './pageKit.ts';
import { adminPages } from './pages/admins.ts';
import { auditPages } from './pages/audit.ts';
import { boardPage } from './pages/board.ts';
import { devicePages } from './pages/devices.ts';
import { occupancyPages } from './pages/occupancy.ts';
import { sessionPages } from './pages/session.ts';
import { settingsPages } from './pages/settings.ts';
import { templatePages } from './pages/templates.ts';
import { tenantPages } from './pages/tenants.ts';
import { userPages } from './pages/users.ts';
import { webhookPages } from './pages/webhooks.ts';
import { createViews } from './views.ts';

/**
 * The browser console under /console: server-rendered pages, one module per page, each reading its forms through
 * its zod schemas into the same domain commands the API calls. The session pages come first: their guard (session
 * cookie, CSRF token of every form, who may use which route: permissions.ts) runs before any other page.
 */
export function consoleRouter(deps: ConsoleDeps): Router {
  const router = new Router({ prefix: '/console' });
  const kit = createPageKit(deps, createViews());
  sessionPages(router, kit);
  boardPage(router, kit);
  devicePages(router, kit);
  userPages(router, kit);
  templatePages(router, kit);
  occupancyPages(router, kit);
  auditPages(router, kit);
  settingsPages(router, kit);
  webhookPages(router, kit);
  adminPages(router, kit);
  tenantPages(router, kit);
  return router;
}

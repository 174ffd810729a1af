import type Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import { listDevices } from '../../domain/devices.ts';
import { logout, logoutSessions } from '../../domain/hotdesk.ts';
import { formatMac, type Mac } from '../../domain/mac.ts';
import { listOpenSessions, sessionOpeners } from '../../domain/sessions.ts';
import { listUsers } from '../../domain/users.ts';
import { phoneState } from '../../sync/phoneState.ts';
import type { PageKit } from '../pageKit.ts';
import { ago, when } from '../pageKit.ts';
import { howInWords, syncInWords } from '../states.ts';

/** The hot-desk board: who sits where since when, the re-sync of each phone; log one or everyone out. */
export function boardPage(router: Router, kit: PageKit): void {
  const { deps } = kit;
  const { domain } = deps;

  const desks = async (ctx: RouterContext) => {
    const sessions = await listOpenSessions(domain.db, kit.tenantId(ctx));
    const open = new Map(sessions.map((s) => [s.device.id, s]));
    const openers = await sessionOpeners(domain.db, kit.tenantId(ctx), sessions);
    const bySipUser = new Map((await listUsers(domain.db, kit.tenantId(ctx))).map((u) => [u.sipUser, u]));
    const hotDesks = (await listDevices(domain.db, kit.tenantId(ctx))).filter((d) => d.hotdesk);
    return await Promise.all(
      hotDesks.map(async (d) => {
        const s = open.get(d.id);
        const sync = await deps.resync.latest(d.id);
        const phone = phoneState(d, s?.user);
        return {
          idleAccount: d.idleAccount,
          label: d.label,
          vendor: d.vendor,
          model: d.model,
          mac: formatMac(d.mac as Mac),
          user: s === undefined ? null : { displayName: s.user.displayName, extension: s.user.extension },
          since: when(s?.session.startedAt),
          how: s === undefined ? '' : howInWords(s.session.method, openers.get(s.session.id)),
          sync: syncInWords(sync),
          // Nobody sits there, but the phone still registers as the last user: not idle until it fetched.
          loggingOut: phone.pending === 'logout' ? { account: phone.account, name: bySipUser.get(phone.account ?? '')?.displayName ?? null } : null,
          loggingIn: phone.pending === 'login',
          lastSeen: d.lastSeenAt === null ? null : { ago: ago(d.lastSeenAt, domain.now()), at: when(d.lastSeenAt) },
        };
      }),
    );
  };
  router.get('/', async (ctx) => await kit.page(ctx, 'board', { title: 'Hot desks', nav: 'board', desks: await desks(ctx) }));
  router.get('/board-rows', async (ctx) => {
    const s = kit.session(ctx);
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = kit.views.partial('board_rows', { desks: await desks(ctx), csrf: s?.csrfToken });
  });
  router.post('/devices/:device/logout', (ctx) =>
    kit.attempt(
      ctx,
      // From the device page, back to it; from the board, back to the board.
      (ctx.state.form as URLSearchParams | undefined)?.get('return') === 'device'
        ? `/console/devices/${encodeURIComponent(ctx.params.device ?? '')}`
        : '/console/',
      async () => await logout(domain, kit.tenantId(ctx), kit.actor(ctx), { device: ctx.params.device ?? '', method: 'admin' }),
      `Logged out ${ctx.params.device}.`,
    ),
  );
  router.post('/logout-all', (ctx) =>
    kit.attempt(
      ctx,
      '/console/',
      async () => await logoutSessions(domain, kit.tenantId(ctx), kit.actor(ctx), { reason: 'admin', method: 'admin' }),
      'Everyone is logged out.',
    ),
  );
}

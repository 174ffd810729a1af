import type Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import { z } from 'zod';
import { listAudit } from '../../domain/audit.ts';
import { toCsv } from '../csv.ts';
import { type PageKit, when } from '../pageKit.ts';

/** A filter field: trimmed; missing, or given twice, is blank. */
const field = z.preprocess((v) => (typeof v === 'string' ? v.trim() : ''), z.string());
/** A day typed as YYYY-MM-DD, anything else no bound. */
const day = (end: boolean) => (v: string) => (/^\d{4}-\d{2}-\d{2}$/.test(v) ? new Date(`${v}T${end ? '23:59:59.999' : '00:00:00'}Z`) : undefined);

/** The audit filter's form (a GET form: the query string), shown back as typed and read as a filter. */
export const AuditFilterForm = z.object({ device: field, user: field, action: field, from: field, to: field }).transform((shown) => {
  const from = day(false)(shown.from);
  const to = day(true)(shown.to);
  return {
    shown,
    filter: { device: shown.device, user: shown.user, action: shown.action, ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) },
  };
});

/** The audit log: filtered by device, user, action and dates; CSV export of the same filter. */
export function auditPages(router: Router, kit: PageKit): void {
  const { domain } = kit.deps;
  const auditFilter = (ctx: RouterContext) => AuditFilterForm.parse(ctx.query);

  router.get('/audit', async (ctx) => {
    const { shown, filter } = auditFilter(ctx);
    const events = (await listAudit(domain.db, kit.tenantId(ctx), { ...filter, limit: 500 })).map((e) => ({ ...e, at: when(e.at) }));
    await kit.page(ctx, 'audit', { title: 'Audit log', nav: 'audit', f: shown, events, query: new URLSearchParams(shown).toString() });
  });
  router.get('/audit.csv', async (ctx) => {
    const { filter } = auditFilter(ctx);
    const rows = (await listAudit(domain.db, kit.tenantId(ctx), filter)).map((e) => [
      e.at.toISOString(),
      e.actor,
      e.action,
      e.method,
      e.deviceMac,
      e.idleAccount,
      e.userExtension,
      e.detail,
    ]);
    ctx.type = 'text/csv; charset=utf-8';
    ctx.attachment('hotprov-audit.csv');
    ctx.body = toCsv(['at', 'actor', 'action', 'method', 'mac', 'idle_account', 'extension', 'detail'], rows);
  });
}

import type Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import { z } from 'zod';
import type { AuditEventRow } from '../../db/schema.ts';
import { AUDIT_ACTION_GROUPS, AUDIT_ACTIONS, auditActors, countAudit, listAudit } from '../../domain/audit.ts';
import { toCsv } from '../csv.ts';
import { type PageKit, when } from '../pageKit.ts';

/** Events on one page of the log. */
export const AUDIT_PAGE_SIZE = 50;

/** A filter field: trimmed; missing, or given twice, is blank. */
const field = z.preprocess((v) => (typeof v === 'string' ? v.trim() : ''), z.string());
/** A day typed as YYYY-MM-DD, anything else no bound. */
const day = (end: boolean) => (v: string) => (/^\d{4}-\d{2}-\d{2}$/.test(v) ? new Date(`${v}T${end ? '23:59:59.999' : '00:00:00'}Z`) : undefined);
/** The page asked for: a whole number from 1, anything else the first. */
const pageNumber = z.preprocess((v) => (typeof v === 'string' && /^\d{1,6}$/.test(v) && Number(v) > 0 ? Number(v) : 1), z.number());

/** The audit filter's form (a GET form: the query string), shown back as typed and read as a filter. */
export const AuditFilterForm = z
  .object({ device: field, user: field, action: field, actor: field, from: field, to: field, page: pageNumber })
  .transform(({ page, ...shown }) => {
    const from = day(false)(shown.from);
    const to = day(true)(shown.to);
    return {
      shown,
      page,
      filter: {
        device: shown.device,
        user: shown.user,
        action: shown.action,
        actor: shown.actor,
        ...(from === undefined ? {} : { from }),
        ...(to === undefined ? {} : { to }),
      },
    };
  });

/** Who did it, in words: a console account, an API token by its name, the phone, the command line, hotprov itself. */
export function describeActor(actor: string): string {
  if (actor.startsWith('admin:')) return `${actor.slice(6)} (console)`;
  if (actor.startsWith('api:')) return `API token “${actor.slice(4)}”`;
  const fixed: Record<string, string> = {
    api: 'API (the configured admin token)',
    cli: 'command line',
    phone: 'the phone',
    console: 'console sign-in',
    hotprov: 'hotprov',
  };
  return fixed[actor] ?? `hotprov (${actor.replace(/-/g, ' ')})`;
}

/** How a login or logout came about, in words. */
const METHODS: Record<string, string> = {
  api: 'API',
  admin: 'console',
  feature_code: 'feature code',
  phone_screen: 'phone screen',
  auto: 'automatic',
};

/** The names of detail fields that camelCase does not spell well. */
const DETAIL_NAMES: Record<string, string> = { fields: 'changed', pinSet: 'PIN set', ip: 'address', userAgent: 'user agent', hotdesk: 'hot desk' };

/** `pinSet` or `pin_set` as `pin set`. */
const words = (name: string) =>
  name
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/_/g, ' ')
    .toLowerCase();

const detailName = (key: string) => DETAIL_NAMES[key] ?? words(key);

function detailValue(value: unknown): string {
  if (value === true) return 'yes';
  if (value === false) return 'no';
  if (value === null || value === undefined) return '—';
  // A list names fields or kinds (`displayName`, `sipPassword`).
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? words(v) : detailValue(v))).join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value).replace(/_/g, ' ');
}

/** An event's detail as `name: value` pairs in words, not JSON. */
export function describeDetail(detail: string | null): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(detail ?? '{}');
  } catch {
    return detail === null || detail === '' ? [] : [detail];
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return [detailValue(parsed)];
  return Object.entries(parsed as Record<string, unknown>).map(([key, value]) => `${detailName(key)}: ${detailValue(value)}`);
}

/** An event as the page and the CSV show it. */
const present = (e: AuditEventRow) => ({
  id: e.id,
  at: when(e.at),
  atIso: e.at.toISOString(),
  who: describeActor(e.actor),
  actor: e.actor,
  what: AUDIT_ACTIONS[e.action] ?? e.action,
  action: e.action,
  how: e.method === null ? '' : (METHODS[e.method] ?? e.method),
  device: [e.idleAccount, e.deviceMac].filter((v) => v !== null && v !== '').join(' · '),
  deviceMac: e.deviceMac,
  idleAccount: e.idleAccount,
  user: e.userExtension ?? '',
  details: describeDetail(e.detail),
});

/** The action picker: each group (every action in it), then its actions, by their words. */
function actionChoices(selected: string) {
  return Object.entries(AUDIT_ACTION_GROUPS).map(([group, label]) => ({
    label,
    all: { value: group, label: `All: ${label.toLowerCase()}`, selected: selected === group },
    actions: Object.entries(AUDIT_ACTIONS)
      .filter(([action]) => action.startsWith(`${group}.`))
      .map(([action, words]) => ({ value: action, label: words, selected: selected === action })),
  }));
}

/**
 * The audit log: filtered by device, user, action, who and dates, a page at a time with the total (the filter and
 * the page are SQL, not the table filtered in memory); CSV export of the whole filtered set.
 */
export function auditPages(router: Router, kit: PageKit): void {
  const { domain } = kit.deps;
  const auditFilter = (ctx: RouterContext) => AuditFilterForm.parse(ctx.query);

  router.get('/audit', async (ctx) => {
    const { shown, filter, page } = auditFilter(ctx);
    const tenantId = kit.tenantId(ctx);
    const total = await countAudit(domain.db, tenantId, filter);
    const pages = Math.max(1, Math.ceil(total / AUDIT_PAGE_SIZE));
    const current = Math.min(page, pages);
    const offset = (current - 1) * AUDIT_PAGE_SIZE;
    const events = (await listAudit(domain.db, tenantId, { ...filter, limit: AUDIT_PAGE_SIZE, offset })).map(present);
    const query = new URLSearchParams(shown).toString();
    const link = (n: number) => `/console/audit?${new URLSearchParams({ ...shown, page: String(n) }).toString()}`;
    await kit.page(ctx, 'audit', {
      title: 'Audit log',
      nav: 'audit',
      f: shown,
      events,
      query,
      actions: actionChoices(shown.action),
      actors: (await auditActors(domain.db, tenantId)).map((a) => ({ value: a, label: describeActor(a), selected: a === shown.actor })),
      total,
      range: total === 0 ? '' : `${offset + 1}–${offset + events.length}`,
      pageOf: `page ${current} of ${pages}`,
      newer: current > 1 ? link(current - 1) : null,
      older: current < pages ? link(current + 1) : null,
    });
  });
  router.get('/audit.csv', async (ctx) => {
    const { filter } = auditFilter(ctx);
    const rows = (await listAudit(domain.db, kit.tenantId(ctx), filter))
      .map(present)
      .map((e) => [e.atIso, e.who, e.actor, e.what, e.action, e.how, e.deviceMac, e.idleAccount, e.user, e.details.join('; ')]);
    ctx.type = 'text/csv; charset=utf-8';
    ctx.attachment('hotprov-audit.csv');
    ctx.body = toCsv(['at', 'who', 'actor', 'what', 'action', 'how', 'mac', 'idle_account', 'extension', 'detail'], rows);
  });
}

import type Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import { validate } from '../../domain/inputs.ts';
import { type DeskRef, type DeskTotal, hoursOf, type OccupancyReport, occupancyRange, occupancyReport } from '../../domain/occupancy.ts';
import { OccupancyQuery, occupancyTable } from '../../edge/occupancy.ts';
import { AppError } from '../../errors.ts';
import { toCsv } from '../csv.ts';
import { type PageKit, when } from '../pageKit.ts';

/** A desk as people name it: its label, else its idle account. */
const deskName = (d: DeskRef) => (d.label === '' ? d.idleAccount : `${d.label} (${d.idleAccount})`);

/**
 * The chart's rows in CSS pixels: each desk's name and hours, its bar beneath. No viewBox: the text keeps its size
 * on a phone and on a wide screen, and the bars are percentages of whatever width the page has.
 */
const CHART = { row: 42, bar: 14, top: 4 };

/** A desk's name short enough for one line of the chart: the label cut, the idle account whole. */
const shortName = (d: DeskRef) => deskName(d.label.length > 32 ? { ...d, label: `${d.label.slice(0, 31)}…` } : d);

/** Hours occupied per desk as horizontal bars, the longest the most used desk; the view escapes every name. */
function chartOf(desks: readonly DeskTotal[]) {
  const most = Math.max(1, ...desks.map((d) => d.occupiedMs));
  const rows = desks.map((d, i) => {
    const y = CHART.top + i * CHART.row;
    return {
      device: d.idleAccount,
      name: shortName(d),
      textY: y + 15,
      barY: y + 21,
      percent: Math.round((d.occupiedMs / most) * 1000) / 10,
      hours: hoursOf(d.occupiedMs),
    };
  });
  return { ...CHART, height: CHART.top * 2 + Math.max(1, rows.length) * CHART.row, rows };
}

/** The page's tables: hours with one decimal, desks and users linked to their pages. */
function present(r: OccupancyReport) {
  return {
    desks: r.desks.map((d) => ({ ...d, name: deskName(d), hours: hoursOf(d.occupiedMs) })),
    deskDays: r.deskDays.map((d) => ({ ...d, name: deskName(d), hours: hoursOf(d.occupiedMs) })),
    users: r.users.map((u) => ({ ...u, name: deskName(u), hours: hoursOf(u.occupiedMs), lastStarted: when(u.lastStartedAt) })),
  };
}

/**
 * Desk occupancy: per desk its hours, days and people over a range of the tenant's days (the last 30 unless asked),
 * a chart of the hours, each desk's days, where each user sat, and the same as CSV.
 */
export function occupancyPages(router: Router, kit: PageKit): void {
  const { domain } = kit.deps;

  const reportFor = async (ctx: RouterContext, asked: { from: string; to: string }) => {
    const tenant = await kit.tenant(ctx);
    const now = domain.now();
    const range = occupancyRange(tenant.timezone, now, asked);
    return occupancyReport(domain.db, { id: tenant.id, timezone: tenant.timezone }, range, now);
  };

  router.get('/occupancy', async (ctx) => {
    const asked = validate(OccupancyQuery, ctx.query);
    let report: OccupancyReport;
    let error: string | undefined;
    try {
      report = await reportFor(ctx, asked);
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      // A range that cannot be shown: say why, and show the last 30 days instead.
      error = err.message;
      report = await reportFor(ctx, { from: '', to: '' });
    }
    const query = new URLSearchParams({ from: report.from, to: report.to }).toString();
    await kit.page(ctx, 'occupancy', {
      title: 'Desk occupancy',
      nav: 'occupancy',
      error,
      from: report.from,
      to: report.to,
      timeZone: report.timeZone,
      dayCount: report.days.length,
      query,
      chart: chartOf(report.desks),
      ...present(report),
    });
  });

  router.get('/occupancy.csv', async (ctx) => {
    const asked = validate(OccupancyQuery, ctx.query);
    const report = await reportFor(ctx, asked);
    const { header, rows } = occupancyTable(report, asked.view);
    ctx.type = 'text/csv; charset=utf-8';
    ctx.attachment(`hotprov-occupancy-${asked.view}-${report.from}-${report.to}.csv`);
    ctx.body = toCsv(header, rows);
  });
}

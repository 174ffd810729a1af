import type { RouterContext } from '@koa/router';
import type { ImportOutcome, ImportPlan, Sheet } from '../domain/imports.ts';
import { AppError } from '../errors.ts';
import { readSheet, toCsv } from './csv.ts';
import { ImportForm } from './forms.ts';
import type { PageKit } from './pageKit.ts';

/**
 * The flow both CSV imports share: the sheet is read and planned on every post; `import` applies a plan without
 * problems, `import-good` only its good rows; anything else (or a plan that cannot be applied) shows the plan.
 */
export interface ImportPage<P extends ImportPlan<unknown, unknown>> {
  /** `devices` or `users`: the route (/console/import/<what>) and the words on the page. */
  readonly what: string;
  readonly title: string;
  readonly plan: (ctx: RouterContext, rows: string[][]) => Promise<P>;
  readonly apply: (ctx: RouterContext, plan: P, onlyGoodRows: boolean) => Promise<ImportOutcome>;
}

/** What a finished import tells the admin. */
export function importNotice(what: string, o: ImportOutcome): string {
  const parts = [`${o.created} created`, `${o.updated} changed`, `${o.unchanged} unchanged`, ...(o.skipped > 0 ? [`${o.skipped} skipped (problems)`] : [])];
  return `Imported ${what}: ${parts.join(', ')}.`;
}

export async function handleImport<P extends ImportPlan<unknown, unknown>>(kit: PageKit, ctx: RouterContext, page: ImportPage<P>): Promise<void> {
  const { csv, action } = kit.input(ctx, ImportForm);
  let sheet: ReturnType<typeof readSheet>;
  try {
    sheet = readSheet(csv);
  } catch (err) {
    if (!(err instanceof AppError) || err.status >= 500) throw err;
    await kit.page(ctx, 'import', { title: page.title, nav: page.what, csv, what: page.what, rows: [], error: err.message });
    return;
  }
  const plan = await page.plan(ctx, sheet.rows);
  const onlyGoodRows = action === 'import-good';
  if ((action === 'import' && plan.ready) || (onlyGoodRows && plan.creates + plan.updates > 0)) {
    const outcome = await page.apply(ctx, plan, onlyGoodRows);
    await kit.back(ctx, `/console/${page.what}`, { notice: importNotice(page.what, outcome) });
    return;
  }
  const kinds = { create: 'new', update: 'change', unchanged: 'unchanged' } as const;
  await kit.page(ctx, 'import', {
    title: page.title,
    nav: page.what,
    csv,
    what: page.what,
    separator: sheet.separator,
    plan,
    toApply: plan.creates + plan.updates,
    rows: plan.rows.map((r) => ({
      line: r.line,
      cells: r.cells.join(' · '),
      problem: r.problem,
      does: r.change === null ? null : kinds[r.change.kind],
      fields: r.change?.kind === 'update' ? r.change.fields.join(', ') : '',
    })),
  });
}

/** Answers a sheet as a CSV download. */
export function sendSheet(ctx: RouterContext, filename: string, sheet: Sheet): void {
  ctx.type = 'text/csv; charset=utf-8';
  ctx.attachment(filename);
  ctx.body = toCsv(sheet.header, sheet.rows);
}

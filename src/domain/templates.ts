import { and, desc, eq } from 'drizzle-orm';
import { type Db, returnedRow, tablesOf, writeTransaction } from '../db/client.ts';
import type { TemplateRevisionRow } from '../db/schema.ts';
import { NotFound, TemplateRefused } from '../errors.ts';
import { recordAudit } from './audit.ts';
import type { Actor, DomainDeps } from './deps.ts';
import { listDevices } from './devices.ts';

/**
 * The vendor templates phones are rendered from, as an admin edits them: every save, restore and reset is a
 * revision of one tenant's template (this module is the one writer of template_revisions), and the text that
 * tenant's phones get follows it; other tenants' phones keep theirs.
 */

/** The compiled templates phones get (provisioning's TemplateStore). */
export interface TemplateOverrides {
  /** The templates an admin may edit, by vendor. */
  names(): ReadonlyMap<string, readonly string[]>;
  shippedSource(vendor: string, name: string): string;
  /** The tenant's version, or the shipped file. */
  currentSource(tenantId: number, vendor: string, name: string): string;
  /** Puts a tenant's version in place of the shipped file (null: back to the file); compiles it first, throws if it does not. */
  setOverride(tenantId: number, vendor: string, name: string, source: string | null): void;
}

/** The templates, and how a source is tried on sample phones before any phone may get it. */
export interface TemplateEditing {
  readonly templates: TemplateOverrides;
  /** Why phones must not get this source ("does not compile: …", "fails to render (…): …"), or null when they may. */
  readonly check: (vendor: string, name: string, source: string) => string | null;
}

/** A tenant's template's revisions, newest first. */
export async function revisionsOf(db: Db, tenantId: number, vendor: string, name: string): Promise<TemplateRevisionRow[]> {
  const { templateRevisions } = tablesOf(db);
  return await db
    .select()
    .from(templateRevisions)
    .where(and(eq(templateRevisions.tenantId, tenantId), eq(templateRevisions.vendor, vendor), eq(templateRevisions.name, name)))
    .orderBy(desc(templateRevisions.id));
}

/**
 * One of the tenant's revisions.
 * @throws AppError not_found (404), for another tenant's revision too.
 */
export async function getRevision(db: Db, tenantId: number, id: number): Promise<TemplateRevisionRow> {
  const { templateRevisions } = tablesOf(db);
  const row = (
    await db
      .select()
      .from(templateRevisions)
      .where(and(eq(templateRevisions.tenantId, tenantId), eq(templateRevisions.id, id)))
  )[0];
  if (row === undefined) throw NotFound(`template revision ${id}`);
  return row;
}

/**
 * The newest revision of every template that has one, per tenant (all tenants' without `tenantId`): what the
 * tenant's phones get instead of the shipped files.
 */
export async function latestRevisions(db: Db, tenantId?: number): Promise<TemplateRevisionRow[]> {
  const { templateRevisions } = tablesOf(db);
  const seen = new Set<string>();
  const out: TemplateRevisionRow[] = [];
  const rows = await db
    .select()
    .from(templateRevisions)
    .where(tenantId === undefined ? undefined : eq(templateRevisions.tenantId, tenantId))
    .orderBy(desc(templateRevisions.id));
  for (const row of rows) {
    const key = `${row.tenantId}/${row.vendor}/${row.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(row);
  }
  return out;
}

/**
 * Saves an admin's version of a template: tried on sample phones first, then the revision and the text phones
 * get change together or not at all.
 * @throws AppError template_refused (422) when the source does not compile, render or parse.
 */
export async function saveTemplate(
  deps: DomainDeps,
  editing: TemplateEditing,
  tenantId: number,
  actor: Actor,
  template: { vendor: string; name: string; source: string },
): Promise<TemplateRevisionRow> {
  assertPhonesMayGet(editing, template.vendor, template.name, template.source);
  return await changeTemplate(deps, editing.templates, tenantId, actor, template);
}

/**
 * Brings an earlier revision back, as a new revision that names it; tried on sample phones again first (the
 * templates around it, or the vendor profile, may have changed since).
 * @throws AppError not_found (404) for a revision of another template or a reset, template_refused (422).
 */
export async function restoreRevision(
  deps: DomainDeps,
  editing: TemplateEditing,
  tenantId: number,
  actor: Actor,
  template: { vendor: string; name: string; revisionId: number },
): Promise<TemplateRevisionRow> {
  const { vendor, name, revisionId } = template;
  const revision = await getRevision(deps.db, tenantId, revisionId);
  if (revision.vendor !== vendor || revision.name !== name || revision.source === null) throw NotFound(`revision ${revisionId} of ${vendor}/${name}`);
  assertPhonesMayGet(editing, vendor, name, revision.source);
  return await changeTemplate(deps, editing.templates, tenantId, actor, { vendor, name, source: revision.source, restoredFrom: revision.id });
}

/** Returns a template to the file shipped in templates/, as a revision without a source. */
export async function resetTemplate(
  deps: DomainDeps,
  editing: TemplateEditing,
  tenantId: number,
  actor: Actor,
  template: { vendor: string; name: string },
): Promise<TemplateRevisionRow> {
  return await changeTemplate(deps, editing.templates, tenantId, actor, { ...template, source: null });
}

/**
 * Re-syncs every phone of the vendor in the tenant after a template change: only when an admin asks, because it
 * touches every one of them. Other tenants' phones did not change.
 * @returns how many phones are re-synced.
 */
export async function resyncTemplatePhones(deps: DomainDeps, tenantId: number, template: { vendor: string; name: string }): Promise<number> {
  const ids = (await listDevices(deps.db, tenantId)).filter((d) => d.vendor === template.vendor).map((d) => d.id);
  await deps.profilesChanged({ deviceIds: ids, reason: `template ${template.vendor}/${template.name} changed` });
  return ids.length;
}

/**
 * The template a vendor and name point to.
 * @throws AppError not_found (404) for one that is not in templates/<vendor>/.
 */
export function requireTemplate(templates: TemplateOverrides, vendor: string, name: string): void {
  if (!(templates.names().get(vendor) ?? []).includes(name)) throw NotFound(`template ${vendor}/${name}`);
}

function assertPhonesMayGet(editing: TemplateEditing, vendor: string, name: string, source: string): void {
  const problem = editing.check(vendor, name, source);
  if (problem !== null) throw TemplateRefused(problem);
}

/**
 * Writes the revision (and its audit event) and puts its text in place, in one transaction: the text is set last
 * inside it, so a failing write leaves phones' text alone, and a text that fails to take (or a commit that fails)
 * rolls the revision back and puts the text before it back.
 */
async function changeTemplate(
  deps: DomainDeps,
  templates: TemplateOverrides,
  tenantId: number,
  actor: Actor,
  revision: { vendor: string; name: string; source: string | null; restoredFrom?: number },
): Promise<TemplateRevisionRow> {
  const { templateRevisions } = tablesOf(deps.db);
  const { vendor, name, source } = revision;
  requireTemplate(templates, vendor, name);
  const current = templates.currentSource(tenantId, vendor, name);
  const before = current === templates.shippedSource(vendor, name) ? null : current;
  const now = deps.now();
  let touched = false;
  try {
    return await writeTransaction(deps.db, async (tx) => {
      const row = await returnedRow(
        tx
          .insert(templateRevisions)
          .values({ tenantId, vendor, name, source, createdBy: actor.name, createdAt: now, restoredFrom: revision.restoredFrom ?? null })
          .returning(),
      );
      // Who and what, never the text itself.
      const action = source === null ? 'template.reset' : revision.restoredFrom === undefined ? 'template.saved' : 'template.restored';
      await recordAudit(tx, tenantId, now, actor, { action, detail: { template: `${vendor}/${name}`, revision: row.id } });
      touched = true;
      templates.setOverride(tenantId, vendor, name, source);
      return row;
    });
  } catch (err) {
    if (touched) templates.setOverride(tenantId, vendor, name, before);
    throw err;
  }
}

import { and, desc, eq, isNull, type SQL } from 'drizzle-orm';
import { type Db, returnedRow, tablesOf, writeTransaction } from '../db/client.ts';
import type { TemplateRevisionRow } from '../db/schema.ts';
import { NotFound, TemplateRefused } from '../errors.ts';
import { recordAudit } from './audit.ts';
import type { Actor, DomainDeps } from './deps.ts';
import { listDevices } from './devices.ts';
import { mergeShippedChange, type ShippedMerge } from './templateMerge.ts';

/**
 * The vendor templates phones are rendered from, as an admin edits them: every save, restore and reset is a
 * revision of one tenant's template at one scope — every phone of the vendor, one model, one device — (this module
 * is the one writer of template_revisions), and the text that scope's phones get follows it; other tenants' phones
 * keep theirs. Each revision records the shipped text it was made from, so a later upgrade's change to the shipped
 * file can be shown beside it and merged.
 */

/** Whose version: the tenant's (every phone of the vendor), one model's, or one device's (of its model). */
export type TemplateScope =
  | { readonly level: 'tenant' }
  | { readonly level: 'model'; readonly model: string }
  | { readonly level: 'device'; readonly deviceId: number; readonly model: string };

export const TENANT_SCOPE: TemplateScope = { level: 'tenant' };

/** The compiled templates phones get (provisioning's TemplateStore). */
export interface TemplateOverrides {
  /** The templates an admin may edit, by vendor. */
  names(): ReadonlyMap<string, readonly string[]>;
  shippedSource(vendor: string, name: string): string;
  /** The scope's version, or the one it inherits (the tenant's, or the shipped file). */
  currentSource(tenantId: number, vendor: string, name: string, scope?: TemplateScope): string;
  /** Whether an admin gave the scope a version of its own (not inherited). */
  hasOwn(tenantId: number, vendor: string, name: string, scope: TemplateScope): boolean;
  /** Puts a scope's version in place of the inherited one (null: back to it); compiles it first, throws if it does not. */
  setOverride(tenantId: number, vendor: string, name: string, source: string | null, scope?: TemplateScope): void;
}

/** The scope a revision belongs to. */
export function scopeOfRevision(row: Pick<TemplateRevisionRow, 'model' | 'deviceId'>): TemplateScope {
  if (row.deviceId !== null) return { level: 'device', deviceId: row.deviceId, model: row.model ?? '' };
  if (row.model !== null) return { level: 'model', model: row.model };
  return TENANT_SCOPE;
}

/** The revisions of one scope: a device's by its id, a model's by its name without a device, the tenant's without either. */
function scopeFilter(db: Db, scope: TemplateScope): SQL {
  const { templateRevisions: t } = tablesOf(db);
  if (scope.level === 'device') return eq(t.deviceId, scope.deviceId);
  if (scope.level === 'model') return and(eq(t.model, scope.model), isNull(t.deviceId)) as SQL;
  return and(isNull(t.model), isNull(t.deviceId)) as SQL;
}

/** The templates, and how a source is tried on sample phones before any phone may get it. */
export interface TemplateEditing {
  readonly templates: TemplateOverrides;
  /**
   * Why phones must not get this source ("does not compile: …", "fails to render (…): …"), or null when they may;
   * a model's or device's version is tried on that model, filling the blocks of `base` (default: the tenant's
   * version as it is now).
   */
  readonly check: (vendor: string, name: string, source: string, scope: TemplateScope, base?: string) => string | null;
}

/** A tenant's template's revisions at one scope (default: the tenant's), newest first. */
export async function revisionsOf(db: Db, tenantId: number, vendor: string, name: string, scope: TemplateScope = TENANT_SCOPE): Promise<TemplateRevisionRow[]> {
  const { templateRevisions } = tablesOf(db);
  return await db
    .select()
    .from(templateRevisions)
    .where(and(eq(templateRevisions.tenantId, tenantId), eq(templateRevisions.vendor, vendor), eq(templateRevisions.name, name), scopeFilter(db, scope)))
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

/** Where a revision's version is kept: its tenant, template and scope. */
const versionKey = (row: TemplateRevisionRow): string => `${row.tenantId}/${row.vendor}/${row.name}/${row.model ?? ''}/${row.deviceId ?? ''}`;

/**
 * The newest revision of every template and scope that has one, per tenant (all tenants' without `tenantId`):
 * what the tenant's phones get instead of the shipped files (or, for a reset, do not).
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
    const key = versionKey(row);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(row);
  }
  return out;
}

/**
 * What changed in the shipped file since an admin's version was made from it (an upgrade), or null: a version
 * that is not the admin's (a reset), one saved before hotprov recorded its shipped text, or one still current.
 */
export function shippedChangeOf(templates: TemplateOverrides, latest: TemplateRevisionRow | undefined): { before: string; after: string } | null {
  if (latest === undefined || latest.source === null || latest.basedOn === null) return null;
  const after = templates.shippedSource(latest.vendor, latest.name);
  return latest.basedOn === after ? null : { before: latest.basedOn, after };
}

/**
 * The scope's version with the shipped file's change since it was made merged in (a three-way merge), for the
 * admin to look at and save; null when the shipped file did not change since.
 */
export async function mergeShipped(
  db: Db,
  templates: TemplateOverrides,
  tenantId: number,
  template: { vendor: string; name: string; scope?: TemplateScope },
): Promise<ShippedMerge | null> {
  const latest = (await revisionsOf(db, tenantId, template.vendor, template.name, template.scope))[0];
  const change = shippedChangeOf(templates, latest);
  if (latest?.source == null || change === null) return null;
  return mergeShippedChange(change.before, latest.source, change.after);
}

/**
 * Saves an admin's version of a template at a scope: tried on sample phones first, then the revision and the text
 * phones get change together or not at all.
 * @param template.shippedMerged the source holds the shipped file as it is now (a merge of it was saved): the next
 *   upgrade is compared with it. Otherwise a version keeps the shipped text its earlier revisions were made from.
 * @throws AppError template_refused (422) when the source does not compile, render or parse.
 */
export async function saveTemplate(
  deps: DomainDeps,
  editing: TemplateEditing,
  tenantId: number,
  actor: Actor,
  template: { vendor: string; name: string; source: string; scope?: TemplateScope; shippedMerged?: boolean },
): Promise<TemplateRevisionRow> {
  const scope = template.scope ?? TENANT_SCOPE;
  assertPhonesMayGet(editing, template.vendor, template.name, template.source, scope);
  requireTemplate(editing.templates, template.vendor, template.name);
  if (scope.level === 'tenant') await assertNarrowerStillRender(deps.db, editing, tenantId, template);
  const latest = (await revisionsOf(deps.db, tenantId, template.vendor, template.name, scope))[0];
  const shippedNow = editing.templates.shippedSource(template.vendor, template.name);
  // A first version (or one after a reset) starts from the text phones get now, made from the shipped file as it is.
  const basedOn = template.shippedMerged === true || latest?.source == null ? shippedNow : latest.basedOn;
  return await changeTemplate(deps, editing.templates, tenantId, actor, {
    vendor: template.vendor,
    name: template.name,
    source: template.source,
    scope,
    basedOn,
  });
}

/**
 * Brings an earlier revision of the same scope back, as a new revision that names it; tried on sample phones again
 * first (the templates around it, or the vendor profile, may have changed since).
 * @throws AppError not_found (404) for a revision of another template or scope, or a reset; template_refused (422).
 */
export async function restoreRevision(
  deps: DomainDeps,
  editing: TemplateEditing,
  tenantId: number,
  actor: Actor,
  template: { vendor: string; name: string; revisionId: number; scope?: TemplateScope },
): Promise<TemplateRevisionRow> {
  const { vendor, name, revisionId } = template;
  const scope = template.scope ?? TENANT_SCOPE;
  const revision = await getRevision(deps.db, tenantId, revisionId);
  if (revision.vendor !== vendor || revision.name !== name || revision.source === null || !sameScope(scopeOfRevision(revision), scope)) {
    throw NotFound(`revision ${revisionId} of ${vendor}/${name}`);
  }
  assertPhonesMayGet(editing, vendor, name, revision.source, scope);
  if (scope.level === 'tenant') await assertNarrowerStillRender(deps.db, editing, tenantId, { vendor, name, source: revision.source });
  return await changeTemplate(deps, editing.templates, tenantId, actor, {
    vendor,
    name,
    source: revision.source,
    restoredFrom: revision.id,
    scope,
    basedOn: revision.basedOn,
  });
}

/**
 * Returns a scope's template to the one it inherits (for the tenant's: the file shipped in templates/), as a
 * revision without a source; the tenant's only when its models' and devices' versions still render over the file.
 * @throws AppError template_refused (422).
 */
export async function resetTemplate(
  deps: DomainDeps,
  editing: TemplateEditing,
  tenantId: number,
  actor: Actor,
  template: { vendor: string; name: string; scope?: TemplateScope },
): Promise<TemplateRevisionRow> {
  if ((template.scope ?? TENANT_SCOPE).level === 'tenant') {
    requireTemplate(editing.templates, template.vendor, template.name);
    await assertNarrowerStillRender(deps.db, editing, tenantId, { ...template, source: null });
  }
  return await changeTemplate(deps, editing.templates, tenantId, actor, {
    vendor: template.vendor,
    name: template.name,
    source: null,
    scope: template.scope ?? TENANT_SCOPE,
    basedOn: null,
  });
}

/**
 * Re-syncs the phones a template change reaches (every phone of the vendor in the tenant, of the model, or the one
 * device): only when an admin asks, because it may touch every one of them. Other tenants' phones did not change.
 * @returns how many phones are re-synced.
 */
export async function resyncTemplatePhones(
  deps: DomainDeps,
  tenantId: number,
  template: { vendor: string; name: string; scope?: TemplateScope },
): Promise<number> {
  const ids = (await phonesOfScope(deps.db, tenantId, template.vendor, template.scope ?? TENANT_SCOPE)).map((d) => d.id);
  await deps.profilesChanged({ deviceIds: ids, reason: `template ${template.vendor}/${template.name} changed` });
  return ids.length;
}

/** The tenant's phones a scope's version reaches: the vendor's, the model's, or the one device. */
export async function phonesOfScope(db: Db, tenantId: number, vendor: string, scope: TemplateScope) {
  return (await listDevices(db, tenantId)).filter(
    (d) => d.vendor === vendor && (scope.level === 'tenant' || (scope.level === 'model' ? d.model === scope.model : d.id === scope.deviceId)),
  );
}

/**
 * The template a vendor and name point to.
 * @throws AppError not_found (404) for one that is not in templates/<vendor>/.
 */
export function requireTemplate(templates: TemplateOverrides, vendor: string, name: string): void {
  if (!(templates.names().get(vendor) ?? []).includes(name)) throw NotFound(`template ${vendor}/${name}`);
}

const sameScope = (a: TemplateScope, b: TemplateScope): boolean =>
  a.level === b.level && (a.level !== 'model' || a.model === (b as typeof a).model) && (a.level !== 'device' || a.deviceId === (b as typeof a).deviceId);

function assertPhonesMayGet(editing: TemplateEditing, vendor: string, name: string, source: string, scope: TemplateScope): void {
  const problem = editing.check(vendor, name, source, scope);
  if (problem !== null) throw TemplateRefused(problem);
}

/**
 * A new text of the tenant's version (null: the shipped file) is what its models' and devices' versions fill from
 * then on: each is tried over it first, so a tenant's save never breaks a narrower version's phones.
 * @throws AppError template_refused (422) naming the version that would break.
 */
async function assertNarrowerStillRender(
  db: Db,
  editing: TemplateEditing,
  tenantId: number,
  template: { vendor: string; name: string; source: string | null },
): Promise<void> {
  const base = template.source ?? editing.templates.shippedSource(template.vendor, template.name);
  for (const row of await latestRevisions(db, tenantId)) {
    if (row.vendor !== template.vendor || row.name !== template.name || row.source === null || (row.model === null && row.deviceId === null)) continue;
    const scope = scopeOfRevision(row);
    const problem = editing.check(template.vendor, template.name, row.source, scope, base);
    if (problem !== null) {
      const whose = scope.level === 'device' ? `device ${scope.deviceId}'s version` : scope.level === 'model' ? `the ${scope.model}'s version` : 'a version';
      throw TemplateRefused(`would break ${whose} (revision ${row.id}), which fills this one's blocks: it ${problem}`);
    }
  }
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
  revision: { vendor: string; name: string; source: string | null; restoredFrom?: number; scope: TemplateScope; basedOn: string | null },
): Promise<TemplateRevisionRow> {
  const { templateRevisions } = tablesOf(deps.db);
  const { vendor, name, source, scope } = revision;
  requireTemplate(templates, vendor, name);
  const before = templates.hasOwn(tenantId, vendor, name, scope) ? templates.currentSource(tenantId, vendor, name, scope) : null;
  const now = deps.now();
  let touched = false;
  try {
    return await writeTransaction(deps.db, async (tx) => {
      const row = await returnedRow(
        tx
          .insert(templateRevisions)
          .values({
            tenantId,
            vendor,
            name,
            source,
            createdBy: actor.name,
            createdAt: now,
            restoredFrom: revision.restoredFrom ?? null,
            model: scope.level === 'tenant' ? null : scope.model,
            deviceId: scope.level === 'device' ? scope.deviceId : null,
            basedOn: revision.basedOn,
          })
          .returning(),
      );
      // Who and what, never the text itself.
      const action = source === null ? 'template.reset' : revision.restoredFrom === undefined ? 'template.saved' : 'template.restored';
      await recordAudit(tx, tenantId, now, actor, { action, detail: { template: `${vendor}/${name}`, ...scopeDetail(scope), revision: row.id } });
      touched = true;
      templates.setOverride(tenantId, vendor, name, source, scope);
      return row;
    });
  } catch (err) {
    if (touched) templates.setOverride(tenantId, vendor, name, before, scope);
    throw err;
  }
}

/** The scope in an audit event's detail: nothing for the tenant's version. */
const scopeDetail = (scope: TemplateScope): Record<string, string | number> =>
  scope.level === 'model' ? { model: scope.model } : scope.level === 'device' ? { model: scope.model, device: scope.deviceId } : {};

import { and, desc, eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { type TemplateRevisionRow, templateRevisions } from '../db/schema.ts';
import { NotFound } from '../errors.ts';
import { recordAudit } from './audit.ts';
import type { Actor } from './context.ts';

/** A template's revisions, newest first. */
export function revisionsOf(db: Db, vendor: string, name: string): TemplateRevisionRow[] {
  return db
    .select()
    .from(templateRevisions)
    .where(and(eq(templateRevisions.vendor, vendor), eq(templateRevisions.name, name)))
    .orderBy(desc(templateRevisions.id))
    .all();
}

export function getRevision(db: Db, id: number): TemplateRevisionRow {
  const row = db.select().from(templateRevisions).where(eq(templateRevisions.id, id)).get();
  if (row === undefined) throw NotFound(`template revision ${id}`);
  return row;
}

/** The newest revision of every template that has one: what phones get instead of the shipped files. */
export function latestRevisions(db: Db): TemplateRevisionRow[] {
  const seen = new Set<string>();
  const out: TemplateRevisionRow[] = [];
  for (const row of db.select().from(templateRevisions).orderBy(desc(templateRevisions.id)).all()) {
    const key = `${row.vendor}/${row.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(row);
  }
  return out;
}

/**
 * Records a new revision of a template (checked by the caller); `source` null returns to the shipped file.
 * Audited with who and what, never the text itself.
 */
export function recordRevision(
  db: Db,
  tenantId: number,
  now: Date,
  actor: Actor,
  revision: { vendor: string; name: string; source: string | null; restoredFrom?: number },
): TemplateRevisionRow {
  const row = db
    .insert(templateRevisions)
    .values({
      vendor: revision.vendor,
      name: revision.name,
      source: revision.source,
      createdBy: actor.name,
      createdAt: now,
      restoredFrom: revision.restoredFrom ?? null,
    })
    .returning()
    .get();
  const action = revision.source === null ? 'template.reset' : revision.restoredFrom === undefined ? 'template.saved' : 'template.restored';
  recordAudit(db, tenantId, now, actor, { action, detail: { template: `${revision.vendor}/${revision.name}`, revision: row.id } });
  return row;
}

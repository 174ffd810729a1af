import { and, desc, eq, gte, lte, type SQL } from 'drizzle-orm';
import { type Db, tablesOf } from '../db/client.ts';
import type { AuditEventRow } from '../db/schema.ts';
import type { Actor } from './deps.ts';

export interface AuditEntry {
  readonly action: string;
  readonly method?: string | null;
  readonly deviceMac?: string | null;
  readonly idleAccount?: string | null;
  readonly userExtension?: string | null;
  /** Anything else worth keeping. Never a secret: this is shown to admins and exported. */
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** Appends one audit event. Call it inside the transaction that made the change, so both or neither land. */
export async function recordAudit(db: Db, tenantId: number, at: Date, actor: Actor, entry: AuditEntry): Promise<void> {
  const { auditEvents } = tablesOf(db);
  await db.insert(auditEvents).values({
    tenantId,
    at,
    actor: actor.name,
    action: entry.action,
    method: entry.method ?? null,
    deviceMac: entry.deviceMac ?? null,
    idleAccount: entry.idleAccount ?? null,
    userExtension: entry.userExtension ?? null,
    detail: JSON.stringify(entry.detail ?? {}),
  });
}

export interface AuditFilter {
  /** MAC or idle account. */
  readonly device?: string;
  readonly user?: string;
  /** An action or its start: `hotdesk` matches hotdesk.login, hotdesk.logout, … */
  readonly action?: string;
  readonly from?: Date;
  readonly to?: Date;
  readonly limit?: number;
}

/** Audit events of a tenant, newest first. */
export async function listAudit(db: Db, tenantId: number, f: AuditFilter): Promise<AuditEventRow[]> {
  const { auditEvents } = tablesOf(db);
  const where: SQL[] = [eq(auditEvents.tenantId, tenantId)];
  if (f.from !== undefined) where.push(gte(auditEvents.at, f.from));
  if (f.to !== undefined) where.push(lte(auditEvents.at, f.to));
  if (f.user !== undefined && f.user !== '') where.push(eq(auditEvents.userExtension, f.user));
  const rows = await db
    .select()
    .from(auditEvents)
    .where(and(...where))
    .orderBy(desc(auditEvents.id));
  const device = f.device?.toLowerCase().replace(/[:.-]/g, '') ?? '';
  return rows
    .filter((r) => device === '' || r.deviceMac === device || r.idleAccount?.toLowerCase() === device)
    .filter((r) => f.action === undefined || f.action === '' || r.action.startsWith(f.action))
    .slice(0, f.limit ?? Number.POSITIVE_INFINITY);
}

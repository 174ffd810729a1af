import type { Db } from '../db/client.ts';
import { auditEvents } from '../db/schema.ts';
import type { Actor } from './context.ts';

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
export function recordAudit(db: Db, tenantId: number, at: Date, actor: Actor, entry: AuditEntry): void {
  db.insert(auditEvents)
    .values({
      tenantId,
      at,
      actor: actor.name,
      action: entry.action,
      method: entry.method ?? null,
      deviceMac: entry.deviceMac ?? null,
      idleAccount: entry.idleAccount ?? null,
      userExtension: entry.userExtension ?? null,
      detail: JSON.stringify(entry.detail ?? {}),
    })
    .run();
}

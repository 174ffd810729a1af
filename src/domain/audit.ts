import { and, asc, count, desc, eq, gte, lte, or, type SQL, sql } from 'drizzle-orm';
import { type Db, tablesOf } from '../db/client.ts';
import type { AuditEventRow } from '../db/schema.ts';
import type { Actor } from './deps.ts';
import { parseMac } from './mac.ts';
import { announceAudited } from './webhookEvents.ts';

export interface AuditEntry {
  readonly action: string;
  readonly method?: string | null;
  readonly deviceMac?: string | null;
  readonly idleAccount?: string | null;
  readonly userExtension?: string | null;
  /** Anything else worth keeping. Never a secret: this is shown to admins and exported. */
  readonly detail?: Readonly<Record<string, unknown>>;
}

/**
 * Appends one audit event, and queues it for the tenant's webhooks subscribed to it. Call it inside the transaction
 * that made the change, so all or none land.
 */
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
  await announceAudited(db, tenantId, at, { ...entry, actor: actor.name });
}

/**
 * Every action hotprov records, in the words the console shows admins; grouped by what comes before the dot, so
 * a filter on `hotdesk` matches every hotdesk.* action.
 */
export const AUDIT_ACTIONS: Readonly<Record<string, string>> = {
  'hotdesk.login': 'Logged in at a desk',
  'hotdesk.logout': 'Logged out of a desk',
  'hotdesk.login_failed': 'Login refused',
  'hotdesk.locked': 'Logins locked after wrong PINs',
  'user.created': 'User added',
  'user.updated': 'User changed',
  'user.deleted': 'User deleted',
  'device.enrolled': 'Phone enrolled',
  'device.updated': 'Phone changed',
  'device.deleted': 'Phone deleted',
  'device.claimed': 'Phone claimed its provisioning',
  'device.claim_refused': 'Phone claim refused',
  'device.activated': 'Phone approved',
  'device.activation_code_created': 'Activation code made',
  'device.activation_code_wrong': 'Wrong activation code',
  'device.access_reset': 'Phone access reset',
  'device.web_password_revealed': 'Phone web password shown',
  'device.unseen': 'Phone not seen for a day',
  'console.secrets_revealed': 'Phone passwords shown in the console',
  'console.signed_in': 'Signed in to the console',
  'console.sign_in_failed': 'Console sign-in failed',
  'admin.created': 'Console account added',
  'admin.deleted': 'Console account deleted',
  'admin.password_reset': 'Console password reset',
  'api_token.created': 'API token made',
  'api_token.revoked': 'API token revoked',
  'template.saved': 'Template saved',
  'template.restored': 'Template revision restored',
  'template.reset': 'Template reset to the shipped file',
  'tenant.created': 'Tenant created',
  'tenant.updated': 'Settings changed',
  'tenant.deleted': 'Tenant deleted',
  'sync.failed': 'Phone did not re-provision',
  'sync.recovered': 'Phone re-provisioned again',
  'security.address_blocked': 'Address blocked',
  'security.phone_mismatch': 'Phone did not match its MAC',
  'webhook.created': 'Webhook added',
  'webhook.updated': 'Webhook changed',
  'webhook.deleted': 'Webhook deleted',
  'webhook.secret_rotated': 'Webhook signing secret replaced',
};

/** The groups of AUDIT_ACTIONS, by what comes before the dot. */
export const AUDIT_ACTION_GROUPS: Readonly<Record<string, string>> = {
  hotdesk: 'Logins and logouts',
  user: 'Users',
  device: 'Phones',
  console: 'Console',
  admin: 'Console accounts',
  api_token: 'API tokens',
  template: 'Templates',
  tenant: 'Settings and tenants',
  sync: 'Re-provisioning',
  security: 'Security',
  webhook: 'Webhooks',
};

export interface AuditFilter {
  /** MAC (any spelling) or idle account. */
  readonly device?: string;
  readonly user?: string;
  /** An action or its group: `hotdesk` matches hotdesk.login, hotdesk.logout, … */
  readonly action?: string;
  /** Who: the actor as recorded (`admin:alice`, `api:asterisk`, `phone`, …). */
  readonly actor?: string;
  readonly from?: Date;
  readonly to?: Date;
  /** At most this many, after skipping `offset` (newest first). */
  readonly limit?: number;
  readonly offset?: number;
}

/** The SQL condition of a filter, so only the asked-for rows leave the database. */
function auditWhere(db: Db, tenantId: number, f: AuditFilter): SQL | undefined {
  const { auditEvents } = tablesOf(db);
  const where: (SQL | undefined)[] = [eq(auditEvents.tenantId, tenantId)];
  if (f.from !== undefined) where.push(gte(auditEvents.at, f.from));
  if (f.to !== undefined) where.push(lte(auditEvents.at, f.to));
  if (f.user !== undefined && f.user !== '') where.push(eq(auditEvents.userExtension, f.user));
  if (f.actor !== undefined && f.actor !== '') where.push(eq(auditEvents.actor, f.actor));
  const device = f.device?.trim() ?? '';
  if (device !== '') {
    const mac = parseMac(device);
    where.push(or(...(mac === null ? [] : [eq(auditEvents.deviceMac, mac)]), sql`lower(${auditEvents.idleAccount}) = ${device.toLowerCase()}`));
  }
  const action = f.action?.trim() ?? '';
  if (action !== '') {
    // The action itself, or any of its group (`hotdesk` or `hotdesk.`): a prefix compared as text, not a LIKE pattern.
    const prefix = action.endsWith('.') ? action : `${action}.`;
    where.push(or(eq(auditEvents.action, action), sql`substr(${auditEvents.action}, 1, ${prefix.length}) = ${prefix}`));
  }
  return and(...where);
}

/** Audit events of a tenant, newest first; a page of them with `limit` and `offset`. */
export async function listAudit(db: Db, tenantId: number, f: AuditFilter): Promise<AuditEventRow[]> {
  const { auditEvents } = tablesOf(db);
  const query = db
    .select()
    .from(auditEvents)
    .where(auditWhere(db, tenantId, f))
    .orderBy(desc(auditEvents.at), desc(auditEvents.id))
    .$dynamic();
  if (f.limit !== undefined) query.limit(f.limit);
  if (f.offset !== undefined && f.offset > 0) query.offset(f.offset);
  return await query;
}

/** How many audit events of a tenant match a filter (its limit and offset aside). */
export async function countAudit(db: Db, tenantId: number, f: AuditFilter): Promise<number> {
  const { auditEvents } = tablesOf(db);
  return Number(
    (
      await db
        .select({ n: count() })
        .from(auditEvents)
        .where(auditWhere(db, tenantId, f))
    )[0]?.n ?? 0,
  );
}

/** The actors that appear in a tenant's log, for the console's "who" picker. */
export async function auditActors(db: Db, tenantId: number): Promise<string[]> {
  const { auditEvents } = tablesOf(db);
  const rows = await db
    .selectDistinct({ actor: auditEvents.actor })
    .from(auditEvents)
    .where(eq(auditEvents.tenantId, tenantId))
    .orderBy(asc(auditEvents.actor));
  return rows.map((r) => r.actor);
}

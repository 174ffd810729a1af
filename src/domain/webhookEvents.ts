import { randomUUID } from 'node:crypto';
import { and, count, desc, eq, inArray, isNotNull, isNull, lte, ne, notInArray, or, sql } from 'drizzle-orm';
import { type Db, tablesOf, writeTransaction } from '../db/client.ts';
import type { WebhookDeliveryRow } from '../db/schema.ts';

/*
 * The webhook outbox: what a tenant's endpoints are told, written in the transaction that made the event (so an
 * event is announced if and only if it happened), then sent and retried by webhooks/sender.ts. This module is the
 * only writer of webhook_deliveries.
 */

/** The events an endpoint can subscribe to, in the words the console shows. */
export const WEBHOOK_EVENTS = {
  'hotdesk.login': 'A user logged in at a free desk',
  'hotdesk.switch': 'A user logged in at a desk someone else was logged in at',
  'hotdesk.logout': 'A user logged out, or the API logged a desk out',
  'hotdesk.forced_logout': 'An admin logged a user out in the console, or a change ended the session',
  'hotdesk.automatic_logout': 'A session ended on schedule or at its maximum length',
  'hotdesk.lockout': 'Wrong PINs locked a user or a phone',
  'sync.failed': 'A phone did not re-provision after a change',
  'device.claimed': 'A phone claimed its provisioning',
  'device.activated': 'A phone was approved and gets its profile',
  'device.unseen': 'A phone has not fetched its file for a day',
} as const;

export type WebhookEventType = keyof typeof WEBHOOK_EVENTS;
export const WEBHOOK_EVENT_TYPES = Object.keys(WEBHOOK_EVENTS) as [WebhookEventType, ...WebhookEventType[]];

/** Sent on request only (the console's and the API's "send a test"), whatever the endpoint subscribed to. */
export const TEST_EVENT = 'webhook.test';

/** Endpoints' deliveries are kept this long after they ended (delivered or given up). */
export const DELIVERY_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

/** What an audit entry says, as far as webhooks care. */
export interface AuditedEvent {
  readonly action: string;
  readonly actor: string;
  readonly method?: string | null;
  readonly deviceMac?: string | null;
  readonly idleAccount?: string | null;
  readonly userExtension?: string | null;
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** Session ends that were not the user's doing: an admin's change took the desk or the user away. */
const FORCED_REASONS = new Set(['admin', 'user_deleted', 'device_deleted', 'device_not_hotdesk', 'user_not_hotdesk']);

/**
 * The webhook event an audited action is, or null. A session closed because its user moved or was replaced is
 * told by the login that did it (`movedFrom`, `replaced`), not as a logout of its own.
 */
export function webhookEventOf(entry: AuditedEvent): WebhookEventType | null {
  switch (entry.action) {
    case 'hotdesk.login':
      return entry.detail?.replaced === undefined ? 'hotdesk.login' : 'hotdesk.switch';
    case 'hotdesk.logout': {
      const reason = String(entry.detail?.reason ?? '');
      if (reason === 'moved' || reason === 'replaced') return null;
      if (entry.method === 'auto') return 'hotdesk.automatic_logout';
      if (entry.method === 'admin' || FORCED_REASONS.has(reason)) return 'hotdesk.forced_logout';
      return 'hotdesk.logout';
    }
    case 'hotdesk.locked':
      return 'hotdesk.lockout';
    case 'sync.failed':
    case 'device.claimed':
    case 'device.activated':
    case 'device.unseen':
      return entry.action;
    default:
      return null;
  }
}

/** The event's `data`: what the audit log says of it, never a secret (the audit log holds none). */
function eventData(entry: AuditedEvent): Record<string, unknown> {
  return {
    device: entry.deviceMac == null ? null : { mac: entry.deviceMac, idleAccount: entry.idleAccount ?? null },
    user: entry.userExtension == null ? null : { extension: entry.userExtension },
    method: entry.method ?? null,
    actor: entry.actor,
    detail: entry.detail ?? {},
  };
}

/** An endpoint's subscriptions as stored; anything unreadable reads as none. */
export function parseEventList(json: string): WebhookEventType[] {
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? value.filter((v): v is WebhookEventType => typeof v === 'string' && v in WEBHOOK_EVENTS) : [];
  } catch {
    return [];
  }
}

const newEventId = () => `evt_${randomUUID().replaceAll('-', '')}`;

/** The JSON every endpoint receives: the same bytes at every attempt, which the signature covers. */
function eventBody(id: string, type: string, at: Date, tenant: string, data: Record<string, unknown>): string {
  return JSON.stringify({ id, type, createdAt: at.toISOString(), tenant, data });
}

/**
 * Queues an audited event for every endpoint of the tenant subscribed to it (a paused one's wait until it is enabled
 * again). Call it inside the transaction that recorded the event (recordAudit does), so both or neither land.
 */
export async function announceAudited(tx: Db, tenantId: number, at: Date, entry: AuditedEvent): Promise<void> {
  const type = webhookEventOf(entry);
  if (type === null) return;
  const { webhookEndpoints, webhookDeliveries, tenants } = tablesOf(tx);
  const endpoints = await tx
    .select({ id: webhookEndpoints.id, events: webhookEndpoints.events, tenant: tenants.slug })
    .from(webhookEndpoints)
    .innerJoin(tenants, eq(tenants.id, webhookEndpoints.tenantId))
    .where(eq(webhookEndpoints.tenantId, tenantId));
  const subscribed = endpoints.filter((e) => parseEventList(e.events).includes(type));
  const first = subscribed[0];
  if (first === undefined) return;
  const id = newEventId();
  const body = eventBody(id, type, at, first.tenant, eventData(entry));
  await tx
    .insert(webhookDeliveries)
    .values(
      subscribed.map((e) => ({ tenantId, endpointId: e.id, eventId: id, event: type, body, state: 'pending' as const, nextAttemptAt: at, createdAt: at })),
    );
}

/** Queues a test event for one endpoint (its tenant's slug given): it shows the endpoint receives and checks signatures. */
export async function queueTestEvent(
  db: Db,
  endpoint: { readonly id: number; readonly tenantId: number },
  tenant: string,
  at: Date,
  actor: string,
): Promise<WebhookDeliveryRow> {
  const { webhookDeliveries } = tablesOf(db);
  const id = newEventId();
  const body = eventBody(id, TEST_EVENT, at, tenant, { actor, message: 'A test event sent from hotprov: this endpoint is reached.' });
  const [row] = await db
    .insert(webhookDeliveries)
    .values({ tenantId: endpoint.tenantId, endpointId: endpoint.id, eventId: id, event: TEST_EVENT, body, state: 'pending', nextAttemptAt: at, createdAt: at })
    .returning();
  if (row === undefined) throw new Error('the test delivery was not written');
  return row;
}

/** A delivery taken for an attempt, with where it goes and what signs it. */
export interface DueDelivery {
  readonly delivery: WebhookDeliveryRow;
  readonly url: string;
  readonly secret: string;
}

/** How many attempts a sender may start now: in all, and per endpoint counting those it already runs (`busy`, by endpoint id). */
export interface TakeLimits {
  readonly total: number;
  readonly perEndpoint: number;
  readonly busy: ReadonlyMap<number, number>;
}

/**
 * Takes deliveries that are due (pending, their time come, their endpoint enabled) for an attempt, oldest first and
 * at most `perEndpoint` running per endpoint: a tenant's slow or flooded endpoint cannot hold every place, so other
 * tenants' events still go. Each taken is counted as attempted and its next time set to when this attempt is given
 * up for lost (`leaseMs`), so another sender (or this one after a crash) tries it again only then. One transaction:
 * two senders never take the same one.
 */
export async function takeDueDeliveries(db: Db, now: Date, limits: TakeLimits, leaseMs: number): Promise<DueDelivery[]> {
  const { webhookDeliveries, webhookEndpoints, tenants } = tablesOf(db);
  if (limits.total <= 0) return [];
  return await writeTransaction(db, async (tx) => {
    // Endpoints at their cap are left out in SQL: a backlog of one cannot fill the candidates and starve the others.
    const full = [...limits.busy].filter(([, n]) => n >= limits.perEndpoint).map(([id]) => id);
    const candidates = await tx
      .select({ id: webhookDeliveries.id, endpointId: webhookDeliveries.endpointId, url: webhookEndpoints.url, secret: webhookEndpoints.secret })
      .from(webhookDeliveries)
      .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
      .innerJoin(tenants, eq(tenants.id, webhookDeliveries.tenantId))
      .where(
        and(
          eq(webhookDeliveries.state, 'pending'),
          lte(webhookDeliveries.nextAttemptAt, now),
          eq(webhookEndpoints.enabled, true),
          isNull(tenants.retiredAt),
          full.length === 0 ? undefined : notInArray(webhookDeliveries.endpointId, full),
        ),
      )
      .orderBy(webhookDeliveries.nextAttemptAt, webhookDeliveries.id)
      .limit(Math.min(limits.total * 8, 1000));
    const running = new Map(limits.busy);
    const due: typeof candidates = [];
    for (const c of candidates) {
      if (due.length >= limits.total) break;
      const n = running.get(c.endpointId) ?? 0;
      if (n >= limits.perEndpoint) continue;
      running.set(c.endpointId, n + 1);
      due.push(c);
    }
    if (due.length === 0) return [];
    const taken = await tx
      .update(webhookDeliveries)
      // No outcome until this attempt records one: "being sent", and not to be sent again meanwhile.
      .set({
        attempts: sql`${webhookDeliveries.attempts} + 1`,
        lastAttemptAt: now,
        nextAttemptAt: new Date(now.getTime() + leaseMs),
        lastStatus: null,
        lastError: null,
      })
      .where(
        inArray(
          webhookDeliveries.id,
          due.map((d) => d.id),
        ),
      )
      .returning();
    const where = new Map(due.map((d) => [d.id, d]));
    return taken.flatMap((delivery) => {
      const to = where.get(delivery.id);
      return to === undefined ? [] : [{ delivery, url: to.url, secret: to.secret }];
    });
  });
}

/** What an attempt came to: the endpoint's status when it answered, and why it failed when it did. */
export interface AttemptOutcome {
  readonly status: number | null;
  readonly error: string | null;
}

/** Where a delivery stands after an attempt. */
export type AttemptResult = 'delivered' | 'retrying' | 'failed';

/**
 * Records an attempt: a 2xx answer delivers; anything else waits the next of `retryWaitsMs` (by attempts made so far)
 * and is given up when they run out. An attempt whose delivery was sent again meanwhile changes nothing.
 */
export async function recordAttempt(
  db: Db,
  taken: Pick<WebhookDeliveryRow, 'id' | 'attempts'>,
  at: Date,
  outcome: AttemptOutcome,
  retryWaitsMs: readonly number[],
): Promise<AttemptResult> {
  const { webhookDeliveries } = tablesOf(db);
  const ok = outcome.status !== null && outcome.status >= 200 && outcome.status < 300;
  const wait = retryWaitsMs[taken.attempts - 1];
  const result: AttemptResult = ok ? 'delivered' : wait === undefined ? 'failed' : 'retrying';
  await db
    .update(webhookDeliveries)
    .set({
      state: result === 'retrying' ? 'pending' : result,
      lastStatus: outcome.status,
      lastError: ok ? null : outcome.error,
      nextAttemptAt: result === 'retrying' && wait !== undefined ? new Date(at.getTime() + wait) : null,
      deliveredAt: ok ? at : null,
    })
    .where(and(eq(webhookDeliveries.id, taken.id), eq(webhookDeliveries.attempts, taken.attempts), eq(webhookDeliveries.state, 'pending')));
  return result;
}

/** An attempt is running: taken (attempted, pending) and no outcome recorded yet. */
export function attemptRunning(d: Pick<WebhookDeliveryRow, 'state' | 'attempts' | 'lastStatus' | 'lastError'>): boolean {
  return d.state === 'pending' && d.attempts > 0 && d.lastStatus === null && d.lastError === null;
}

/**
 * Sends a delivery again from the start of its retries, now (an admin's "send again"): delivered or given up ones too,
 * but not one whose attempt is running (it would be sent twice at once).
 * @returns the delivery, 'running', or undefined when the endpoint has none by that id.
 */
export async function sendAgain(db: Db, endpointId: number, deliveryId: number, now: Date): Promise<WebhookDeliveryRow | 'running' | undefined> {
  const { webhookDeliveries } = tablesOf(db);
  return await writeTransaction(db, async (tx) => {
    const [row] = await tx
      .select()
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.endpointId, endpointId)));
    if (row === undefined) return undefined;
    if (attemptRunning(row)) return 'running';
    const [again] = await tx
      .update(webhookDeliveries)
      .set({ state: 'pending', attempts: 0, nextAttemptAt: now, deliveredAt: null })
      .where(eq(webhookDeliveries.id, row.id))
      .returning();
    return again;
  });
}

/** An endpoint's deliveries, newest first. */
export async function listDeliveries(db: Db, endpointId: number, limit: number): Promise<WebhookDeliveryRow[]> {
  const { webhookDeliveries } = tablesOf(db);
  return await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, endpointId)).orderBy(desc(webhookDeliveries.id)).limit(limit);
}

/** How an endpoint is doing: its latest attempt, and how many deliveries wait or were given up. */
export interface DeliverySummary {
  readonly lastAttempt: WebhookDeliveryRow | null;
  readonly pending: number;
  readonly failed: number;
}

/** Each endpoint's summary, by endpoint id; a query for the counts and one per endpoint for its latest attempt. */
export async function summariseDeliveries(db: Db, endpointIds: readonly number[]): Promise<Map<number, DeliverySummary>> {
  const { webhookDeliveries } = tablesOf(db);
  const summaries = new Map<number, DeliverySummary>();
  if (endpointIds.length === 0) return summaries;
  const counts = await db
    .select({ endpointId: webhookDeliveries.endpointId, state: webhookDeliveries.state, n: count() })
    .from(webhookDeliveries)
    .where(and(inArray(webhookDeliveries.endpointId, [...endpointIds]), or(eq(webhookDeliveries.state, 'pending'), eq(webhookDeliveries.state, 'failed'))))
    .groupBy(webhookDeliveries.endpointId, webhookDeliveries.state);
  for (const id of endpointIds) {
    const [lastAttempt] = await db
      .select()
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.endpointId, id), isNotNull(webhookDeliveries.lastAttemptAt)))
      .orderBy(desc(webhookDeliveries.lastAttemptAt), desc(webhookDeliveries.id))
      .limit(1);
    const of = (state: string) => Number(counts.find((c) => c.endpointId === id && c.state === state)?.n ?? 0);
    summaries.set(id, { lastAttempt: lastAttempt ?? null, pending: of('pending'), failed: of('failed') });
  }
  return summaries;
}

/**
 * Forgets deliveries that ended (delivered or given up) before `before`, and ones still waiting that were made before
 * it (a paused endpoint's, a deleted tenant's): an event that old is no longer news.
 */
export async function pruneDeliveries(db: Db, before: Date): Promise<number> {
  const { webhookDeliveries } = tablesOf(db);
  const gone = await db
    .delete(webhookDeliveries)
    .where(
      and(
        lte(webhookDeliveries.createdAt, before),
        or(ne(webhookDeliveries.state, 'delivered'), lte(webhookDeliveries.deliveredAt, before)),
        or(ne(webhookDeliveries.state, 'failed'), lte(webhookDeliveries.lastAttemptAt, before)),
      ),
    )
    .returning({ id: webhookDeliveries.id });
  return gone.length;
}

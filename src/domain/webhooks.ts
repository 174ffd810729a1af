import { randomBytes } from 'node:crypto';
import { and, asc, count, eq } from 'drizzle-orm';
import { type Db, returnedRow, tablesOf, writeTransaction } from '../db/client.ts';
import type { WebhookDeliveryRow, WebhookEndpointRow } from '../db/schema.ts';
import { Conflict, InvalidField, NotFound } from '../errors.ts';
import { recordAudit } from './audit.ts';
import type { Actor, DomainDeps } from './deps.ts';
import { literalAddressOf, mayCallAddress, networkSet } from './networks.ts';
import { findTenant } from './tenants.ts';
import {
  type DeliverySummary,
  listDeliveries,
  parseEventList,
  queueTestEvent,
  sendAgain,
  summariseDeliveries,
  type WebhookEventType,
} from './webhookEvents.ts';

/*
 * A tenant's webhook endpoints: where they are, what they are subscribed to, and the secret that signs what they are
 * sent. This module is the only writer of webhook_endpoints; the deliveries are webhookEvents.ts's.
 */

/** Enough for every system a tenant wires up; more would be a loop or a mistake. */
export const MAX_ENDPOINTS_PER_TENANT = 20;

/** Which addresses a tenant's endpoint may be at besides public ones (HOTPROV_WEBHOOK_ALLOW). */
export interface WebhookPolicy {
  readonly allow: readonly string[];
}

export interface WebhookInput {
  readonly url: string;
  readonly events: readonly WebhookEventType[];
  readonly description?: string | undefined;
  readonly enabled?: boolean | undefined;
}

/** An endpoint with its subscriptions read and how its deliveries are doing; never its secret. */
export interface WebhookEndpoint {
  readonly id: number;
  readonly url: string;
  readonly description: string;
  readonly events: readonly WebhookEventType[];
  readonly enabled: boolean;
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly deliveries: DeliverySummary;
}

/** Signing secrets look like Stripe's and GitHub's: a prefix, then 32 random bytes. */
const newSecret = () => `whsec_${randomBytes(32).toString('base64url')}`;

/**
 * Why hotprov will not deliver to this URL, or null: HTTPS only (what it is sent names users and desks), no credentials
 * in it (they would be shown in the console), and no address outside the public internet unless the operator allowed
 * it. A host name is checked again at each delivery, against what it resolves to then.
 */
export function webhookUrlProblem(raw: string, policy: WebhookPolicy): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'https:') return 'must start with https://';
  if (url.username !== '' || url.password !== '') return 'must not carry a user name or password (the signature proves hotprov sent it)';
  if (url.hash !== '') return 'must not carry a #fragment';
  const address = literalAddressOf(url);
  if (address !== null && !mayCallAddress(address, networkSet(policy.allow))) {
    return `is at ${address}, which is not a public address (the operator can allow it with HOTPROV_WEBHOOK_ALLOW)`;
  }
  return null;
}

/** Where an endpoint is, for the audit log: scheme, host and port only (a path or query often carries a receiver's token). */
const originOf = (url: string) => new URL(url).origin;

function checkUrl(url: string, policy: WebhookPolicy): string {
  const problem = webhookUrlProblem(url, policy);
  if (problem !== null) throw InvalidField('url', problem);
  return new URL(url).href;
}

function checkEvents(events: readonly WebhookEventType[]): string {
  if (events.length === 0) throw InvalidField('events', 'subscribe to at least one event');
  return JSON.stringify([...new Set(events)].sort());
}

async function endpointOf(db: Db, tenantId: number, id: number): Promise<WebhookEndpointRow> {
  const { webhookEndpoints } = tablesOf(db);
  const [row] = await db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.tenantId, tenantId)));
  if (row === undefined) throw NotFound(`webhook ${id}`);
  return row;
}

function present(row: WebhookEndpointRow, deliveries: DeliverySummary | undefined): WebhookEndpoint {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    events: parseEventList(row.events),
    enabled: row.enabled,
    createdBy: row.createdBy,
    createdAt: row.createdAt,
    deliveries: deliveries ?? { lastAttempt: null, pending: 0, failed: 0 },
  };
}

/** A tenant's endpoints, oldest first, each with how its deliveries are doing. */
export async function listWebhooks(db: Db, tenantId: number): Promise<WebhookEndpoint[]> {
  const { webhookEndpoints } = tablesOf(db);
  const rows = await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.tenantId, tenantId)).orderBy(asc(webhookEndpoints.id));
  const summaries = await summariseDeliveries(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((r) => present(r, summaries.get(r.id)));
}

/**
 * One endpoint of a tenant and its latest deliveries, newest first.
 * @throws AppError not_found (404) for an endpoint that is not the tenant's.
 */
export async function getWebhook(
  db: Db,
  tenantId: number,
  id: number,
  deliveries = 50,
): Promise<{ endpoint: WebhookEndpoint; deliveries: WebhookDeliveryRow[] }> {
  const row = await endpointOf(db, tenantId, id);
  const summaries = await summariseDeliveries(db, [row.id]);
  return { endpoint: present(row, summaries.get(row.id)), deliveries: await listDeliveries(db, row.id, deliveries) };
}

/**
 * Adds an endpoint; its signing secret is answered this once (it is shown again only when replaced).
 * @throws AppError invalid_field (400) for a URL hotprov will not call or no events; conflict (409) past the limit.
 */
export async function createWebhook(
  deps: Pick<DomainDeps, 'db' | 'now'>,
  tenantId: number,
  actor: Actor,
  input: WebhookInput,
  policy: WebhookPolicy,
): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
  const { webhookEndpoints } = tablesOf(deps.db);
  const url = checkUrl(input.url, policy);
  const events = checkEvents(input.events);
  const secret = newSecret();
  const now = deps.now();
  const row = await writeTransaction(deps.db, async (tx) => {
    const [existing] = await tx.select({ n: count() }).from(webhookEndpoints).where(eq(webhookEndpoints.tenantId, tenantId));
    if (Number(existing?.n ?? 0) >= MAX_ENDPOINTS_PER_TENANT) throw Conflict(`a tenant has at most ${MAX_ENDPOINTS_PER_TENANT} webhooks; delete one first`);
    const created = await returnedRow(
      tx
        .insert(webhookEndpoints)
        .values({ tenantId, url, events, secret, description: input.description ?? '', enabled: input.enabled ?? true, createdBy: actor.name, createdAt: now })
        .returning(),
    );
    await recordAudit(tx, tenantId, now, actor, { action: 'webhook.created', detail: { id: created.id, at: originOf(url), events: parseEventList(events) } });
    return created;
  });
  return { endpoint: present(row, undefined), secret };
}

/**
 * Changes an endpoint's URL, subscriptions, description or whether it is sent anything. Disabled, its waiting
 * deliveries wait; enabled again, they go.
 * @throws AppError not_found (404); invalid_field (400) as for createWebhook.
 */
export async function updateWebhook(
  deps: Pick<DomainDeps, 'db' | 'now'>,
  tenantId: number,
  actor: Actor,
  id: number,
  changes: Partial<WebhookInput>,
  policy: WebhookPolicy,
): Promise<WebhookEndpoint> {
  const { webhookEndpoints } = tablesOf(deps.db);
  await writeTransaction(deps.db, async (tx) => {
    const row = await endpointOf(tx, tenantId, id);
    // Only what changed is checked: an endpoint saved under looser rules can still be paused or described.
    const url = changes.url === undefined || changes.url === row.url ? undefined : checkUrl(changes.url, policy);
    const events = changes.events === undefined ? undefined : checkEvents(changes.events);
    const set = {
      ...(url === undefined || url === row.url ? {} : { url }),
      ...(events === undefined || events === row.events ? {} : { events }),
      ...(changes.description === undefined || changes.description === row.description ? {} : { description: changes.description }),
      ...(changes.enabled === undefined || changes.enabled === row.enabled ? {} : { enabled: changes.enabled }),
    };
    if (Object.keys(set).length === 0) return;
    await tx.update(webhookEndpoints).set(set).where(eq(webhookEndpoints.id, id));
    await recordAudit(tx, tenantId, deps.now(), actor, { action: 'webhook.updated', detail: { id, fields: Object.keys(set) } });
  });
  return (await getWebhook(deps.db, tenantId, id, 0)).endpoint;
}

/** Deletes an endpoint and its deliveries (waiting ones are not sent). @throws AppError not_found (404). */
export async function deleteWebhook(deps: Pick<DomainDeps, 'db' | 'now'>, tenantId: number, actor: Actor, id: number): Promise<void> {
  const { webhookEndpoints } = tablesOf(deps.db);
  await writeTransaction(deps.db, async (tx) => {
    const row = await endpointOf(tx, tenantId, id);
    await tx.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id));
    await recordAudit(tx, tenantId, deps.now(), actor, { action: 'webhook.deleted', detail: { id, at: originOf(row.url) } });
  });
}

/**
 * Replaces an endpoint's signing secret, answered this once: from the next attempt on, deliveries are signed with it.
 * @throws AppError not_found (404).
 */
export async function rotateWebhookSecret(deps: Pick<DomainDeps, 'db' | 'now'>, tenantId: number, actor: Actor, id: number): Promise<string> {
  const { webhookEndpoints } = tablesOf(deps.db);
  const secret = newSecret();
  await writeTransaction(deps.db, async (tx) => {
    await endpointOf(tx, tenantId, id);
    await tx.update(webhookEndpoints).set({ secret }).where(eq(webhookEndpoints.id, id));
    await recordAudit(tx, tenantId, deps.now(), actor, { action: 'webhook.secret_rotated', detail: { id } });
  });
  return secret;
}

/** Queues a test event for an endpoint, sent at once (when the endpoint is enabled). @throws AppError not_found (404). */
export async function sendTestEvent(deps: Pick<DomainDeps, 'db' | 'now'>, tenantId: number, actor: Actor, id: number): Promise<WebhookDeliveryRow> {
  const row = await endpointOf(deps.db, tenantId, id);
  const tenant = await findTenant(deps.db, tenantId);
  return await queueTestEvent(deps.db, row, tenant?.slug ?? '', deps.now(), actor.name);
}

/**
 * Sends one of an endpoint's deliveries again, its retries from the start.
 * @throws AppError not_found (404); conflict (409) while an attempt of it is running.
 */
export async function resendDelivery(deps: Pick<DomainDeps, 'db' | 'now'>, tenantId: number, id: number, deliveryId: number): Promise<WebhookDeliveryRow> {
  const row = await endpointOf(deps.db, tenantId, id);
  const delivery = await sendAgain(deps.db, row.id, deliveryId, deps.now());
  if (delivery === undefined) throw NotFound(`delivery ${deliveryId} of webhook ${id}`);
  if (delivery === 'running') throw Conflict(`delivery ${deliveryId} is being sent right now; send it again once this attempt has ended`);
  return delivery;
}

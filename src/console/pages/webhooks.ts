import type Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import { z } from 'zod';
import type { WebhookDeliveryRow } from '../../db/schema.ts';
import { WebhookCreateBody, WebhookUpdateBody } from '../../domain/inputs.ts';
import { attemptRunning, TEST_EVENT, WEBHOOK_EVENT_TYPES, WEBHOOK_EVENTS, type WebhookEventType } from '../../domain/webhookEvents.ts';
import {
  createWebhook,
  deleteWebhook,
  getWebhook,
  listWebhooks,
  resendDelivery,
  rotateWebhookSecret,
  sendTestEvent,
  updateWebhook,
  type WebhookEndpoint,
} from '../../domain/webhooks.ts';
import { idParam } from '../../edge/params.ts';
import { AppError } from '../../errors.ts';
import { api, checkbox, textField } from '../forms.ts';
import { type PageKit, when } from '../pageKit.ts';

/** The add-endpoint form: one checkbox named `events` per event type, ticked ones sent. */
export const NewWebhookForm = z
  .object({ url: textField.transform((v) => v.trim()), description: textField.transform((v) => v.trim()), events: z.array(z.string()) })
  .pipe(api(WebhookCreateBody));

/** An endpoint's edit form: every field, so unticking every event is refused rather than ignored. */
export const WebhookForm = z
  .object({
    url: textField.transform((v) => v.trim()),
    description: textField.transform((v) => v.trim()),
    events: z.array(z.string()),
    enabled: checkbox,
  })
  .pipe(api(WebhookUpdateBody));

/** The form fields read as lists (every ticked checkbox). */
const EVENT_LIST = ['events'];

/** An event type in the words the console shows; the test event is not a subscription, so it has its own. */
const eventWords = (type: string) => (type === TEST_EVENT ? 'Test event' : (WEBHOOK_EVENTS[type as WebhookEventType] ?? type));

/**
 * Where a delivery stands, in one line: delivered (with the status and when), failed and when it is retried, given
 * up, or waiting for its first attempt (a delivery sent again too: its earlier failure stays in its row).
 */
export function outcomeWords(d: WebhookDeliveryRow): string {
  if (d.state === 'delivered') return `Delivered ${d.lastStatus ?? ''} at ${when(d.deliveredAt ?? d.lastAttemptAt)}`;
  // The sender words every failed attempt (a refused connection, a status that is not 2xx); a success clears it.
  const why = d.lastError;
  if (d.state === 'failed') return `Given up after ${d.attempts} attempts: ${why ?? 'no answer'}`;
  if (d.attempts === 0) return `Waiting to be sent at ${when(d.nextAttemptAt)}`;
  if (why !== null) return `Failed: ${why} — retry at ${when(d.nextAttemptAt)}`;
  return `Being sent (attempt ${d.attempts})`;
}

/** An endpoint as its row and form show it. */
const endpointView = (e: WebhookEndpoint) => ({
  id: e.id,
  url: e.url,
  description: e.description,
  enabled: e.enabled,
  events: e.events.map((type) => ({ type, words: eventWords(type) })),
  createdBy: e.createdBy,
  createdAt: when(e.createdAt),
  lastOutcome: e.deliveries.lastAttempt === null ? 'No delivery yet' : outcomeWords(e.deliveries.lastAttempt),
  lastFailed: e.deliveries.lastAttempt !== null && e.deliveries.lastAttempt.state !== 'delivered' && e.deliveries.lastAttempt.lastError !== null,
  pending: e.deliveries.pending,
  failed: e.deliveries.failed,
});

/** Every event as a checkbox, ticked when subscribed. */
const eventChoices = (subscribed: readonly string[]) =>
  WEBHOOK_EVENT_TYPES.map((type) => ({ type, words: WEBHOOK_EVENTS[type], checked: subscribed.includes(type) }));

const deliveryView = (d: WebhookDeliveryRow) => ({
  id: d.id,
  event: d.event,
  words: eventWords(d.event),
  createdAt: when(d.createdAt),
  state: d.state,
  attempts: d.attempts,
  last: d.lastError ?? (d.lastStatus === null ? '' : String(d.lastStatus)),
  nextAttempt: attemptRunning(d) ? 'being sent' : d.state === 'pending' ? when(d.nextAttemptAt) : '',
});

/**
 * Webhooks: the tenant's endpoints with how their deliveries are doing, adding one, and an endpoint's page (edit,
 * test event, new signing secret, delete, its latest deliveries and sending one again) — what the API does. A
 * signing secret is shown once, on the answer that made it.
 */
export function webhookPages(router: Router, kit: PageKit): void {
  const { deps } = kit;
  const { domain } = deps;
  const policy = deps.config.webhooks;

  const showList = async (ctx: RouterContext, newSecret?: { url: string; value: string }) => {
    const endpoints = await listWebhooks(domain.db, kit.tenantId(ctx));
    await kit.page(ctx, 'webhooks', { title: 'Webhooks', nav: 'webhooks', endpoints: endpoints.map(endpointView), events: eventChoices([]), newSecret });
  };
  const showEndpoint = async (ctx: RouterContext, newSecret?: string) => {
    const { endpoint, deliveries } = await getWebhook(domain.db, kit.tenantId(ctx), idParam(ctx, 'id', 'webhook'));
    await kit.page(ctx, 'webhook', {
      title: endpoint.url,
      nav: 'webhooks',
      endpoint: endpointView(endpoint),
      events: eventChoices(endpoint.events),
      deliveries: deliveries.map(deliveryView),
      newSecret,
    });
  };
  const endpointPath = (ctx: RouterContext) => `/console/webhooks/${idParam(ctx, 'id', 'webhook')}`;

  router.get('/webhooks', (ctx) => showList(ctx));
  router.post('/webhooks', async (ctx) => {
    try {
      const { endpoint, secret } = await createWebhook(domain, kit.tenantId(ctx), kit.actor(ctx), kit.input(ctx, NewWebhookForm, EVENT_LIST), policy);
      // Shown on this answer only, never in a URL or a notice kept in the session.
      await showList(ctx, { url: endpoint.url, value: secret });
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      await kit.back(ctx, '/console/webhooks', { error: err.message });
    }
  });

  router.get('/webhooks/:id', (ctx) => showEndpoint(ctx));
  router.post('/webhooks/:id', (ctx) =>
    kit.attempt(
      ctx,
      endpointPath(ctx),
      async () =>
        await updateWebhook(domain, kit.tenantId(ctx), kit.actor(ctx), idParam(ctx, 'id', 'webhook'), kit.input(ctx, WebhookForm, EVENT_LIST), policy),
      'Saved.',
    ),
  );
  router.post('/webhooks/:id/test', (ctx) =>
    kit.attempt(
      ctx,
      endpointPath(ctx),
      async () => await sendTestEvent(domain, kit.tenantId(ctx), kit.actor(ctx), idParam(ctx, 'id', 'webhook')),
      'Test event queued: it is sent within seconds (while the endpoint is enabled).',
    ),
  );
  router.post('/webhooks/:id/secret', async (ctx) => {
    try {
      const secret = await rotateWebhookSecret(domain, kit.tenantId(ctx), kit.actor(ctx), idParam(ctx, 'id', 'webhook'));
      // As a new endpoint's: on this answer only.
      await showEndpoint(ctx, secret);
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      await kit.back(ctx, '/console/webhooks', { error: err.message });
    }
  });
  router.post('/webhooks/:id/delete', (ctx) =>
    kit.attempt(
      ctx,
      '/console/webhooks',
      async () => await deleteWebhook(domain, kit.tenantId(ctx), kit.actor(ctx), idParam(ctx, 'id', 'webhook')),
      'Webhook deleted; its waiting deliveries are not sent.',
    ),
  );
  router.post('/webhooks/:id/deliveries/:delivery/resend', (ctx) =>
    kit.attempt(
      ctx,
      endpointPath(ctx),
      async () => await resendDelivery(domain, kit.tenantId(ctx), idParam(ctx, 'id', 'webhook'), idParam(ctx, 'delivery', 'delivery')),
      'Delivery sent again, its retries from the start.',
    ),
  );
}

import type { RouterContext } from '@koa/router';
import { z } from 'zod';
import type { Actor } from '../../domain/deps.ts';
import { WebhookCreateBody, WebhookUpdateBody } from '../../domain/inputs.ts';
import {
  createWebhook,
  deleteWebhook,
  getWebhook,
  listWebhooks,
  resendDelivery,
  rotateWebhookSecret,
  sendTestEvent,
  updateWebhook,
} from '../../domain/webhooks.ts';
import { idParam } from '../../edge/params.ts';
import { presentWebhook, presentWebhookDelivery } from '../../edge/presenters.ts';
import { NewWebhookView, WebhookDeliveryView, WebhookDetailView, WebhookSecretView, WebhookView } from '../../edge/views.ts';
import type { guarded } from '../apiRoutes.ts';
import type { AppDeps } from '../deps.ts';
import { tenantOf } from '../tenancy.ts';

/**
 * The tenant's webhooks, as in the console: endpoints with their subscriptions and last outcome, their deliveries,
 * a test event, sending one again, and a new signing secret (answered once, like a token).
 */
export function webhookRoutes(route: ReturnType<typeof guarded>, deps: AppDeps, actorOf: (ctx: RouterContext) => Actor): void {
  const { domain } = deps;
  const policy = deps.config.webhooks;
  const tenantId = (ctx: RouterContext) => tenantOf(ctx).id;
  const webhookId = (ctx: RouterContext) => idParam(ctx, 'id', 'webhook');

  route.get(
    '/webhooks',
    { id: 'listWebhooks', access: 'admin', summary: "The tenant's webhook endpoints, each with its latest attempt", responses: { 200: z.array(WebhookView) } },
    async (ctx) => {
      ctx.body = (await listWebhooks(domain.db, tenantId(ctx))).map(presentWebhook);
    },
  );

  route.post(
    '/webhooks',
    {
      id: 'createWebhook',
      access: 'admin',
      summary: 'Adds a webhook endpoint; its signing secret is answered this once',
      description:
        'Each delivery is a POST of JSON `{id, type, createdAt, tenant, data}` with the headers Hotprov-Event, Hotprov-Delivery and Hotprov-Signature (`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>"> with the secret`), retried with back-off until the endpoint answers 2xx.',
      body: WebhookCreateBody,
      responses: { 201: NewWebhookView },
      errors: [409],
    },
    async (ctx, { body }) => {
      const { endpoint, secret } = await createWebhook(domain, tenantId(ctx), actorOf(ctx), body, policy);
      ctx.status = 201;
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { ...presentWebhook(endpoint), secret };
    },
  );

  route.get(
    '/webhooks/:id',
    { id: 'getWebhook', access: 'admin', summary: 'A webhook endpoint and its latest 50 deliveries, newest first', responses: { 200: WebhookDetailView } },
    async (ctx) => {
      const { endpoint, deliveries } = await getWebhook(domain.db, tenantId(ctx), webhookId(ctx));
      ctx.body = { ...presentWebhook(endpoint), deliveries: deliveries.map(presentWebhookDelivery) };
    },
  );

  route.patch(
    '/webhooks/:id',
    {
      id: 'updateWebhook',
      access: 'admin',
      summary: "Changes a webhook's URL, events, description, or whether it is sent anything (disabled, its deliveries wait)",
      body: WebhookUpdateBody,
      responses: { 200: WebhookView },
    },
    async (ctx, { body }) => {
      ctx.body = presentWebhook(await updateWebhook(domain, tenantId(ctx), actorOf(ctx), webhookId(ctx), body, policy));
    },
  );

  route.delete(
    '/webhooks/:id',
    { id: 'deleteWebhook', access: 'admin', summary: 'Deletes a webhook endpoint and its deliveries', responses: { 204: null } },
    async (ctx) => {
      await deleteWebhook(domain, tenantId(ctx), actorOf(ctx), webhookId(ctx));
      ctx.status = 204;
    },
  );

  route.post(
    '/webhooks/:id/secret',
    {
      id: 'rotateWebhookSecret',
      access: 'admin',
      summary: "Replaces a webhook's signing secret; the new one is answered this once",
      responses: { 200: WebhookSecretView },
    },
    async (ctx) => {
      const secret = await rotateWebhookSecret(domain, tenantId(ctx), actorOf(ctx), webhookId(ctx));
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { secret };
    },
  );

  route.post(
    '/webhooks/:id/test',
    { id: 'testWebhook', access: 'admin', summary: 'Sends the endpoint a `webhook.test` event now', responses: { 202: WebhookDeliveryView } },
    async (ctx) => {
      ctx.status = 202;
      ctx.body = presentWebhookDelivery(await sendTestEvent(domain, tenantId(ctx), actorOf(ctx), webhookId(ctx)));
    },
  );

  route.post(
    '/webhooks/:id/deliveries/:delivery/resend',
    {
      id: 'resendWebhookDelivery',
      access: 'admin',
      summary: 'Sends a delivery again now, its retries from the start',
      responses: { 202: WebhookDeliveryView },
    },
    async (ctx) => {
      ctx.status = 202;
      ctx.body = presentWebhookDelivery(await resendDelivery(domain, tenantId(ctx), webhookId(ctx), idParam(ctx, 'delivery', 'delivery')));
    },
  );
}

import type { RouterContext } from '@koa/router';
import { z } from 'zod';
import type { Actor } from '../../domain/deps.ts';
import { getDevice } from '../../domain/lookup.ts';
import {
  latestRevisions,
  mergeShipped,
  requireTemplate,
  resetTemplate,
  restoreRevision,
  resyncTemplatePhones,
  revisionsOf,
  saveTemplate,
  scopeOfRevision,
  shippedChangeOf,
  TENANT_SCOPE,
  type TemplateEditing,
  type TemplateScope,
} from '../../domain/templates.ts';
import { readBody } from '../../edge/body.ts';
import { NotFound } from '../../errors.ts';
import { checkTemplate } from '../../provisioning/templateCheck.ts';
import type { AppDeps } from '../deps.ts';
import type { Access } from '../tenancy.ts';
import { tenantOf } from '../tenancy.ts';

type Handler = (ctx: RouterContext) => unknown;
type Route = (path: string, access: Access, handler: Handler) => void;

/** Which version: a model's (`model`), one device's (`device`: MAC or idle account), else every phone of the vendor's. */
const ScopeFields = { model: z.string().min(1).optional(), device: z.string().min(1).optional() };
const SaveBody = z.strictObject({ source: z.string(), shippedMerged: z.boolean().optional(), ...ScopeFields });
const RestoreBody = z.strictObject({ revision: z.number().int().positive(), ...ScopeFields });
const ScopeBody = z.strictObject(ScopeFields);

/**
 * The template editor's calls in the API, as in the console: per vendor, model or device; a save is tried on sample
 * phones first (422 template_refused with the line); revisions, restore, reset, the shipped change since a version
 * was made and its merge, re-provisioning on request.
 */
export function templateRoutes(route: { get: Route; post: Route }, deps: AppDeps, actorOf: (ctx: RouterContext) => Actor): void {
  const { domain } = deps;

  const templateOf = (ctx: RouterContext) => {
    const vendor = ctx.params.vendor ?? '';
    const name = ctx.params.name ?? '';
    const adapter = deps.adapters.find((a) => a.id === vendor);
    if (adapter === undefined) throw NotFound(`template ${vendor}/${name}`);
    requireTemplate(deps.templates, vendor, name);
    return { vendor, name, adapter };
  };
  /** The scope named by a body's (or the query's) `model` or `device`; 404 for a model or device the vendor does not have here. */
  const scopeOf = async (ctx: RouterContext, fields: { model?: string | undefined; device?: string | undefined }): Promise<TemplateScope> => {
    const { vendor, adapter } = templateOf(ctx);
    if (fields.device !== undefined) {
      const device = await getDevice(domain.db, tenantOf(ctx).id, fields.device);
      if (device.vendor !== vendor) throw NotFound(`device ${fields.device} of ${vendor}`);
      return { level: 'device', deviceId: device.id, model: device.model };
    }
    if (fields.model !== undefined) {
      if (!adapter.profile.models.has(fields.model)) throw NotFound(`model ${vendor} ${fields.model}`);
      return { level: 'model', model: fields.model };
    }
    return TENANT_SCOPE;
  };
  const editing = (ctx: RouterContext): TemplateEditing => {
    const { adapter } = templateOf(ctx);
    const tenant = tenantOf(ctx);
    return {
      templates: deps.templates,
      check: (vendor, name, source, checkedScope, base) => {
        const level =
          checkedScope.level === 'tenant' ? undefined : { model: checkedScope.model, base: base ?? deps.templates.currentSource(tenant.id, vendor, name) };
        const check = checkTemplate(adapter, tenant, tenant.phoneBaseUrl, name, source, undefined, level);
        return check.ok ? null : check.error;
      },
    };
  };
  /** A version as the API answers it: its text, whether it is the scope's own, its revisions and the shipped change since. */
  const present = async (ctx: RouterContext, scope: TemplateScope) => {
    const { vendor, name } = templateOf(ctx);
    const tenantId = tenantOf(ctx).id;
    const revisions = await revisionsOf(domain.db, tenantId, vendor, name, scope);
    const change = shippedChangeOf(deps.templates, revisions[0]);
    return {
      vendor,
      name,
      scope,
      own: deps.templates.hasOwn(tenantId, vendor, name, scope),
      source: deps.templates.currentSource(tenantId, vendor, name, scope),
      shippedChange: change,
      revisions: revisions.map((r) => ({
        id: r.id,
        createdAt: r.createdAt.toISOString(),
        createdBy: r.createdBy,
        reset: r.source === null,
        restoredFrom: r.restoredFrom,
      })),
    };
  };
  const queryScope = (ctx: RouterContext) => ({
    model: typeof ctx.query.model === 'string' ? ctx.query.model : undefined,
    device: typeof ctx.query.device === 'string' ? ctx.query.device : undefined,
  });

  route.get('/templates', 'admin', async (ctx) => {
    const latest = (await latestRevisions(domain.db, tenantOf(ctx).id)).filter((r) => r.source !== null);
    ctx.body = [...deps.templates.names()].flatMap(([vendor, names]) =>
      names.map((name) => {
        const own = latest.filter((r) => r.vendor === vendor && r.name === name);
        return {
          vendor,
          name,
          versions: own.map((r) => ({ scope: scopeOfRevision(r), revision: r.id, shippedChanged: shippedChangeOf(deps.templates, r) !== null })),
        };
      }),
    );
  });
  route.get('/templates/:vendor/:name', 'admin', async (ctx) => {
    ctx.body = await present(ctx, await scopeOf(ctx, queryScope(ctx)));
  });
  route.post('/templates/:vendor/:name', 'admin', async (ctx) => {
    const body = await readBody(ctx, SaveBody);
    const scope = await scopeOf(ctx, body);
    const { vendor, name } = templateOf(ctx);
    await saveTemplate(domain, editing(ctx), tenantOf(ctx).id, actorOf(ctx), {
      vendor,
      name,
      source: body.source,
      scope,
      shippedMerged: body.shippedMerged === true,
    });
    ctx.body = await present(ctx, scope);
  });
  route.post('/templates/:vendor/:name/restore', 'admin', async (ctx) => {
    const body = await readBody(ctx, RestoreBody);
    const scope = await scopeOf(ctx, body);
    const { vendor, name } = templateOf(ctx);
    await restoreRevision(domain, editing(ctx), tenantOf(ctx).id, actorOf(ctx), { vendor, name, revisionId: body.revision, scope });
    ctx.body = await present(ctx, scope);
  });
  route.post('/templates/:vendor/:name/reset', 'admin', async (ctx) => {
    const scope = await scopeOf(ctx, await readBody(ctx, ScopeBody));
    const { vendor, name } = templateOf(ctx);
    await resetTemplate(domain, editing(ctx), tenantOf(ctx).id, actorOf(ctx), { vendor, name, scope });
    ctx.body = await present(ctx, scope);
  });
  /** The version with the shipped change merged in, not saved: `text`, and `conflicts` to make by hand. */
  route.post('/templates/:vendor/:name/merge', 'admin', async (ctx) => {
    const scope = await scopeOf(ctx, await readBody(ctx, ScopeBody));
    const { vendor, name } = templateOf(ctx);
    const merge = await mergeShipped(domain.db, deps.templates, tenantOf(ctx).id, { vendor, name, scope });
    ctx.body = merge ?? { text: null, conflicts: [] };
  });
  route.post('/templates/:vendor/:name/resync', 'admin', async (ctx) => {
    const scope = await scopeOf(ctx, await readBody(ctx, ScopeBody));
    const { vendor, name } = templateOf(ctx);
    ctx.status = 202;
    ctx.body = { phones: await resyncTemplatePhones(domain, tenantOf(ctx).id, { vendor, name, scope }) };
  });
}

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
import { apiSchemas, TemplateListEntryView, TemplateMergeView, TemplateResyncView, TemplateView } from '../../edge/views.ts';
import { NotFound } from '../../errors.ts';
import { checkTemplate } from '../../provisioning/templateCheck.ts';
import type { guarded } from '../apiRoutes.ts';
import type { AppDeps } from '../deps.ts';
import { tenantOf } from '../tenancy.ts';

/** Which version: a model's (`model`), one device's (`device`: MAC or idle account), else every phone of the vendor's. */
const ScopeFields = {
  model: z.string().min(1).optional().register(apiSchemas, { description: "a model's version (e.g. T46U)" }),
  device: z.string().min(1).optional().register(apiSchemas, { description: "one device's version: its MAC or idle account" }),
};
const SaveBody = z.strictObject({ source: z.string(), shippedMerged: z.boolean().optional(), ...ScopeFields });
const RestoreBody = z.strictObject({ revision: z.number().int().positive(), ...ScopeFields });
const ScopeBody = z.strictObject(ScopeFields);
/** `GET /templates/:vendor/:name`: whose version; unknown parameters are ignored. */
const ScopeQuery = z.object(ScopeFields);

/**
 * The template editor's calls in the API, as in the console: per vendor, model or device; a save is tried on sample
 * phones first (422 template_refused with the line); revisions, restore, reset, the shipped change since a version
 * was made and its merge, re-provisioning on request.
 */
export function templateRoutes(route: ReturnType<typeof guarded>, deps: AppDeps, actorOf: (ctx: RouterContext) => Actor): void {
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
  const present = async (ctx: RouterContext, scope: TemplateScope): Promise<z.output<typeof TemplateView>> => {
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
  route.get(
    '/templates',
    {
      id: 'listTemplates',
      access: 'admin',
      summary: "The templates an admin may edit, with the tenant's own versions of each",
      responses: { 200: z.array(TemplateListEntryView) },
    },
    async (ctx) => {
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
    },
  );
  route.get(
    '/templates/:vendor/:name',
    {
      id: 'getTemplate',
      access: 'admin',
      summary: "A template's version for every phone of the vendor, a model or a device, with its revisions",
      query: ScopeQuery,
      responses: { 200: TemplateView },
      errors: [404],
    },
    async (ctx, { query }) => {
      ctx.body = await present(ctx, await scopeOf(ctx, query));
    },
  );
  route.post(
    '/templates/:vendor/:name',
    {
      id: 'saveTemplate',
      access: 'admin',
      summary: "Saves a version, tried on sample phones first; the scope's phones get it at their next fetch",
      body: SaveBody,
      responses: { 200: TemplateView },
      errors: [404, 422],
    },
    async (ctx, { body }) => {
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
    },
  );
  route.post(
    '/templates/:vendor/:name/restore',
    {
      id: 'restoreTemplate',
      access: 'admin',
      summary: 'Brings an earlier revision of the same scope back, as a new revision',
      body: RestoreBody,
      responses: { 200: TemplateView },
      errors: [404, 422],
    },
    async (ctx, { body }) => {
      const scope = await scopeOf(ctx, body);
      const { vendor, name } = templateOf(ctx);
      await restoreRevision(domain, editing(ctx), tenantOf(ctx).id, actorOf(ctx), { vendor, name, revisionId: body.revision, scope });
      ctx.body = await present(ctx, scope);
    },
  );
  route.post(
    '/templates/:vendor/:name/reset',
    {
      id: 'resetTemplate',
      access: 'admin',
      summary: 'Returns a scope to the version it inherits (the shipped file, for the tenant)',
      body: ScopeBody,
      responses: { 200: TemplateView },
      errors: [404, 422],
    },
    async (ctx, { body }) => {
      const scope = await scopeOf(ctx, body);
      const { vendor, name } = templateOf(ctx);
      await resetTemplate(domain, editing(ctx), tenantOf(ctx).id, actorOf(ctx), { vendor, name, scope });
      ctx.body = await present(ctx, scope);
    },
  );
  /** The version with the shipped change merged in, not saved: `text`, and `conflicts` to make by hand. */
  route.post(
    '/templates/:vendor/:name/merge',
    {
      id: 'mergeTemplate',
      access: 'admin',
      summary: "The scope's version with the shipped file's change since merged in, not saved, and the conflicts to make by hand",
      body: ScopeBody,
      responses: { 200: TemplateMergeView },
      errors: [404],
    },
    async (ctx, { body }) => {
      const scope = await scopeOf(ctx, body);
      const { vendor, name } = templateOf(ctx);
      const merge = await mergeShipped(domain.db, deps.templates, tenantOf(ctx).id, { vendor, name, scope });
      ctx.body = merge ?? { text: null, conflicts: [] };
    },
  );
  route.post(
    '/templates/:vendor/:name/resync',
    {
      id: 'resyncTemplate',
      access: 'admin',
      summary: 'Re-syncs the phones the scope reaches; answers how many',
      body: ScopeBody,
      responses: { 202: TemplateResyncView },
      errors: [404],
    },
    async (ctx, { body }) => {
      const scope = await scopeOf(ctx, body);
      const { vendor, name } = templateOf(ctx);
      ctx.status = 202;
      ctx.body = { phones: await resyncTemplatePhones(domain, tenantOf(ctx).id, { vendor, name, scope }) };
    },
  );
}

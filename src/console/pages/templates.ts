import type Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import { z } from 'zod';
import { listDevices } from '../../domain/devices.ts';
import { getDevice, getUser } from '../../domain/lookup.ts';
import {
  getRevision,
  latestRevisions,
  mergeShipped,
  phonesOfScope,
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
import { keysOf, listUsers } from '../../domain/users.ts';
import { AppError, NotFound } from '../../errors.ts';
import { checkTemplate } from '../../provisioning/templateCheck.ts';
import { diffLines } from '../diff.ts';
import { textField } from '../forms.ts';
import { type PageKit, when } from '../pageKit.ts';

/** The template editor's form: the source, a phone and user to try it on too, and whether to save or only preview. */
export const TemplateForm = z.object({
  source: textField.transform((v) => v.replace(/\r\n/g, '\n')),
  device: textField,
  user: textField,
  action: textField,
  /** "1" when the source is a merge of the shipped file's change: the version is then based on the shipped file as it is. */
  shippedMerged: textField,
});

/** Who a scope's version is for, in the admin's words. */
const scopeLabel = (vendor: string, scope: TemplateScope, device?: { idleAccount: string }): string =>
  scope.level === 'tenant'
    ? `every ${vendor} phone`
    : scope.level === 'model'
      ? `every ${vendor} ${scope.model}`
      : `device ${device?.idleAccount ?? scope.deviceId} (${scope.model}) only`;

/**
 * Templates: every vendor template editable, for every phone of the vendor, one model or one device, tried on
 * sample phones (and a chosen phone and user) before a save; revisions with diffs, restore, reset to the version
 * inherited; a shipped file changed by an upgrade shown beside the admin's version, to merge; re-sync only when the
 * admin confirms.
 */
export function templatePages(router: Router, kit: PageKit): void {
  const { deps } = kit;
  const { domain } = deps;

  /**
   * The vendor, template and scope a path names (`/templates/:vendor/:name`, `…/models/:model`, `…/devices/:device`);
   * 404 for a template that is not one of templates/<vendor>/, a model the vendor does not have, a device of
   * another vendor or tenant.
   */
  const templateParams = async (ctx: RouterContext) => {
    const vendor = ctx.params.vendor ?? '';
    const name = ctx.params.name ?? '';
    const adapter = deps.adapters.find((a) => a.id === vendor);
    if (adapter === undefined) throw NotFound(`template ${vendor}/${name}`);
    requireTemplate(deps.templates, vendor, name);
    const root = `/console/templates/${vendor}/${name}`;
    if (ctx.params.model !== undefined) {
      const model = ctx.params.model;
      if (!adapter.profile.models.has(model)) throw NotFound(`model ${vendor} ${model}`);
      const scope: TemplateScope = { level: 'model', model };
      return { vendor, name, adapter, scope, base: `${root}/models/${encodeURIComponent(model)}`, label: scopeLabel(vendor, scope) };
    }
    if (ctx.params.device !== undefined) {
      const device = await getDevice(domain.db, kit.tenantId(ctx), ctx.params.device);
      if (device.vendor !== vendor) throw NotFound(`device ${ctx.params.device} of ${vendor}`);
      const scope: TemplateScope = { level: 'device', deviceId: device.id, model: device.model };
      return {
        vendor,
        name,
        adapter,
        scope,
        base: `${root}/devices/${encodeURIComponent(device.idleAccount)}`,
        label: scopeLabel(vendor, scope, device),
        device,
      };
    }
    return { vendor, name, adapter, scope: TENANT_SCOPE, base: root, label: scopeLabel(vendor, TENANT_SCOPE) };
  };
  type Params = Awaited<ReturnType<typeof templateParams>>;

  /** A source tried on the sample phones (of the scope's model, filling the tenant's version's blocks), and on a chosen phone and user. */
  const checkSource = async (ctx: RouterContext, params: Params, source: string, chosen?: Parameters<typeof checkTemplate>[5]) => {
    const tenant = await kit.tenant(ctx);
    const { scope } = params;
    const level =
      scope.level === 'tenant' ? undefined : { model: scope.model, base: deps.templates.currentSource(kit.tenantId(ctx), params.vendor, params.name) };
    return checkTemplate(params.adapter, tenant, tenant.phoneBaseUrl, params.name, source, chosen, level);
  };

  /**
   * The templates, with each source tried on the sample phones before phones get it (the source the admin edits on
   * the chosen phone and user too; a narrower version a tenant's change would reach, on its model).
   */
  const checked = async (ctx: RouterContext, params: Params, chosen?: Parameters<typeof checkTemplate>[5]): Promise<TemplateEditing> => {
    // Read before the checks run: the domain's check is synchronous.
    const tenant = await kit.tenant(ctx);
    return {
      templates: deps.templates,
      check: (_vendor, _name, source, scope, base) => {
        const level =
          scope.level === 'tenant'
            ? undefined
            : { model: scope.model, base: base ?? deps.templates.currentSource(kit.tenantId(ctx), params.vendor, params.name) };
        const check = checkTemplate(
          params.adapter,
          tenant,
          tenant.phoneBaseUrl,
          params.name,
          source,
          scope.level === params.scope.level ? chosen : undefined,
          level,
        );
        return check.ok ? null : check.error;
      },
    };
  };

  router.get('/templates', async (ctx) => {
    const tenantId = kit.tenantId(ctx);
    const latest = await latestRevisions(domain.db, tenantId);
    const tenantLatest = new Map(latest.filter((r) => r.model === null && r.deviceId === null).map((r) => [`${r.vendor}/${r.name}`, r]));
    const devices = new Map((await listDevices(domain.db, tenantId)).map((d) => [d.id, d]));
    const templates = [...deps.templates.names()].flatMap(([vendor, names]) =>
      names.map((name) => {
        const last = tenantLatest.get(`${vendor}/${name}`);
        const narrower = latest
          // A retired device's version is no phone's any more.
          .filter((r) => r.vendor === vendor && r.name === name && r.source !== null && (r.deviceId === null ? r.model !== null : devices.has(r.deviceId)))
          .map((r) => versionLink(vendor, name, scopeOfRevision(r), devices.get(r.deviceId ?? -1)));
        return {
          vendor,
          name,
          modified: last !== undefined && last.source !== null,
          lastChange: last === undefined ? '' : `${when(last.createdAt)} by ${last.createdBy}`,
          narrower,
          shippedChanged: latest.some((r) => r.vendor === vendor && r.name === name && shippedChangeOf(deps.templates, r) !== null),
        };
      }),
    );
    await kit.page(ctx, 'templates', { title: 'Templates', nav: 'templates', templates });
  });

  /** A link to a model's or a device's own version. */
  const versionLink = (vendor: string, name: string, scope: TemplateScope, device?: { idleAccount: string }) => {
    const root = `/console/templates/${vendor}/${name}`;
    return scope.level === 'model'
      ? { href: `${root}/models/${encodeURIComponent(scope.model)}`, label: scope.model }
      : { href: `${root}/devices/${encodeURIComponent(device?.idleAccount ?? '')}`, label: scopeLabel(vendor, scope, device) };
  };

  const showTemplate = async (
    ctx: RouterContext,
    params: Params,
    extra: {
      source?: string;
      samples?: readonly { label: string; body: string }[];
      saved?: boolean;
      error?: string;
      device?: string;
      user?: string;
      merged?: { conflicts: readonly string[] };
    } = {},
  ) => {
    const { vendor, name, scope, base } = params;
    const tenantId = kit.tenantId(ctx);
    const revisions = await revisionsOf(domain.db, tenantId, vendor, name, scope);
    const latest = revisions[0];
    const phones = await phonesOfScope(domain.db, tenantId, vendor, scope);
    const choosable = (await listDevices(domain.db, tenantId)).filter((d) => d.vendor === vendor);
    const change = shippedChangeOf(deps.templates, latest);
    const all = await latestRevisions(domain.db, tenantId);
    const devicesById = new Map(choosable.map((d) => [d.id, d]));
    const ownModels = new Set(
      all.filter((r) => r.vendor === vendor && r.name === name && r.source !== null && r.model !== null && r.deviceId === null).map((r) => r.model),
    );
    await kit.page(ctx, 'template', {
      title: `${vendor}/${name}`,
      nav: 'templates',
      vendor,
      name,
      base,
      level: scope.level,
      scopeLabel: params.label,
      modified: deps.templates.hasOwn(tenantId, vendor, name, scope),
      inherited:
        scope.level === 'tenant'
          ? 'the shipped file'
          : scope.level === 'model'
            ? `the version for every ${vendor} phone`
            : `the version for the ${scope.model}`,
      source: extra.source ?? deps.templates.currentSource(tenantId, vendor, name, scope),
      samples: extra.samples,
      saved: extra.saved,
      error: extra.error,
      merged: extra.merged,
      shippedMerged: extra.merged !== undefined,
      shippedChange: change === null ? undefined : diffLines(change.before, change.after),
      devices: choosable.map((d) => ({ idleAccount: d.idleAccount, model: d.model, label: d.label, selected: d.idleAccount === extra.device })),
      users: (await listUsers(domain.db, tenantId)).map((u) => ({
        extension: u.extension,
        displayName: u.displayName,
        selected: u.extension === extra.user,
      })),
      revisions: revisions.map((r, i) => ({
        id: r.id,
        when: when(r.createdAt),
        createdBy: r.createdBy,
        what:
          r.source === null
            ? `reset to ${scope.level === 'tenant' ? 'the shipped file' : 'the version inherited'}`
            : r.restoredFrom === null
              ? 'saved'
              : `restored #${r.restoredFrom}`,
        restorable: i > 0 && r.source !== null,
      })),
      devicesCount: phones.length,
      // Narrower versions, from the vendor's: one per model, and the devices that have their own.
      models:
        scope.level === 'tenant'
          ? [...params.adapter.profile.models.keys()].map((model) => ({ ...versionLink(vendor, name, { level: 'model', model }), own: ownModels.has(model) }))
          : [],
      deviceVersions:
        scope.level === 'device'
          ? []
          : all
              .filter((r) => r.vendor === vendor && r.name === name && r.source !== null && r.deviceId !== null)
              .map((r) => ({ r, device: devicesById.get(r.deviceId ?? -1) }))
              .filter(({ r, device }) => device !== undefined && (scope.level === 'tenant' || device.model === scope.model) && r.deviceId !== null)
              .map(({ r, device }) => versionLink(vendor, name, scopeOfRevision(r), device)),
      parent:
        scope.level === 'tenant'
          ? undefined
          : scope.level === 'model'
            ? `/console/templates/${vendor}/${name}`
            : `/console/templates/${vendor}/${name}/models/${encodeURIComponent(scope.model)}`,
    });
  };

  /** Registers a handler at the template's path for every phone of the vendor, for a model, and for a device. */
  const at = (method: 'get' | 'post', suffix: string, handler: (ctx: RouterContext, params: Params) => Promise<void>) => {
    for (const scopePath of ['', '/models/:model', '/devices/:device']) {
      router[method](`/templates/:vendor/:name${scopePath}${suffix}`, async (ctx) => {
        await handler(ctx, await templateParams(ctx));
      });
    }
  };

  at('get', '', async (ctx, params) => {
    await showTemplate(ctx, params);
  });

  /** Tries a source on sample phones (and the chosen one); saves it only when asked and when it passed. */
  at('post', '', async (ctx, params) => {
    const { vendor, name, scope } = params;
    const { source, device: deviceRef, user: userRef, action, shippedMerged } = kit.input(ctx, TemplateForm);
    const chosenDevice = deviceRef === '' ? undefined : await getDevice(domain.db, kit.tenantId(ctx), deviceRef);
    const chosenUser = userRef === '' ? null : await getUser(domain.db, kit.tenantId(ctx), userRef);
    const chosen =
      chosenDevice === undefined
        ? undefined
        : { device: chosenDevice, user: chosenUser === null ? null : { row: chosenUser, keys: await keysOf(domain.db, chosenUser.id) } };
    const keep = { source, device: deviceRef, user: userRef, ...(shippedMerged === '1' ? { merged: { conflicts: [] } } : {}) };
    const refused = async (message: string) => {
      ctx.status = 422;
      await showTemplate(ctx, params, { ...keep, error: `Not saved: ${message}` });
    };
    if (action !== 'save') {
      const check = await checkSource(ctx, params, source, chosen);
      if (!check.ok) await refused(`the template ${check.error}`);
      else await showTemplate(ctx, params, { ...keep, samples: check.samples });
      return;
    }
    try {
      await saveTemplate(domain, await checked(ctx, params, chosen), kit.tenantId(ctx), kit.actor(ctx), {
        vendor,
        name,
        source,
        scope,
        shippedMerged: shippedMerged === '1',
      });
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== 'template_refused') throw err;
      await refused(err.message);
      return;
    }
    await showTemplate(ctx, params, { saved: true });
  });
  /** The shipped file's change since the version was made, merged into it, in the editor: saved only when the admin saves. */
  at('post', '/merge', async (ctx, params) => {
    const merge = await mergeShipped(domain.db, deps.templates, kit.tenantId(ctx), params);
    if (merge === null) {
      await kit.back(ctx, params.base, { notice: 'The shipped file has not changed since this version was saved.' });
      return;
    }
    await showTemplate(ctx, params, { source: merge.text, merged: { conflicts: merge.conflicts } });
  });
  at('post', '/restore/:id', async (ctx, params) => {
    const { vendor, name, scope } = params;
    const revision = await getRevision(domain.db, kit.tenantId(ctx), Number(ctx.params.id));
    try {
      await restoreRevision(domain, await checked(ctx, params), kit.tenantId(ctx), kit.actor(ctx), {
        vendor,
        name,
        revisionId: revision.id,
        scope,
      });
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== 'template_refused') throw err;
      await kit.back(ctx, params.base, { error: `Not restored: ${err.message}` });
      return;
    }
    await showTemplate(ctx, params, { saved: true });
  });
  at('post', '/reset', async (ctx, params) => {
    const { vendor, name, scope } = params;
    // The text a reset goes back to was tried when it was saved; the narrower versions filling it are tried again.
    try {
      await resetTemplate(domain, await checked(ctx, params), kit.tenantId(ctx), kit.actor(ctx), { vendor, name, scope });
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== 'template_refused') throw err;
      await kit.back(ctx, params.base, { error: `Not reset: ${err.message}` });
      return;
    }
    await showTemplate(ctx, params, { saved: true });
  });
  /** Re-provisioning after a template change waits for the admin's word: it touches every phone of the scope. */
  at('post', '/reprovision', async (ctx, params) => {
    const { vendor, name, scope } = params;
    const count = await resyncTemplatePhones(domain, kit.tenantId(ctx), { vendor, name, scope });
    await kit.back(ctx, params.base, { notice: `${count} phone(s) are being re-provisioned.` });
  });
  at('get', '/revisions/:id', async (ctx, params) => {
    const { vendor, name, scope } = params;
    const tenantId = kit.tenantId(ctx);
    const revision = await getRevision(domain.db, tenantId, Number(ctx.params.id));
    if (revision.vendor !== vendor || revision.name !== name || scopeKeyOf(scopeOfRevision(revision)) !== scopeKeyOf(scope)) {
      throw NotFound(`revision ${ctx.params.id} of ${vendor}/${name}`);
    }
    const shipped = deps.templates.shippedSource(vendor, name);
    // A model's or device's version is compared with what it would inherit now.
    const inherited =
      scope.level === 'tenant'
        ? shipped
        : deps.templates.currentSource(tenantId, vendor, name, scope.level === 'model' ? TENANT_SCOPE : { level: 'model', model: scope.model });
    const older = (await revisionsOf(domain.db, tenantId, vendor, name, scope)).find((r) => r.id < revision.id);
    const text = revision.source ?? inherited;
    await kit.page(ctx, 'revision', {
      title: `${vendor}/${name} #${revision.id}`,
      nav: 'templates',
      vendor,
      name,
      base: params.base,
      scopeLabel: params.label,
      revision,
      when: when(revision.createdAt),
      previous: diffLines(older?.source ?? inherited, text),
      shipped: diffLines(shipped, text),
    });
  });
}

const scopeKeyOf = (scope: TemplateScope): string =>
  scope.level === 'tenant' ? 'tenant' : scope.level === 'model' ? `model:${scope.model}` : `device:${scope.deviceId}`;

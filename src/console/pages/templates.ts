import type Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import { z } from 'zod';
import { listDevices } from '../../domain/devices.ts';
import { getDevice, getUser } from '../../domain/lookup.ts';
import {
  getRevision,
  latestRevisions,
  requireTemplate,
  resetTemplate,
  restoreRevision,
  resyncTemplatePhones,
  revisionsOf,
  saveTemplate,
  type TemplateEditing,
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
});

/**
 * Templates: every vendor template editable, tried on sample phones (and a chosen phone and user) before a save;
 * revisions with diffs, restore, reset to the shipped file; re-sync only when the admin confirms.
 */
export function templatePages(router: Router, kit: PageKit): void {
  const { deps } = kit;
  const { domain } = deps;

  /** The vendor and template a path names; 404 for a template that is not one of templates/<vendor>/. */
  const templateParams = (ctx: RouterContext) => {
    const vendor = ctx.params.vendor ?? '';
    const name = ctx.params.name ?? '';
    const adapter = deps.adapters.find((a) => a.id === vendor);
    if (adapter === undefined) throw NotFound(`template ${vendor}/${name}`);
    requireTemplate(deps.templates, vendor, name);
    return { vendor, name, adapter };
  };

  /** The templates, tried on the sample phones (and on a chosen phone and user) before phones get them. */
  const editing = async (
    ctx: RouterContext,
    adapter: ReturnType<typeof templateParams>['adapter'],
    chosen?: Parameters<typeof checkTemplate>[5],
  ): Promise<TemplateEditing> => {
    const tenant = await kit.tenant(ctx);
    return {
      templates: deps.templates,
      check: (_vendor, name, source) => {
        const check = checkTemplate(adapter, tenant, tenant.phoneBaseUrl, name, source, chosen);
        return check.ok ? null : check.error;
      },
    };
  };

  router.get('/templates', async (ctx) => {
    const latest = new Map((await latestRevisions(domain.db, kit.tenantId(ctx))).map((r) => [`${r.vendor}/${r.name}`, r]));
    const templates = [...deps.templates.names()].flatMap(([vendor, names]) =>
      names.map((name) => {
        const last = latest.get(`${vendor}/${name}`);
        return {
          vendor,
          name,
          modified: last !== undefined && last.source !== null,
          lastChange: last === undefined ? '' : `${when(last.createdAt)} by ${last.createdBy}`,
        };
      }),
    );
    await kit.page(ctx, 'templates', { title: 'Templates', nav: 'templates', templates });
  });

  const showTemplate = async (
    ctx: RouterContext,
    vendor: string,
    name: string,
    extra: { source?: string; samples?: readonly { label: string; body: string }[]; saved?: boolean; error?: string; device?: string; user?: string } = {},
  ) => {
    const revisions = await revisionsOf(domain.db, kit.tenantId(ctx), vendor, name);
    const latest = revisions[0];
    const phones = (await listDevices(domain.db, kit.tenantId(ctx))).filter((d) => d.vendor === vendor);
    await kit.page(ctx, 'template', {
      title: `${vendor}/${name}`,
      nav: 'templates',
      vendor,
      name,
      modified: latest !== undefined && latest.source !== null,
      source: extra.source ?? deps.templates.currentSource(kit.tenantId(ctx), vendor, name),
      samples: extra.samples,
      saved: extra.saved,
      error: extra.error,
      devices: phones.map((d) => ({ idleAccount: d.idleAccount, model: d.model, label: d.label, selected: d.idleAccount === extra.device })),
      users: (await listUsers(domain.db, kit.tenantId(ctx))).map((u) => ({
        extension: u.extension,
        displayName: u.displayName,
        selected: u.extension === extra.user,
      })),
      revisions: revisions.map((r, i) => ({
        id: r.id,
        when: when(r.createdAt),
        createdBy: r.createdBy,
        what: r.source === null ? 'reset to the shipped file' : r.restoredFrom === null ? 'saved' : `restored #${r.restoredFrom}`,
        restorable: i > 0 && r.source !== null,
      })),
      devicesCount: phones.length,
    });
  };
  router.get('/templates/:vendor/:name', async (ctx) => {
    const { vendor, name } = templateParams(ctx);
    await showTemplate(ctx, vendor, name);
  });

  /** Tries a source on sample phones (and the chosen one); saves it only when asked and when it passed. */
  router.post('/templates/:vendor/:name', async (ctx) => {
    const { vendor, name, adapter } = templateParams(ctx);
    const { source, device: deviceRef, user: userRef, action } = kit.input(ctx, TemplateForm);
    const chosenDevice = deviceRef === '' ? undefined : await getDevice(domain.db, kit.tenantId(ctx), deviceRef);
    const chosenUser = userRef === '' ? null : await getUser(domain.db, kit.tenantId(ctx), userRef);
    const chosen =
      chosenDevice === undefined
        ? undefined
        : { device: chosenDevice, user: chosenUser === null ? null : { row: chosenUser, keys: await keysOf(domain.db, chosenUser.id) } };
    const keep = { source, device: deviceRef, user: userRef };
    const refused = async (message: string) => {
      ctx.status = 422;
      await showTemplate(ctx, vendor, name, { ...keep, error: `Not saved: ${message}` });
    };
    if (action !== 'save') {
      const check = checkTemplate(adapter, await kit.tenant(ctx), (await kit.tenant(ctx)).phoneBaseUrl, name, source, chosen);
      if (!check.ok) await refused(`the template ${check.error}`);
      else await showTemplate(ctx, vendor, name, { ...keep, samples: check.samples });
      return;
    }
    try {
      await saveTemplate(domain, await editing(ctx, adapter, chosen), kit.tenantId(ctx), kit.actor(ctx), { vendor, name, source });
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== 'template_refused') throw err;
      await refused(err.message);
      return;
    }
    await showTemplate(ctx, vendor, name, { saved: true });
  });
  router.post('/templates/:vendor/:name/restore/:id', async (ctx) => {
    const { vendor, name, adapter } = templateParams(ctx);
    try {
      await restoreRevision(domain, await editing(ctx, adapter), kit.tenantId(ctx), kit.actor(ctx), { vendor, name, revisionId: Number(ctx.params.id) });
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== 'template_refused') throw err;
      await kit.back(ctx, `/console/templates/${vendor}/${name}`, { error: `Not restored: ${err.message}` });
      return;
    }
    await showTemplate(ctx, vendor, name, { saved: true });
  });
  router.post('/templates/:vendor/:name/reset', async (ctx) => {
    const { vendor, name, adapter } = templateParams(ctx);
    await resetTemplate(domain, await editing(ctx, adapter), kit.tenantId(ctx), kit.actor(ctx), { vendor, name });
    await showTemplate(ctx, vendor, name, { saved: true });
  });
  /** Re-provisioning after a template change waits for the admin's word: it touches every phone of the vendor. */
  router.post('/templates/:vendor/:name/reprovision', async (ctx) => {
    const { vendor, name } = templateParams(ctx);
    const count = await resyncTemplatePhones(domain, kit.tenantId(ctx), { vendor, name });
    await kit.back(ctx, `/console/templates/${vendor}/${name}`, { notice: `${count} phone(s) are being re-provisioned.` });
  });
  router.get('/templates/:vendor/:name/revisions/:id', async (ctx) => {
    const { vendor, name } = templateParams(ctx);
    const revision = await getRevision(domain.db, kit.tenantId(ctx), Number(ctx.params.id));
    if (revision.vendor !== vendor || revision.name !== name) throw NotFound(`revision ${ctx.params.id} of ${vendor}/${name}`);
    const shipped = deps.templates.shippedSource(vendor, name);
    const older = (await revisionsOf(domain.db, kit.tenantId(ctx), vendor, name)).find((r) => r.id < revision.id);
    const text = revision.source ?? shipped;
    await kit.page(ctx, 'revision', {
      title: `${vendor}/${name} #${revision.id}`,
      nav: 'templates',
      vendor,
      name,
      revision,
      when: when(revision.createdAt),
      previous: diffLines(older?.source ?? shipped, text),
      shipped: diffLines(shipped, text),
    });
  });
}

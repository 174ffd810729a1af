import type Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import { z } from 'zod';
import type { DeviceRow } from '../../db/schema.ts';
import { canSeeSecrets } from '../../domain/access.ts';
import { recordAudit } from '../../domain/audit.ts';
import { approveDevice, createActivationCode, resetDeviceAccess, revealWebPassword } from '../../domain/deviceAccess.ts';
import { deleteDevice, enrolDevice, listDevices, updateDevice } from '../../domain/devices.ts';
import { applyDeviceImport, deviceSheet, planDeviceImport } from '../../domain/imports.ts';
import { DeviceCreateBody, DeviceUpdateBody } from '../../domain/inputs.ts';
import { getDevice, getUser } from '../../domain/lookup.ts';
import { formatMac, type Mac } from '../../domain/mac.ts';
import { listOpenSessions } from '../../domain/sessions.ts';
import { listUsers } from '../../domain/users.ts';
import { presentDevice } from '../../edge/presenters.ts';
import { AppError } from '../../errors.ts';
import { PHONE_LANGUAGES } from '../../vendors/phoneSettings.ts';
import { api, checkbox, ifSentBlankIsNull, textField } from '../forms.ts';
import { handleImport, sendSheet } from '../imports.ts';
import { type PageKit, when } from '../pageKit.ts';

const PAGE_SIZE = 50;

/** The enrol form: the model select sends `vendor/model`. */
export const EnrolForm = z
  .object({ mac: textField, model: textField, label: textField, location: textField, hotdesk: checkbox })
  .transform(({ model, ...rest }) => {
    const [vendor = '', modelId = ''] = model.split('/');
    return { ...rest, vendor, model: modelId };
  })
  .pipe(api(DeviceCreateBody));

/** A device's form; a blank time zone or language follows the tenant's, blank expansion modules are none. */
export const DeviceForm = z
  .object({
    label: textField,
    location: textField,
    hotdesk: checkbox,
    expansionModules: textField.transform((v) => (v.trim() === '' ? 0 : Number(v))),
    phoneTimezone: ifSentBlankIsNull,
    phoneLanguage: ifSentBlankIsNull,
  })
  .transform(({ phoneTimezone, phoneLanguage, ...rest }) => ({
    ...rest,
    ...(phoneTimezone === undefined ? {} : { phoneTimezone }),
    ...(phoneLanguage === undefined ? {} : { phoneLanguage }),
  }))
  .pipe(api(DeviceUpdateBody));

/** Whether the phone proved it is this phone, in admins' words. */
const accessView = (device: DeviceRow) => ({
  state: device.access,
  label: { unclaimed: 'waiting for the phone', claimed: 'claimed — waiting for approval', active: 'active' }[device.access],
  claimed: device.access === 'claimed',
  active: device.access === 'active',
  claim: device.claimedAt === null ? null : { at: when(device.claimedAt), ip: device.claimIp, userAgent: device.claimUserAgent, via: device.claimVia },
  activatedBy: device.activatedBy,
  activatedAt: when(device.activatedAt),
  refused: device.refusedClaims === 0 ? null : { count: device.refusedClaims, at: when(device.refusedClaimAt), ip: device.refusedClaimIp },
});

/**
 * Devices: the list with search and pages, enrolment, a device's page (its files as the phone would get them,
 * its access, its own settings), and the CSV export and import.
 */
export function devicePages(router: Router, kit: PageKit): void {
  const { deps } = kit;
  const { domain } = deps;

  const models = () =>
    deps.adapters.flatMap((a) => [...a.profile.models.values()].map((m) => ({ vendor: a.id, vendorName: a.profile.name, id: m.id, name: m.name })));

  router.get('/devices', async (ctx) => {
    const q = (typeof ctx.query.q === 'string' ? ctx.query.q : '').trim().toLowerCase();
    const all = (await listDevices(domain.db, kit.tenantId(ctx))).filter(
      (d) => q === '' || [d.mac, formatMac(d.mac as Mac), d.idleAccount, d.label, d.location].some((v) => v.toLowerCase().includes(q)),
    );
    const pages = Math.max(1, Math.ceil(all.length / PAGE_SIZE));
    const current = Math.min(pages, Math.max(1, Number(ctx.query.page) || 1));
    const link = (p: number) => `/console/devices?${new URLSearchParams({ q, page: String(p) }).toString()}`;
    const seated = new Map((await listOpenSessions(domain.db, kit.tenantId(ctx))).map((s) => [s.device.id, s.user]));
    await kit.page(ctx, 'devices', {
      title: 'Devices',
      nav: 'devices',
      q,
      models: models(),
      devices: all
        .slice((current - 1) * PAGE_SIZE, current * PAGE_SIZE)
        .map((d) => ({ ...d, mac: formatMac(d.mac as Mac), user: seated.get(d.id), accessLabel: accessView(d).label })),
      page: current,
      pages,
      prev: current > 1 ? link(current - 1) : null,
      next: current < pages ? link(current + 1) : null,
    });
  });
  router.post('/devices', async (ctx) => {
    try {
      const device = await enrolDevice(domain, kit.tenantId(ctx), kit.actor(ctx), kit.input(ctx, EnrolForm));
      // The activation code is shown this once, on the new device's page: only a hash of it is kept.
      await devicePage(ctx, device.idleAccount, { label: 'Device enrolled. Activation code (shown once)', value: device.activationCode });
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      await kit.back(ctx, '/console/devices', { error: err.message });
    }
  });

  /** The device page; `once` is a secret shown this one time (an activation code, the web password), never put in a URL. */
  const devicePage = async (ctx: RouterContext, ref: string, once?: { label: string; value: string }) => {
    const device = await getDevice(domain.db, kit.tenantId(ctx), ref);
    const seated = (await listOpenSessions(domain.db, kit.tenantId(ctx))).find((s) => s.device.id === device.id)?.user;
    // "as": whose profile to show (a user's extension, "idle", or nothing for what the phone gets now).
    const as = typeof ctx.query.as === 'string' && ctx.query.as !== '' ? ctx.query.as : null;
    const reveal = ctx.query.reveal === '1';
    // A helpdesk never sees a phone's passwords, asked for in the URL or not.
    if (reveal && !canSeeSecrets(kit.principal(ctx))) {
      await kit.forbidden(ctx);
      return;
    }
    if (reveal) {
      // Who saw a phone's passwords, and when.
      await recordAudit(domain.db, kit.tenantId(ctx), domain.now(), kit.actor(ctx), {
        action: 'console.secrets_revealed',
        deviceMac: device.mac,
        idleAccount: device.idleAccount,
        detail: { as: as ?? 'current' },
      });
    }
    const asUser = as === null ? undefined : as === 'idle' ? null : await getUser(domain.db, kit.tenantId(ctx), as);
    await kit.page(ctx, 'device', {
      title: device.idleAccount,
      nav: 'devices',
      device: presentDevice(device, seated, await deps.provisioning.summary(device), await deps.resync.latest(device.id)),
      syncRetry: when((await deps.resync.latest(device.id))?.retryAt),
      languages: PHONE_LANGUAGES,
      files: await deps.provisioning.renderDeviceFiles(device, { maskSecrets: !reveal, ...(asUser === undefined ? {} : { as: asUser }) }),
      users: (await listUsers(domain.db, kit.tenantId(ctx))).map((u) => ({ extension: u.extension, displayName: u.displayName, selected: u.extension === as })),
      asIdle: as === 'idle',
      reveal,
      access: accessView(device),
      once,
    });
  };
  router.get('/devices/:device', (ctx) => devicePage(ctx, ctx.params.device ?? ''));

  /** A claimed phone approved after the admin saw who claimed it. */
  router.post('/devices/:device/approve', (ctx) => {
    const ref = ctx.params.device ?? '';
    return kit.attempt(
      ctx,
      `/console/devices/${ref}`,
      async () => await approveDevice(domain, kit.tenantId(ctx), kit.actor(ctx), ref),
      'Approved: the phone gets its profile at its next fetch.',
    );
  });
  const showingOnce = async (ctx: RouterContext, work: () => Promise<{ label: string; value: string }>) => {
    const ref = ctx.params.device ?? '';
    try {
      await devicePage(ctx, ref, await work());
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      await kit.back(ctx, `/console/devices/${ref}`, { error: err.message });
    }
  };
  router.post('/devices/:device/activation-code', (ctx) =>
    showingOnce(ctx, async () => ({
      label: 'Activation code (shown once; type it on the phone after pressing Activate)',
      value: (await createActivationCode(domain, kit.tenantId(ctx), kit.actor(ctx), ctx.params.device ?? '')).activationCode,
    })),
  );
  router.post('/devices/:device/unclaim', (ctx) =>
    showingOnce(ctx, async () => ({
      label: 'Access reset. New activation code (shown once)',
      value: (await resetDeviceAccess(domain, kit.tenantId(ctx), kit.actor(ctx), ctx.params.device ?? '')).activationCode,
    })),
  );
  router.post('/devices/:device/web-password', (ctx) =>
    showingOnce(ctx, async () => {
      const web = await revealWebPassword(domain, kit.tenantId(ctx), kit.actor(ctx), ctx.params.device ?? '');
      return { label: `Web interface login (user ${web.username}; this reveal is in the audit log)`, value: web.password };
    }),
  );
  router.post('/devices/:device', (ctx) => {
    const ref = ctx.params.device ?? '';
    return kit.attempt(
      ctx,
      `/console/devices/${ref}`,
      async () => await updateDevice(domain, kit.tenantId(ctx), kit.actor(ctx), ref, kit.input(ctx, DeviceForm)),
      'Saved.',
    );
  });
  router.post('/devices/:device/delete', (ctx) =>
    kit.attempt(
      ctx,
      '/console/devices',
      async () => await deleteDevice(domain, kit.tenantId(ctx), kit.actor(ctx), ctx.params.device ?? ''),
      `Deleted ${ctx.params.device}.`,
    ),
  );

  router.get('/devices.csv', async (ctx) => sendSheet(ctx, 'hotprov-devices.csv', await deviceSheet(domain.db, kit.tenantId(ctx))));

  /**
   * Device import: a device by MAC is changed, any other enrolled; every row is checked and shown with what it does
   * or its problem first, then the rows are written in one transaction.
   */
  router.post('/import/devices', (ctx) =>
    handleImport(kit, ctx, {
      what: 'devices',
      title: 'Import devices',
      plan: async (ctx, rows) => await planDeviceImport(domain, kit.tenantId(ctx), rows),
      apply: async (ctx, plan, onlyGoodRows) => await applyDeviceImport(domain, kit.tenantId(ctx), kit.actor(ctx), plan, onlyGoodRows),
    }),
  );
}

import type Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import { z } from 'zod';
import type { DeviceRow } from '../../db/schema.ts';
import { canSeeSecrets } from '../../domain/access.ts';
import { recordAudit } from '../../domain/audit.ts';
import { approveDevice, createActivationCode, resetDeviceAccess, revealWebPassword } from '../../domain/deviceAccess.ts';
import { DEVICE_SORTS, DEVICE_STATES, type DeviceListRow, findDevicePage } from '../../domain/deviceList.ts';
import { deleteDevice, enrolDevice, updateDevice } from '../../domain/devices.ts';
import { logout } from '../../domain/hotdesk.ts';
import { applyDeviceImport, deviceSheet, planDeviceImport } from '../../domain/imports.ts';
import { DeviceCreateBody, DeviceUpdateBody } from '../../domain/inputs.ts';
import { getDevice, getUser } from '../../domain/lookup.ts';
import { formatMac, type Mac } from '../../domain/mac.ts';
import { listOpenSessions } from '../../domain/sessions.ts';
import { listUsers } from '../../domain/users.ts';
import { presentDevice } from '../../edge/presenters.ts';
import { AppError, Conflict, NotFound } from '../../errors.ts';
import { PHONE_LANGUAGES } from '../../vendors/phoneSettings.ts';
import { api, checkbox, ifSentBlankIsNull, textField } from '../forms.ts';
import { handleImport, sendSheet } from '../imports.ts';
import { ago, type PageKit, when } from '../pageKit.ts';
import { devicePictureSvg } from '../phonePicture.ts';
import { syncInWords } from '../states.ts';

const PAGE_SIZE = 50;

/** A number field where blank means none (0): expansion modules. */
const countField = textField.transform((v) => (v.trim() === '' ? 0 : Number(v)));

/** The enrol form: the model select sends `vendor/model`; blank expansion modules are none. */
export const EnrolForm = z
  .object({ mac: textField, model: textField, label: textField, location: textField, hotdesk: checkbox, expansionModules: countField })
  .transform(({ model, ...rest }) => {
    const [vendor = '', modelId = ''] = model.split('/');
    return { ...rest, vendor, model: modelId };
  })
  .pipe(api(DeviceCreateBody));

/** The device list's query string: search, filters, sort and page; anything unknown is left out, not refused. */
export const DeviceListParams = z.object({
  q: z.string().trim().catch(''),
  /** A vendor (`yealink`) or one of its models (`yealink/T46U`). */
  phone: z.string().catch(''),
  state: z.enum(DEVICE_STATES).optional().catch(undefined),
  unseen: z.literal('1').optional().catch(undefined),
  failed: z.literal('1').optional().catch(undefined),
  sort: z.enum(DEVICE_SORTS).catch('device'),
  dir: z.enum(['asc', 'desc']).catch('asc'),
  page: z.coerce.number().int().min(1).catch(1),
});
type DeviceListParams = z.infer<typeof DeviceListParams>;

/** What a bulk action does to each ticked device. */
export const BULK_ACTIONS = ['reboot', 'logout', 'resync', 'delete'] as const;
export const BulkForm = z.object({
  device: z.array(z.string().min(1)).min(1, 'tick at least one device').max(500, 'at most 500 devices at once'),
  action: z.enum(BULK_ACTIONS, { message: `must be one of ${BULK_ACTIONS.join(', ')}` }),
});

/** A device's form; a blank time zone or language follows the tenant's, blank expansion modules are none. */
export const DeviceForm = z
  .object({
    label: textField,
    location: textField,
    hotdesk: checkbox,
    expansionModules: countField,
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

/** Where a phone last fetched from, without the IPv4-in-IPv6 prefix people do not read. */
const addressOf = (ip: string | null) => ip?.replace(/^::ffff:/, '') ?? '';

/** The registration with the vendor's redirect service, in words; blank when the tenant has none for it. */
const redirectInWords = (device: DeviceRow) =>
  ({
    none: '',
    pending: 'registering',
    registered: 'registered',
    registered_elsewhere: 'registered to another server',
    unknown: 'not known to the service',
    error: `failed${device.redirectMessage === null ? '' : `: ${device.redirectMessage}`}`,
  })[device.redirectStatus] ?? device.redirectStatus;

/** When the phone last fetched its file: how long ago, and the date with its time zone. */
const seenOf = (device: DeviceRow, now: Date) => (device.lastSeenAt === null ? null : { ago: ago(device.lastSeenAt, now), at: when(device.lastSeenAt) });

/** A device's state in admins' words: who sits there, idle, or how far the phone got in proving it is this phone. */
const stateOf = (device: DeviceRow, user: { displayName: string } | null) =>
  device.access !== 'active' ? accessView(device).label : user === null ? 'idle' : `in use by ${user.displayName}`;

/** The enrol form's fields (it has no secret), kept after a refusal to fill the form in again. */
const ENROL_FIELDS = ['mac', 'model', 'label', 'location', 'expansionModules', 'hotdesk'] as const;

/** The enrol form as it was typed before a refusal, or blank. */
const typedEnrolment = (typed: Readonly<Record<string, string>> | undefined) => ({
  mac: typed?.mac ?? '',
  model: typed?.model ?? '',
  label: typed?.label ?? '',
  location: typed?.location ?? '',
  expansionModules: typed?.expansionModules ?? '0',
  hotdesk: typed === undefined || typed.hotdesk === 'on',
});

/**
 * Devices: the list with search, filters, sorting and pages (done by the database), bulk actions, enrolment, a
 * device's page (its health, its files as the phone would get them, its access, its own settings, Reboot, Log out,
 * Send again), and the CSV export and import.
 */
export function devicePages(router: Router, kit: PageKit): void {
  const { deps } = kit;
  const { domain } = deps;

  const models = () =>
    deps.adapters.flatMap((a) => [...a.profile.models.values()].map((m) => ({ vendor: a.id, vendorName: a.profile.name, id: m.id, name: m.name })));
  const adapterOf = (vendor: string) => deps.adapters.find((a) => a.id === vendor);

  /** The list page; after a refused enrolment, its form as it was typed (kept in the session with the reason). */
  const listPage = async (ctx: RouterContext) => {
    const params: DeviceListParams = DeviceListParams.parse(ctx.query);
    const now = domain.now();
    const [vendor = '', model = ''] = params.phone.split('/');
    const query = {
      q: params.q,
      vendor,
      model,
      state: params.state,
      unseen: params.unseen === '1',
      failed: params.failed === '1',
      sort: params.sort,
      descending: params.dir === 'desc',
    };
    const first = await findDevicePage(domain.db, kit.tenantId(ctx), now, { ...query, limit: PAGE_SIZE, offset: (params.page - 1) * PAGE_SIZE });
    const pages = Math.max(1, Math.ceil(first.total / PAGE_SIZE));
    const current = Math.min(pages, params.page);
    // A page past the end (the list shrank) shows the last one.
    const found =
      current === params.page
        ? first
        : await findDevicePage(domain.db, kit.tenantId(ctx), now, { ...query, limit: PAGE_SIZE, offset: (current - 1) * PAGE_SIZE });
    const link = (changes: Partial<Record<keyof DeviceListParams, string>>) => {
      const all: Record<string, string> = {
        q: params.q,
        phone: params.phone,
        state: params.state ?? '',
        unseen: params.unseen ?? '',
        failed: params.failed ?? '',
        sort: params.sort,
        dir: params.dir,
        page: String(current),
        ...changes,
      };
      const kept = Object.entries(all).filter(
        ([k, v]) => v !== '' && !(k === 'sort' && v === 'device') && !(k === 'dir' && v === 'asc') && !(k === 'page' && v === '1'),
      );
      return `/console/devices${kept.length === 0 ? '' : `?${new URLSearchParams(kept).toString()}`}`;
    };
    const sortLink = (key: (typeof DEVICE_SORTS)[number]) => ({
      href: link({ sort: key, dir: params.sort === key && params.dir === 'asc' ? 'desc' : 'asc', page: '1' }),
      current: params.sort === key ? (params.dir === 'asc' ? 'ascending' : 'descending') : null,
    });
    const enrol = typedEnrolment(kit.session(ctx)?.flash?.form);
    await kit.page(ctx, 'devices', {
      title: 'Devices',
      nav: 'devices',
      filter: { ...params, unseen: params.unseen === '1', failed: params.failed === '1' },
      filtered: query.q !== '' || query.vendor !== '' || query.model !== '' || query.state !== undefined || query.unseen || query.failed,
      // Each vendor, then its models under it.
      phones: deps.adapters.map((a) => ({
        id: a.id,
        name: a.profile.name,
        selected: params.phone === a.id,
        models: models()
          .filter((m) => m.vendor === a.id)
          .map((m) => ({ id: `${m.vendor}/${m.id}`, name: `${m.vendorName} ${m.name}`, selected: params.phone === `${m.vendor}/${m.id}` })),
      })),
      states: DEVICE_STATES.map((id) => ({
        id,
        name: { in_use: 'in use', idle: 'idle', unclaimed: 'waiting for the phone', claimed: 'waiting for approval' }[id],
        selected: id === params.state,
      })),
      sorts: Object.fromEntries(DEVICE_SORTS.map((key) => [key, sortLink(key)])),
      models: models().map((m) => ({ ...m, selected: `${m.vendor}/${m.id}` === enrol.model })),
      enrol,
      devices: found.rows.map((row) => deviceRowView(row, now)),
      total: found.total,
      page: current,
      pages,
      prev: current > 1 ? link({ page: String(current - 1) }) : null,
      next: current < pages ? link({ page: String(current + 1) }) : null,
      // The bulk form comes back to this very list (its filters, sort and page).
      listQuery: link({}).slice('/console/devices'.length),
    });
  };

  const deviceRowView = ({ device, sync, user }: DeviceListRow, now: Date) => ({
    idleAccount: device.idleAccount,
    mac: formatMac(device.mac as Mac),
    vendor: device.vendor,
    model: device.model,
    label: device.label,
    location: device.location,
    hotdesk: device.hotdesk,
    access: device.access,
    user,
    state: stateOf(device, user),
    seen: seenOf(device, now),
    address: addressOf(device.lastSeenIp),
    firmware: device.firmware ?? '',
    sync: syncInWords(sync),
    redirect: redirectInWords(device),
    redirectFailed: device.redirectStatus === 'error',
  });

  router.get('/devices', (ctx) => listPage(ctx));
  router.post('/devices', async (ctx) => {
    try {
      const device = await enrolDevice(domain, kit.tenantId(ctx), kit.actor(ctx), kit.input(ctx, EnrolForm));
      // The activation code is shown this once, on the new device's page: only a hash of it is kept.
      await devicePage(ctx, device.idleAccount, { label: 'Device enrolled. Activation code (shown once)', value: device.activationCode });
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      // Back to the list with the form as it was typed: nothing to type twice.
      const form = ctx.state.form as URLSearchParams | undefined;
      const typed = Object.fromEntries(ENROL_FIELDS.flatMap((name) => (form?.has(name) === true ? [[name, form.get(name) ?? '']] : [])));
      await kit.back(ctx, '/console/devices', { error: err.message, form: typed });
    }
  });

  /**
   * Reboot, log out, send again or delete the ticked devices, one after the other; what could not be done to one
   * is said with its reason, and the others are done.
   */
  router.post('/bulk/devices', async (ctx) => {
    let form: z.infer<typeof BulkForm>;
    try {
      form = kit.input(ctx, BulkForm, ['device']);
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      await kit.back(ctx, '/console/devices', { error: err.message });
      return;
    }
    const done: string[] = [];
    const refused: string[] = [];
    for (const ref of [...new Set(form.device)]) {
      try {
        await deviceAction(ctx, form.action, ref);
        done.push(ref);
      } catch (err) {
        if (!(err instanceof AppError) || err.status >= 500) throw err;
        refused.push(`${ref} (${err.message})`);
      }
    }
    const verb = { reboot: 'Rebooting', logout: 'Logged out', resync: 'Sent again to', delete: 'Deleted' }[form.action];
    const notDone = { reboot: 'Not rebooted', logout: 'Not logged out', resync: 'Not sent to', delete: 'Not deleted' }[form.action];
    await kit.back(ctx, `/console/devices${ctx.querystring === '' ? '' : `?${ctx.querystring}`}`, {
      ...(done.length === 0 ? {} : { notice: `${verb} ${done.join(', ')}.` }),
      ...(refused.length === 0 ? {} : { error: `${notDone}: ${refused.join('; ')}.` }),
    });
  });

  /**
   * One device action, as the API does it: reboot and send again through the re-sync (the phone is told now),
   * log out and delete through the domain.
   * @throws AppError the domain's refusal, or conflict (409) when the phone cannot be told.
   */
  const deviceAction = async (ctx: RouterContext, action: (typeof BULK_ACTIONS)[number], ref: string): Promise<void> => {
    const tenantId = kit.tenantId(ctx);
    if (action === 'delete') {
      await deleteDevice(domain, tenantId, kit.actor(ctx), ref);
      return;
    }
    if (action === 'logout') {
      const outcome = await logout(domain, tenantId, kit.actor(ctx), { device: ref, method: 'admin' });
      if (outcome.result === 'idle') throw Conflict('nobody is logged in there');
      return;
    }
    const device = await getDevice(domain.db, tenantId, ref);
    if (action === 'reboot') {
      if ((await deps.resync.reboot(device)) === null) throw Conflict(`a ${device.vendor} phone cannot be rebooted by NOTIFY; it re-provisions on check-sync`);
      return;
    }
    if ((await deps.resync.resend(device)) === null) throw Conflict('its profile cannot be rendered');
  };

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
    const now = domain.now();
    const sync = await deps.resync.latest(device.id);
    const files = await deps.provisioning.renderDeviceFiles(device, { maskSecrets: !reveal, ...(asUser === undefined ? {} : { as: asUser }) });
    const fileQuery = (name: string) => new URLSearchParams({ name, ...(as === null ? {} : { as }) }).toString();
    await kit.page(ctx, 'device', {
      title: device.idleAccount,
      nav: 'devices',
      device: presentDevice(device, seated, await deps.provisioning.summary(device), sync),
      state: stateOf(device, seated ?? null),
      seen: seenOf(device, now),
      address: addressOf(device.lastSeenIp),
      sync: syncInWords(sync),
      redirect: redirectInWords(device),
      canReboot: (adapterOf(device.vendor)?.rebootEvent ?? null) !== null,
      languages: PHONE_LANGUAGES,
      files: files.map((f) => ({ ...f, href: `/console/devices/${encodeURIComponent(device.idleAccount)}/file?${fileQuery(f.name)}` })),
      users: (await listUsers(domain.db, kit.tenantId(ctx))).map((u) => ({ extension: u.extension, displayName: u.displayName, selected: u.extension === as })),
      asIdle: as === 'idle',
      reveal,
      access: accessView(device),
      once,
      // The phone's keys where they land (views/_device_picture.hbs).
      picture: await devicePictureSvg(deps, device, seated),
    });
  };
  router.get('/devices/:device', (ctx) => devicePage(ctx, ctx.params.device ?? ''));

  /** One file the phone would get, as it gets it (passwords masked), to open or save on its own. */
  router.get('/devices/:device/file', async (ctx) => {
    const device = await getDevice(domain.db, kit.tenantId(ctx), ctx.params.device ?? '');
    const as = typeof ctx.query.as === 'string' && ctx.query.as !== '' ? ctx.query.as : null;
    const asUser = as === null ? undefined : as === 'idle' ? null : await getUser(domain.db, kit.tenantId(ctx), as);
    const files = await deps.provisioning.renderDeviceFiles(device, { maskSecrets: true, ...(asUser === undefined ? {} : { as: asUser }) });
    const file = files.find((f) => f.name === ctx.query.name);
    if (file === undefined) throw NotFound(`file ${String(ctx.query.name ?? '')}`);
    // Shown as text whatever the vendor's type: a browser then displays it rather than running or saving it.
    ctx.type = 'text/plain; charset=utf-8';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = file.body;
  });

  for (const [path, action, notice] of [
    ['reboot', 'reboot', 'Reboot sent: the phone restarts and fetches its files.'],
    ['resync', 'resync', 'Sent again: the phone is told to fetch its files now.'],
  ] as const) {
    router.post(`/devices/:device/${path}`, (ctx) => {
      const ref = ctx.params.device ?? '';
      return kit.attempt(ctx, `/console/devices/${encodeURIComponent(ref)}`, async () => await deviceAction(ctx, action, ref), notice);
    });
  }

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

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Router, { type RouterContext } from '@koa/router';
import type { Next } from 'koa';
import { writeTransaction } from '../db/client.ts';
import type { DeviceRow } from '../db/schema.ts';
import {
  type ConsoleSession,
  createApiToken,
  type Flash,
  listApiTokens,
  revokeApiToken,
  SESSION_HOURS,
  sessionByToken,
  setFlash,
  signIn,
  signOut,
} from '../domain/admins.ts';
import { listAudit, recordAudit } from '../domain/audit.ts';
import type { Actor } from '../domain/context.ts';
import { assertPinAllowed } from '../domain/credentials.ts';
import { approveDevice, createActivationCode, resetDeviceAccess, revealWebPassword } from '../domain/deviceAccess.ts';
import { deleteDevice, enrolDevice, listDevices, updateDevice } from '../domain/devices.ts';
import { logout, logoutSessions } from '../domain/hotdesk.ts';
import { type KeyFunction, layoutKeys, type UserKey, type UserKeyType } from '../domain/keyLayout.ts';
import { getDevice, getUser } from '../domain/lookup.ts';
import { formatMac, type Mac, parseMac } from '../domain/mac.ts';
import { listOpenSessions } from '../domain/sessions.ts';
import { getRevision, latestRevisions, recordRevision, revisionsOf } from '../domain/templates.ts';
import { getTenant, updateTenant } from '../domain/tenants.ts';
import { createUser, createUsers, issuePin, keysOf, listUsers, updateUser } from '../domain/users.ts';
import { AppError, NotFound } from '../errors.ts';
import { readLimited, validate } from '../http/body.ts';
import type { AppDeps } from '../http/deps.ts';
import { presentDevice, presentSync, presentUser } from '../http/presenters.ts';
import { DeviceUpdateBody, TenantUpdateBody, UserCreateBody } from '../http/schemas.ts';
import { PATHS } from '../paths.ts';
import { checkTemplate } from '../provisioning/templateCheck.ts';
import { phoneState } from '../sync/phoneState.ts';
import { PHONE_LANGUAGES } from '../vendors/phoneSettings.ts';
import { parseCsv, toCsv } from './csv.ts';
import { diffLines } from './diff.ts';
import { createViews } from './views.ts';

const COOKIE = 'hotprov_session';
/** Holds the sign-in form's CSRF token until the form comes back. */
const SIGN_IN_COOKIE = 'hotprov_signin';
const CSS = readFileSync(PATHS.consoleCss, 'utf8');
const digest = (s: string) => createHash('sha256').update(s).digest();
const PAGE_SIZE = 50;

type Form = URLSearchParams;

async function readForm(ctx: RouterContext): Promise<Form> {
  return new URLSearchParams((await readLimited(ctx, 256 * 1024)).toString('utf8'));
}

const when = (d: Date | null | undefined) => (d == null ? '' : d.toISOString().replace('T', ' ').slice(0, 16));

/**
 * The browser console under /console: server-rendered pages, a session cookie (HttpOnly, SameSite=Lax, Secure
 * over HTTPS), a CSRF token in every form, and the same domain functions the API calls.
 */
export function consoleRouter(deps: AppDeps): Router {
  const router = new Router({ prefix: '/console' });
  const views = createViews();
  const { domain } = deps;
  const tenantId = () => deps.tenant().id;

  const session = (ctx: RouterContext): ConsoleSession | null => ctx.state.console as ConsoleSession | null;
  const actor = (ctx: RouterContext): Actor => ({ name: `admin:${session(ctx)?.admin.username ?? '?'}` });
  const page = (ctx: RouterContext, view: string, data: Record<string, unknown>) => {
    const s = session(ctx);
    // A notice or error left by the change before is shown once; the URL never carries one.
    const flash = s?.flash ?? null;
    const cookie = ctx.cookies.get(COOKIE);
    if (flash !== null && cookie !== undefined) setFlash(domain.db, cookie, null);
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = views.page(view, {
      ...data,
      admin: s?.admin.username,
      csrf: s?.csrfToken,
      nonce: ctx.state.cspNonce,
      notice: flash?.notice,
      error: data.error ?? flash?.error,
    });
  };
  const back = (ctx: RouterContext, path: string, note: Flash) => {
    const cookie = ctx.cookies.get(COOKIE);
    if (cookie !== undefined && (note.notice !== undefined || note.error !== undefined)) setFlash(domain.db, cookie, note);
    ctx.redirect(path);
  };
  /** Cookies are Secure whenever the request came over HTTPS (directly, or through a proxy hotprov trusts). */
  const cookieOptions = (ctx: RouterContext) => ({ httpOnly: true, secure: ctx.secure, path: '/console' });
  /** Runs a change; a refusal from the domain (bad input, conflict…) goes back to the page as a message. */
  const attempt = async (ctx: RouterContext, path: string, work: () => unknown, notice: string) => {
    try {
      await work();
      back(ctx, path, { notice });
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      back(ctx, path, { error: err.message });
    }
  };

  router.get('/assets/console.css', (ctx) => {
    ctx.type = 'text/css';
    ctx.set('Cache-Control', 'max-age=3600');
    ctx.body = CSS;
  });

  router.use(async function consoleSession(ctx: RouterContext, next: Next) {
    const cookie = ctx.cookies.get(COOKIE);
    ctx.state.console = cookie === undefined ? null : sessionByToken(domain.db, domain.now(), cookie);
    const open = ctx.path === '/console/login' || ctx.path.startsWith('/console/assets/');
    if (!open && session(ctx) === null) {
      ctx.redirect('/console/login');
      return;
    }
    if (ctx.method === 'POST' && !open) {
      const form = await readForm(ctx);
      const sent = form.get('_csrf') ?? '';
      if (!timingSafeEqual(digest(sent), digest(session(ctx)?.csrfToken ?? ''))) {
        ctx.status = 403;
        ctx.body = 'the form is out of date or not from this console; reload the page';
        return;
      }
      ctx.state.form = form;
    }
    await next();
  });
  const form = (ctx: RouterContext): Form => ctx.state.form as Form;

  // --- sign-in

  /**
   * The sign-in form carries a token that must match a cookie set with it (SameSite=Strict), so another site
   * cannot sign a browser in to an account of its choosing.
   */
  const signInPage = (ctx: RouterContext, data: Record<string, unknown>) => {
    const signInCsrf = randomBytes(24).toString('base64url');
    ctx.cookies.set(SIGN_IN_COOKIE, signInCsrf, { ...cookieOptions(ctx), sameSite: 'strict', path: '/console/login', maxAge: 3600_000 });
    page(ctx, 'login', { title: 'Sign in', signInCsrf, ...data });
  };
  router.get('/login', (ctx) => signInPage(ctx, {}));
  router.post('/login', async (ctx) => {
    const f = await readForm(ctx);
    const username = f.get('username') ?? '';
    const expected = ctx.cookies.get(SIGN_IN_COOKIE) ?? '';
    if (expected === '' || !timingSafeEqual(digest(f.get('_csrf') ?? ''), digest(expected))) {
      ctx.status = 403;
      signInPage(ctx, { error: 'The sign-in form is out of date or not from this console; sign in again.', username });
      return;
    }
    try {
      const { token } = await signIn(domain, tenantId(), username, f.get('password') ?? '');
      ctx.cookies.set(SIGN_IN_COOKIE, null, { path: '/console/login' });
      ctx.cookies.set(COOKIE, token, { ...cookieOptions(ctx), sameSite: 'lax', maxAge: SESSION_HOURS * 3600_000 });
      ctx.redirect('/console/');
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      ctx.status = err.status;
      signInPage(ctx, { error: err.message, username });
    }
  });
  router.post('/logout', (ctx) => {
    const cookie = ctx.cookies.get(COOKIE);
    if (cookie !== undefined) signOut(domain.db, cookie);
    ctx.cookies.set(COOKIE, null, cookieOptions(ctx));
    ctx.redirect('/console/login');
  });

  // --- the hot-desk board

  const desks = () => {
    const open = new Map(listOpenSessions(domain.db, tenantId()).map((s) => [s.device.id, s]));
    const bySipUser = new Map(listUsers(domain.db, tenantId()).map((u) => [u.sipUser, u]));
    return listDevices(domain.db, tenantId())
      .filter((d) => d.hotdesk)
      .map((d) => {
        const s = open.get(d.id);
        const sync = deps.resync.latest(d.id);
        const phone = phoneState(d, s?.user);
        return {
          idleAccount: d.idleAccount,
          label: d.label,
          vendor: d.vendor,
          model: d.model,
          mac: formatMac(d.mac as Mac),
          user: s === undefined ? null : { displayName: s.user.displayName, extension: s.user.extension },
          since: when(s?.session.startedAt),
          method: s?.session.method ?? '',
          sync: presentSync(sync),
          syncRetry: when(sync?.retryAt),
          // Nobody sits there, but the phone still registers as the last user: not idle until it fetched.
          loggingOut: phone.pending === 'logout' ? { account: phone.account, name: bySipUser.get(phone.account ?? '')?.displayName ?? null } : null,
          loggingIn: phone.pending === 'login',
          lastSeen: when(d.lastSeenAt),
        };
      });
  };
  router.get('/', (ctx) => page(ctx, 'board', { title: 'Hot desks', nav: 'board', desks: desks() }));
  router.get('/board-rows', (ctx) => {
    const s = session(ctx);
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = views.partial('board_rows', { desks: desks(), csrf: s?.csrfToken });
  });
  router.post('/devices/:device/logout', (ctx) =>
    attempt(
      ctx,
      '/console/',
      () => logout(domain, tenantId(), actor(ctx), { device: ctx.params.device ?? '', method: 'admin' }),
      `Logged out ${ctx.params.device}.`,
    ),
  );
  router.post('/logout-all', (ctx) =>
    attempt(ctx, '/console/', () => logoutSessions(domain, tenantId(), actor(ctx), { reason: 'admin', method: 'admin' }), 'Everyone is logged out.'),
  );

  // --- devices

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

  const models = () =>
    deps.adapters.flatMap((a) => [...a.profile.models.values()].map((m) => ({ vendor: a.id, vendorName: a.profile.name, id: m.id, name: m.name })));

  router.get('/devices', (ctx) => {
    const q = (typeof ctx.query.q === 'string' ? ctx.query.q : '').trim().toLowerCase();
    const all = listDevices(domain.db, tenantId()).filter(
      (d) => q === '' || [d.mac, formatMac(d.mac as Mac), d.idleAccount, d.label, d.location].some((v) => v.toLowerCase().includes(q)),
    );
    const pages = Math.max(1, Math.ceil(all.length / PAGE_SIZE));
    const current = Math.min(pages, Math.max(1, Number(ctx.query.page) || 1));
    const link = (p: number) => `/console/devices?${new URLSearchParams({ q, page: String(p) }).toString()}`;
    const seated = new Map(listOpenSessions(domain.db, tenantId()).map((s) => [s.device.id, s.user]));
    page(ctx, 'devices', {
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
  router.post('/devices', (ctx) => {
    const f = form(ctx);
    const [vendor = '', model = ''] = (f.get('model') ?? '').split('/');
    try {
      const device = enrolDevice(domain, tenantId(), actor(ctx), {
        mac: f.get('mac') ?? '',
        vendor,
        model,
        label: f.get('label') ?? '',
        location: f.get('location') ?? '',
        hotdesk: f.get('hotdesk') === 'on',
      });
      // The activation code is shown this once, on the new device's page: only a hash of it is kept.
      devicePage(ctx, device.idleAccount, { label: 'Device enrolled. Activation code (shown once)', value: device.activationCode });
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      back(ctx, '/console/devices', { error: err.message });
    }
  });
  /** The device page; `once` is a secret shown this one time (an activation code, the web password), never put in a URL. */
  const devicePage = (ctx: RouterContext, ref: string, once?: { label: string; value: string }) => {
    const device = getDevice(domain.db, tenantId(), ref);
    const seated = listOpenSessions(domain.db, tenantId()).find((s) => s.device.id === device.id)?.user;
    // "as": whose profile to show (a user's extension, "idle", or nothing for what the phone gets now).
    const as = typeof ctx.query.as === 'string' && ctx.query.as !== '' ? ctx.query.as : null;
    const reveal = ctx.query.reveal === '1';
    if (reveal) {
      // Who saw a phone's passwords, and when.
      recordAudit(domain.db, tenantId(), domain.now(), actor(ctx), {
        action: 'console.secrets_revealed',
        deviceMac: device.mac,
        idleAccount: device.idleAccount,
        detail: { as: as ?? 'current' },
      });
    }
    const asUser = as === null ? undefined : as === 'idle' ? null : getUser(domain.db, tenantId(), as);
    page(ctx, 'device', {
      title: device.idleAccount,
      nav: 'devices',
      device: presentDevice(device, seated, deps.provisioning.summary(device), deps.resync.latest(device.id)),
      syncRetry: when(deps.resync.latest(device.id)?.retryAt),
      languages: PHONE_LANGUAGES,
      files: deps.provisioning.renderDeviceFiles(device, { maskSecrets: !reveal, ...(asUser === undefined ? {} : { as: asUser }) }),
      users: listUsers(domain.db, tenantId()).map((u) => ({ extension: u.extension, displayName: u.displayName, selected: u.extension === as })),
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
    return attempt(
      ctx,
      `/console/devices/${ref}`,
      () => approveDevice(domain, tenantId(), actor(ctx), ref),
      'Approved: the phone gets its profile at its next fetch.',
    );
  });
  const showingOnce = (ctx: RouterContext, work: () => { label: string; value: string }) => {
    const ref = ctx.params.device ?? '';
    try {
      devicePage(ctx, ref, work());
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      back(ctx, `/console/devices/${ref}`, { error: err.message });
    }
  };
  router.post('/devices/:device/activation-code', (ctx) =>
    showingOnce(ctx, () => ({
      label: 'Activation code (shown once; type it on the phone after pressing Activate)',
      value: createActivationCode(domain, tenantId(), actor(ctx), ctx.params.device ?? '').activationCode,
    })),
  );
  router.post('/devices/:device/unclaim', (ctx) =>
    showingOnce(ctx, () => ({
      label: 'Access reset. New activation code (shown once)',
      value: resetDeviceAccess(domain, tenantId(), actor(ctx), ctx.params.device ?? '').activationCode,
    })),
  );
  router.post('/devices/:device/web-password', (ctx) =>
    showingOnce(ctx, () => {
      const web = revealWebPassword(domain, tenantId(), actor(ctx), ctx.params.device ?? '');
      return { label: `Web interface login (user ${web.username}; this reveal is in the audit log)`, value: web.password };
    }),
  );
  router.post('/devices/:device', (ctx) => {
    const f = form(ctx);
    const ref = ctx.params.device ?? '';
    return attempt(
      ctx,
      `/console/devices/${ref}`,
      () =>
        updateDevice(domain, tenantId(), actor(ctx), ref, {
          label: f.get('label') ?? '',
          location: f.get('location') ?? '',
          hotdesk: f.get('hotdesk') === 'on',
          expansionModules: Math.max(0, Math.min(6, Number(f.get('expansionModules') ?? 0) || 0)),
          // This desk's own phone time zone and language; blank follows the tenant's.
          ...validate(DeviceUpdateBody, {
            ...(f.has('phoneTimezone') ? { phoneTimezone: (f.get('phoneTimezone') ?? '').trim() || null } : {}),
            ...(f.has('phoneLanguage') ? { phoneLanguage: (f.get('phoneLanguage') ?? '').trim() || null } : {}),
          }),
        }),
      'Saved.',
    );
  });
  router.post('/devices/:device/delete', (ctx) =>
    attempt(ctx, '/console/devices', () => deleteDevice(domain, tenantId(), actor(ctx), ctx.params.device ?? ''), `Deleted ${ctx.params.device}.`),
  );

  // --- users

  router.get('/users', (ctx) => {
    const q = (typeof ctx.query.q === 'string' ? ctx.query.q : '').trim().toLowerCase();
    const users = listUsers(domain.db, tenantId())
      .filter((u) => q === '' || u.extension.includes(q) || u.displayName.toLowerCase().includes(q))
      .map((u) => presentUser(u, keysOf(domain.db, u.id)));
    page(ctx, 'users', { title: 'Users', nav: 'users', q, users });
  });
  router.post('/users', async (ctx) => {
    const f = form(ctx);
    const tenant = deps.tenant();
    try {
      const input = validate(UserCreateBody, {
        extension: f.get('extension') ?? '',
        displayName: f.get('displayName') ?? '',
        sipPassword: f.get('sipPassword') ?? '',
        hotdesk: f.get('hotdesk') === 'on',
      });
      const { user } = await createUser(domain, tenant.id, tenant.pinMinLength, actor(ctx), input);
      back(ctx, `/console/users/${user.extension}`, { notice: 'User added. Give them a PIN and keys.' });
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      back(ctx, '/console/users', { error: err.message });
    }
  });

  const keyPreview = (keys: readonly UserKey[]) => {
    const fixed: KeyFunction[] = [
      { kind: 'line', label: '' },
      { kind: 'logout', value: '', label: 'Logout' },
    ];
    return deps.adapters.flatMap((a) =>
      [...a.profile.models.values()].map((m) => {
        const layout = layoutKeys(m, m.expansion?.modules ?? 0, fixed, keys, m.name);
        const describe = (slots: readonly { index: number; module: number; fn: KeyFunction }[]) =>
          slots
            .filter(
              (s) =>
                s.fn.kind === 'blf' ||
                s.fn.kind === 'speed' ||
                (s.fn.kind === 'line' && s.index > 1 && s.module === 0) ||
                (s.fn.kind === 'line' && s.module > 0),
            )
            .map((s) => `${s.module === 0 ? '' : `M${s.module}:`}${s.index} ${'value' in s.fn ? s.fn.value : 'line'}`)
            .join(', ');
        return {
          model: `${a.profile.name} ${m.name}`,
          onPhone: describe(layout.phone),
          onModules: m.expansion === null ? '—' : describe(layout.modules.flat()),
          unplaced: layout.unplaced.map((k) => k.value).join(', '),
        };
      }),
    );
  };

  const showUser = (ctx: RouterContext, extension: string, pin?: string) => {
    const user = getUser(domain.db, tenantId(), extension);
    const keys = keysOf(domain.db, user.id);
    const rows = [...keys.map((k) => ({ type: k.type, value: k.value, label: k.label })), { type: 'blf', value: '', label: '' }].map((r, i) => ({
      ...r,
      position: i + 1,
    }));
    page(ctx, 'user', { title: user.displayName, nav: 'users', user: presentUser(user, keys), rows, preview: keyPreview(keys), pin });
  };
  router.get('/users/:extension', (ctx) => showUser(ctx, ctx.params.extension ?? ''));
  router.post('/users/:extension', (ctx) => {
    const f = form(ctx);
    const types = f.getAll('type');
    const values = f.getAll('value');
    const labels = f.getAll('label');
    const keys = types
      .map((type, i) => ({ type: type as UserKeyType, value: (values[i] ?? '').trim(), label: (labels[i] ?? '').trim() }))
      .filter((k) => k.value !== '' || k.label !== '');
    const tenant = deps.tenant();
    const extension = ctx.params.extension ?? '';
    return attempt(
      ctx,
      `/console/users/${extension}`,
      () =>
        updateUser(domain, tenant.id, tenant.pinMinLength, actor(ctx), extension, {
          displayName: f.get('displayName') ?? '',
          hotdesk: f.get('hotdesk') === 'on',
          keys: keys.map((k) => ({ ...k, type: ['blf', 'speed', 'line'].includes(k.type) ? k.type : 'blf' })),
        }),
      'Saved.',
    );
  });
  router.post('/users/:extension/pin', async (ctx) => {
    const tenant = deps.tenant();
    const extension = ctx.params.extension ?? '';
    const pin = await issuePin(domain, tenant.id, tenant.pinMinLength, actor(ctx), extension);
    // Shown once, on this answer; never stored in clear, never in a URL.
    showUser(ctx, extension, pin);
  });

  // --- templates

  /** The vendor and template a path names; 404 for a template that is not one of templates/<vendor>/. */
  const templateParams = (ctx: RouterContext) => {
    const vendor = ctx.params.vendor ?? '';
    const name = ctx.params.name ?? '';
    const adapter = deps.adapters.find((a) => a.id === vendor);
    if (adapter === undefined || !(deps.templates.names().get(vendor) ?? []).includes(name)) throw NotFound(`template ${vendor}/${name}`);
    return { vendor, name, adapter };
  };

  router.get('/templates', (ctx) => {
    const latest = new Map(latestRevisions(domain.db).map((r) => [`${r.vendor}/${r.name}`, r]));
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
    page(ctx, 'templates', { title: 'Templates', nav: 'templates', templates });
  });

  const showTemplate = (
    ctx: RouterContext,
    vendor: string,
    name: string,
    extra: { source?: string; samples?: readonly { label: string; body: string }[]; saved?: boolean; error?: string; device?: string; user?: string } = {},
  ) => {
    const revisions = revisionsOf(domain.db, vendor, name);
    const latest = revisions[0];
    const phones = listDevices(domain.db, tenantId()).filter((d) => d.vendor === vendor);
    page(ctx, 'template', {
      title: `${vendor}/${name}`,
      nav: 'templates',
      vendor,
      name,
      modified: latest !== undefined && latest.source !== null,
      source: extra.source ?? deps.templates.currentSource(vendor, name),
      samples: extra.samples,
      saved: extra.saved,
      error: extra.error,
      devices: phones.map((d) => ({ idleAccount: d.idleAccount, model: d.model, label: d.label, selected: d.idleAccount === extra.device })),
      users: listUsers(domain.db, tenantId()).map((u) => ({ extension: u.extension, displayName: u.displayName, selected: u.extension === extra.user })),
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
  router.get('/templates/:vendor/:name', (ctx) => {
    const { vendor, name } = templateParams(ctx);
    showTemplate(ctx, vendor, name);
  });

  /** Tries a source on sample phones (and the chosen one); saves it only when asked and when it passed. */
  router.post('/templates/:vendor/:name', (ctx) => {
    const { vendor, name, adapter } = templateParams(ctx);
    const f = form(ctx);
    const source = (f.get('source') ?? '').replace(/\r\n/g, '\n');
    const deviceRef = f.get('device') ?? '';
    const userRef = f.get('user') ?? '';
    const chosenDevice = deviceRef === '' ? undefined : getDevice(domain.db, tenantId(), deviceRef);
    const chosenUser = userRef === '' ? null : getUser(domain.db, tenantId(), userRef);
    const chosen =
      chosenDevice === undefined
        ? undefined
        : { device: chosenDevice, user: chosenUser === null ? null : { row: chosenUser, keys: keysOf(domain.db, chosenUser.id) } };
    const check = checkTemplate(adapter, deps.tenant(), deps.config.phoneBaseUrl, name, source, chosen);
    const keep = { source, device: deviceRef, user: userRef };
    if (!check.ok) {
      ctx.status = 422;
      showTemplate(ctx, vendor, name, { ...keep, error: `Not saved: the template ${check.error}` });
      return;
    }
    if (f.get('action') !== 'save') {
      showTemplate(ctx, vendor, name, { ...keep, samples: check.samples });
      return;
    }
    deps.templates.setOverride(vendor, name, source);
    recordRevision(domain.db, tenantId(), domain.now(), actor(ctx), { vendor, name, source });
    showTemplate(ctx, vendor, name, { saved: true });
  });
  router.post('/templates/:vendor/:name/restore/:id', (ctx) => {
    const { vendor, name, adapter } = templateParams(ctx);
    const revision = getRevision(domain.db, Number(ctx.params.id));
    if (revision.vendor !== vendor || revision.name !== name || revision.source === null) throw NotFound(`revision ${ctx.params.id} of ${vendor}/${name}`);
    const check = checkTemplate(adapter, deps.tenant(), deps.config.phoneBaseUrl, name, revision.source);
    if (!check.ok) {
      back(ctx, `/console/templates/${vendor}/${name}`, { error: `Not restored: the template ${check.error}` });
      return;
    }
    deps.templates.setOverride(vendor, name, revision.source);
    recordRevision(domain.db, tenantId(), domain.now(), actor(ctx), { vendor, name, source: revision.source, restoredFrom: revision.id });
    showTemplate(ctx, vendor, name, { saved: true });
  });
  router.post('/templates/:vendor/:name/reset', (ctx) => {
    const { vendor, name } = templateParams(ctx);
    deps.templates.setOverride(vendor, name, null);
    recordRevision(domain.db, tenantId(), domain.now(), actor(ctx), { vendor, name, source: null });
    showTemplate(ctx, vendor, name, { saved: true });
  });
  /** Re-provisioning after a template change waits for the admin's word: it touches every phone of the vendor. */
  router.post('/templates/:vendor/:name/reprovision', (ctx) => {
    const { vendor, name } = templateParams(ctx);
    const ids = listDevices(domain.db, tenantId())
      .filter((d) => d.vendor === vendor)
      .map((d) => d.id);
    domain.profilesChanged({ deviceIds: ids, reason: `template ${vendor}/${name} changed` });
    back(ctx, `/console/templates/${vendor}/${name}`, { notice: `${ids.length} phone(s) are being re-provisioned.` });
  });
  router.get('/templates/:vendor/:name/revisions/:id', (ctx) => {
    const { vendor, name } = templateParams(ctx);
    const revision = getRevision(domain.db, Number(ctx.params.id));
    if (revision.vendor !== vendor || revision.name !== name) throw NotFound(`revision ${ctx.params.id} of ${vendor}/${name}`);
    const shipped = deps.templates.shippedSource(vendor, name);
    const older = revisionsOf(domain.db, vendor, name).find((r) => r.id < revision.id);
    const text = revision.source ?? shipped;
    page(ctx, 'revision', {
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

  // --- audit log

  const auditFilter = (ctx: RouterContext) => {
    const q = (name: string) => (typeof ctx.query[name] === 'string' ? (ctx.query[name] as string).trim() : '');
    const date = (v: string, end: boolean) => (/^\d{4}-\d{2}-\d{2}$/.test(v) ? new Date(`${v}T${end ? '23:59:59.999' : '00:00:00'}Z`) : undefined);
    const shown = { device: q('device'), user: q('user'), action: q('action'), from: q('from'), to: q('to') };
    const from = date(shown.from, false);
    const to = date(shown.to, true);
    return {
      shown,
      filter: { device: shown.device, user: shown.user, action: shown.action, ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) },
    };
  };
  router.get('/audit', (ctx) => {
    const { shown, filter } = auditFilter(ctx);
    const events = listAudit(domain.db, tenantId(), { ...filter, limit: 500 }).map((e) => ({ ...e, at: when(e.at) }));
    page(ctx, 'audit', { title: 'Audit log', nav: 'audit', f: shown, events, query: new URLSearchParams(shown).toString() });
  });
  router.get('/audit.csv', (ctx) => {
    const { filter } = auditFilter(ctx);
    const rows = listAudit(domain.db, tenantId(), filter).map((e) => [
      e.at.toISOString(),
      e.actor,
      e.action,
      e.method,
      e.deviceMac,
      e.idleAccount,
      e.userExtension,
      e.detail,
    ]);
    ctx.type = 'text/csv; charset=utf-8';
    ctx.attachment('hotprov-audit.csv');
    ctx.body = toCsv(['at', 'actor', 'action', 'method', 'mac', 'idle_account', 'extension', 'detail'], rows);
  });

  // --- CSV of devices and users

  router.get('/devices.csv', (ctx) => {
    const rows = listDevices(domain.db, tenantId()).map((d) => [
      formatMac(d.mac as Mac),
      d.vendor,
      d.model,
      d.label,
      d.location,
      d.hotdesk ? 'yes' : 'no',
      d.idleAccount,
    ]);
    ctx.type = 'text/csv; charset=utf-8';
    ctx.attachment('hotprov-devices.csv');
    ctx.body = toCsv(['mac', 'vendor', 'model', 'label', 'location', 'hotdesk', 'idle_account'], rows);
  });
  router.get('/users.csv', (ctx) => {
    const rows = listUsers(domain.db, tenantId()).map((u) => [u.extension, u.displayName, u.hotdesk ? 'yes' : 'no', u.pinHash === null ? 'no' : 'yes']);
    ctx.type = 'text/csv; charset=utf-8';
    ctx.attachment('hotprov-users.csv');
    ctx.body = toCsv(['extension', 'display_name', 'hotdesk', 'pin_set'], rows);
  });

  /**
   * Device import: every row is checked and shown with its problem first; only a file without problems is written,
   * all of it in one transaction.
   */
  router.post('/import/devices', (ctx) => {
    const f = form(ctx);
    const text = f.get('csv') ?? '';
    const plan = planDeviceImport(domain, tenantId(), text);
    const problems = plan.filter((r) => r.problem !== null).length;
    if (f.get('action') === 'import' && problems === 0 && plan.length > 0) {
      writeTransaction(domain.db, (tx) => {
        for (const row of plan) if (row.input !== null) enrolDevice({ ...domain, db: tx }, tenantId(), actor(ctx), row.input);
      });
      back(ctx, '/console/devices', { notice: `Imported ${plan.length} device(s).` });
      return;
    }
    page(ctx, 'import', {
      title: 'Import devices',
      nav: 'devices',
      csv: text,
      rows: plan,
      problems,
      ready: problems === 0 && plan.length > 0,
      what: 'devices',
    });
  });

  /** User import, like the device import: checked row by row, written all at once or not at all. */
  router.post('/import/users', async (ctx) => {
    const f = form(ctx);
    const text = f.get('csv') ?? '';
    const tenant = deps.tenant();
    const plan = planUserImport(domain, tenant.id, tenant.pinMinLength, text);
    const problems = plan.filter((r) => r.problem !== null).length;
    if (f.get('action') === 'import' && problems === 0 && plan.length > 0) {
      await createUsers(
        domain,
        tenant.id,
        tenant.pinMinLength,
        actor(ctx),
        plan.flatMap((r) => (r.input === null ? [] : [r.input])),
      );
      back(ctx, '/console/users', { notice: `Imported ${plan.length} user(s).` });
      return;
    }
    page(ctx, 'import', { title: 'Import users', nav: 'users', csv: text, rows: plan, problems, ready: problems === 0 && plan.length > 0, what: 'users' });
  });

  // --- settings and API tokens

  const showSettings = (ctx: RouterContext, newToken?: { name: string; value: string }) => {
    const tenant = getTenant(domain.db, tenantId());
    page(ctx, 'settings', {
      title: 'Settings',
      nav: 'settings',
      tenant,
      defaults: deps.config.registrar,
      emergency: (JSON.parse(tenant.emergencyNumbers) as string[]).join(', '),
      languages: PHONE_LANGUAGES,
      codecs: tenant.codecs === null ? '' : (JSON.parse(tenant.codecs) as string[]).join(', '),
      tokens: listApiTokens(domain.db).map((t) => ({ ...t, createdAt: when(t.createdAt), revoked: t.revokedAt !== null })),
      newToken,
    });
  };
  router.get('/settings', (ctx) => showSettings(ctx));
  router.post('/settings', (ctx) => {
    const f = form(ctx);
    const optional = (name: string) => {
      const v = (f.get(name) ?? '').trim();
      return v === '' ? null : v;
    };
    const number = (name: string) => (optional(name) === null ? null : Number(optional(name)));
    return attempt(
      ctx,
      '/console/settings',
      () => {
        const input = validate(TenantUpdateBody, {
          registrarHost: optional('registrarHost'),
          registrarPort: number('registrarPort'),
          loginCode: f.get('loginCode') ?? '',
          logoutCode: optional('logoutCode'),
          emergencyNumbers: (f.get('emergencyNumbers') ?? '').split(/[\s,]+/).filter((n) => n !== ''),
          loginKeyMode: f.get('loginKeyMode') ?? 'screen',
          notifyMode: f.get('notifyMode') ?? 'direct',
          autoLogoutCron: optional('autoLogoutCron'),
          timezone: f.get('timezone') ?? 'UTC',
          maxSessionMinutes: number('maxSessionMinutes'),
          // Phone basics: a field the form did not send is left as it is; a blank one returns to the phone's own.
          ...(f.has('pickupCode') ? { pickupCode: (f.get('pickupCode') ?? '').trim() } : {}),
          ...(f.has('pollMode') ? { pollMode: f.get('pollMode') } : {}),
          ...(f.has('pollIntervalMinutes') && optional('pollIntervalMinutes') !== null ? { pollIntervalMinutes: number('pollIntervalMinutes') } : {}),
          ...(f.has('pollWindowStart') && optional('pollWindowStart') !== null ? { pollWindowStart: optional('pollWindowStart') } : {}),
          ...(f.has('pollWindowEnd') && optional('pollWindowEnd') !== null ? { pollWindowEnd: optional('pollWindowEnd') } : {}),
          ...(f.has('phoneTimezone') ? { phoneTimezone: optional('phoneTimezone') } : {}),
          ...(f.has('ntpServer') ? { ntpServer: optional('ntpServer') } : {}),
          ...(f.has('phoneLanguage') ? { phoneLanguage: optional('phoneLanguage') } : {}),
          ...(f.has('voicemailNumber') ? { voicemailNumber: optional('voicemailNumber') } : {}),
          ...(f.has('codecs')
            ? {
                codecs: (() => {
                  const list = (f.get('codecs') ?? '').split(/[\s,]+/).filter((c) => c !== '');
                  return list.length === 0 ? null : list;
                })(),
              }
            : {}),
          ...(f.has('srtp') ? { srtp: f.get('srtp') } : {}),
        });
        updateTenant(domain, tenantId(), actor(ctx), input);
        deps.onTenantChanged();
      },
      'Settings saved; phones are being re-provisioned.',
    );
  });
  router.post('/tokens', (ctx) => {
    const name = (form(ctx).get('name') ?? '').trim();
    try {
      const { token } = createApiToken(domain.db, domain.now(), name, session(ctx)?.admin.username ?? '?');
      showSettings(ctx, { name, value: token });
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      back(ctx, '/console/settings', { error: err.message });
    }
  });
  router.post('/tokens/:id/revoke', (ctx) =>
    attempt(ctx, '/console/settings', () => revokeApiToken(domain.db, domain.now(), Number(ctx.params.id)), 'Token revoked.'),
  );

  return router;
}

interface ImportRow {
  readonly line: number;
  readonly cells: readonly string[];
  readonly input: Parameters<typeof enrolDevice>[3] | null;
  readonly problem: string | null;
}

/** Checks every row of a device CSV (mac, vendor, model, label, location, hotdesk) without writing anything. */
function planDeviceImport(domain: AppDeps['domain'], tenant: number, text: string): ImportRow[] {
  const rows = parseCsv(text);
  const header = rows[0]?.map((h) => h.trim().toLowerCase()) ?? [];
  const hasHeader = header.includes('mac');
  const column = (name: string, fallback: number) => (hasHeader ? header.indexOf(name) : fallback);
  const at = {
    mac: column('mac', 0),
    vendor: column('vendor', 1),
    model: column('model', 2),
    label: column('label', 3),
    location: column('location', 4),
    hotdesk: column('hotdesk', 5),
  };
  const known = new Set(listDevices(domain.db, tenant).map((d) => d.mac));
  const seen = new Set<string>();
  return rows.slice(hasHeader ? 1 : 0).map((cells, i) => {
    const get = (index: number) => (index < 0 ? '' : (cells[index] ?? '').trim());
    const line = i + (hasHeader ? 2 : 1);
    const mac = parseMac(get(at.mac));
    const found = domain.catalog.findModel(get(at.vendor), get(at.model));
    const hotdesk = get(at.hotdesk).toLowerCase();
    const problem =
      mac === null
        ? `“${get(at.mac)}” is not a MAC address`
        : found === null
          ? `unknown vendor/model “${get(at.vendor)} ${get(at.model)}”`
          : known.has(mac)
            ? 'this MAC is already enrolled'
            : seen.has(mac)
              ? 'this MAC is in the file twice'
              : !['', 'yes', 'no', 'true', 'false', '1', '0'].includes(hotdesk)
                ? `hotdesk must be yes or no, not “${get(at.hotdesk)}”`
                : null;
    if (mac !== null) seen.add(mac);
    const input =
      problem !== null || mac === null || found === null
        ? null
        : { mac, vendor: found.vendor, model: found.model, label: get(at.label), location: get(at.location), hotdesk: !['no', 'false', '0'].includes(hotdesk) };
    return { line, cells, input, problem };
  });
}

interface UserImportRow {
  readonly line: number;
  readonly cells: readonly string[];
  readonly input: Parameters<typeof createUser>[4] | null;
  readonly problem: string | null;
}

/** Checks every row of a user CSV (extension, display_name, sip_password, hotdesk, pin) without writing anything. */
function planUserImport(domain: AppDeps['domain'], tenant: number, pinMinLength: number, text: string): UserImportRow[] {
  const rows = parseCsv(text);
  const header = rows[0]?.map((h) => h.trim().toLowerCase()) ?? [];
  const hasHeader = header.includes('extension');
  const column = (name: string, fallback: number) => (hasHeader ? header.indexOf(name) : fallback);
  const at = {
    extension: column('extension', 0),
    name: column('display_name', 1),
    password: column('sip_password', 2),
    hotdesk: column('hotdesk', 3),
    pin: column('pin', 4),
  };
  const known = new Set(listUsers(domain.db, tenant).map((u) => u.extension));
  const seen = new Set<string>();
  return rows.slice(hasHeader ? 1 : 0).map((cells, i) => {
    const get = (index: number) => (index < 0 ? '' : (cells[index] ?? '').trim());
    const line = i + (hasHeader ? 2 : 1);
    const extension = get(at.extension);
    const hotdesk = get(at.hotdesk).toLowerCase();
    const pin = get(at.pin);
    let problem: string | null = null;
    try {
      validate(UserCreateBody, { extension, displayName: get(at.name), sipPassword: get(at.password) });
      if (pin !== '') assertPinAllowed(pin, extension, pinMinLength);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      problem = err.message;
    }
    problem ??= known.has(extension)
      ? 'this extension exists already'
      : seen.has(extension)
        ? 'this extension is in the file twice'
        : !['', 'yes', 'no', 'true', 'false', '1', '0'].includes(hotdesk)
          ? `hotdesk must be yes or no, not “${get(at.hotdesk)}”`
          : null;
    seen.add(extension);
    const input =
      problem !== null
        ? null
        : {
            extension,
            displayName: get(at.name),
            sipPassword: get(at.password),
            hotdesk: !['no', 'false', '0'].includes(hotdesk),
            ...(pin === '' ? {} : { pin }),
          };
    // The PIN is not shown back on the page.
    return { line, cells: cells.map((c, k) => (k === at.pin && c !== '' ? '****' : c)), input, problem };
  });
}

import Router, { type RouterContext } from '@koa/router';
import type { Middleware } from 'koa';
import type { DeviceRow } from '../../db/schema.ts';
import {
  apiTokenPrincipal,
  createManagedAdmin,
  createTenantToken,
  deleteAdmin,
  listAdmins,
  listTenantTokens,
  resetAdminPassword,
  revokeTenantToken,
} from '../../domain/admins.ts';
import { countAudit, listAudit } from '../../domain/audit.ts';
import type { Actor } from '../../domain/deps.ts';
import { approveDevice, createActivationCode, resetDeviceAccess, revealWebPassword } from '../../domain/deviceAccess.ts';
import { deleteDevice, enrolDevice, listDevices, updateDevice } from '../../domain/devices.ts';
import { dialCode } from '../../domain/featureCodes.ts';
import { isRefused, login, logout } from '../../domain/hotdesk.ts';
import {
  AdminCreateBody,
  AdminPasswordBody,
  AuditQuery,
  CodeBody,
  DeviceCreateBody,
  DeviceUpdateBody,
  LoginBody,
  LogoutBody,
  ProviderTenantUpdateBody,
  TenantCreateBody,
  TenantSettingsBody,
  TenantTokenBody,
  UserCreateBody,
  UserUpdateBody,
  validate,
} from '../../domain/inputs.ts';
import { getDevice, getUser } from '../../domain/lookup.ts';
import { tenantOverviews } from '../../domain/overview.ts';
import { listOpenSessions, userAtDevice } from '../../domain/sessions.ts';
import { deleteTenant } from '../../domain/tenantDeletion.ts';
import { createTenant, findActiveTenantBySlug, getTenant, listActiveTenants, updateTenant } from '../../domain/tenants.ts';
import { createUser, deleteUser, issuePin, keysOf, listUsers, updateUser } from '../../domain/users.ts';
import { readBody, readChanges } from '../../edge/body.ts';
import {
  presentAdmin,
  presentApiToken,
  presentAuditEvent,
  presentDevice,
  presentOpenSession,
  presentSession,
  presentSync,
  presentTenant,
  presentTenantOverview,
  presentTenantRecord,
  presentTenantSummary,
  presentUser,
} from '../../edge/presenters.ts';
import { Conflict, NotFound, UnknownTenant } from '../../errors.ts';
import { principalOf, requireBearer } from '../auth.ts';
import type { AppDeps } from '../deps.ts';
import { loginRefusalError } from '../refusals.ts';
import { type Access, allow, ownTenant, tenantBySlug, tenantOf } from '../tenancy.ts';

/** A console account's id from the path; anything else is an account not found. */
const adminId = (ctx: RouterContext): number => {
  const id = Number(ctx.params.id);
  if (!Number.isSafeInteger(id)) throw NotFound(`admin ${ctx.params.id}`);
  return id;
};

const actorOf = (ctx: RouterContext): Actor => (ctx.state.actor as Actor | undefined) ?? { name: 'api' };

type Handler = (ctx: RouterContext) => unknown;

/** Registers routes that each name who may call them (`Access` in http/tenancy.ts): no route without it. */
function guarded(router: Router) {
  const on =
    (method: 'get' | 'post' | 'patch' | 'delete') =>
    (path: string, access: Access, handler: Handler): void => {
      router[method](path, allow(access), async (ctx) => {
        await handler(ctx);
      });
    };
  return { get: on('get'), post: on('post'), patch: on('patch'), delete: on('delete') };
}

/**
 * The JSON API: tenant management under /api/v1/tenants (the provider's), and the routes that act in one tenant,
 * mounted twice from one definition: at /api/v1 (a tenant's token in its tenant, the provider in the default one)
 * and at /api/v1/tenants/:tenant (that tenant, if the token may act in it).
 */
export function apiRouters(deps: AppDeps): Router[] {
  return [tenantsRouter(deps), tenantScopedRouter(deps, '/api/v1/tenants/:tenant', tenantBySlug(deps)), tenantScopedRouter(deps, '/api/v1', ownTenant(deps))];
}

const bearer = (deps: AppDeps) => requireBearer(deps.adminToken, async (token) => await apiTokenPrincipal(deps.domain.db, token, deps.domain.now()));

/** Each handler validates, calls one domain function and presents the result, in the tenant resolved for it. */
function tenantScopedRouter(deps: AppDeps, prefix: string, resolveTenant: Middleware): Router {
  const router = new Router({ prefix });
  router.use(bearer(deps), resolveTenant);
  const route = guarded(router);
  const { domain, provisioning } = deps;
  const tenantId = (ctx: RouterContext) => tenantOf(ctx).id;

  const deviceView = async (device: DeviceRow) =>
    presentDevice(device, await userAtDevice(domain.db, device.id), await provisioning.summary(device), await deps.resync.latest(device.id));

  // --- users

  route.get('/users', 'helpdesk', async (ctx) => {
    ctx.body = await Promise.all((await listUsers(domain.db, tenantId(ctx))).map(async (u) => presentUser(u, await keysOf(domain.db, u.id))));
  });

  route.post('/users', 'admin', async (ctx) => {
    const body = await readBody(ctx, UserCreateBody);
    const tenant = tenantOf(ctx);
    const { user, keys } = await createUser(domain, tenant.id, tenant.pinMinLength, actorOf(ctx), body);
    ctx.status = 201;
    ctx.set('Location', `/api/v1/users/${user.extension}`);
    ctx.body = presentUser(user, keys);
  });

  route.get('/users/:extension', 'helpdesk', async (ctx) => {
    const user = await getUser(domain.db, tenantId(ctx), ctx.params.extension ?? '');
    ctx.body = presentUser(user, await keysOf(domain.db, user.id));
  });

  route.patch('/users/:extension', 'admin', async (ctx) => {
    const body = await readChanges(ctx, UserUpdateBody);
    const tenant = tenantOf(ctx);
    const { user, keys } = await updateUser(domain, tenant.id, tenant.pinMinLength, actorOf(ctx), ctx.params.extension ?? '', body);
    ctx.body = presentUser(user, keys);
  });

  /** Sets a new random PIN and answers it, once: hotprov keeps only its hash. */
  route.post('/users/:extension/pin', 'admin', async (ctx) => {
    const tenant = tenantOf(ctx);
    const pin = await issuePin(domain, tenant.id, tenant.pinMinLength, actorOf(ctx), ctx.params.extension ?? '');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { extension: ctx.params.extension, pin };
  });

  route.delete('/users/:extension', 'admin', async (ctx) => {
    await deleteUser(domain, tenantId(ctx), actorOf(ctx), ctx.params.extension ?? '');
    ctx.status = 204;
  });

  // --- devices

  route.get('/devices', 'helpdesk', async (ctx) => {
    ctx.body = await Promise.all((await listDevices(domain.db, tenantId(ctx))).map(deviceView));
  });

  route.post('/devices', 'admin', async (ctx) => {
    const body = await readBody(ctx, DeviceCreateBody);
    const device = await enrolDevice(domain, tenantId(ctx), actorOf(ctx), body);
    ctx.status = 201;
    ctx.set('Location', `/api/v1/devices/${device.idleAccount}`);
    // The activation code is answered this once: only a hash of it is kept.
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { ...(await deviceView(device)), activationCode: device.activationCode };
  });

  route.get('/devices/:device', 'helpdesk', async (ctx) => {
    ctx.body = await deviceView(await getDevice(domain.db, tenantId(ctx), ctx.params.device ?? ''));
  });

  route.patch('/devices/:device', 'admin', async (ctx) => {
    const body = await readChanges(ctx, DeviceUpdateBody);
    ctx.body = await deviceView(await updateDevice(domain, tenantId(ctx), actorOf(ctx), ctx.params.device ?? '', body));
  });

  route.delete('/devices/:device', 'admin', async (ctx) => {
    await deleteDevice(domain, tenantId(ctx), actorOf(ctx), ctx.params.device ?? '');
    ctx.status = 204;
  });

  /** Registers the phone with its vendor's redirect service now, and answers what the service said. */
  route.post('/devices/:device/redirect', 'admin', async (ctx) => {
    const device = await getDevice(domain.db, tenantId(ctx), ctx.params.device ?? '');
    const result = await deps.redirects.register(device);
    if (result === null) throw Conflict(`no ${device.vendor} redirect service is set up for this tenant`);
    ctx.body = await deviceView(await getDevice(domain.db, tenantId(ctx), device.mac));
  });

  /** Approves a claimed phone, after an admin saw who claimed it (`access.claim`). */
  route.post('/devices/:device/activate', 'admin', async (ctx) => {
    ctx.body = await deviceView(await approveDevice(domain, tenantId(ctx), actorOf(ctx), ctx.params.device ?? ''));
  });

  /** A new activation code for the phone's Activate screen, answered once; the old one stops working. */
  route.post('/devices/:device/activation-code', 'admin', async (ctx) => {
    const { device, activationCode } = await createActivationCode(domain, tenantId(ctx), actorOf(ctx), ctx.params.device ?? '');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { device: device.idleAccount, activationCode };
  });

  /**
   * Starts the device's access over: unclaimed, new credentials (redirect services updated), a new activation
   * code answered once. The phone must then ask without credentials again (factory reset, or URL set anew).
   */
  route.post('/devices/:device/unclaim', 'admin', async (ctx) => {
    const { device, activationCode } = await resetDeviceAccess(domain, tenantId(ctx), actorOf(ctx), ctx.params.device ?? '');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { ...(await deviceView(device)), activationCode };
  });

  /** The admin login of the phone's own web interface; each reveal is audited. */
  route.get('/devices/:device/web-password', 'admin', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await revealWebPassword(domain, tenantId(ctx), actorOf(ctx), ctx.params.device ?? '');
  });

  /** Reboots the phone, the one time hotprov sends a reboot: only because an admin asked. */
  route.post('/devices/:device/reboot', 'admin', async (ctx) => {
    const device = await getDevice(domain.db, tenantId(ctx), ctx.params.device ?? '');
    const job = await deps.resync.reboot(device);
    if (job === null) throw Conflict(`a ${device.vendor} phone cannot be rebooted by NOTIFY; it re-provisions on check-sync`);
    ctx.status = 202;
    ctx.body = { device: device.idleAccount, sync: presentSync(job) };
  });

  /** The idle account's credentials, for creating it on the PBX. Asked for explicitly, never listed. */
  route.get('/devices/:device/idle-account', 'admin', async (ctx) => {
    const device = await getDevice(domain.db, tenantId(ctx), ctx.params.device ?? '');
    const registrar = tenantOf(ctx).registrar;
    ctx.body = { name: device.idleAccount, password: device.idlePassword, registrar };
  });

  /** The files the phone would get now; `?file=` returns one as the phone sees it; passwords masked unless `?secrets=show`. */
  route.get('/devices/:device/config', 'admin', async (ctx) => {
    const device = await getDevice(domain.db, tenantId(ctx), ctx.params.device ?? '');
    const files = await provisioning.renderDeviceFiles(device, { maskSecrets: ctx.query.secrets !== 'show' });
    const wanted = ctx.query.file;
    if (typeof wanted === 'string') {
      const file = files.find((f) => f.name === wanted);
      if (file === undefined) throw NotFound(`file ${wanted}`);
      ctx.type = file.contentType;
      ctx.body = file.body;
      return;
    }
    ctx.body = { files: files.map((f) => ({ name: f.name, contentType: f.contentType, body: f.body })) };
  });

  // --- hot desking

  route.post('/hotdesk/login', 'admin', async (ctx) => {
    const body = await readBody(ctx, LoginBody);
    const outcome = await login(domain, tenantId(ctx), actorOf(ctx), { ...body, method: 'api' });
    if (isRefused(outcome)) throw loginRefusalError(outcome);
    // The warnings of the profile the login rendered; a login that changed nothing rendered none.
    const warnings = outcome.profiles.find((p) => p.deviceId === outcome.device.id)?.warnings ?? (await provisioning.summary(outcome.device)).warnings;
    ctx.body = {
      result: outcome.result,
      session: presentSession(outcome.session, outcome.device, outcome.user, await deps.resync.latest(outcome.device.id)),
      movedFrom: outcome.movedFrom?.idleAccount ?? null,
      replaced: outcome.replaced?.extension ?? null,
      warnings,
    };
  });

  route.post('/hotdesk/logout', 'helpdesk', async (ctx) => {
    const body = await readBody(ctx, LogoutBody);
    const outcome = await logout(domain, tenantId(ctx), actorOf(ctx), { ...body, method: 'api' });
    ctx.body = {
      result: outcome.result,
      device: outcome.device.idleAccount,
      user: outcome.user?.extension ?? null,
      sync: presentSync(await deps.resync.latest(outcome.device.id)),
    };
  });

  /**
   * For the PBX's dialplan: the digits dialled on a phone (`*35*101*1234`). Always 200 with a `result` to branch on
   * and the `prompt` to play; only a malformed request is an error.
   */
  route.post('/hotdesk/code', 'admin', async (ctx) => {
    const body = await readBody(ctx, CodeBody);
    const tenant = tenantOf(ctx);
    const outcome = await dialCode(domain, tenant.id, actorOf(ctx), tenant, body);
    ctx.body = {
      result: outcome.result,
      prompt: outcome.prompt,
      device: outcome.device?.idleAccount ?? null,
      user: outcome.user === null ? null : { extension: outcome.user.extension, displayName: outcome.user.displayName },
      ...(outcome.triesLeft === undefined ? {} : { triesLeft: outcome.triesLeft }),
      ...(outcome.lockedUntil === undefined ? {} : { lockedUntil: outcome.lockedUntil.toISOString() }),
    };
  });

  /** The audit log, newest first, a page at a time with the total of the whole filter (the console's Audit page). */
  route.get('/audit', 'admin', async (ctx) => {
    const { limit, offset, from, to, ...rest } = validate(AuditQuery, ctx.query);
    const filter = { ...rest, ...(from === undefined ? {} : { from: new Date(from) }), ...(to === undefined ? {} : { to: new Date(to) }) };
    const [total, events] = [await countAudit(domain.db, tenantId(ctx), filter), await listAudit(domain.db, tenantId(ctx), { ...filter, limit, offset })];
    ctx.body = { total, limit, offset, events: events.map(presentAuditEvent) };
  });

  route.get('/hotdesk/sessions', 'helpdesk', async (ctx) => {
    ctx.body = await Promise.all(
      (await listOpenSessions(domain.db, tenantId(ctx))).map(async (s) => presentOpenSession(s, await deps.resync.latest(s.device.id))),
    );
  });

  // --- tenant settings

  route.get('/tenant', 'admin', async (ctx) => {
    ctx.body = presentTenant(await getTenant(domain.db, tenantId(ctx)));
  });

  route.patch('/tenant', 'admin', async (ctx) => {
    const body = await readChanges(ctx, TenantSettingsBody);
    const row = await updateTenant(domain, tenantId(ctx), actorOf(ctx), body);
    await deps.onTenantChanged();
    ctx.body = presentTenant(row);
  });

  // --- the tenant's API tokens (its admins' and the provider's to manage)

  route.get('/tokens', 'admin', async (ctx) => {
    ctx.body = (await listTenantTokens(domain.db, tenantId(ctx))).map(presentApiToken);
  });

  /** A token of this tenant, answered this once: only its hash is kept. */
  route.post('/tokens', 'admin', async (ctx) => {
    const body = await readBody(ctx, TenantTokenBody);
    const { token, row } = await createTenantToken(domain.db, domain.now(), actorOf(ctx), tenantId(ctx), body);
    ctx.status = 201;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { ...presentApiToken(row), token };
  });

  route.delete('/tokens/:id', 'admin', async (ctx) => {
    const id = Number(ctx.params.id);
    if (!Number.isSafeInteger(id)) throw NotFound(`API token ${ctx.params.id}`);
    await revokeTenantToken(domain.db, domain.now(), actorOf(ctx), tenantId(ctx), id);
    ctx.status = 204;
  });

  // --- the tenant's console accounts (its admins' and the provider's to manage)

  route.get('/admins', 'admin', async (ctx) => {
    ctx.body = (await listAdmins(domain.db, tenantId(ctx))).map(presentAdmin);
  });

  route.post('/admins', 'admin', async (ctx) => {
    const body = await readBody(ctx, AdminCreateBody);
    const row = await createManagedAdmin(domain.db, domain.now(), principalOf(ctx), actorOf(ctx), tenantId(ctx), body);
    ctx.status = 201;
    ctx.body = presentAdmin(row);
  });

  /** A new password for an account; its console sessions end. */
  route.post('/admins/:id/password', 'admin', async (ctx) => {
    const { password } = await readBody(ctx, AdminPasswordBody);
    const row = await resetAdminPassword(domain.db, domain.now(), principalOf(ctx), tenantId(ctx), adminId(ctx), password, actorOf(ctx));
    ctx.body = presentAdmin(row);
  });

  route.delete('/admins/:id', 'admin', async (ctx) => {
    await deleteAdmin(domain.db, domain.now(), principalOf(ctx), tenantId(ctx), adminId(ctx), actorOf(ctx));
    ctx.status = 204;
  });

  return router;
}

/** Tenant management, the provider's alone: list, create, read, change and delete tenants. */
function tenantsRouter(deps: AppDeps): Router {
  const router = new Router({ prefix: '/api/v1/tenants' });
  router.use(bearer(deps));
  const route = guarded(router);
  const { domain } = deps;
  const bySlug = async (ctx: RouterContext) => (await findActiveTenantBySlug(domain.db, ctx.params.tenant ?? '')) ?? throwUnknownTenant();

  route.get('/', 'provider', async (ctx) => {
    // Each with the provider's overview figures, from a handful of grouped queries for all tenants at once.
    ctx.body = (await tenantOverviews(domain.db, domain.now(), await listActiveTenants(domain.db))).map(({ tenant, overview }) => ({
      ...presentTenantSummary(tenant),
      overview: presentTenantOverview(overview),
    }));
  });

  /** A tenant with the default settings; its admins' tokens come from POST /api/v1/tenants/:tenant/tokens. */
  route.post('/', 'provider', async (ctx) => {
    const body = await readBody(ctx, TenantCreateBody);
    const row = await createTenant(domain, actorOf(ctx), body);
    await deps.onTenantChanged();
    ctx.status = 201;
    ctx.set('Location', `/api/v1/tenants/${row.slug}`);
    ctx.body = presentTenantRecord(row);
  });

  route.get('/:tenant', 'provider', async (ctx) => {
    ctx.body = presentTenantRecord(await bySlug(ctx));
  });

  route.patch('/:tenant', 'provider', async (ctx) => {
    const tenant = await bySlug(ctx);
    const body = await readChanges(ctx, ProviderTenantUpdateBody);
    const row = await updateTenant(domain, tenant.id, actorOf(ctx), body);
    await deps.onTenantChanged();
    ctx.body = presentTenantRecord(row);
  });

  /** Retires every device of the tenant (each phone gets its wipe file), then the tenant; refused while desks are seated unless `?force=true`. */
  route.delete('/:tenant', 'provider', async (ctx) => {
    await deleteTenant(domain, actorOf(ctx), (await bySlug(ctx)).id, { force: ctx.query.force === 'true' });
    await deps.onTenantChanged();
    ctx.status = 204;
  });

  return router;
}

function throwUnknownTenant(): never {
  throw UnknownTenant();
}

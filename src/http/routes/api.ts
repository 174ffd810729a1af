import Router from '@koa/router';
import type { Context } from 'koa';
import type { DeviceRow } from '../../db/schema.ts';
import { apiTokenName } from '../../domain/admins.ts';
import type { Actor } from '../../domain/deps.ts';
import { approveDevice, createActivationCode, resetDeviceAccess, revealWebPassword } from '../../domain/deviceAccess.ts';
import { deleteDevice, enrolDevice, listDevices, updateDevice } from '../../domain/devices.ts';
import { dialCode } from '../../domain/featureCodes.ts';
import { isRefused, login, logout } from '../../domain/hotdesk.ts';
import { CodeBody, DeviceCreateBody, DeviceUpdateBody, LoginBody, LogoutBody, TenantUpdateBody, UserCreateBody, UserUpdateBody } from '../../domain/inputs.ts';
import { getDevice, getUser } from '../../domain/lookup.ts';
import { listOpenSessions, userAtDevice } from '../../domain/sessions.ts';
import { getTenant, updateTenant } from '../../domain/tenants.ts';
import { createUser, deleteUser, issuePin, keysOf, listUsers, updateUser } from '../../domain/users.ts';
import { readBody, readChanges } from '../../edge/body.ts';
import { presentDevice, presentOpenSession, presentSession, presentSync, presentTenant, presentUser } from '../../edge/presenters.ts';
import { Conflict, NotFound } from '../../errors.ts';
import { requireBearer } from '../auth.ts';
import type { AppDeps } from '../deps.ts';
import { loginRefusalError } from '../refusals.ts';

const actorOf = (ctx: Context): Actor => (ctx.state.actor as Actor | undefined) ?? { name: 'api' };

/** The JSON API under /api/v1: each handler validates, calls one domain function and presents the result. */
export function apiRouter(deps: AppDeps): Router {
  const router = new Router({ prefix: '/api/v1' });
  router.use(requireBearer(deps.adminToken, (token) => apiTokenName(deps.domain.db, token)));
  const { domain, provisioning } = deps;
  const tenantId = () => deps.tenant().id;

  const deviceView = (device: DeviceRow) =>
    presentDevice(device, userAtDevice(domain.db, device.id), provisioning.summary(device), deps.resync.latest(device.id));

  // --- users

  router.get('/users', (ctx) => {
    ctx.body = listUsers(domain.db, tenantId()).map((u) => presentUser(u, keysOf(domain.db, u.id)));
  });

  router.post('/users', async (ctx) => {
    const body = await readBody(ctx, UserCreateBody);
    const tenant = deps.tenant();
    const { user, keys } = await createUser(domain, tenant.id, tenant.pinMinLength, actorOf(ctx), body);
    ctx.status = 201;
    ctx.set('Location', `/api/v1/users/${user.extension}`);
    ctx.body = presentUser(user, keys);
  });

  router.get('/users/:extension', (ctx) => {
    const user = getUser(domain.db, tenantId(), ctx.params.extension ?? '');
    ctx.body = presentUser(user, keysOf(domain.db, user.id));
  });

  router.patch('/users/:extension', async (ctx) => {
    const body = await readChanges(ctx, UserUpdateBody);
    const tenant = deps.tenant();
    const { user, keys } = await updateUser(domain, tenant.id, tenant.pinMinLength, actorOf(ctx), ctx.params.extension ?? '', body);
    ctx.body = presentUser(user, keys);
  });

  /** Sets a new random PIN and answers it, once: hotprov keeps only its hash. */
  router.post('/users/:extension/pin', async (ctx) => {
    const tenant = deps.tenant();
    const pin = await issuePin(domain, tenant.id, tenant.pinMinLength, actorOf(ctx), ctx.params.extension ?? '');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { extension: ctx.params.extension, pin };
  });

  router.delete('/users/:extension', (ctx) => {
    deleteUser(domain, tenantId(), actorOf(ctx), ctx.params.extension ?? '');
    ctx.status = 204;
  });

  // --- devices

  router.get('/devices', (ctx) => {
    ctx.body = listDevices(domain.db, tenantId()).map(deviceView);
  });

  router.post('/devices', async (ctx) => {
    const body = await readBody(ctx, DeviceCreateBody);
    const device = enrolDevice(domain, tenantId(), actorOf(ctx), body);
    ctx.status = 201;
    ctx.set('Location', `/api/v1/devices/${device.idleAccount}`);
    // The activation code is answered this once: only a hash of it is kept.
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { ...deviceView(device), activationCode: device.activationCode };
  });

  router.get('/devices/:device', (ctx) => {
    ctx.body = deviceView(getDevice(domain.db, tenantId(), ctx.params.device ?? ''));
  });

  router.patch('/devices/:device', async (ctx) => {
    const body = await readChanges(ctx, DeviceUpdateBody);
    ctx.body = deviceView(updateDevice(domain, tenantId(), actorOf(ctx), ctx.params.device ?? '', body));
  });

  router.delete('/devices/:device', (ctx) => {
    deleteDevice(domain, tenantId(), actorOf(ctx), ctx.params.device ?? '');
    ctx.status = 204;
  });

  /** Registers the phone with its vendor's redirect service now, and answers what the service said. */
  router.post('/devices/:device/redirect', async (ctx) => {
    const device = getDevice(domain.db, tenantId(), ctx.params.device ?? '');
    const result = await deps.redirects.register(device);
    if (result === null) throw Conflict(`no ${device.vendor} redirect service is set up for this tenant`);
    ctx.body = deviceView(getDevice(domain.db, tenantId(), device.mac));
  });

  /** Approves a claimed phone, after an admin saw who claimed it (`access.claim`). */
  router.post('/devices/:device/activate', (ctx) => {
    ctx.body = deviceView(approveDevice(domain, tenantId(), actorOf(ctx), ctx.params.device ?? ''));
  });

  /** A new activation code for the phone's Activate screen, answered once; the old one stops working. */
  router.post('/devices/:device/activation-code', (ctx) => {
    const { device, activationCode } = createActivationCode(domain, tenantId(), actorOf(ctx), ctx.params.device ?? '');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { device: device.idleAccount, activationCode };
  });

  /**
   * Starts the device's access over: unclaimed, new credentials (redirect services updated), a new activation
   * code answered once. The phone must then ask without credentials again (factory reset, or URL set anew).
   */
  router.post('/devices/:device/unclaim', (ctx) => {
    const { device, activationCode } = resetDeviceAccess(domain, tenantId(), actorOf(ctx), ctx.params.device ?? '');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { ...deviceView(device), activationCode };
  });

  /** The admin login of the phone's own web interface; each reveal is audited. */
  router.get('/devices/:device/web-password', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = revealWebPassword(domain, tenantId(), actorOf(ctx), ctx.params.device ?? '');
  });

  /** Reboots the phone, the one time hotprov sends a reboot: only because an admin asked. */
  router.post('/devices/:device/reboot', (ctx) => {
    const device = getDevice(domain.db, tenantId(), ctx.params.device ?? '');
    const job = deps.resync.reboot(device);
    if (job === null) throw Conflict(`a ${device.vendor} phone cannot be rebooted by NOTIFY; it re-provisions on check-sync`);
    ctx.status = 202;
    ctx.body = { device: device.idleAccount, sync: presentSync(job) };
  });

  /** The idle account's credentials, for creating it on the PBX. Asked for explicitly, never listed. */
  router.get('/devices/:device/idle-account', (ctx) => {
    const device = getDevice(domain.db, tenantId(), ctx.params.device ?? '');
    const registrar = deps.tenant().registrar;
    ctx.body = { name: device.idleAccount, password: device.idlePassword, registrar };
  });

  /** The files the phone would get now; `?file=` returns one as the phone sees it; passwords masked unless `?secrets=show`. */
  router.get('/devices/:device/config', (ctx) => {
    const device = getDevice(domain.db, tenantId(), ctx.params.device ?? '');
    const files = provisioning.renderDeviceFiles(device, { maskSecrets: ctx.query.secrets !== 'show' });
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

  router.post('/hotdesk/login', async (ctx) => {
    const body = await readBody(ctx, LoginBody);
    const outcome = await login(domain, tenantId(), actorOf(ctx), { ...body, method: 'api' });
    if (isRefused(outcome)) throw loginRefusalError(outcome);
    // The warnings of the profile the login rendered; a login that changed nothing rendered none.
    const warnings = outcome.profiles.find((p) => p.deviceId === outcome.device.id)?.warnings ?? provisioning.summary(outcome.device).warnings;
    ctx.body = {
      result: outcome.result,
      session: presentSession(outcome.session, outcome.device, outcome.user, deps.resync.latest(outcome.device.id)),
      movedFrom: outcome.movedFrom?.idleAccount ?? null,
      replaced: outcome.replaced?.extension ?? null,
      warnings,
    };
  });

  router.post('/hotdesk/logout', async (ctx) => {
    const body = await readBody(ctx, LogoutBody);
    const outcome = logout(domain, tenantId(), actorOf(ctx), { ...body, method: 'api' });
    ctx.body = {
      result: outcome.result,
      device: outcome.device.idleAccount,
      user: outcome.user?.extension ?? null,
      sync: presentSync(deps.resync.latest(outcome.device.id)),
    };
  });

  /**
   * For the PBX's dialplan: the digits dialled on a phone (`*35*101*1234`). Always 200 with a `result` to branch on
   * and the `prompt` to play; only a malformed request is an error.
   */
  router.post('/hotdesk/code', async (ctx) => {
    const body = await readBody(ctx, CodeBody);
    const tenant = deps.tenant();
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

  router.get('/hotdesk/sessions', (ctx) => {
    ctx.body = listOpenSessions(domain.db, tenantId()).map((s) => presentOpenSession(s, deps.resync.latest(s.device.id)));
  });

  // --- tenant settings

  router.get('/tenant', (ctx) => {
    ctx.body = presentTenant(getTenant(domain.db, tenantId()));
  });

  router.patch('/tenant', async (ctx) => {
    const body = await readChanges(ctx, TenantUpdateBody);
    const row = updateTenant(domain, tenantId(), actorOf(ctx), body);
    deps.onTenantChanged();
    ctx.body = presentTenant(row);
  });

  return router;
}

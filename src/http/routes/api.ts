import Router, { type RouterContext } from '@koa/router';
import type { Middleware } from 'koa';
import { z } from 'zod';
import { toCsv } from '../../console/csv.ts';
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
} from '../../domain/inputs.ts';
import { getDevice, getUser } from '../../domain/lookup.ts';
import { occupancyRange, occupancyReport } from '../../domain/occupancy.ts';
import { tenantOverviews } from '../../domain/overview.ts';
import { listOpenSessions, userAtDevice } from '../../domain/sessions.ts';
import { deleteTenant } from '../../domain/tenantDeletion.ts';
import { createTenant, findActiveTenantBySlug, getTenant, listActiveTenants, updateTenant } from '../../domain/tenants.ts';
import { createUser, deleteUser, issuePin, keysOf, listUsers, updateUser } from '../../domain/users.ts';
import { OccupancyQuery, occupancyTable, presentOccupancy } from '../../edge/occupancy.ts';
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
import {
  ActivationCodeView,
  AdminView,
  ApiTokenView,
  AuditPageView,
  apiSchemas,
  CodeView,
  DeviceFilesView,
  DeviceSyncView,
  DeviceView,
  DeviceWithCodeView,
  IdleAccountView,
  LoginView,
  LogoutView,
  NewApiTokenView,
  OccupancyReportView,
  PinView,
  SessionView,
  TenantListEntryView,
  TenantRecordView,
  TenantView,
  UserView,
  WebPasswordView,
} from '../../edge/views.ts';
import { Conflict, NotFound, UnknownTenant } from '../../errors.ts';
import { type ApiOperation, guarded } from '../apiRoutes.ts';
import { principalOf, requireBearer } from '../auth.ts';
import type { AppDeps } from '../deps.ts';
import { loginRefusalError } from '../refusals.ts';
import { ownTenant, tenantBySlug, tenantOf } from '../tenancy.ts';
import { templateRoutes } from './templatesApi.ts';
import { webhookRoutes } from './webhooksApi.ts';

/** `GET …/config`: one file by name, and whether passwords are shown. */
const ConfigQuery = z.object({
  file: z.string().optional().register(apiSchemas, { description: 'one file by name, answered as the phone gets it' }),
  secrets: z.string().optional().register(apiSchemas, { description: '`show`: passwords in the clear, else masked' }),
});

/** `DELETE /api/v1/tenants/:tenant`: `?force=true` deletes a tenant whose desks are seated. */
const DeleteTenantQuery = z.object({ force: z.string().optional().register(apiSchemas, { description: '`true`: even while desks are seated' }) });

/** A console account's id from the path; anything else is an account not found. */
const adminId = (ctx: RouterContext): number => {
  const id = Number(ctx.params.id);
  if (!Number.isSafeInteger(id)) throw NotFound(`admin ${ctx.params.id}`);
  return id;
};

const actorOf = (ctx: RouterContext): Actor => (ctx.state.actor as Actor | undefined) ?? { name: 'api' };

/**
 * The JSON API: tenant management under /api/v1/tenants (the provider's), and the routes that act in one tenant,
 * mounted twice from one definition: at /api/v1 (a tenant's token in its tenant, the provider in the default one)
 * and at /api/v1/tenants/:tenant (that tenant, if the token may act in it).
 */
export function apiRouters(deps: AppDeps): Router[] {
  return apiApplication(deps).routers;
}

/** The API's routers and the route table they were registered from (each route once per mount). */
export function apiApplication(deps: AppDeps): { routers: Router[]; operations: ApiOperation[] } {
  const operations: ApiOperation[] = [];
  const routers = [
    tenantsRouter(deps, operations),
    tenantScopedRouter(deps, operations, '/api/v1/tenants/:tenant', tenantBySlug(deps), 'InTenant'),
    tenantScopedRouter(deps, operations, '/api/v1', ownTenant(deps), ''),
  ];
  return { routers, operations };
}

const bearer = (deps: AppDeps) => requireBearer(deps.adminToken, async (token) => await apiTokenPrincipal(deps.domain.db, token, deps.domain.now()));

/** Each handler validates, calls one domain function and presents the result, in the tenant resolved for it. */
function tenantScopedRouter(deps: AppDeps, operations: ApiOperation[], prefix: string, resolveTenant: Middleware, idSuffix: string): Router {
  const router = new Router({ prefix });
  router.use(bearer(deps), resolveTenant);
  const route = guarded(router, operations, idSuffix);
  const { domain, provisioning } = deps;
  const tenantId = (ctx: RouterContext) => tenantOf(ctx).id;

  const deviceView = async (device: DeviceRow) =>
    presentDevice(device, await userAtDevice(domain.db, device.id), await provisioning.summary(device), await deps.resync.latest(device.id));

  // --- templates: per vendor, model or device (templatesApi.ts)
  templateRoutes(route, deps, actorOf);

  // --- webhooks (webhooksApi.ts)
  webhookRoutes(route, deps, actorOf);

  // --- users

  route.get(
    '/users',
    { id: 'listUsers', access: 'helpdesk', summary: "The tenant's users, with their keys", responses: { 200: z.array(UserView) } },
    async (ctx) => {
      ctx.body = await Promise.all((await listUsers(domain.db, tenantId(ctx))).map(async (u) => presentUser(u, await keysOf(domain.db, u.id))));
    },
  );

  route.post(
    '/users',
    { id: 'createUser', access: 'admin', summary: 'Creates a user', body: UserCreateBody, responses: { 201: UserView }, errors: [409] },
    async (ctx, { body }) => {
      const tenant = tenantOf(ctx);
      const { user, keys } = await createUser(domain, tenant.id, tenant.pinMinLength, actorOf(ctx), body);
      ctx.status = 201;
      ctx.set('Location', `/api/v1/users/${user.extension}`);
      ctx.body = presentUser(user, keys);
    },
  );

  route.get('/users/:extension', { id: 'getUser', access: 'helpdesk', summary: 'A user, with their keys', responses: { 200: UserView } }, async (ctx) => {
    const user = await getUser(domain.db, tenantId(ctx), ctx.params.extension ?? '');
    ctx.body = presentUser(user, await keysOf(domain.db, user.id));
  });

  route.patch(
    '/users/:extension',
    {
      id: 'updateUser',
      access: 'admin',
      summary: 'Changes a user (the fields named; keys replace all keys)',
      body: UserUpdateBody,
      responses: { 200: UserView },
      errors: [409],
    },
    async (ctx, { body }) => {
      const tenant = tenantOf(ctx);
      const { user, keys } = await updateUser(domain, tenant.id, tenant.pinMinLength, actorOf(ctx), ctx.params.extension ?? '', body);
      ctx.body = presentUser(user, keys);
    },
  );

  /** Sets a new random PIN and answers it, once: hotprov keeps only its hash. */
  route.post(
    '/users/:extension/pin',
    { id: 'issuePin', access: 'admin', summary: 'Sets a new random hot-desk PIN and answers it, once', responses: { 200: PinView } },
    async (ctx) => {
      const tenant = tenantOf(ctx);
      const pin = await issuePin(domain, tenant.id, tenant.pinMinLength, actorOf(ctx), ctx.params.extension ?? '');
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { extension: ctx.params.extension, pin };
    },
  );

  route.delete(
    '/users/:extension',
    { id: 'deleteUser', access: 'admin', summary: 'Deletes a user (logged out of any desk first)', responses: { 204: null }, errors: [409] },
    async (ctx) => {
      await deleteUser(domain, tenantId(ctx), actorOf(ctx), ctx.params.extension ?? '');
      ctx.status = 204;
    },
  );

  // --- devices

  route.get('/devices', { id: 'listDevices', access: 'helpdesk', summary: "The tenant's devices", responses: { 200: z.array(DeviceView) } }, async (ctx) => {
    // Every fetch already answered is in what the devices say (last seen, firmware): written before they are read.
    await provisioning.flush();
    ctx.body = await Promise.all((await listDevices(domain.db, tenantId(ctx))).map(deviceView));
  });

  route.post(
    '/devices',
    {
      id: 'enrolDevice',
      access: 'admin',
      summary: 'Enrols a device; its activation code is answered this once',
      body: DeviceCreateBody,
      responses: { 201: DeviceWithCodeView },
      errors: [409],
    },
    async (ctx, { body }) => {
      const device = await enrolDevice(domain, tenantId(ctx), actorOf(ctx), body);
      ctx.status = 201;
      ctx.set('Location', `/api/v1/devices/${device.idleAccount}`);
      // The activation code is answered this once: only a hash of it is kept.
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { ...(await deviceView(device)), activationCode: device.activationCode };
    },
  );

  route.get(
    '/devices/:device',
    { id: 'getDevice', access: 'helpdesk', summary: 'A device by MAC or idle account', responses: { 200: DeviceView } },
    async (ctx) => {
      await provisioning.flush();
      ctx.body = await deviceView(await getDevice(domain.db, tenantId(ctx), ctx.params.device ?? ''));
    },
  );

  route.patch(
    '/devices/:device',
    { id: 'updateDevice', access: 'admin', summary: 'Changes a device', body: DeviceUpdateBody, responses: { 200: DeviceView }, errors: [409] },
    async (ctx, { body }) => {
      ctx.body = await deviceView(await updateDevice(domain, tenantId(ctx), actorOf(ctx), ctx.params.device ?? '', body));
    },
  );

  route.delete(
    '/devices/:device',
    { id: 'deleteDevice', access: 'admin', summary: 'Retires a device: the phone gets its wipe file', responses: { 204: null }, errors: [409] },
    async (ctx) => {
      await deleteDevice(domain, tenantId(ctx), actorOf(ctx), ctx.params.device ?? '');
      ctx.status = 204;
    },
  );

  /** Registers the phone with its vendor's redirect service now, and answers what the service said. */
  route.post(
    '/devices/:device/redirect',
    {
      id: 'registerRedirect',
      access: 'admin',
      summary: "Registers the phone with its vendor's redirect service now",
      responses: { 200: DeviceView },
      errors: [409, 502],
    },
    async (ctx) => {
      const device = await getDevice(domain.db, tenantId(ctx), ctx.params.device ?? '');
      const result = await deps.redirects.register(device);
      if (result === null) throw Conflict(`no ${device.vendor} redirect service is set up for this tenant`);
      ctx.body = await deviceView(await getDevice(domain.db, tenantId(ctx), device.mac));
    },
  );

  /** Approves a claimed phone, after an admin saw who claimed it (`access.claim`). */
  route.post(
    '/devices/:device/activate',
    { id: 'activateDevice', access: 'admin', summary: 'Approves a claimed phone', responses: { 200: DeviceView }, errors: [409] },
    async (ctx) => {
      ctx.body = await deviceView(await approveDevice(domain, tenantId(ctx), actorOf(ctx), ctx.params.device ?? ''));
    },
  );

  /** A new activation code for the phone's Activate screen, answered once; the old one stops working. */
  route.post(
    '/devices/:device/activation-code',
    {
      id: 'newActivationCode',
      access: 'admin',
      summary: "A new activation code for the phone's Activate screen, answered once",
      responses: { 200: ActivationCodeView },
      errors: [409],
    },
    async (ctx) => {
      const { device, activationCode } = await createActivationCode(domain, tenantId(ctx), actorOf(ctx), ctx.params.device ?? '');
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { device: device.idleAccount, activationCode };
    },
  );

  /**
   * Starts the device's access over: unclaimed, new credentials (redirect services updated), a new activation
   * code answered once. The phone must then ask without credentials again (factory reset, or URL set anew).
   */
  route.post(
    '/devices/:device/unclaim',
    {
      id: 'unclaimDevice',
      access: 'admin',
      summary: "Starts the device's access over with new credentials and activation code",
      responses: { 200: DeviceWithCodeView },
      errors: [409],
    },
    async (ctx) => {
      const { device, activationCode } = await resetDeviceAccess(domain, tenantId(ctx), actorOf(ctx), ctx.params.device ?? '');
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { ...(await deviceView(device)), activationCode };
    },
  );

  /** The admin login of the phone's own web interface; each reveal is audited. */
  route.get(
    '/devices/:device/web-password',
    { id: 'revealWebPassword', access: 'admin', summary: "The admin login of the phone's web interface (audited)", responses: { 200: WebPasswordView } },
    async (ctx) => {
      ctx.set('Cache-Control', 'no-store');
      ctx.body = await revealWebPassword(domain, tenantId(ctx), actorOf(ctx), ctx.params.device ?? '');
    },
  );

  /** Reboots the phone, the one time hotprov sends a reboot: only because an admin asked. */
  route.post(
    '/devices/:device/reboot',
    { id: 'rebootDevice', access: 'admin', summary: 'Reboots the phone by NOTIFY', responses: { 202: DeviceSyncView }, errors: [409] },
    async (ctx) => {
      const device = await getDevice(domain.db, tenantId(ctx), ctx.params.device ?? '');
      const job = await deps.resync.reboot(device);
      if (job === null) throw Conflict(`a ${device.vendor} phone cannot be rebooted by NOTIFY; it re-provisions on check-sync`);
      ctx.status = 202;
      ctx.body = { device: device.idleAccount, sync: presentSync(job) };
    },
  );

  /** Tells the phone again to re-provision now (its check-sync NOTIFY), whether or not its profile changed. */
  route.post(
    '/devices/:device/resync',
    { id: 'resyncDevice', access: 'admin', summary: 'Tells the phone to re-provision now', responses: { 202: DeviceSyncView }, errors: [409] },
    async (ctx) => {
      const device = await getDevice(domain.db, tenantId(ctx), ctx.params.device ?? '');
      const job = await deps.resync.resend(device);
      if (job === null) throw Conflict('the profile of this phone cannot be rendered');
      ctx.status = 202;
      ctx.body = { device: device.idleAccount, sync: presentSync(job) };
    },
  );

  /** The idle account's credentials, for creating it on the PBX. Asked for explicitly, never listed. */
  route.get(
    '/devices/:device/idle-account',
    { id: 'getIdleAccount', access: 'admin', summary: "The idle account's credentials, for creating it on the PBX", responses: { 200: IdleAccountView } },
    async (ctx) => {
      const device = await getDevice(domain.db, tenantId(ctx), ctx.params.device ?? '');
      const registrar = tenantOf(ctx).registrar;
      ctx.body = { name: device.idleAccount, password: device.idlePassword, registrar };
    },
  );

  /** The files the phone would get now; `?file=` returns one as the phone sees it; passwords masked unless `?secrets=show`. */
  route.get(
    '/devices/:device/config',
    {
      id: 'getDeviceConfig',
      access: 'admin',
      summary: 'The files the phone would get now',
      query: ConfigQuery,
      responses: { 200: DeviceFilesView },
      otherContent: { 'text/plain': 'with ?file=, a Yealink file as the phone gets it', 'application/xml': 'with ?file=, a Snom or Poly file' },
    },
    async (ctx, { query }) => {
      const device = await getDevice(domain.db, tenantId(ctx), ctx.params.device ?? '');
      const files = await provisioning.renderDeviceFiles(device, { maskSecrets: query.secrets !== 'show' });
      const wanted = query.file;
      if (wanted !== undefined) {
        const file = files.find((f) => f.name === wanted);
        if (file === undefined) throw NotFound(`file ${wanted}`);
        ctx.type = file.contentType;
        ctx.body = file.body;
        return;
      }
      ctx.body = { files: files.map((f) => ({ name: f.name, contentType: f.contentType, body: f.body })) };
    },
  );

  // --- hot desking

  route.post(
    '/hotdesk/login',
    { id: 'login', access: 'admin', summary: 'Logs a user in at a desk', body: LoginBody, responses: { 200: LoginView }, errors: [404, 409, 423, 429] },
    async (ctx, { body }) => {
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
    },
  );

  route.post(
    '/hotdesk/logout',
    { id: 'logout', access: 'helpdesk', summary: 'Logs a desk out', body: LogoutBody, responses: { 200: LogoutView }, errors: [404] },
    async (ctx, { body }) => {
      const outcome = await logout(domain, tenantId(ctx), actorOf(ctx), { ...body, method: 'api' });
      ctx.body = {
        result: outcome.result,
        device: outcome.device.idleAccount,
        user: outcome.user?.extension ?? null,
        sync: presentSync(await deps.resync.latest(outcome.device.id)),
      };
    },
  );

  /**
   * For the PBX's dialplan: the digits dialled on a phone (`*35*101*1234`). Always 200 with a `result` to branch on
   * and the `prompt` to play; only a malformed request is an error.
   */
  route.post(
    '/hotdesk/code',
    {
      id: 'dialCode',
      access: 'admin',
      summary: "For the PBX's dialplan: the digits dialled on a phone; always 200 with a result",
      body: CodeBody,
      responses: { 200: CodeView },
    },
    async (ctx, { body }) => {
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
    },
  );

  /** The audit log, newest first, a page at a time with the total of the whole filter (the console's Audit page). */
  route.get(
    '/audit',
    { id: 'listAudit', access: 'admin', summary: 'The audit log, a page at a time with the total', query: AuditQuery, responses: { 200: AuditPageView } },
    async (ctx, { query }) => {
      const { limit, offset, from, to, ...rest } = query;
      const filter = { ...rest, ...(from === undefined ? {} : { from: new Date(from) }), ...(to === undefined ? {} : { to: new Date(to) }) };
      const total = await countAudit(domain.db, tenantId(ctx), filter);
      const events = await listAudit(domain.db, tenantId(ctx), { ...filter, limit, offset });
      ctx.body = { total, limit, offset, events: events.map(presentAuditEvent) };
    },
  );

  route.get(
    '/hotdesk/sessions',
    { id: 'listSessions', access: 'helpdesk', summary: 'The desks someone is logged in at', responses: { 200: z.array(SessionView) } },
    async (ctx) => {
      ctx.body = await Promise.all(
        (await listOpenSessions(domain.db, tenantId(ctx))).map(async (s) => presentOpenSession(s, await deps.resync.latest(s.device.id))),
      );
    },
  );

  // --- desk occupancy: hours, days and people per desk, where each user sat (days in the tenant's time zone)

  route.get(
    '/occupancy',
    {
      id: 'occupancy',
      access: 'admin',
      summary: 'Desk occupancy over days, desks and users',
      query: OccupancyQuery,
      responses: { 200: OccupancyReportView },
      otherContent: { 'text/csv': 'with ?format=csv, one view (?view=day, desk or user)' },
    },
    async (ctx, { query }) => {
      const tenant = tenantOf(ctx);
      const now = domain.now();
      const report = await occupancyReport(domain.db, tenant, occupancyRange(tenant.timezone, now, query), now);
      if (query.format === 'json') {
        ctx.body = presentOccupancy(report);
        return;
      }
      const { header, rows } = occupancyTable(report, query.view);
      ctx.type = 'text/csv; charset=utf-8';
      ctx.attachment(`hotprov-occupancy-${query.view}-${report.from}-${report.to}.csv`);
      ctx.body = toCsv(header, rows);
    },
  );

  // --- tenant settings

  route.get('/tenant', { id: 'getTenantSettings', access: 'admin', summary: "The tenant's own settings", responses: { 200: TenantView } }, async (ctx) => {
    ctx.body = presentTenant(await getTenant(domain.db, tenantId(ctx)));
  });

  route.patch(
    '/tenant',
    {
      id: 'updateTenantSettings',
      access: 'admin',
      summary: "Changes the tenant's own settings (not its quotas or base URL)",
      body: TenantSettingsBody,
      responses: { 200: TenantView },
    },
    async (ctx, { body }) => {
      const row = await updateTenant(domain, tenantId(ctx), actorOf(ctx), body);
      await deps.onTenantChanged(row.id);
      ctx.body = presentTenant(row);
    },
  );

  // --- the tenant's API tokens (its admins' and the provider's to manage)

  route.get(
    '/tokens',
    { id: 'listTokens', access: 'admin', summary: "The tenant's API tokens, without their values", responses: { 200: z.array(ApiTokenView) } },
    async (ctx) => {
      ctx.body = (await listTenantTokens(domain.db, tenantId(ctx))).map(presentApiToken);
    },
  );

  /** A token of this tenant, answered this once: only its hash is kept. */
  route.post(
    '/tokens',
    {
      id: 'createToken',
      access: 'admin',
      summary: 'Creates an API token of the tenant; its value is answered this once',
      body: TenantTokenBody,
      responses: { 201: NewApiTokenView },
      errors: [409],
    },
    async (ctx, { body }) => {
      const { token, row } = await createTenantToken(domain.db, domain.now(), actorOf(ctx), tenantId(ctx), body);
      ctx.status = 201;
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { ...presentApiToken(row), token };
    },
  );

  route.delete('/tokens/:id', { id: 'revokeToken', access: 'admin', summary: 'Revokes an API token', responses: { 204: null } }, async (ctx) => {
    const id = Number(ctx.params.id);
    if (!Number.isSafeInteger(id)) throw NotFound(`API token ${ctx.params.id}`);
    await revokeTenantToken(domain.db, domain.now(), actorOf(ctx), tenantId(ctx), id);
    ctx.status = 204;
  });

  // --- the tenant's console accounts (its admins' and the provider's to manage)

  route.get('/admins', { id: 'listAdmins', access: 'admin', summary: "The tenant's console accounts", responses: { 200: z.array(AdminView) } }, async (ctx) => {
    ctx.body = (await listAdmins(domain.db, tenantId(ctx))).map(presentAdmin);
  });

  route.post(
    '/admins',
    {
      id: 'createAdmin',
      access: 'admin',
      summary: 'Creates a console account of the tenant (admin or helpdesk), audited',
      body: AdminCreateBody,
      responses: { 201: AdminView },
      errors: [409],
    },
    async (ctx, { body }) => {
      const row = await createManagedAdmin(domain.db, domain.now(), principalOf(ctx), actorOf(ctx), tenantId(ctx), body);
      ctx.status = 201;
      ctx.body = presentAdmin(row);
    },
  );

  /** A new password for an account; its console sessions end. */
  route.post(
    '/admins/:id/password',
    {
      id: 'resetAdminPassword',
      access: 'admin',
      summary: "Sets a console account's password; its console sessions end",
      body: AdminPasswordBody,
      responses: { 200: AdminView },
      errors: [404],
    },
    async (ctx, { body }) => {
      const row = await resetAdminPassword(domain.db, domain.now(), principalOf(ctx), tenantId(ctx), adminId(ctx), body.password, actorOf(ctx));
      ctx.body = presentAdmin(row);
    },
  );

  route.delete(
    '/admins/:id',
    { id: 'deleteAdmin', access: 'admin', summary: 'Deletes a console account of the tenant', responses: { 204: null }, errors: [404, 409] },
    async (ctx) => {
      await deleteAdmin(domain.db, domain.now(), principalOf(ctx), tenantId(ctx), adminId(ctx), actorOf(ctx));
      ctx.status = 204;
    },
  );

  return router;
}

/** Tenant management, the provider's alone: list, create, read, change and delete tenants. */
function tenantsRouter(deps: AppDeps, operations: ApiOperation[]): Router {
  const router = new Router({ prefix: '/api/v1/tenants' });
  router.use(bearer(deps));
  const route = guarded(router, operations);
  const { domain } = deps;
  const bySlug = async (ctx: RouterContext) => (await findActiveTenantBySlug(domain.db, ctx.params.tenant ?? '')) ?? throwUnknownTenant();

  route.get(
    '/',
    { id: 'listTenants', access: 'provider', summary: 'Every tenant, with its overview figures', responses: { 200: z.array(TenantListEntryView) } },
    async (ctx) => {
      // Each with the provider's overview figures, from a handful of grouped queries for all tenants at once.
      ctx.body = (await tenantOverviews(domain.db, domain.now(), await listActiveTenants(domain.db))).map(({ tenant, overview }) => ({
        ...presentTenantSummary(tenant),
        overview: presentTenantOverview(overview),
      }));
    },
  );

  /** A tenant with the default settings; its admins' tokens come from POST /api/v1/tenants/:tenant/tokens. */
  route.post(
    '/',
    {
      id: 'createTenant',
      access: 'provider',
      summary: 'Creates a tenant with the default settings',
      body: TenantCreateBody,
      responses: { 201: TenantRecordView },
      errors: [409],
    },
    async (ctx, { body }) => {
      const row = await createTenant(domain, actorOf(ctx), body);
      await deps.onTenantChanged(row.id);
      ctx.status = 201;
      ctx.set('Location', `/api/v1/tenants/${row.slug}`);
      ctx.body = presentTenantRecord(row);
    },
  );

  route.get('/:tenant', { id: 'getTenant', access: 'provider', summary: 'A tenant and its settings', responses: { 200: TenantRecordView } }, async (ctx) => {
    ctx.body = presentTenantRecord(await bySlug(ctx));
  });

  route.patch(
    '/:tenant',
    {
      id: 'updateTenant',
      access: 'provider',
      summary: "Changes a tenant's settings, quotas and base URL",
      body: ProviderTenantUpdateBody,
      responses: { 200: TenantRecordView },
      errors: [409],
    },
    async (ctx, { body }) => {
      const tenant = await bySlug(ctx);
      const row = await updateTenant(domain, tenant.id, actorOf(ctx), body);
      await deps.onTenantChanged(row.id);
      ctx.body = presentTenantRecord(row);
    },
  );

  /** Retires every device of the tenant (each phone gets its wipe file), then the tenant; refused while desks are seated unless `?force=true`. */
  route.delete(
    '/:tenant',
    {
      id: 'deleteTenant',
      access: 'provider',
      summary: 'Retires every device of the tenant, then the tenant',
      query: DeleteTenantQuery,
      responses: { 204: null },
      errors: [409],
    },
    async (ctx, { query }) => {
      const { id } = await bySlug(ctx);
      await deleteTenant(domain, actorOf(ctx), id, { force: query.force === 'true' });
      await deps.onTenantChanged(id);
      ctx.status = 204;
    },
  );

  return router;
}

function throwUnknownTenant(): never {
  throw UnknownTenant();
}

import type Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import { z } from 'zod';
import type { DeviceRow } from '../../db/schema.ts';
import { canSeeSecrets } from '../../domain/access.ts';
import { listDevices } from '../../domain/devices.ts';
import { applyUserImport, planUserImport, userSheet } from '../../domain/imports.ts';
import { UserCreateBody, UserUpdateBody } from '../../domain/inputs.ts';
import { getUser } from '../../domain/lookup.ts';
import { listOpenSessions } from '../../domain/sessions.ts';
import { createUser, deleteUser, type IssuedPin, issuePin, issuePins, keysOf, listUsers, updateUser } from '../../domain/users.ts';
import { presentUser } from '../../edge/presenters.ts';
import { AppError } from '../../errors.ts';
import { toCsv } from '../csv.ts';
import { api, checkbox, ifFilled, sentOnly, textField } from '../forms.ts';
import { handleImport, sendSheet } from '../imports.ts';
import { type PageKit, when } from '../pageKit.ts';
import { modulesNeeded, phonePictureSvg, seatedLayout } from '../phonePicture.ts';

/** The add-user form. */
export const NewUserForm = z.object({ extension: textField, displayName: textField, sipPassword: textField, hotdesk: checkbox }).pipe(api(UserCreateBody));

/** What a key row's button asks for besides saving: move key N up or down, or remove it (works without JavaScript). */
const KeyAction = z
  .string()
  .optional()
  .transform((v) => {
    const m = /^(up|down|remove):(\d{1,4})$/.exec(v ?? '');
    return m === null ? null : { op: m[1] as 'up' | 'down' | 'remove', row: Number(m[2]) - 1 };
  });

/** The rows as posted, with a row's button applied: a move swaps it with its neighbour, a remove drops it. */
function applyKeyAction<T>(rows: readonly T[], action: z.infer<typeof KeyAction>): T[] {
  const out = [...rows];
  if (action === null || action.row < 0 || action.row >= out.length) return out;
  const { op, row } = action;
  if (op === 'remove') out.splice(row, 1);
  const other = op === 'up' ? row - 1 : row + 1;
  if (op !== 'remove' && other >= 0 && other < out.length) [out[row], out[other]] = [out[other] as T, out[row] as T];
  return out;
}

/**
 * A user's form: name, SIP identity, hot-desk flag, and the key editor's rows (one type, value and label per row;
 * blank rows dropped). The SIP password and the PIN change only when typed; `action` is the button pressed.
 */
export const UserForm = z
  .object({
    displayName: textField,
    hotdesk: checkbox,
    sipUser: ifFilled,
    authName: ifFilled,
    sipPassword: ifFilled,
    pin: ifFilled,
    type: z.array(z.string()),
    value: z.array(z.string()),
    label: z.array(z.string()),
    action: KeyAction,
  })
  .transform(({ type, value, label, action, ...fields }) => {
    const rows = type.map((t, i) => ({ type: t, value: (value[i] ?? '').trim(), label: (label[i] ?? '').trim() }));
    return sentOnly({ ...fields, keys: applyKeyAction(rows, action).filter((k) => k.value !== '' || k.label !== '') });
  })
  .pipe(api(UserUpdateBody));
/** The form fields UserForm reads as rows. */
const KEY_ROWS = ['type', 'value', 'label'];

/** The button the user form was posted with, for the notice after it. */
const KeyActionForm = z.object({ action: KeyAction });

/** New PINs for the ticked users, or for everyone without one. */
export const PinsForm = z.object({ extension: z.array(z.string()), scope: z.enum(['selected', 'without_pin']).catch('selected') });

/** The picture's choice on the user page: `vendor/MODEL`, and how many expansion modules. */
const PictureQuery = z.object({ model: z.string().optional().catch(undefined), modules: z.coerce.number().int().min(0).max(6).optional().catch(undefined) });

/**
 * Users: the list (who sits where since when), adding one, new PINs for many at once, a user's page with every field
 * the API has, the key editor and a picture of the phone with the keys where they land, deleting, CSV in and out.
 */
export function userPages(router: Router, kit: PageKit): void {
  const { deps } = kit;
  const { domain } = deps;

  router.get('/users', async (ctx) => {
    const tenantId = kit.tenantId(ctx);
    const q = (typeof ctx.query.q === 'string' ? ctx.query.q : '').trim().toLowerCase();
    const matching = (await listUsers(domain.db, tenantId)).filter((u) => q === '' || u.extension.includes(q) || u.displayName.toLowerCase().includes(q));
    const seats = new Map((await listOpenSessions(domain.db, tenantId)).map((s) => [s.user.id, s]));
    const users = await Promise.all(
      matching.map(async (u) => {
        const seat = seats.get(u.id);
        return {
          ...presentUser(u, await keysOf(domain.db, u.id)),
          seat: seat === undefined ? null : { device: seat.device.idleAccount, label: seat.device.label, since: when(seat.session.startedAt) },
        };
      }),
    );
    await kit.page(ctx, 'users', { title: 'Users', nav: 'users', q, users, withoutPin: users.filter((u) => !u.pinSet).length });
  });
  router.post('/users', async (ctx) => {
    const tenant = await kit.tenant(ctx);
    try {
      const { user } = await createUser(domain, tenant.id, tenant.pinMinLength, kit.actor(ctx), kit.input(ctx, NewUserForm));
      await kit.back(ctx, `/console/users/${user.extension}`, { notice: 'User added. Give them a PIN and keys.' });
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      await kit.back(ctx, '/console/users', { error: err.message });
    }
  });

  /**
   * New PINs for many users at once, answered as a CSV download: the one time they can be read. Nothing keeps them
   * (only their hashes are stored) and nothing logs them; reloading does not post again, so there is no second copy.
   */
  router.post('/pins', async (ctx) => {
    const tenant = await kit.tenant(ctx);
    const { extension, scope } = kit.input(ctx, PinsForm, ['extension']);
    let issued: IssuedPin[];
    try {
      issued = await issuePins(domain, tenant.id, tenant.pinMinLength, kit.actor(ctx), scope === 'without_pin' ? 'without_pin' : extension);
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      await kit.back(ctx, '/console/users', { error: err.message });
      return;
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'text/csv; charset=utf-8';
    ctx.attachment(`hotprov-pins-${domain.now().toISOString().slice(0, 10)}.csv`);
    ctx.body = toCsv(
      ['extension', 'display_name', 'pin'],
      issued.map((p) => [p.extension, p.displayName, p.pin]),
    );
  });

  const models = deps.adapters.flatMap((a) => [...a.profile.models.values()].map((m) => ({ vendor: a.id, vendorName: a.profile.name, model: m })));

  /** The model a user's picture shows unless one is chosen: where they sit, else the tenant's most common, else the first. */
  const defaultModel = async (tenantId: number, seated: DeviceRow | undefined) => {
    const find = (vendor: string, id: string) => models.find((m) => m.vendor === vendor && m.model.id === id);
    const here = seated === undefined ? undefined : find(seated.vendor, seated.model);
    if (here !== undefined) return here;
    const counts = new Map<string, number>();
    for (const d of await listDevices(domain.db, tenantId)) counts.set(`${d.vendor}/${d.model}`, (counts.get(`${d.vendor}/${d.model}`) ?? 0) + 1);
    const common = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0];
    const [vendor = '', id = ''] = (common ?? '').split('/');
    return find(vendor, id) ?? models[0];
  };

  const showUser = async (ctx: RouterContext, extension: string, pin?: string) => {
    const tenant = await kit.tenant(ctx);
    const user = await getUser(domain.db, tenant.id, extension);
    const keys = await keysOf(domain.db, user.id);
    const rows = [...keys.map((k) => ({ type: k.type, value: k.value, label: k.label })), { type: 'blf', value: '', label: '' }].map((r, i, all) => ({
      ...r,
      position: i + 1,
      first: i === 0,
      last: i === all.length - 1,
    }));
    const seat = (await listOpenSessions(domain.db, tenant.id)).find((s) => s.user.id === user.id);

    // The picture: the chosen model, else the default; the chosen module count, else the seat's, else as many as the keys need.
    const query = PictureQuery.parse(ctx.query);
    const [vendor = '', id = ''] = (query.model ?? '').split('/');
    const shown = models.find((m) => m.vendor === vendor && m.model.id === id) ?? (await defaultModel(tenant.id, seat?.device));
    let picture = '';
    let pictureChoice: { modules: { n: number; selected: boolean }[]; moduleName: string | null } | null = null;
    if (shown !== undefined) {
      const onSeat = seat !== undefined && seat.device.vendor === shown.vendor && seat.device.model === shown.model.id;
      const modules = query.modules ?? (onSeat ? seat.device.expansionModules : modulesNeeded(shown.model, keys));
      const layout = seatedLayout(shown.model, modules, user, keys, tenant.loginCode);
      picture = phonePictureSvg({ vendorName: shown.vendorName, model: shown.model, attachedModules: modules, layout, whose: user.displayName });
      pictureChoice = {
        modules: Array.from({ length: (shown.model.expansion?.modules ?? 0) + 1 }, (_, n) => ({
          n,
          selected: n === Math.min(modules, shown.model.expansion?.modules ?? 0),
        })),
        moduleName: shown.model.expansion?.name ?? null,
      };
    }
    await kit.page(ctx, 'user', {
      title: user.displayName,
      nav: 'users',
      user: presentUser(user, keys),
      rows,
      seat: seat === undefined ? null : { device: seat.device.idleAccount, label: seat.device.label, since: when(seat.session.startedAt) },
      pin,
      picture,
      pictureChoice,
      models: models.map((m) => ({ value: `${m.vendor}/${m.model.id}`, name: `${m.vendorName} ${m.model.name}`, selected: m === shown })),
    });
  };
  router.get('/users/:extension', (ctx) => showUser(ctx, ctx.params.extension ?? ''));
  router.post('/users/:extension', async (ctx) => {
    const tenant = await kit.tenant(ctx);
    const extension = ctx.params.extension ?? '';
    const { action } = kit.input(ctx, KeyActionForm);
    const key = action === null ? '' : String(action.row + 1);
    const notice = action === null ? 'Saved.' : action.op === 'remove' ? `Saved; key ${key} removed.` : `Saved; key ${key} moved ${action.op}.`;
    // After an arrow, back at the row it moved (or the one after a removed one): Tab goes on from there.
    const landed = action === null ? null : action.op === 'up' ? action.row : action.op === 'down' ? action.row + 2 : action.row + 1;
    return kit.attempt(
      ctx,
      `/console/users/${extension}${landed === null ? '' : `#key-${Math.max(1, landed)}`}`,
      async () => {
        const form = kit.input(ctx, UserForm, KEY_ROWS);
        // Only roles that may see secrets set them (today every role that may post here may).
        const input = canSeeSecrets(kit.principal(ctx)) ? form : sentOnly({ ...form, sipPassword: undefined, pin: undefined });
        return await updateUser(domain, tenant.id, tenant.pinMinLength, kit.actor(ctx), extension, input);
      },
      notice,
    );
  });
  router.post('/users/:extension/pin', async (ctx) => {
    const tenant = await kit.tenant(ctx);
    const extension = ctx.params.extension ?? '';
    const pin = await issuePin(domain, tenant.id, tenant.pinMinLength, kit.actor(ctx), extension);
    // Shown once, on this answer; never stored in clear, never in a URL.
    await showUser(ctx, extension, pin);
  });

  /** Deletes a user; the phone they sit at is logged out and told to re-provision, as the API's deletion does. */
  router.post('/users/:extension/delete', async (ctx) => {
    const tenantId = kit.tenantId(ctx);
    const extension = ctx.params.extension ?? '';
    const seat = (await listOpenSessions(domain.db, tenantId)).find((s) => s.user.extension === extension);
    await kit.attempt(
      ctx,
      '/console/users',
      async () => await deleteUser(domain, tenantId, kit.actor(ctx), extension),
      `Deleted user ${extension}.${seat === undefined ? '' : ` The phone at ${seat.device.idleAccount} goes idle.`}`,
    );
  });

  router.get('/users.csv', async (ctx) => sendSheet(ctx, 'hotprov-users.csv', await userSheet(domain.db, kit.tenantId(ctx))));

  /** User import, like the device import: a user by extension is changed, any other created; checked row by row first. */
  router.post('/import/users', (ctx) =>
    handleImport(kit, ctx, {
      what: 'users',
      title: 'Import users',
      plan: async (ctx, rows) => {
        const tenant = await kit.tenant(ctx);
        return await planUserImport(domain, tenant.id, tenant.pinMinLength, rows);
      },
      apply: async (ctx, plan, onlyGoodRows) => {
        const tenant = await kit.tenant(ctx);
        return await applyUserImport(domain, tenant.id, tenant.pinMinLength, kit.actor(ctx), plan, onlyGoodRows);
      },
    }),
  );
}

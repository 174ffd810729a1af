import type Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import { z } from 'zod';
import { applyUserImport, planUserImport, userSheet } from '../../domain/imports.ts';
import { UserCreateBody, UserUpdateBody } from '../../domain/inputs.ts';
import { type KeyFunction, layoutKeys, type UserKey } from '../../domain/keyLayout.ts';
import { getUser } from '../../domain/lookup.ts';
import { createUser, issuePin, keysOf, listUsers, updateUser } from '../../domain/users.ts';
import { presentUser } from '../../edge/presenters.ts';
import { AppError } from '../../errors.ts';
import { api, checkbox, textField } from '../forms.ts';
import { handleImport, sendSheet } from '../imports.ts';
import type { PageKit } from '../pageKit.ts';

/** The add-user form. */
export const NewUserForm = z.object({ extension: textField, displayName: textField, sipPassword: textField, hotdesk: checkbox }).pipe(api(UserCreateBody));

/** A user's form: name, hot-desk flag, and the key editor's rows (one type, value and label per row; blank rows dropped). */
export const UserForm = z
  .object({
    displayName: textField,
    hotdesk: checkbox,
    type: z.array(z.string()),
    value: z.array(z.string()),
    label: z.array(z.string()),
  })
  .transform(({ displayName, hotdesk, type, value, label }) => ({
    displayName,
    hotdesk,
    keys: type.map((t, i) => ({ type: t, value: (value[i] ?? '').trim(), label: (label[i] ?? '').trim() })).filter((k) => k.value !== '' || k.label !== ''),
  }))
  .pipe(api(UserUpdateBody));
/** The form fields UserForm reads as rows. */
const KEY_ROWS = ['type', 'value', 'label'];

/** Users: the list, adding one, a user's page with the key editor beside where each key lands, a PIN, CSV in and out. */
export function userPages(router: Router, kit: PageKit): void {
  const { deps } = kit;
  const { domain } = deps;

  router.get('/users', async (ctx) => {
    const q = (typeof ctx.query.q === 'string' ? ctx.query.q : '').trim().toLowerCase();
    const matching = (await listUsers(domain.db, kit.tenantId(ctx))).filter(
      (u) => q === '' || u.extension.includes(q) || u.displayName.toLowerCase().includes(q),
    );
    const users = await Promise.all(matching.map(async (u) => presentUser(u, await keysOf(domain.db, u.id))));
    await kit.page(ctx, 'users', { title: 'Users', nav: 'users', q, users });
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

  /** Where each key lands on every model: on the phone, on its expansion modules, or nowhere. */
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

  const showUser = async (ctx: RouterContext, extension: string, pin?: string) => {
    const user = await getUser(domain.db, kit.tenantId(ctx), extension);
    const keys = await keysOf(domain.db, user.id);
    const rows = [...keys.map((k) => ({ type: k.type, value: k.value, label: k.label })), { type: 'blf', value: '', label: '' }].map((r, i) => ({
      ...r,
      position: i + 1,
    }));
    await kit.page(ctx, 'user', { title: user.displayName, nav: 'users', user: presentUser(user, keys), rows, preview: keyPreview(keys), pin });
  };
  router.get('/users/:extension', (ctx) => showUser(ctx, ctx.params.extension ?? ''));
  router.post('/users/:extension', async (ctx) => {
    const tenant = await kit.tenant(ctx);
    const extension = ctx.params.extension ?? '';
    return kit.attempt(
      ctx,
      `/console/users/${extension}`,
      async () => await updateUser(domain, tenant.id, tenant.pinMinLength, kit.actor(ctx), extension, kit.input(ctx, UserForm, KEY_ROWS)),
      'Saved.',
    );
  });
  router.post('/users/:extension/pin', async (ctx) => {
    const tenant = await kit.tenant(ctx);
    const extension = ctx.params.extension ?? '';
    const pin = await issuePin(domain, tenant.id, tenant.pinMinLength, kit.actor(ctx), extension);
    // Shown once, on this answer; never stored in clear, never in a URL.
    await showUser(ctx, extension, pin);
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

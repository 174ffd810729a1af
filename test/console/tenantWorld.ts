import { createAdmin, createApiToken } from '../../src/domain/admins.ts';
import { enrolDevice } from '../../src/domain/devices.ts';
import { isRefused, login } from '../../src/domain/hotdesk.ts';
import { createTenant, updateTenant } from '../../src/domain/tenants.ts';
import { createUser } from '../../src/domain/users.ts';
import type { TestServer } from '../helpers/server.ts';

/** The password of every console account the tenant tests make. */
export const ACCOUNT_PASSWORD = 'tenant-account-password';

/** One tenant's objects, as the console tests aim at them. */
export interface TenantObjects {
  readonly id: number;
  readonly slug: string;
  readonly name: string;
  /** A seated hot desk: its MAC (as typed), idle account, label and location. */
  readonly mac: string;
  readonly idle: string;
  readonly label: string;
  readonly location: string;
  /** The user seated there. */
  readonly extension: string;
  readonly displayName: string;
  readonly sipPassword: string;
  readonly pin: string;
  readonly admin: { readonly id: number; readonly username: string };
  readonly helpdesk: { readonly id: number; readonly username: string };
  readonly token: { readonly id: number; readonly name: string; readonly value: string };
  readonly registrarHost: string;
}

/**
 * Two tenants beside the default one, each with devices, a user seated at one of them, an admin, a helpdesk, an
 * API token and settings of its own. Bravo's seated desk is its third device (HD0003), so its idle account is one
 * Alpha (one device) does not have.
 */
export async function twoTenants(t: TestServer): Promise<{ alpha: TenantObjects; bravo: TenantObjects }> {
  const { domain } = t.hotprov.deps;
  const actor = { name: 'test' };
  const make = async (slug: string, name: string, word: string, devices: readonly string[], extension: string): Promise<TenantObjects> => {
    const tenant = await createTenant(domain, actor, { name, slug });
    await updateTenant(domain, tenant.id, actor, { registrarHost: `pbx.${slug}.test`, trustedNetworks: ['127.0.0.0/8'] });
    let last = { mac: '', idle: '' };
    for (const [i, mac] of devices.entries()) {
      const device = await enrolDevice(domain, tenant.id, actor, {
        mac,
        vendor: 'yealink',
        model: 'T46U',
        hotdesk: true,
        label: i === devices.length - 1 ? `${word} window desk` : `${word} desk ${i}`,
        location: `${word} floor 9`,
      });
      last = { mac, idle: device.idleAccount };
    }
    const pin = '482615';
    await createUser(domain, tenant.id, 4, actor, {
      extension,
      displayName: `${word} Person`,
      sipPassword: `${slug}-sip-secret-${extension}`,
      pin,
      hotdesk: true,
    });
    const seated = await login(domain, tenant.id, actor, { device: last.idle, extension, pin, method: 'admin' });
    if (isRefused(seated)) throw new Error(`could not seat ${extension}: ${seated.result}`);
    const admin = await createAdmin(domain.db, domain.now(), `${slug}-admin`, ACCOUNT_PASSWORD, { role: 'admin', tenantId: tenant.id });
    const helpdesk = await createAdmin(domain.db, domain.now(), `${slug}-helpdesk`, ACCOUNT_PASSWORD, { role: 'helpdesk', tenantId: tenant.id });
    const token = await createApiToken(domain.db, domain.now(), `${slug}-pbx-token`, admin.username, { role: 'admin', tenantId: tenant.id });
    return {
      id: tenant.id,
      slug,
      name,
      mac: last.mac,
      idle: last.idle,
      label: `${word} window desk`,
      location: `${word} floor 9`,
      extension,
      displayName: `${word} Person`,
      sipPassword: `${slug}-sip-secret-${extension}`,
      pin,
      admin: { id: admin.id, username: admin.username },
      helpdesk: { id: helpdesk.id, username: helpdesk.username },
      token: { id: token.row.id, name: token.row.name, value: token.token },
      registrarHost: `pbx.${slug}.test`,
    };
  };
  const alpha = await make('alpha', 'Alpha Ltd', 'Alpha', ['00:15:65:a1:00:01'], '101');
  const bravo = await make('bravo', 'Bravo Corp', 'Bravo', ['00:15:65:b2:00:01', '00:15:65:b2:00:02', '00:15:65:b2:00:03'], '7301');
  return { alpha, bravo };
}

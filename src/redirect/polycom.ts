import type { Mac } from '../domain/mac.ts';
import { describe, elsewhere, failed, ok, type RedirectClient, request } from './types.ts';

export interface PolyZtpCredentials {
  /** https://api.ztp.poly.com/v1 unless a proxy or a test stands in. */
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly timeoutMs?: number;
}

/**
 * Poly ZTP's REST API (API-KEY header). A profile carries the provisioning server and its user and password, so
 * hotprov gives each phone a profile of its own (`hotprov-<mac>`) to give it its own credentials.
 */
export function createPolyZtp(c: PolyZtpCredentials): RedirectClient {
  const call = (method: string, path: string, body?: unknown) =>
    request(
      `${c.baseUrl}${path}`,
      {
        method,
        headers: { 'API-KEY': c.apiKey, Accept: 'application/json', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      },
      c.timeoutMs ?? 10_000,
    );
  const profileName = (mac: Mac) => `hotprov-${mac}`;
  const findProfile = async (mac: Mac): Promise<string | null> => {
    const res = await call('GET', '/profiles');
    const results = (res.body as { results?: { id: string; name: string }[] } | null)?.results ?? [];
    return results.find((p) => p.name === profileName(mac))?.id ?? null;
  };

  return {
    vendor: 'polycom',
    async register(mac, target) {
      const device = await call('GET', `/devices/${mac}`);
      if (device.status === 200) {
        const existing = (device.body as { profileid?: string } | null)?.profileid;
        if (existing !== undefined && existing !== (await findProfile(mac))) return elsewhere('Poly ZTP: the MAC uses a profile of another account');
      }
      const template = { provisioning: { server: { address: target.url, username: target.username, password: target.password } } };
      let profileId = await findProfile(mac);
      const profile =
        profileId === null
          ? await call('POST', '/profiles', { name: profileName(mac), template })
          : await call('PUT', `/profiles/${profileId}`, { name: profileName(mac), template });
      if (profile.status >= 300) return failed(`profile: ${describe(profile.status)}`);
      profileId ??= (profile.body as { id?: string } | null)?.id ?? null;
      if (profileId === null) return failed(`profile: the answer (${describe(profile.status)}) holds no id`);
      if (device.status === 200) return ok('profile updated');
      const added = await call('POST', '/devices', { id: mac, profile: profileId });
      if (added.status === 409) return elsewhere(`Poly ZTP: ${describe(added.status)} (registered to a different account)`);
      return added.status < 300 ? ok() : failed(describe(added.status));
    },
    async deregister(mac) {
      const res = await call('DELETE', `/devices/${mac}`);
      if (res.status >= 300 && res.status !== 404) return failed(describe(res.status));
      const profileId = await findProfile(mac);
      if (profileId !== null) await call('DELETE', `/profiles/${profileId}`);
      return { status: 'unknown', message: 'deleted' };
    },
    async check(mac) {
      const res = await call('GET', `/devices/${mac}`);
      if (res.status === 404) return { status: 'unknown', message: 'not in this account' };
      if (res.status !== 200) return failed(describe(res.status));
      return (res.body as { profileid?: string } | null)?.profileid === (await findProfile(mac))
        ? ok('in this account')
        : elsewhere('uses a profile of another account');
    },
  };
}

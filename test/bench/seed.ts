import Database from 'better-sqlite3';
import { openDb } from '../../src/db/client.ts';
import { hashSecret } from '../../src/domain/credentials.ts';
import { ensureDefaultTenant } from '../../src/domain/tenants.ts';
import type { PhoneFetch } from '../../src/provisioning/phoneFetch.ts';

/** One model per vendor and what its phones send, for the benchmark's devices. */
export const FLEET = [
  { vendor: 'yealink', model: 'T54W', prefix: '001565', path: (mac: string) => `/${mac}.cfg`, ua: 'Yealink SIP-T54W 96.86.0.70' },
  { vendor: 'yealink', model: 'T46U', prefix: '805ec0', path: (mac: string) => `/${mac}.cfg`, ua: 'Yealink SIP-T46U 108.86.0.40' },
  {
    vendor: 'snom',
    model: 'D785',
    prefix: '000413',
    path: (mac: string) => `/${mac.toUpperCase()}.xml`,
    ua: 'Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12-00004-g9ba52f5 SXM:0 UXM:0)',
  },
  {
    vendor: 'polycom',
    model: 'VVX450',
    prefix: '0004f2',
    path: (mac: string) => `/${mac}-hotprov.cfg`,
    ua: 'FileTransport PolycomVVX-VVX_450-UA/5.9.1.0615 Type/Application',
  },
] as const;

export interface SeededDevice {
  readonly idleAccount: string;
  /** The device's main file under the credentialed path, where an active phone fetches it. */
  readonly path: string;
  readonly ua: string;
  /** The phone's own credentials, and the Authorization header that carries them. */
  readonly credentials: { readonly username: string; readonly password: string };
  readonly authorization: string;
}

/**
 * A database with `count` devices across the vendors, half of them with a logged-in user who has 10 BLF keys.
 * Written with prepared statements in one transaction (the domain functions would hash a PIN per user).
 * @param pinUsers this many extra users (9000…) with PIN 4826, for the login benchmark.
 */
export async function seed(path: string, count: number, pinUsers = 0): Promise<SeededDevice[]> {
  openDb(path).close(); // migrations
  const pinHash = await hashSecret('4826');
  const { db, close } = openDb(path);
  const tenant = await ensureDefaultTenant(db);
  close();
  const sqlite = new Database(path);
  const now = Date.now();
  const insertDevice = sqlite.prepare(
    `INSERT INTO devices (tenant_id, mac, vendor, model, idle_account, idle_password, screen_secret, prov_username, prov_password, web_password, access, activated_by, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', 'admin', ?)`,
  );
  const insertUser = sqlite.prepare(
    `INSERT INTO users (tenant_id, extension, display_name, sip_user, auth_name, sip_password, pin_hash, hotdesk, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)`,
  );
  const insertKey = sqlite.prepare(`INSERT INTO user_keys (user_id, position, type, value, label) VALUES (?, ?, 'blf', ?, ?)`);
  const insertSession = sqlite.prepare(`INSERT INTO hotdesk_sessions (tenant_id, device_id, user_id, method, started_at) VALUES (?, ?, ?, 'api', ?)`);
  const devices: SeededDevice[] = [];
  sqlite.transaction(() => {
    for (let i = 0; i < count; i++) {
      const kind = FLEET[i % FLEET.length] ?? FLEET[0];
      const mac = `${kind.prefix}${i.toString(16).padStart(6, '0')}`;
      const idleAccount = `HD${String(i + 1).padStart(6, '0')}`;
      const credentials = { username: `hp${mac}`, password: `p${i}` };
      const deviceId = Number(
        insertDevice.run(tenant.id, mac, kind.vendor, kind.model, idleAccount, `idle-${i}`, `s${i}`, credentials.username, credentials.password, `w${i}`, now)
          .lastInsertRowid,
      );
      const authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
      devices.push({ idleAccount, path: `/prov${kind.path(mac)}`, ua: kind.ua, credentials, authorization });
      if (i % 2 === 0) {
        const extension = String(100000 + i);
        const userId = Number(insertUser.run(tenant.id, extension, `User ${i}`, extension, extension, `sip-${i}`, null, now).lastInsertRowid);
        for (let k = 1; k <= 10; k++) insertKey.run(userId, k, String(100000 + ((i + k) % count)), `Colleague ${k}`);
        insertSession.run(tenant.id, deviceId, userId, now);
      }
    }
    for (let u = 0; u < pinUsers; u++)
      insertUser.run(tenant.id, String(9000000 + u), `Login ${u}`, String(9000000 + u), String(9000000 + u), 'x', pinHash, now);
    sqlite.prepare('UPDATE tenants SET next_idle_number = ?').run(count + 1);
  })();
  sqlite.close();
  return devices;
}

/** What the seeded phone sends for its main file, as the phone route hands it to provisioning. */
export function seededRequest(device: SeededDevice, ip = '127.0.0.1', ifNoneMatch?: string): PhoneFetch {
  return {
    filename: device.path.slice(device.path.lastIndexOf('/') + 1),
    scope: 'credentialed',
    action: 'download',
    userAgent: device.ua,
    ip,
    credentials: device.credentials,
    certificateMacs: null,
    held: ifNoneMatch === undefined ? { kind: 'none' } : { kind: 'revisions', etags: [ifNoneMatch] },
  };
}
